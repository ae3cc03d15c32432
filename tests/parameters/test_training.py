"""The training block's model: recipe keys typed, keys the plan owns or TRL lacks refused."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from python_tutor.parameters.training import TrainingParameters


@pytest.mark.parametrize(
    ("block", "key", "value", "message"),
    [
        (None, "backend", "cuda", "'auto', 'unsloth' or 'hf'"),
        ("model", "varlen_kernel", "flash", "'varlen_attn' or 'aten_flash'"),
        ("sft", "bf16", True, "Extra inputs are not permitted"),  # the plan sets precision
        ("sft", "pad_to_multiple_of", 0, "greater than 0"),
        ("sft", "learning_rate", "2e-4", "valid number"),  # a string stays a string
        ("run", "num_processes", 0, "greater than 0"),
    ],
)
def test_a_bad_knob_is_named(shipped, block, key, value, message):
    training = shipped["training"]
    (training[block] if block else training)[key] = value
    with pytest.raises(ValidationError) as err:
        TrainingParameters.model_validate(training)
    error = err.value.errors()[0]  # the first member's, for a union
    assert error["loc"][: 2 if block else 1] == ((block, key) if block else (key,))
    assert message in error["msg"]


def test_an_integer_is_a_float_where_one_is_due(shipped):
    shipped["training"]["sft"]["learning_rate"] = 1
    assert TrainingParameters.model_validate(shipped["training"]).sft.learning_rate == 1.0
