"""python_tutor.gguf_chat: the persona rule, the Modelfile's settings, a GGUF without template.

The prompt ids themselves are checked against training and Ollama in test_token_parity.py.
"""

from __future__ import annotations

import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.gguf_chat import chat_messages, completion_settings, open_gguf
from python_tutor.modelfile import parse_modelfile, render_modelfile

QUESTION = {"role": "user", "content": "¿Qué es un diccionario?"}


def test_the_modelfile_persona_goes_first_unless_the_chat_has_its_own():
    modelfile = {"system": "Eres un tutor."}
    assert chat_messages(modelfile, [QUESTION]) == [
        {"role": "system", "content": "Eres un tutor."},
        QUESTION,
    ]
    own = {"role": "system", "content": "Sé breve."}
    assert chat_messages(modelfile, [own, QUESTION]) == [own, QUESTION]
    assert chat_messages({"system": ""}, [QUESTION]) == [QUESTION]


def test_completion_settings_are_the_modelfiles_with_ollamas_defaults():
    text = render_modelfile("t.gguf", BUILTIN["chatml"], "S", {"temperature": 0.2, "seed": 3})
    assert completion_settings(parse_modelfile(text)) == {
        "temperature": 0.2,
        "seed": 3,
        "top_p": 0.9,
        "top_k": 40,
        "min_p": 0.0,
        "repeat_penalty": 1.1,
        "max_tokens": -1,
        "stop": ["<|im_end|>", "<|im_start|>"],
    }


def test_a_gguf_without_chat_template_is_refused(monkeypatch, tmp_path):
    import llama_cpp

    class NoTemplate:  # what llama_cpp.Llama reports for a GGUF converted without a template
        def __init__(self, **kwargs):
            self.metadata = {"general.architecture": "llama"}

    monkeypatch.setattr(llama_cpp, "Llama", NoTemplate)
    with pytest.raises(ValueError, match=r"old\.gguf has no tokenizer\.chat_template"):
        open_gguf(tmp_path / "old.gguf", {}, n_threads=1, seed=0)
