"""Quality signals: the gate's flags, and language answers kept for the next run."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.translation.quality import (
    flag_kind,
    flags_for,
    row_signals,
)

SPANISH = "La función devuelve el nombre del archivo que se abrió con el modo indicado."
ENGLISH = "The function returns the name of the file that was opened with the given mode."


def test_each_threshold_flags_its_field(params):
    quality = params["quality"]
    signals = row_signals(ENGLISH, SPANISH, 0, 0, None) | {
        "language": "es",
        "language_confidence": 0.99,
        "checked_length": True,
    }
    assert flags_for("response", signals, quality) == []
    bad = signals | {
        "language": "en",
        "length_ratio": 5.0,
        "unknown_words": 4,
        "unknown_word_ratio": 0.5,
        "wrong_terms": ["file: lima"],
        "back_translation_chrf": 3.0,
    }
    flags = flags_for("response", bad, quality)
    assert flags == [
        "response_not_es",
        "response_length_ratio",
        "response_unknown_words",
        "response_wrong_terms",
        "response_back_translation",
    ]
    assert [flag_kind(f) for f in flags][:2] == ["not_target_language", "length_ratio"]
    # a short line with two unknown words (str, dtype) is not flagged for them
    few = signals | {"unknown_words": 2, "unknown_word_ratio": 0.5}
    assert flags_for("response", few, quality) == []


@pytest.mark.parametrize(("unknown", "ratio"), [(0, 0.0), (3, 0.2)])
def test_unknown_words_are_a_share_of_the_english_words(unknown, ratio):
    assert row_signals(ENGLISH, SPANISH, unknown, 0, None)["unknown_word_ratio"] == ratio
