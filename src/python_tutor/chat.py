"""Chat with an exported tutor GGUF through llama.cpp, laid out exactly as Ollama would.

The Modelfile written beside the GGUF is the single source of the chat layout (TEMPLATE), the
persona (SYSTEM), the stop strings and the sampling defaults, so a chat here answers as
``ollama run`` would.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from python_tutor.modelfile import gguf_prompts, parse_modelfile

# Modelfile PARAMETERs that map one to one onto llama-cpp-python's sampling arguments.
_SAMPLING = {"temperature": float, "top_p": float, "top_k": int, "repeat_penalty": float}


@dataclass
class Tutor:
    """One loaded GGUF and the Modelfile that says how to talk to it."""

    llama: Any
    modelfile: Mapping[str, Any]

    @property
    def sampling(self) -> dict[str, Any]:
        """The Modelfile's sampling defaults as llama.cpp arguments."""
        parameters = self.modelfile.get("parameters", {})
        return {k: cast(parameters[k]) for k, cast in _SAMPLING.items() if k in parameters}

    def reply(self, history: Sequence[Mapping[str, str]], max_tokens: int) -> Iterator[str]:
        """Stream the answer to the last user turn of ``history`` (user/assistant turns)."""
        (prompt,) = gguf_prompts(self.modelfile, [list(history)])
        tokens = self.llama.tokenize(prompt.encode("utf-8"), add_bos=False, special=True)
        self.llama.reset()
        for chunk in self.llama.create_completion(
            tokens,
            max_tokens=max_tokens,
            stop=list(self.modelfile.get("stop", [])),
            stream=True,
            **self.sampling,
        ):
            yield chunk["choices"][0]["text"]


def open_tutor(gguf: Path, modelfile_text: str, n_ctx: int, n_threads: int) -> Tutor:
    """Load the GGUF with llama.cpp; the Modelfile must carry a TEMPLATE."""
    from llama_cpp import Llama  # noqa: PLC0415 - only the chat command needs llama.cpp

    modelfile = parse_modelfile(modelfile_text)
    if not modelfile.get("template"):
        raise ValueError(f"The Modelfile beside {gguf} has no TEMPLATE: re-run the export")
    return Tutor(
        Llama(model_path=str(gguf), n_ctx=n_ctx, n_threads=n_threads, verbose=False), modelfile
    )
