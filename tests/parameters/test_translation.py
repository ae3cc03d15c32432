"""The translation block's model: the checks the protector and the engine used to make."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from python_tutor.parameters.translation import TranslationParameters


@pytest.mark.parametrize(
    ("block", "change", "key", "message"),
    [
        ("protect", {"placeholder": "<<>>"}, ("placeholder",), "must contain '{index}'"),
        ("protect", {"identifier_patterns": ["ok", "("]}, ("identifier_patterns", 1), "regex"),
        ("protect", {"glossary": ["None", True]}, ("glossary", 1), "quote True/False/None"),
        ("protect", {"glossary": [""]}, ("glossary", 0), "non-empty strings"),
        ("retry", {"retry_on": ["timeout", "teapot"]}, ("retry_on", 1), "'rate_limited'"),
        ("quality", {"on_bad_translation": "ignore"}, ("on_bad_translation",), "'flag' or"),
        ("quality", {"length_ratio": [0.6]}, ("length_ratio",), "at least 2 items"),
    ],
)
def test_a_bad_knob_is_named(shipped, block, change, key, message):
    translation = shipped["translation"]
    translation[block].update(change)
    with pytest.raises(ValidationError) as err:
        TranslationParameters.model_validate(translation)
    [error] = err.value.errors()
    assert error["loc"][: len(key) + 1] == (block, *key)
    assert message in error["msg"]


def test_workers_is_at_least_one_or_null(shipped):
    translation = shipped["translation"]
    for workers in (None, 1):
        TranslationParameters.model_validate({**translation, "workers": workers})
    with pytest.raises(ValidationError, match="greater than 0"):
        TranslationParameters.model_validate({**translation, "workers": 0})
