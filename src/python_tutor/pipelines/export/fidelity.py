"""Does the GGUF in llama.cpp behave like the merged model in transformers?

Each side lays the prompt out the way it would in use: transformers with the trained chat
template, llama.cpp with the template embedded in the GGUF (what llama-cpp-python's chat API
applies). Two figures per prompt:

* next-token agreement (teacher forcing): the share of prompt positions where both read the
  same token and predict the same next one; positions after the token streams part count as
  disagreement, so a wrong template or tokenizer in the GGUF shows up at once;
* continuation agreement: the common prefix of the two greedy continuations over their length.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Mapping, Sequence
from itertools import takewhile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from python_tutor.contracts import CONVERSATIONS, validate
from python_tutor.machine import cpu_threads
from python_tutor.precision import resolve_precision

logger = logging.getLogger(__name__)

GGUF_TEMPLATE_KEY = "tokenizer.chat_template"
_SAMPLES = 2  # decoded continuations kept in the report


class FidelityError(RuntimeError):
    """The GGUF does not reproduce the merged model closely enough."""


def validation_prompts(tutor_val: pd.DataFrame, count: int) -> list[list[dict[str, str]]]:
    """The first ``count`` conversations up to (not including) their first assistant turn."""
    validate(tutor_val, CONVERSATIONS, "tutor_val", columns=["messages"])
    prompts = [
        [
            {"role": turn["role"], "content": turn["content"]}
            for turn in takewhile(lambda turn: turn["role"] != "assistant", messages)
        ]
        for messages in tutor_val["messages"].head(count)
    ]
    if not prompts:
        raise ValueError("tutor_val is empty: no prompts for the fidelity check")
    return prompts


def system_prompt_of(tutor_val: pd.DataFrame) -> str:
    """The one system prompt the conversations were formatted (and trained) with."""
    prompts = {
        message["content"]
        for messages in tutor_val["messages"]
        for message in messages
        if message["role"] == "system"
    }
    if len(prompts) != 1:
        raise ValueError(
            f"tutor_val holds {len(prompts)} different system prompts; the Modelfile's SYSTEM "
            "needs exactly one"
        )
    return prompts.pop()


def _common_prefix(first: Sequence[int], second: Sequence[int]) -> int:
    length = 0
    for a, b in zip(first, second, strict=False):
        if a != b:
            break
        length += 1
    return length


def _llama_greedy(llm: Any, ids: list[int], steps: int, stop: set[int]) -> list[int]:
    """Greedy decoding from the raw logits (no sampler chain), as transformers does it."""
    out: list[int] = []
    for _ in range(steps):
        token = int(np.argmax(llm.scores[llm.n_tokens - 1]))
        out.append(token)
        if token in stop:
            break
        llm.eval([token])
    return out


def measure_fidelity(
    gguf_path: Path,
    merged_dir: Path,
    template_jinja: str,
    prompts: Sequence[Sequence[Mapping[str, str]]],
    settings: Mapping[str, Any],
) -> dict[str, Any]:
    """Agreement figures of llama.cpp (GGUF) against transformers (merged checkpoint)."""
    import torch  # noqa: PLC0415 - heavy imports only when the node runs
    from llama_cpp import Llama  # noqa: PLC0415
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter  # noqa: PLC0415
    from transformers import (  # noqa: PLC0415
        AutoModelForCausalLM,
        AutoTokenizer,
        GenerationConfig,
    )

    started = time.perf_counter()
    precision = resolve_precision(settings["torch_dtype"], "export.fidelity.torch_dtype")
    tokenizer = AutoTokenizer.from_pretrained(merged_dir)
    model = AutoModelForCausalLM.from_pretrained(
        merged_dir, dtype=getattr(torch, precision.torch_name)
    ).eval()
    stop_ids = model.generation_config.eos_token_id
    stop = set(stop_ids if isinstance(stop_ids, list) else [stop_ids]) - {None}
    greedy = GenerationConfig(
        max_new_tokens=settings["continuation_tokens"],
        do_sample=False,
        eos_token_id=sorted(stop),
        pad_token_id=tokenizer.pad_token_id or tokenizer.eos_token_id,
    )
    llm = Llama(
        model_path=str(gguf_path),
        n_ctx=settings["n_ctx"],
        n_threads=cpu_threads(settings["n_threads"]),
        logits_all=True,
        verbose=False,
    )
    try:
        gguf_template = llm.metadata.get(GGUF_TEMPLATE_KEY)
        if not gguf_template:
            raise FidelityError(f"The GGUF '{gguf_path}' carries no {GGUF_TEMPLATE_KEY}")
        special = {"special": True}
        formatter = Jinja2ChatFormatter(
            template=gguf_template,
            eos_token=llm.detokenize([llm.token_eos()], **special).decode(),
            bos_token=llm.detokenize([llm.token_bos()], **special).decode(),
        )
        per_prompt = []
        for prompt in tqdm(prompts, desc="fidelity check", unit="prompt", disable=None):
            messages = [dict(message) for message in prompt]
            hf_text = tokenizer.apply_chat_template(
                messages, chat_template=template_jinja, tokenize=False, add_generation_prompt=True
            )
            hf_ids = tokenizer(hf_text, add_special_tokens=False)["input_ids"]
            gguf_text = formatter(messages=messages).prompt
            gguf_ids = llm.tokenize(gguf_text.encode("utf-8"), add_bos=False, **special)
            if max(len(hf_ids), len(gguf_ids)) + greedy.max_new_tokens > settings["n_ctx"]:
                raise ValueError(
                    f"A prompt of {len(gguf_ids)} tokens does not fit `export.fidelity.n_ctx` "
                    f"({settings['n_ctx']}) with its continuation"
                )
            with torch.no_grad():
                ids = torch.tensor([hf_ids])
                hf_next = model(ids).logits[0].argmax(-1).tolist()
                hf_continuation = model.generate(
                    ids, attention_mask=torch.ones_like(ids), generation_config=greedy
                )[0, len(hf_ids) :].tolist()
            llm.reset()
            llm.eval(gguf_ids)
            gguf_next = np.argmax(llm.scores[: len(gguf_ids)], axis=-1).tolist()
            gguf_continuation = _llama_greedy(llm, gguf_ids, greedy.max_new_tokens, stop)
            shared = _common_prefix(hf_ids, gguf_ids)
            agreeing = sum(a == b for a, b in zip(hf_next[:shared], gguf_next[:shared]))
            span = max(len(hf_continuation), len(gguf_continuation), 1)
            per_prompt.append(
                {
                    "prompt_tokens": len(hf_ids),
                    "same_prompt_text": hf_text == gguf_text,
                    "same_prompt_tokens": hf_ids == gguf_ids,
                    "next_token_agreement": agreeing / max(len(hf_ids), len(gguf_ids)),
                    "continuation_agreement": (
                        _common_prefix(hf_continuation, gguf_continuation) / span
                    ),
                    "transformers": tokenizer.decode(hf_continuation),
                    "llama_cpp": llm.detokenize(gguf_continuation).decode("utf-8", "replace"),
                }
            )
    finally:
        llm.close()
    figures = {
        "prompts": len(per_prompt),
        "same_prompt_text": sum(p["same_prompt_text"] for p in per_prompt),
        "next_token_agreement": float(np.mean([p["next_token_agreement"] for p in per_prompt])),
        "continuation_agreement": float(np.mean([p["continuation_agreement"] for p in per_prompt])),
        "continuation_tokens": greedy.max_new_tokens,
        "transformers_precision": precision.as_dict(),
        "seconds": round(time.perf_counter() - started, 2),
        "per_prompt": [
            {key: value for key, value in p.items() if key not in ("transformers", "llama_cpp")}
            for p in per_prompt
        ],
        "samples": [
            {"transformers": p["transformers"], "llama_cpp": p["llama_cpp"]}
            for p in per_prompt[:_SAMPLES]
        ],
    }
    logger.info(
        "Fidelity over %d prompts: next-token %.3f, continuation %.3f, same layout %d",
        figures["prompts"],
        figures["next_token_agreement"],
        figures["continuation_agreement"],
        figures["same_prompt_text"],
    )
    return figures


def enforce_thresholds(figures: Mapping[str, Any], thresholds: Mapping[str, float]) -> None:
    """Fail the run when an agreement figure is under its ``export.fidelity`` threshold."""
    failures = [
        f"{name} {figures[name]:.3f} < {minimum} (`export.fidelity.min_{name}`)"
        for name, minimum in thresholds.items()
        if figures[name] < minimum
    ]
    if failures:
        hint = ""
        if figures["same_prompt_text"] < figures["prompts"]:
            differ = figures["prompts"] - figures["same_prompt_text"]
            hint = (
                f"; the GGUF's chat template laid out {differ} of {figures['prompts']} prompts "
                "differently from the trained template"
            )
        raise FidelityError("GGUF fidelity check failed: " + "; ".join(failures) + hint)
