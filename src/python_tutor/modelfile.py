"""The Ollama Modelfile: the GGUF, the trained chat layout, its stops, the system prompt.

Reference: https://github.com/ollama/ollama/blob/main/docs/modelfile.md. ``TEMPLATE`` and the
``stop`` strings come from ``python_tutor.chat_templates`` so Ollama lays out a conversation
exactly as training did.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from python_tutor.chat_templates import ChatTemplate
from python_tutor.go_template import render_ollama_template

# Ollama's documented PARAMETER names (a typo would be ignored by Ollama, so refuse it here).
OLLAMA_PARAMETERS = frozenset(
    {
        "num_ctx",
        "repeat_last_n",
        "repeat_penalty",
        "temperature",
        "seed",
        "num_predict",
        "top_k",
        "top_p",
        "min_p",
    }
)
_TRIPLE = '"""'
_SECTION = re.compile(r'^(TEMPLATE|SYSTEM) """(.*?)"""$', re.DOTALL | re.MULTILINE)


def _quoted(text: str, what: str) -> str:
    if _TRIPLE in text:
        raise ValueError(f"{what} contains {_TRIPLE}, which a Modelfile cannot quote")
    return f"{_TRIPLE}{text}{_TRIPLE}"


def render_modelfile(
    gguf_name: str,
    template: ChatTemplate,
    system_prompt: str,
    parameters: Mapping[str, Any],
) -> str:
    """The Modelfile text, ``FROM`` the GGUF beside it in the same version folder.

    Raises:
        ValueError: an unknown sampling parameter (named by its key) or unquotable text.
    """
    unknown = sorted(set(parameters) - OLLAMA_PARAMETERS)
    if unknown:
        raise ValueError(
            f"Unknown Ollama parameter(s) {unknown} in `export.modelfile.parameters`; "
            f"Ollama knows {sorted(OLLAMA_PARAMETERS)}"
        )
    lines = [
        f"# Python tutor (Spanish), chat layout {template.name}. Build it with:",
        "#   ollama create tutor -f Modelfile",
        f"FROM ./{gguf_name}",
        f"TEMPLATE {_quoted(template.ollama, 'The Ollama template')}",
        *(f'PARAMETER stop "{stop}"' for stop in template.stop),
        *(f"PARAMETER {key} {value}" for key, value in parameters.items()),
        f"SYSTEM {_quoted(system_prompt, 'The system prompt')}",
    ]
    return "\n".join(lines) + "\n"


def parse_modelfile(text: str) -> dict[str, Any]:
    """The parts of a Modelfile this project writes: FROM, TEMPLATE, SYSTEM, PARAMETERs.

    Used to check a saved Modelfile (tests, evaluation) without Ollama.
    """
    parsed: dict[str, Any] = {"parameters": {}, "stop": []}
    for key, value in _SECTION.findall(text):
        parsed[key.lower()] = value
    for line in _SECTION.sub("", text).splitlines():
        keyword, _, rest = line.partition(" ")
        if keyword == "FROM":
            parsed["from"] = rest
        elif keyword == "PARAMETER":
            name, _, value = rest.partition(" ")
            if name == "stop":
                parsed["stop"].append(value.strip('"'))
            else:
                parsed["parameters"][name] = value
    return parsed


def gguf_prompts(
    modelfile: Mapping[str, Any], chats: Sequence[Sequence[Mapping[str, str]]]
) -> list[str]:
    """Each chat as Ollama would lay it out: the Modelfile's TEMPLATE and SYSTEM prompt.

    System turns in the chat are dropped: a deployed tutor gets only the user's question and
    the Modelfile supplies the persona, so this is what users of the GGUF will see.

    Raises:
        ValueError: the Modelfile has no TEMPLATE (Ollama would fall back to a raw prompt).
    """
    if not modelfile.get("template"):
        raise ValueError("ollama_modelfile has no TEMPLATE, so the GGUF's chat layout is unknown")
    system = modelfile.get("system", "")
    return [
        render_ollama_template(
            modelfile["template"], system, [m for m in chat if m["role"] != "system"]
        )
        for chat in chats
    ]
