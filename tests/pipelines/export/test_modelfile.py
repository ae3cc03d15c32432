"""The Modelfile: FROM the GGUF beside it, the trained layout as TEMPLATE, its stops, SYSTEM."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from python_tutor.chat_templates import BUILTIN, MODEL, render, resolve_chat_template
from python_tutor.pipelines.export.modelfile import parse_modelfile, render_modelfile
from python_tutor.pipelines.export.nodes import publish_gguf
from tests.test_chat_templates import render_ollama

from .conftest import QUESTIONS, SYSTEM

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
def test_template_renders_as_training_did(smollm2, name):
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
    assert render_ollama(parsed["template"], conversation) == trained


def test_llama3_layout_gives_its_own_stops():
    parsed = parse_modelfile(
        render_modelfile("tutor.Q8_0.gguf", BUILTIN["llama-3.1"], SYSTEM, SAMPLING)
    )
    assert "<|eot_id|>" in parsed["stop"]
    assert parsed["template"].startswith("<|start_header_id|>system")


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
