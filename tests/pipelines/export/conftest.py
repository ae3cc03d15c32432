"""Export fixtures: a real PEFT LoRA adapter on the tiny LLaMA, Spanish prompts, parameters."""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml

from tests.adapters import make_adapter

SYSTEM = "Eres un tutor de Python. Responde en español y deja el código tal cual."
QUESTIONS = [
    "¿Qué hace `print(len([1, 2, 3]))`?",
    "Explica este código:\n\n```python\nfor i in range(3):\n    print(i)\n```",
    "¿Cómo invierto una lista en Python?",
]


@pytest.fixture(scope="session")
def adapter_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    return make_adapter(tiny_llama_dir, tmp_path_factory.mktemp("adapter"))


@pytest.fixture
def tutor_val() -> pd.DataFrame:
    rows = []
    for index, question in enumerate(QUESTIONS):
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": "Imprime 3."},
        ]
        rows.append({"example_id": f"{index:016x}", "task": "qa", "messages": messages})
    return pd.DataFrame(rows)


def load_params(project_root: Path) -> dict:
    """The shipped parameters, with the converter found from the repository."""
    path = project_root / "conf" / "base" / "parameters_export.yml"
    params = yaml.safe_load(path.read_text(encoding="utf-8"))["export"]
    params["converter"]["dir"] = str(project_root / params["converter"]["dir"])
    params["fidelity"]["num_prompts"] = len(QUESTIONS)
    params["fidelity"]["continuation_tokens"] = 8
    params["fidelity"]["n_ctx"] = 256
    return params


@pytest.fixture
def export_params(project_root) -> dict:
    return load_params(project_root)


@pytest.fixture(scope="session")
def exported(project_root, tiny_llama_dir, adapter_dir, tmp_path_factory) -> dict:
    """One merge and two conversions per session: the right GGUF and one whose embedded chat
    template is deliberately wrong (LLaMA-3 headers on a ChatML model)."""
    from transformers import AutoTokenizer

    from python_tutor.chat_templates import BUILTIN
    from python_tutor.pipelines.export.nodes import (
        check_export_inputs,
        convert_to_gguf,
        merge_lora_adapter,
    )

    params = load_params(project_root)
    scratch = tmp_path_factory.mktemp("scratch")
    plan = check_export_inputs(
        adapter_dir, tiny_llama_dir, scratch, params["converter"], params["conversion"]
    )
    merged, merge_stats = merge_lora_adapter(plan, params["merge"])
    gguf, conversion_stats = convert_to_gguf(merged, plan)
    wrong_merged = tmp_path_factory.mktemp("wrong_template") / "merged"
    shutil.copytree(merged, wrong_merged)
    tokenizer = AutoTokenizer.from_pretrained(wrong_merged)
    tokenizer.chat_template = BUILTIN["llama-3.1"].jinja
    tokenizer.save_pretrained(wrong_merged)
    wrong_plan = {**plan, "scratch_dir": str(tmp_path_factory.mktemp("wrong_scratch"))}
    wrong_gguf, _ = convert_to_gguf(wrong_merged, wrong_plan)
    return {
        "params": params,
        "plan": plan,
        "merged": merged,
        "merge_stats": merge_stats,
        "gguf": gguf,
        "conversion_stats": conversion_stats,
        "wrong_gguf": wrong_gguf,
    }
