"""Conversation checks and the record shapes each backend reads."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.chat_templates import BUILTIN
from python_tutor.pipelines.training.conversations import (
    check_conversations,
    content_sha256,
    instruction_part,
    to_prompt_completion,
)

from .conftest import conversation


def test_prompt_is_every_turn_before_the_answer():
    turns = check_conversations(pd.DataFrame([conversation(1)]), "tutor_train")
    (record,) = to_prompt_completion(turns)
    assert [m["role"] for m in record["prompt"]] == ["system", "user"]
    assert record["completion"] == [turns[0][-1]]
    assert record["completion"][0]["role"] == "assistant"


@pytest.mark.parametrize(
    ("messages", "problem"),
    [
        ([{"role": "user", "content": "¿Hola?"}], "at least a user and an assistant"),
        (
            [{"role": "user", "content": "¿Hola?"}, {"role": "robot", "content": "Hola"}],
            "role in",
        ),
        (
            [{"role": "user", "content": "¿Hola?"}, {"role": "assistant", "content": " "}],
            "every turn needs text content",
        ),
        (
            [{"role": "assistant", "content": "Hola"}, {"role": "user", "content": "¿Hola?"}],
            "last turn must be the assistant",
        ),
        (
            [{"role": "system", "content": "Tutor"}, {"role": "assistant", "content": "Hola"}],
            "no user turn",
        ),
    ],
)
def test_bad_conversation_names_dataset_row_and_id(messages, problem):
    frame = pd.DataFrame([conversation(1), {"example_id": "bad0", "messages": messages}])
    with pytest.raises(ValueError, match=problem) as error:
        check_conversations(frame, "tutor_val")
    assert "`tutor_val` row 2 (example_id bad0) column `messages`" in str(error.value)


def test_empty_or_shapeless_data_is_refused():
    with pytest.raises(ValueError, match="`tutor_train` is empty"):
        check_conversations(pd.DataFrame({"messages": []}), "tutor_train")
    with pytest.raises(ValueError, match=r"lacks column\(s\) \['messages'\]"):
        check_conversations(pd.DataFrame({"text": ["hola"]}), "tutor_train")


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("chatml", "<|im_start|>user\n"),
        ("llama-3.1", "<|start_header_id|>user<|end_header_id|>\n\n"),
    ],
)
def test_instruction_part_is_the_user_turn_marker(name, expected):
    assert instruction_part(BUILTIN[name]) == expected


def test_fingerprint_changes_with_any_text():
    one = check_conversations(pd.DataFrame([conversation(1)]), "tutor_train")
    other = check_conversations(pd.DataFrame([conversation(1, "Otra respuesta.")]), "tutor_train")
    assert content_sha256(one) == content_sha256([list(one[0])])
    assert content_sha256(one) != content_sha256(other)
