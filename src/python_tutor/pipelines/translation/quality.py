"""Per-row quality signals of a translation, the gate that flags weak rows, and their plot.

Signals (all stored in ``translated_examples``): the target language and lingua's confidence,
the Spanish/English prose length ratio, the share of words the backend did not know (Apertium
marks them), placeholders that came back altered, programming terms in a wrong sense, and for
backends that can translate back, the chrF of the back-translation against the English. Each
has a threshold in ``translation.quality``; a row outside one gets a flag, and formatting keeps
flagged rows out of training by default.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

import numpy as np

from .protect import Protector
from .terminology import wrong_terms

WORD = re.compile(r"[^\W\d_]{2,}")
SIGNALS = (
    "language_confidence",
    "length_ratio",
    "unknown_word_ratio",
    "placeholders_altered",
    "wrong_terms",
    "back_translation_chrf",
)


def prose_only(text: str, protector: Protector) -> str:
    """The text without anything protected: code must not sway language or length."""
    return prose_of(protector.protect(text)[0], protector)


def prose_of(masked: str, protector: Protector) -> str:
    """A masked text without its placeholders, whitespace runs as one space."""
    return re.sub(r"\s+", " ", protector.strip(masked)).strip()


def words(text: str) -> int:
    """Words of two letters or more."""
    return len(WORD.findall(text))


def row_signals(
    english: str,
    spanish: str,
    unknown_words: int,
    placeholders_altered: int,
    back_chrf: float | None,
) -> dict[str, Any]:
    """The signals of one prose field that need no language model (prose without code)."""
    english_words = words(english)
    return {
        "length_ratio": round(len(spanish) / len(english), 3) if english else None,
        "unknown_words": unknown_words,
        "unknown_word_ratio": round(unknown_words / english_words, 3) if english_words else 0.0,
        "placeholders_altered": placeholders_altered,
        "wrong_terms": wrong_terms(spanish),
        "back_translation_chrf": back_chrf,
    }


def flags_for(field: str, signals: dict[str, Any], quality: dict[str, Any]) -> list[str]:
    """The thresholds of ``translation.quality`` a field's signals break, as flag names."""
    flags = []
    target = quality["target_language"]
    language, confidence = signals.get("language"), signals.get("language_confidence")
    if language is not None and (language != target or confidence < quality["min_confidence"]):
        flags.append(f"{field}_not_{target}")
    ratio = signals.get("length_ratio")
    low, high = quality["length_ratio"]
    if ratio is not None and signals.get("checked_length") and not low <= ratio <= high:
        flags.append(f"{field}_length_ratio")
    unknown_ratio, unknown = signals["unknown_word_ratio"], signals["unknown_words"]
    if (
        unknown_ratio > quality["max_unknown_word_ratio"]
        and unknown >= quality["min_unknown_words"]
    ):
        flags.append(f"{field}_unknown_words")
    if len(signals["wrong_terms"]) > quality["max_wrong_terms"]:
        flags.append(f"{field}_wrong_terms")
    chrf = signals.get("back_translation_chrf")
    if chrf is not None and chrf < quality["min_back_translation_chrf"]:
        flags.append(f"{field}_back_translation")
    return flags


def flag_kind(flag: str) -> str:
    """The rejection reason kind of a flag (``response_not_es`` -> ``not_target_language``)."""
    kind = flag.split("_", 1)[1]
    return "not_target_language" if kind.startswith("not_") else kind


def distribution(values: Sequence[float | None]) -> dict[str, float | int | None]:
    """Count, mean and quantiles of the values that exist (for the report)."""
    present = np.array([v for v in values if v is not None and not _nan(v)], dtype=float)
    if not present.size:
        return {"count": 0}
    return {
        "count": int(present.size),
        "mean": round(float(present.mean()), 3),
        **{f"p{q}": round(float(np.percentile(present, q)), 3) for q in (5, 50, 95)},
        "max": round(float(present.max()), 3),
    }


def _nan(value: Any) -> bool:
    return isinstance(value, float) and math.isnan(value)


def plot_signals(signals: dict[str, list[float]], quality: dict[str, Any]) -> Any:
    """One histogram per signal, thresholds drawn, so a reader sees what the gate cut."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - only the report draws

    thresholds = {
        "language_confidence": [quality["min_confidence"]],
        "length_ratio": list(quality["length_ratio"]),
        "unknown_word_ratio": [quality["max_unknown_word_ratio"]],
        "wrong_terms": [quality["max_wrong_terms"] + 0.5],
        "back_translation_chrf": [quality["min_back_translation_chrf"]],
        "placeholders_altered": [],
    }
    figure = Figure(figsize=(12, 6.5), layout="constrained")
    axes = figure.subplots(2, 3).ravel()
    for ax, name in zip(axes, SIGNALS, strict=True):
        values = [v for v in signals.get(name, []) if v is not None and not _nan(v)]
        if values:
            ax.hist(values, bins=30, color="#3b75af")
        else:
            ax.text(
                0.5,
                0.5,
                "not measured\nfor this backend",
                ha="center",
                va="center",
                transform=ax.transAxes,
            )
        for threshold in thresholds[name]:
            ax.axvline(threshold, color="#d1495b", linestyle="--")
        ax.set_title(f"{name} (n={len(values)})")
        ax.set_ylabel("fields")
    figure.suptitle("Translation quality signals per prose field (dashed: gate thresholds)")
    return figure
