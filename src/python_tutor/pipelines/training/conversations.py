"""Tutor conversations in the shapes the trainers read, with loss on the answer only.

The transformers+PEFT+TRL backend gets TRL's conversational prompt-completion format
(``prompt`` = every turn before the last, ``completion`` = the final assistant turn): TRL then
masks the prompt itself, whatever the chat template (FACTS.md: ``assistant_only_loss`` fails
with ChatML templates that lack ``{% generation %}`` markers). Unsloth reads rendered ``text``
and masks with its own ``train_on_responses_only`` between the template's turn markers.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd

from python_tutor.chat_templates import ChatTemplate, render

ROLES = ("system", "user", "assistant")


def check_conversations(conversations: pd.DataFrame, dataset: str) -> list[list[dict[str, str]]]:
    """The ``messages`` of each row, checked: roles known, contents text, last turn the answer.

    Raises:
        ValueError: naming the dataset, row and ``example_id`` of the first bad conversation.
    """
    if "messages" not in conversations.columns:
        raise ValueError(f"`{dataset}` has no `messages` column; columns: {list(conversations)}")
    if conversations.empty:
        raise ValueError(f"`{dataset}` is empty: there is nothing to train or validate on")
    ids = conversations.get("example_id", pd.Series(range(len(conversations))))
    checked = []
    for row, (example_id, messages) in enumerate(zip(ids, conversations["messages"], strict=True)):
        problem = _problem(messages)
        if problem:
            raise ValueError(
                f"`{dataset}` row {row} (example_id {example_id}) column `messages`: {problem}"
            )
        checked.append([{"role": m["role"], "content": m["content"]} for m in messages])
    return checked


def _problem(messages: Any) -> str | None:
    """Why ``messages`` cannot be trained on, or None."""
    if not isinstance(messages, list) or len(messages) < 2:
        return "expected a list of at least a user and an assistant turn"
    for turn in messages:
        if not isinstance(turn, Mapping) or turn.get("role") not in ROLES:
            return f"every turn needs a role in {ROLES}; got {turn!r:.80}"
        if not isinstance(turn.get("content"), str) or not turn["content"].strip():
            return f"the {turn['role']} turn has no text content"
    if messages[-1]["role"] != "assistant":
        return "the last turn must be the assistant's answer"
    if not any(turn["role"] == "user" for turn in messages[:-1]):
        return "no user turn before the answer"
    return None


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
