"""The formatting block's model: the checks the formatting stage used to make itself."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from python_tutor.parameters.formatting import FormattingParameters


def problems(block: dict) -> list[tuple[str, str]]:
    with pytest.raises(ValidationError) as err:
        FormattingParameters.model_validate(block)
    return [(".".join(map(str, e["loc"])), e["msg"]) for e in err.value.errors()]


def test_the_shipped_block_passes(shipped):
    FormattingParameters.model_validate(shipped["formatting"])


@pytest.mark.parametrize(
    ("change", "key", "message"),
    [
        (lambda f: f["prompts"].update(code_column="x"), "prompts.code_column", "'code' or"),
        (lambda f: f["prompts"].update(system=" \n"), "prompts.system", "system prompt is empty"),
        (lambda f: f["lengths"].update(max_seq_length=0), "lengths.max_seq_length", "than 0"),
        (lambda f: f["split"]["ratios"].pop("test"), "split.ratios.test", "Field required"),
        (
            lambda f: f["split"]["ratios"].update(val=0.3, test=-0.1),
            "split.ratios.test",
            "greater than or equal to 0",
        ),
        (
            lambda f: f["split"]["ratios"].update(train=0.5),
            "split.ratios",
            "the ratios must sum to 1, got 0.7",
        ),
        (lambda f: f["split"]["ratios"].update(dev=0.0), "split.ratios.dev", "not permitted"),
        (lambda f: f["prompts"]["user"].update(chat={}), "prompts.user.chat", "'explain'"),
    ],
)
def test_a_bad_knob_is_named(shipped, change, key, message):
    block = shipped["formatting"]
    change(block)
    found_key, found_message = problems(block)[0]
    assert found_key.startswith(key) and message in found_message
