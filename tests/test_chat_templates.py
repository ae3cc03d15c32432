"""Chat templates: resolution, the Jinja/Ollama agreement, and the exact LLaMA 3 layout."""

from __future__ import annotations

import pytest
from transformers import AutoTokenizer

from python_tutor.chat_templates import (
    BUILTIN,
    apply_chat_template,
    count_tokens,
    render,
    resolve_chat_template,
)

CONVERSATION = [
    {"role": "system", "content": "Eres un tutor de Python."},
    {"role": "user", "content": "¿Qué hace esto?\n\n```python\nx = [1, 2]\n```"},
    {"role": "assistant", "content": "Crea una lista.\n"},
]

LLAMA3_TOKENS = ["<|begin_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>"]


@pytest.fixture(scope="module")
def smollm2(smollm2_tokenizer_dir):
    return AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)


@pytest.fixture(scope="module")
def llama3_like(smollm2_tokenizer_dir):
    """The SmolLM2 tokenizer given LLaMA 3's marker tokens, BOS and template (no hub needed)."""
    tokenizer = AutoTokenizer.from_pretrained(smollm2_tokenizer_dir)
    tokenizer.add_tokens(LLAMA3_TOKENS, special_tokens=True)
    tokenizer.bos_token = "<|begin_of_text|>"
    tokenizer.chat_template = BUILTIN["llama-3.1"].jinja
    return tokenizer


# --- tests ------------------------------------------------------------------------------------
def test_model_template_of_smollm2_is_its_own_chatml(smollm2):
    template = resolve_chat_template(None, smollm2)
    assert template.name == "chatml"
    assert template.jinja == smollm2.chat_template
    assert resolve_chat_template("model", smollm2) == template


def test_model_template_of_llama3_is_detected(llama3_like):
    assert resolve_chat_template("model", llama3_like).name == "llama-3.1"


def test_unknown_name_names_parameter_and_choices(smollm2):
    with pytest.raises(ValueError, match=r"'zephyr'.*`chat_template`.*llama-3\.1"):
        resolve_chat_template("zephyr", smollm2)


def test_template_needing_tokens_the_tokenizer_lacks_fails(smollm2):
    with pytest.raises(ValueError, match=r"<\|start_header_id\|>"):
        resolve_chat_template("llama-3.1", smollm2)


def test_model_template_of_unknown_family_fails(smollm2):
    odd = apply_chat_template(smollm2, BUILTIN["chatml"])
    odd.chat_template = "{% for m in messages %}[{{ m['role'] }}] {{ m['content'] }}{% endfor %}"
    with pytest.raises(ValueError, match="neither ChatML nor LLaMA-3"):
        resolve_chat_template("model", odd)


def test_apply_returns_a_copy(smollm2):
    original = smollm2.chat_template
    copied = apply_chat_template(smollm2, BUILTIN["chatml"])
    assert copied.chat_template == BUILTIN["chatml"].jinja
    assert smollm2.chat_template == original


@pytest.mark.parametrize("name", ["model", "chatml"])
def test_jinja_and_ollama_agree_for_smollm2(smollm2, name, render_ollama):
    """The Ollama TEMPLATE rendered by Go's text/template (Ollama's engine) lays a chat out as
    the Jinja does; the system turn reaches it as .System, as Ollama collates it."""
    template = resolve_chat_template(name, smollm2)
    prompt = render(smollm2, template, CONVERSATION[:2], add_generation_prompt=True)
    assert render_ollama(template.ollama, "", CONVERSATION[:2]) == prompt
    assert prompt.endswith(template.assistant_prefix)
    full = render(smollm2, template, CONVERSATION)
    assert render_ollama(template.ollama, "", CONVERSATION) == full + template.assistant_prefix


def test_jinja_and_ollama_agree_for_llama31(llama3_like, render_ollama):
    template = resolve_chat_template("llama-3.1", llama3_like)
    prompt = render(llama3_like, template, CONVERSATION[:2], add_generation_prompt=True)
    # Ollama's runner adds BOS itself (the vocabulary's rule) when it tokenizes this
    assert "<|begin_of_text|>" + render_ollama(template.ollama, "", CONVERSATION[:2]) == prompt


def test_llama31_matches_llama3_header_format_exactly(llama3_like):
    text = render(llama3_like, BUILTIN["llama-3.1"], CONVERSATION)
    assert text == (
        "<|begin_of_text|><|start_header_id|>system<|end_header_id|>\n\n"
        "Cutting Knowledge Date: December 2023\nToday Date: 26 July 2024\n\n"
        "Eres un tutor de Python.<|eot_id|>"
        "<|start_header_id|>user<|end_header_id|>\n\n"
        "¿Qué hace esto?\n\n```python\nx = [1, 2]\n```<|eot_id|>"
        "<|start_header_id|>assistant<|end_header_id|>\n\n"
        "Crea una lista.\n<|eot_id|>"
    )


def test_every_turn_ends_with_end_of_turn(smollm2, llama3_like):
    for tokenizer, name in ((smollm2, "chatml"), (llama3_like, "llama-3.1")):
        template = resolve_chat_template(name, tokenizer)
        text = render(tokenizer, template, CONVERSATION)
        assert text.count(template.end_of_turn) == len(CONVERSATION)
        assert template.end_of_turn in template.stop


def test_count_tokens_counts_markers_once(smollm2):
    template = resolve_chat_template("chatml", smollm2)
    text = render(smollm2, template, CONVERSATION)
    ids = smollm2(text, add_special_tokens=False)["input_ids"]
    assert count_tokens(smollm2, template, CONVERSATION) == len(ids)
    im_start = smollm2.convert_tokens_to_ids("<|im_start|>")
    assert ids.count(im_start) == len(CONVERSATION)
