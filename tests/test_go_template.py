"""The Ollama TEMPLATE renderer lays chats out exactly as the Hugging Face Jinja does."""

from __future__ import annotations

import jinja2
import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.go_template import render_ollama_template

CHAT = [
    {"role": "user", "content": "¿Qué es una lista?"},
    {"role": "assistant", "content": "Una secuencia mutable."},
    {"role": "user", "content": "¿Y una tupla?"},
]


@pytest.mark.parametrize("name", sorted(BUILTIN))
def test_each_builtin_ollama_template_matches_its_jinja(name):
    template = BUILTIN[name]
    ollama = render_ollama_template(template.ollama, "Eres un tutor.", CHAT)
    jinja = jinja2.Template(template.jinja).render(
        messages=[{"role": "system", "content": "Eres un tutor."}, *CHAT],
        add_generation_prompt=True,
        bos_token="",
    )
    assert ollama == jinja


def test_trims_conditions_else_and_prompt():
    template = "{{- if .System }}S={{ .System }}\n{{ else }}none\n{{ end -}}  P={{ .Prompt }}"
    assert render_ollama_template(template, "", CHAT) == "none\nP=¿Y una tupla?"
    assert render_ollama_template(template, "x", CHAT) == "S=x\nP=¿Y una tupla?"


def test_range_sees_each_message_and_the_top_level():
    template = (
        '{{ range .Messages }}{{ if eq .Role "user" }}[{{ $.System }}:{{ .Content }}]{{ end }}'
        "{{ end }}"
    )
    assert render_ollama_template(template, "s", CHAT) == "[s:¿Qué es una lista?][s:¿Y una tupla?]"


@pytest.mark.parametrize(
    ("template", "message"),
    [
        ("{{ .Tools }}", r"\.Tools is not available"),
        ("{{ if .System }}x", "unclosed"),
        ('{{ template "x" }}', "Unsupported Ollama template action"),
        ("{{ if and .System .Prompt }}x{{ end }}", "Unsupported Ollama template condition"),
    ],
)
def test_unsupported_templates_are_refused_not_rendered_differently(template, message):
    with pytest.raises(ValueError, match=message):
        render_ollama_template(template, "s", CHAT)
