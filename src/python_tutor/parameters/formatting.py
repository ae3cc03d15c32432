"""``formatting`` (conf/base/parameters_formatting.yml): examples to chat conversations."""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import AfterValidator, Field, PositiveInt, model_validator

from .knobs import Knobs

TASKS = ("explain", "fix", "generate", "qa")
CODE_COLUMNS = ("code", "code_es")  # the example's code as written | comments translated
SPLITS = ("train", "val", "test")


def _not_blank(text: str) -> str:
    if not text.strip():
        raise ValueError("the tutor's system prompt is empty")
    return text


class UserTurn(Knobs):
    """The user turn of one task, with and without code (null rejects such rows)."""

    with_code: str | None
    without_code: str | None


class PromptKnobs(Knobs):
    """``formatting.prompts``."""

    system: Annotated[str, AfterValidator(_not_blank)]
    code_language: str
    code_column: Literal[CODE_COLUMNS]
    user: dict[Literal[TASKS], UserTurn]


class QualityKnobs(Knobs):
    """``formatting.quality``."""

    skip_flagged: bool


class LengthKnobs(Knobs):
    """``formatting.lengths``."""

    chat_template: str
    max_seq_length: PositiveInt
    histogram_bins: PositiveInt


class Ratios(Knobs):
    """``formatting.split.ratios``: the share of each split, per task."""

    train: float = Field(ge=0)
    val: float = Field(ge=0)
    test: float = Field(ge=0)

    @model_validator(mode="after")
    def _sum_to_one(self) -> Ratios:
        values = [getattr(self, name) for name in SPLITS]
        if abs(sum(values) - 1) > 1e-6:
            raise ValueError(f"the ratios must sum to 1, got {sum(values):g}")
        return self


class SplitKnobs(Knobs):
    """``formatting.split``."""

    ratios: Ratios
    seed: str = Field(min_length=1)


class FormattingParameters(Knobs):
    """The ``formatting`` block."""

    prompts: PromptKnobs
    quality: QualityKnobs
    lengths: LengthKnobs
    split: SplitKnobs
