"""`kedro tutor chat`: the exported GGUF answers through its Modelfile, once or interactively."""

from __future__ import annotations

import shutil

import pytest
from click.testing import CliRunner
from kedro.io.core import Version

from python_tutor.chat import Tutor
from python_tutor.chat_templates import BUILTIN
from python_tutor.cli import cli
from python_tutor.datasets.gguf_file import GGUFFileDataset, OllamaModelfileDataset
from python_tutor.modelfile import parse_modelfile, render_modelfile

SYSTEM = "Eres un tutor de Python que responde en español."
VERSION = "2026-01-01T00.00.00.000Z"


class RecordingLlama:
    """Stands in for llama_cpp.Llama: records what the tutor sends, streams a fixed answer."""

    def __init__(self) -> None:
        self.prompts: list[str] = []
        self.kwargs: dict = {}

    def tokenize(self, text: bytes, add_bos: bool, special: bool) -> list[int]:
        assert add_bos is False and special is True
        self.prompts.append(text.decode("utf-8"))
        return [1, 2, 3]

    def reset(self) -> None:
        pass

    def create_completion(self, tokens, **kwargs):
        self.kwargs = kwargs
        yield from ({"choices": [{"text": piece}]} for piece in ("Una ", "lista."))


def test_reply_uses_the_modelfile_template_system_stops_and_sampling():
    modelfile = parse_modelfile(
        render_modelfile("tutor.Q8_0.gguf", BUILTIN["chatml"], SYSTEM, {"temperature": 0.2})
    )
    llama = RecordingLlama()
    tutor = Tutor(llama, modelfile)
    history = [
        {"role": "user", "content": "¿Qué es una tupla?"},
        {"role": "assistant", "content": "Una secuencia inmutable."},
        {"role": "user", "content": "¿Y una lista?"},
    ]
    assert "".join(tutor.reply(history, max_tokens=5)) == "Una lista."
    assert llama.prompts == [
        f"<|im_start|>system\n{SYSTEM}<|im_end|>\n"
        "<|im_start|>user\n¿Qué es una tupla?<|im_end|>\n"
        "<|im_start|>assistant\nUna secuencia inmutable.<|im_end|>\n"
        "<|im_start|>user\n¿Y una lista?<|im_end|>\n"
        "<|im_start|>assistant\n"
    ]
    assert llama.kwargs["stop"] == list(BUILTIN["chatml"].stop)
    assert llama.kwargs["temperature"] == 0.2 and llama.kwargs["stream"] is True
    assert llama.kwargs["max_tokens"] == 5


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


def test_unknown_version_and_missing_export_are_clear_errors(project):
    missing = CliRunner().invoke(cli, ["tutor", "chat", "--prompt", "Hola"])
    assert missing.exit_code != 0 and "run `kedro run --pipeline export`" in missing.output
    unknown = CliRunner().invoke(cli, ["tutor", "chat", "--version", "1999", "--prompt", "x"])
    assert unknown.exit_code != 0 and "gguf_model has no version '1999'" in unknown.output
