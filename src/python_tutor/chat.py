"""Chat with an exported tutor GGUF through llama.cpp, as ``ollama run`` would answer.

The Modelfile written beside the GGUF gives the persona (SYSTEM), the stops and every runtime
setting (context size, sampling, answer length); the GGUF's own chat template lays the turns
out, tokenized as llama.cpp's server does (python_tutor.gguf_chat).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_tutor.gguf_chat import chat_messages, completion_settings, open_gguf, prompt_tokens
from python_tutor.modelfile import parse_modelfile


@dataclass
class Tutor:
    """One loaded GGUF and the Modelfile that says how to talk to it."""

    llama: Any
    modelfile: Mapping[str, Any]

    def reply(
        self, history: Sequence[Mapping[str, str]], max_tokens: int | None = None
    ) -> Iterator[str]:
        """Stream the answer to the last user turn of ``history`` (user/assistant turns);
        ``max_tokens`` overrides the Modelfile's ``num_predict``."""
        tokens = prompt_tokens(self.llama, chat_messages(self.modelfile, history))
        settings = completion_settings(self.modelfile)
        if max_tokens is not None:
            settings["max_tokens"] = max_tokens
        self.llama.reset()
        for chunk in self.llama.create_completion(tokens, stream=True, **settings):
            yield chunk["choices"][0]["text"]


def open_tutor(gguf: Path, modelfile_text: str, n_threads: int) -> Tutor:
    """Load the GGUF with llama.cpp, configured by its Modelfile (sampling seeded at random
    unless the Modelfile sets a seed, as in Ollama)."""
    from llama_cpp import LLAMA_DEFAULT_SEED  # noqa: PLC0415 - only the chat needs llama.cpp

    modelfile = parse_modelfile(modelfile_text)
    return Tutor(open_gguf(gguf, modelfile, n_threads, LLAMA_DEFAULT_SEED), modelfile)
