"""Tutor conversations in the shapes the trainers read, with loss on the answer only.

The transformers+PEFT+TRL backend gets TRL's conversational prompt-completion format
(``prompt`` = every turn before the last, ``completion`` = the final assistant turn): TRL then
masks the prompt itself, whatever the chat template. ``assistant_only_loss=True`` on a
``messages`` dataset is no alternative: with TRL 1.16 it fails on SmolLM2's ChatML template
("not training-compatible ... missing ``{% generation %}`` markers"), while prompt-completion
records trained only on ``answer<|im_end|>\n`` (the labels decoded, on CPU). Unsloth reads
rendered ``text`` and masks with its own ``train_on_responses_only`` between the template's
turn markers.
"""

from __future__ import annotations

import hashlib
import json
from typing import Any

import pandas as pd

from python_tutor.chat_templates import ChatTemplate, render
from python_tutor.contracts import CONVERSATIONS, validate


def check_conversations(conversations: pd.DataFrame, dataset: str) -> list[list[dict[str, str]]]:
    """The ``messages`` of each row, checked against the conversations contract.

    Raises:
        ValueError: naming the dataset, row and ``example_id`` of the first bad conversation,
            or saying it is empty.
    """
    validate(conversations, CONVERSATIONS, dataset, columns=["messages"])
    if conversations.empty:
        raise ValueError(f"`{dataset}` is empty: there is nothing to train or validate on")
    return [
        [{"role": turn["role"], "content": turn["content"]} for turn in messages]
        for messages in conversations["messages"]
    ]


def to_prompt_completion(conversations: list[list[dict[str, str]]]) -> list[dict[str, Any]]:
    """TRL's conversational prompt-completion records: the answer is the completion."""
    return [{"prompt": turns[:-1], "completion": turns[-1:]} for turns in conversations]


def to_text(
    conversations: list[list[dict[str, str]]], tokenizer: Any, template: ChatTemplate
) -> list[dict[str, str]]:
    """Whole rendered conversations, the ``text`` Unsloth's recipe trains on."""
    return [{"text": render(tokenizer, template, turns)} for turns in conversations]


def instruction_part(template: ChatTemplate) -> str:
    """The text that opens a user turn, from the template's assistant opening.

    Both layouts name the role inside the same marker (``<|im_start|>assistant\\n``,
    ``<|start_header_id|>assistant<|end_header_id|>\\n\\n``), so the user marker is the same
    text with the role swapped; checked so a new layout cannot silently mask nothing.
    """
    if template.assistant_prefix.count("assistant") != 1:
        raise ValueError(
            f"Chat template {template.name!r}: cannot derive the user-turn marker from "
            f"{template.assistant_prefix!r}"
        )
    return template.assistant_prefix.replace("assistant", "user")


def content_sha256(conversations: list[list[dict[str, str]]]) -> str:
    """A fingerprint of the exact training data, for provenance and safe resuming."""
    payload = json.dumps(conversations, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
