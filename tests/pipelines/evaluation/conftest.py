"""Evaluation fixtures: the shipped parameters shrunk for the tiny model, and the three sets."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml

from python_tutor.pipelines.evaluation.selection import build_evaluation_prompts, resolve_profile
from tests.adapters import make_adapter

from .cases import HUMANEVAL, PROBLEMS, QUESTIONS, SYSTEM


@pytest.fixture(scope="module")
def raw_params(project_root) -> dict:
    """The shipped ``evaluation`` parameters, answers shortened for the tiny model."""
    text = (project_root / "conf/base/parameters_evaluation.yml").read_text(encoding="utf-8")
    text = text.replace("${globals:chat_template}", "model").replace(
        "${globals:max_seq_length}", "256"
    )
    params = yaml.safe_load(text)["evaluation"]
    params["profiles"]["quick"]["max_new_tokens"] = 6
    params["scoring"]["sandbox"]["timeout_s"] = 3.0
    return params


@pytest.fixture(scope="module")
def params(raw_params) -> dict:
    """The parameters as the nodes get them: selection and generation of the quick profile."""
    selection, generation = resolve_profile(
        raw_params["profile"],
        raw_params["profiles"],
        raw_params["selection"],
        raw_params["generation"],
    )
    return {**raw_params, "selection": selection, "generation": generation}


@pytest.fixture
def tutor_test() -> pd.DataFrame:
    rows = []
    for index, (task, question, answer) in enumerate(QUESTIONS):
        messages = [
            {"role": "system", "content": SYSTEM},
            {"role": "user", "content": question},
            {"role": "assistant", "content": answer},
        ]
        rows.append({"example_id": f"{index:016x}", "task": task, "messages": messages})
    return pd.DataFrame(rows)


@pytest.fixture
def problems() -> pd.DataFrame:
    return pd.DataFrame(PROBLEMS)


@pytest.fixture
def humaneval_es() -> pd.DataFrame:
    return pd.DataFrame(HUMANEVAL)


@pytest.fixture
def prompts(tutor_test, problems, humaneval_es, params) -> dict:
    return build_evaluation_prompts(tutor_test, problems, humaneval_es, params["selection"])


@pytest.fixture(scope="session")
def lora_dir(tiny_llama_dir, tmp_path_factory) -> Path:
    return make_adapter(tiny_llama_dir, tmp_path_factory.mktemp("eval_adapter"))
