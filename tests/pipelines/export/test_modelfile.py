"""The Modelfile: FROM the GGUF beside it, the trained layout as TEMPLATE, its stops, SYSTEM."""

from __future__ import annotations

from pathlib import Path

import pytest
from transformers import AutoTokenizer

from python_tutor.chat_templates import BUILTIN, MODEL, render, resolve_chat_template
from python_tutor.modelfile import (
    OLLAMA_DEFAULTS,
    parse_modelfile,
    render_modelfile,
    runtime_parameters,
)
from python_tutor.pipelines.export.nodes import publish_gguf

from .conftest import QUESTIONS, SYSTEM

LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]
SAMPLING = {"temperature": 0.2, "top_p": 0.9, "repeat_penalty": 1.1, "num_ctx": 2048}


@pytest.fixture(scope="module")
def smollm2(smollm2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


def test_modelfile_has_every_part(smollm2):
    template = resolve_chat_template(MODEL, smollm2)
    parsed = parse_modelfile(render_modelfile("tutor.Q8_0.gguf", template, SYSTEM, SAMPLING))
    assert parsed["from"] == "./tutor.Q8_0.gguf"
    assert parsed["template"] == template.ollama
    assert parsed["stop"] == list(template.stop)
    assert parsed["system"] == SYSTEM
    assert parsed["parameters"] == {key: str(value) for key, value in SAMPLING.items()}


@pytest.mark.parametrize("name", [MODEL, "chatml"])
def test_template_renders_as_training_did(smollm2, name, render_ollama):
    """What Ollama sends llama.cpp equals what the model was trained on, turn for turn."""
    template = resolve_chat_template(name, smollm2)
    parsed = parse_modelfile(render_modelfile("tutor.Q8_0.gguf", template, SYSTEM, SAMPLING))
    conversation = [
        {"role": "system", "content": parsed["system"]},
        {"role": "user", "content": QUESTIONS[1]},
        {"role": "assistant", "content": "Imprime 0, 1 y 2."},
        {"role": "user", "content": QUESTIONS[0]},
    ]
    trained = render(smollm2, template, conversation, add_generation_prompt=True)
    assert render_ollama(parsed["template"], parsed["system"], conversation[1:]) == trained


def test_llama3_layout_renders_as_training_did(smollm2_tokenizer_dir, render_ollama):
    """The LLaMA 3.2 recipe: LLaMA-3 headers and <|eot_id|> stops (Ollama adds BOS itself)."""
    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    tokenizer.add_tokens(LLAMA3_TOKENS, special_tokens=True)
    tokenizer.bos_token = "<|begin_of_text|>"
    template = BUILTIN["llama-3.1"]
    parsed = parse_modelfile(render_modelfile("tutor.Q8_0.gguf", template, SYSTEM, SAMPLING))
    assert parsed["stop"][0] == "<|eot_id|>"
    conversation = [
        {"role": "system", "content": SYSTEM},
        {"role": "user", "content": QUESTIONS[2]},
    ]
    trained = render(tokenizer, template, conversation, add_generation_prompt=True)
    ollama = render_ollama(parsed["template"], parsed["system"], conversation[1:])
    assert "<|begin_of_text|>" + ollama == trained


def test_unknown_sampling_parameter_names_the_key(smollm2):
    template = resolve_chat_template(MODEL, smollm2)
    with pytest.raises(ValueError, match=r"\['temprature'\] in `export.modelfile.parameters`"):
        render_modelfile("tutor.Q8_0.gguf", template, SYSTEM, {"temprature": 0.2})


def test_system_prompt_that_cannot_be_quoted(smollm2):
    template = resolve_chat_template(MODEL, smollm2)
    with pytest.raises(ValueError, match="system prompt contains"):
        render_modelfile("tutor.Q8_0.gguf", template, 'Di """hola"""', SAMPLING)


def test_publish_refuses_an_unverified_gguf(smollm2, tutor_val, tmp_path):
    plan = {"chat_template": resolve_chat_template(MODEL, smollm2)}
    gguf = tmp_path / "tutor.Q8_0.gguf"
    with pytest.raises(ValueError, match="did not pass the fidelity check"):
        publish_gguf(gguf, {"passed": False}, plan, tutor_val, {"parameters": SAMPLING})
    path, text = publish_gguf(gguf, {"passed": True}, plan, tutor_val, {"parameters": SAMPLING})
    assert path == gguf
    assert parse_modelfile(text)["from"] == "./tutor.Q8_0.gguf"


def test_runtime_parameters_of_the_modelfile_export_writes(smollm2, tutor_val, project_root):
    """The shipped PARAMETERs come back typed; what the Modelfile leaves out is Ollama's."""
    import yaml

    conf = yaml.safe_load((project_root / "conf/base/parameters_export.yml").read_text())
    shipped = conf["export"]["modelfile"]
    plan = {"chat_template": resolve_chat_template(MODEL, smollm2)}
    _, text = publish_gguf(Path("tutor.Q8_0.gguf"), {"passed": True}, plan, tutor_val, shipped)
    parameters = runtime_parameters(parse_modelfile(text))
    assert parameters == {**OLLAMA_DEFAULTS, **shipped["parameters"]}
    assert isinstance(parameters["num_ctx"], int) and isinstance(parameters["top_p"], float)


def test_a_parameter_of_the_wrong_type_is_named():
    with pytest.raises(ValueError, match=r"PARAMETER num_ctx '2k' is not of type int"):
        runtime_parameters({"parameters": {"num_ctx": "2k"}})
    with pytest.raises(ValueError, match=r"\['temprature'\] unknown to Ollama"):
        runtime_parameters({"parameters": {"temprature": "0.2"}})
