"""``formatting`` (conf/base/parameters_formatting.yml): examples to chat conversations."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, PositiveInt

from .knobs import Knobs

TASKS = ("explain", "fix", "generate", "qa")


class UserTurn(Knobs):
    """The user turn of one task, with and without code (null rejects such rows)."""

    with_code: str | None
    without_code: str | None


class PromptKnobs(Knobs):
    """``formatting.prompts``."""

    system: str
    code_language: str
    code_column: str
    user: dict[Literal[TASKS], UserTurn]


class QualityKnobs(Knobs):
    """``formatting.quality``."""

    skip_flagged: bool


class LengthKnobs(Knobs):
    """``formatting.lengths``."""

    chat_template: str
    max_seq_length: int
    histogram_bins: PositiveInt


class SplitKnobs(Knobs):
    """``formatting.split``."""

    ratios: dict[str, float]
    seed: str = Field(min_length=1)


class FormattingParameters(Knobs):
    """The ``formatting`` block."""

    prompts: PromptKnobs
    quality: QualityKnobs
    lengths: LengthKnobs
    split: SplitKnobs
