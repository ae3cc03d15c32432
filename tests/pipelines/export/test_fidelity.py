"""The fidelity check: llama.cpp on the GGUF against transformers on the merged checkpoint."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.pipelines.export.fidelity import (
    FidelityError,
    enforce_thresholds,
    system_prompt_of,
    validation_prompts,
)
from python_tutor.pipelines.export.nodes import check_gguf_fidelity

from .conftest import SYSTEM


def test_prompts_stop_before_the_first_answer(tutor_val):
    prompts = validation_prompts(tutor_val, 2)
    assert len(prompts) == 2
    assert [turn["role"] for turn in prompts[0]] == ["system", "user"]


def test_prompts_need_a_messages_column():
    with pytest.raises(ValueError, match=r"`tutor_val` lacks column\(s\) \['messages'\]"):
        validation_prompts(pd.DataFrame({"text": ["hola"]}), 1)


def test_prompts_need_a_user_turn():
    turns = [
        {"role": "system", "content": "Eres un tutor."},
        {"role": "assistant", "content": "Hola"},
    ]
    frame = pd.DataFrame({"messages": [turns]})
    with pytest.raises(ValueError, match="row 1 column `messages`: no user turn"):
        validation_prompts(frame, 1)


def test_system_prompt_is_the_one_of_the_conversations(tutor_val):
    assert system_prompt_of(tutor_val) == SYSTEM


def test_system_prompt_must_be_unique(tutor_val):
    other = tutor_val.copy()
    other.at[0, "messages"] = [{"role": "system", "content": "Otro."}] + other.at[0, "messages"][1:]
    with pytest.raises(ValueError, match="2 different system prompts"):
        system_prompt_of(other)


def test_thresholds_name_the_failing_figure_and_parameter():
    figures = {
        "prompts": 4,
        "same_prompt_text": 1,
        "next_token_agreement": 0.5,
        "continuation_agreement": 1.0,
    }
    thresholds = {"next_token_agreement": 0.9, "continuation_agreement": 0.5}
    with pytest.raises(FidelityError, match=r"min_next_token_agreement.*3 of 4 prompts"):
        enforce_thresholds(figures, thresholds)
    enforce_thresholds({**figures, "next_token_agreement": 0.95}, thresholds)


@pytest.mark.slow
def test_the_converted_gguf_agrees_with_the_merged_model(exported, tutor_val):
    figures = check_gguf_fidelity(
        exported["gguf"],
        exported["merged"],
        exported["plan"],
        tutor_val,
        exported["params"]["fidelity"],
    )
    assert figures["passed"]
    assert figures["same_prompt_text"] == figures["prompts"] == len(tutor_val)
    assert figures["next_token_agreement"] >= 0.9
    assert all(p["same_prompt_tokens"] for p in figures["per_prompt"])


@pytest.mark.slow
def test_a_gguf_with_the_wrong_chat_template_fails_the_check(exported, tutor_val):
    with pytest.raises(FidelityError, match="laid out 3 of 3 prompts differently"):
        check_gguf_fidelity(
            exported["wrong_gguf"],
            exported["merged"],
            exported["plan"],
            tutor_val,
            exported["params"]["fidelity"],
        )


def test_tutor_val_is_compared_with_the_one_training_recorded(tutor_val):
    from python_tutor.pipelines.export.nodes import _same_data_as_training
    from python_tutor.pipelines.training.conversations import check_conversations, content_sha256

    recorded = content_sha256(check_conversations(tutor_val, "tutor_val"))
    plan = {"adapter_dir": "adapter", "tutor_val_sha256": recorded}
    assert _same_data_as_training(tutor_val, plan) is True
    assert _same_data_as_training(tutor_val.head(2), plan) is False
    assert _same_data_as_training(tutor_val, {"tutor_val_sha256": None}) is None
