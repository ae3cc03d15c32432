"""Prompt and run an exported GGUF exactly as the runtimes that serve it do.

The prompt is built as llama.cpp's server builds it (``common/chat.cpp``): the GGUF's own chat
template (``tokenizer.chat_template``, which llama.cpp's converter copies from the tokenizer
training saved) rendered with the vocabulary's BOS/EOS texts; when the vocabulary adds a BOS
itself (``tokenizer.ggml.add_bos_token``) a BOS the template already wrote is dropped, then the
text is tokenized with special tokens parsed and the vocabulary's BOS rule applied. So a
LLaMA 3 prompt starts with exactly one ``<|begin_of_text|>``, as in training.

The persona is the Modelfile's SYSTEM, put first as Ollama does for a chat without a system
turn, and every runtime setting (context size, stops, sampling) is the Modelfile's
(``python_tutor.modelfile.runtime_parameters``), so the GGUF answers as ``ollama run`` would.
tests/test_token_parity.py checks these tokens against training's and Ollama's.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from python_tutor.modelfile import runtime_parameters

# Modelfile PARAMETERs passed to llama_cpp's create_completion under the same name, and the
# ones under another name. num_ctx and repeat_last_n are set when the model is loaded.
_SAMPLING = ("temperature", "top_p", "top_k", "min_p", "repeat_penalty", "seed")
_RENAMED = {"num_predict": "max_tokens"}


def open_gguf(gguf: Path, modelfile: Mapping[str, Any], n_threads: int, seed: int) -> Any:
    """The GGUF in llama.cpp with the Modelfile's context size and repeat window.

    ``seed`` seeds sampling where the Modelfile sets none (Ollama then picks one at random).

    Raises:
        ValueError: the GGUF carries no chat template, so its prompt layout is unknown.
    """
    from llama_cpp import Llama  # noqa: PLC0415 - only the GGUF paths need llama.cpp

    parameters = runtime_parameters(modelfile)
    llama = Llama(
        model_path=str(gguf),
        n_ctx=parameters["num_ctx"],
        last_n_tokens_size=parameters["repeat_last_n"],
        n_threads=n_threads,
        seed=int(parameters.get("seed", seed)),
        verbose=False,
    )
    if not llama.metadata.get("tokenizer.chat_template"):
        raise ValueError(
            f"{gguf} has no tokenizer.chat_template: re-run the export (the converter copies "
            "the chat template training saved with the tokenizer)"
        )
    return llama


def completion_settings(modelfile: Mapping[str, Any]) -> dict[str, Any]:
    """The Modelfile's stops, sampling and answer length as ``create_completion`` arguments."""
    parameters = runtime_parameters(modelfile)
    settings = {key: parameters[key] for key in _SAMPLING if key in parameters}
    settings.update({new: parameters[old] for old, new in _RENAMED.items()})
    settings["stop"] = list(modelfile.get("stop", []))
    return settings


def chat_messages(
    modelfile: Mapping[str, Any], chat: Sequence[Mapping[str, str]]
) -> list[dict[str, str]]:
    """The turns Ollama lays out for ``chat``: the Modelfile's SYSTEM goes first when the chat
    has no system turn of its own (Ollama's ChatHandler)."""
    turns = [dict(m) for m in chat]
    system = modelfile.get("system", "")
    if system and (not turns or turns[0]["role"] != "system"):
        turns.insert(0, {"role": "system", "content": system})
    return turns


def prompt_tokens(llama: Any, messages: Sequence[Mapping[str, str]]) -> list[int]:
    """``messages`` laid out by the GGUF's chat template and tokenized as llama.cpp's server
    does (module docstring), ending with an open assistant turn."""
    import llama_cpp  # noqa: PLC0415
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # noqa: PLC0415

    vocab = llama_cpp.llama_model_get_vocab(llama.model)
    bos, eos = (
        llama.detokenize([token], special=True).decode("utf-8") if token >= 0 else ""
        for token in (llama.token_bos(), llama.token_eos())
    )
    formatter = Jinja2ChatFormatter(
        template=llama.metadata["tokenizer.chat_template"], eos_token=eos, bos_token=bos
    )
    text = formatter(messages=[dict(m) for m in messages]).prompt
    if llama_cpp.llama_vocab_get_add_bos(vocab) and bos and text.startswith(bos):
        text = text[len(bos) :]
    if llama_cpp.llama_vocab_get_add_eos(vocab) and eos and text.endswith(eos):
        text = text[: -len(eos)]
    # add_bos is llama_tokenize's add_special: BOS/EOS only where the vocabulary says so
    return llama.tokenize(text.encode("utf-8"), add_bos=True, special=True)
