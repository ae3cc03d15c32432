"""tools/ollama_template: Go's text/template fed the data Ollama's chat handler builds."""

from __future__ import annotations

import pytest

SHOW = "{{ .System }}|{{ range .Messages }}[{{ .Role }}:{{ .Content }}]{{ end }}"
QUESTION = {"role": "user", "content": "¿Qué es una lista?"}


def test_the_modelfile_system_comes_first_only_without_a_system_turn(render_ollama):
    assert render_ollama(SHOW, "Tutor", [QUESTION]) == (
        "Tutor|[system:Tutor][user:¿Qué es una lista?]"
    )
    own = {"role": "system", "content": "Otro"}
    assert render_ollama(SHOW, "Tutor", [own, QUESTION]) == (
        "Otro|[system:Otro][user:¿Qué es una lista?]"
    )


def test_consecutive_turns_of_one_role_merge_and_system_turns_join(render_ollama):
    messages = [
        {"role": "system", "content": "A"},
        {"role": "system", "content": "B"},
        QUESTION,
        {"role": "user", "content": "¿Y una tupla?"},
    ]
    assert render_ollama(SHOW, "", messages) == (
        "A\n\nB|[system:A\n\nB][user:¿Qué es una lista?\n\n¿Y una tupla?]"
    )


def test_the_whole_of_go_templates_is_available(render_ollama):
    template = (
        '{{- range $i, $m := .Messages }}{{ if and (eq $m.Role "user") (eq $i 0) }}'
        "first {{ len $.Messages }}{{ end }}{{ end }}{{ .Response }}."
    )
    assert render_ollama(template, "", [QUESTION]) == "first 1."


def test_ollamas_legacy_prompt_templates_are_refused(render_ollama):
    with pytest.raises(ValueError, match=r"does not use \.Messages"):
        render_ollama("{{ .System }} {{ .Prompt }}", "s", [QUESTION])
