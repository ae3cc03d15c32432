"""`kedro tutor chat`: the exported GGUF answers through its Modelfile, once or interactively."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from kedro.io.core import Version

from python_tutor.chat import open_tutor
from python_tutor.chat_templates import BUILTIN
from python_tutor.cli import cli
from python_tutor.datasets.gguf_file import GGUFFileDataset, OllamaModelfileDataset
from python_tutor.modelfile import render_modelfile
from tests.conftest import trained_prompt_ids

SYSTEM = "Eres un tutor de Python que responde en español."
VERSION = "2026-01-01T00.00.00.000Z"


@pytest.mark.slow
def test_reply_uses_the_history_the_modelfile_persona_and_every_parameter(
    trained_tutor, completion_calls
):
    """As ``ollama run``: context size and repeat window at load, stops and sampling per
    answer, all from the Modelfile the export writes."""
    _, gguf = trained_tutor("chatml")
    parameters = {"temperature": 0.2, "top_p": 0.9, "top_k": 30, "min_p": 0.05}
    parameters |= {"repeat_penalty": 1.1, "repeat_last_n": 32, "num_ctx": 512, "seed": 7}
    modelfile = render_modelfile(gguf.name, BUILTIN["chatml"], SYSTEM, parameters)
    tutor = open_tutor(gguf, modelfile, n_threads=1)
    assert tutor.llama.n_ctx() == 512 and tutor.llama.last_n_tokens_size == 32
    history = [
        {"role": "user", "content": "¿Qué es una tupla?"},
        {"role": "assistant", "content": "Una secuencia inmutable."},
        {"role": "user", "content": "¿Y una lista?"},
    ]
    answer = "".join(tutor.reply(history, max_tokens=5))
    assert isinstance(answer, str)
    ids, kwargs = completion_calls[0]
    assert tutor.llama.detokenize(ids, special=True).decode() == (
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
        "<|im_start|>user\n¿Qué es una tupla?<|im_end|>\n"
        "<|im_start|>assistant\nUna secuencia inmutable.<|im_end|>\n"
        "<|im_start|>user\n¿Y una lista?<|im_end|>\n"
        "<|im_start|>assistant\n"
    )
    assert kwargs == {
        "temperature": 0.2,
        "top_p": 0.9,
        "top_k": 30,
        "min_p": 0.05,
        "repeat_penalty": 1.1,
        "seed": 7,
        "max_tokens": 5,
        "stop": list(BUILTIN["chatml"].stop),
        "stream": True,
    }
    list(tutor.reply(history))
    assert completion_calls[1][1]["max_tokens"] == -1  # Ollama's num_predict default: no limit


@pytest.fixture
def exported(project, tiny_gguf, tmp_path):
    """A published tutor (tiny GGUF + Modelfile) in the scratch project, as export leaves it."""
    product = tmp_path / "tutor.Q8_0.gguf"
    shutil.copy(tiny_gguf, product)
    version = Version(None, VERSION)
    GGUFFileDataset(filepath="data/06_models/tutor/tutor.Q8_0.gguf", version=version).save(product)
    OllamaModelfileDataset(filepath="data/06_models/tutor/Modelfile", version=version).save(
        render_modelfile(product.name, BUILTIN["chatml"], SYSTEM, {"temperature": 0})
    )
    return project


@pytest.mark.slow
def test_prompt_answers_once_through_llama_cpp(exported):
    result = CliRunner().invoke(cli, ["tutor", "chat", "--prompt", "Hola", "--max-tokens", "6"])
    assert result.exit_code == 0, result.output
    assert result.output.strip(), "no answer streamed"


@pytest.mark.slow
def test_interactive_session_keeps_history_until_salir(exported):
    result = CliRunner().invoke(
        cli,
        ["tutor", "chat", "--version", VERSION, "--max-tokens", "4"],
        input="Hola\n¿Qué es Python?\nsalir\n",
    )
    assert result.exit_code == 0, result.output
    assert result.output.count("tú> ") == 3
    assert "Escribe tu pregunta" in result.output


@pytest.mark.slow
def test_chat_gives_the_gguf_the_tokens_training_gave_bos_included(
    project, trained_tutor, completion_calls
):
    """LLaMA 3 layout: the chat prompt starts with <|begin_of_text|>, as in training."""
    from transformers import AutoTokenizer

    checkpoint, gguf = trained_tutor("llama-3.1")
    version = Version(None, VERSION)
    GGUFFileDataset(filepath="data/06_models/tutor/tutor.Q8_0.gguf", version=version).save(gguf)
    OllamaModelfileDataset(filepath="data/06_models/tutor/Modelfile", version=version).save(
        render_modelfile(gguf.name, BUILTIN["llama-3.1"], SYSTEM, {"temperature": 0})
    )
    result = CliRunner().invoke(cli, ["tutor", "chat", "--prompt", "Hola", "--max-tokens", "2"])
    assert result.exit_code == 0, result.output
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    trained = trained_prompt_ids(
        tokenizer, [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Hola"}]
    )
    assert trained[0] == tokenizer.bos_token_id
    assert [ids for ids, _ in completion_calls] == [trained]


def test_unknown_version_and_missing_export_are_clear_errors(project):
    missing = CliRunner().invoke(cli, ["tutor", "chat", "--prompt", "Hola"])
    assert missing.exit_code != 0 and "run `kedro run --pipeline export`" in missing.output
    unknown = CliRunner().invoke(cli, ["tutor", "chat", "--version", "1999", "--prompt", "x"])
    assert unknown.exit_code != 0 and "gguf_model has no version '1999'" in unknown.output
