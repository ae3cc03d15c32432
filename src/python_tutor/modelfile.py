"""The Ollama Modelfile: the GGUF, the trained chat layout, its stops, the system prompt.

Reference: https://github.com/ollama/ollama/blob/main/docs/modelfile.md. ``TEMPLATE`` and the
``stop`` strings come from ``python_tutor.chat_templates`` so Ollama lays out a conversation
exactly as training did. ``runtime_parameters`` reads the PARAMETERs back for the chat and
evaluation, which run the GGUF as ``ollama run`` would (python_tutor.gguf_chat).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from python_tutor.chat_templates import ChatTemplate

# Ollama's documented PARAMETERs (docs/modelfile.md, "Valid Parameters and Values") with their
# value types; a typo would be ignored by Ollama, so one is refused here.
OLLAMA_PARAMETERS: dict[str, type] = {
    "num_ctx": int,
    "repeat_last_n": int,
    "repeat_penalty": float,
    "temperature": float,
    "seed": int,
    "num_predict": int,
    "top_k": int,
    "top_p": float,
    "min_p": float,
}
# Ollama's documented defaults for a PARAMETER the Modelfile leaves out (seed has none: Ollama
# then samples with a random seed).
OLLAMA_DEFAULTS: dict[str, int | float] = {
    "num_ctx": 2048,
    "repeat_last_n": 64,
    "repeat_penalty": 1.1,
    "temperature": 0.8,
    "num_predict": -1,
    "top_k": 40,
    "top_p": 0.9,
    "min_p": 0.0,
}
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
    unknown = sorted(set(parameters) - set(OLLAMA_PARAMETERS))
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


def runtime_parameters(modelfile: Mapping[str, Any]) -> dict[str, int | float]:
    """Every runtime PARAMETER of a parsed Modelfile, typed, with Ollama's default for those it
    leaves out: what ``ollama run`` would run the model with.

    Raises:
        ValueError: an unknown PARAMETER or a value of the wrong type (named by its key).
    """
    given = dict(modelfile.get("parameters", {}))
    unknown = sorted(set(given) - set(OLLAMA_PARAMETERS))
    if unknown:
        raise ValueError(f"Modelfile PARAMETER(s) {unknown} unknown to Ollama")
    typed: dict[str, int | float] = dict(OLLAMA_DEFAULTS)
    for key, value in given.items():
        try:
            typed[key] = OLLAMA_PARAMETERS[key](value)
        except ValueError as err:
            kind = OLLAMA_PARAMETERS[key].__name__
            raise ValueError(f"Modelfile PARAMETER {key} {value!r} is not of type {kind}") from err
    return typed
