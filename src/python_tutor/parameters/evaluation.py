"""``evaluation`` (conf/base/parameters_evaluation.yml): base vs fine-tuned vs GGUF."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from .knobs import Knobs


class SelectionKnobs(Knobs):
    """``evaluation.selection``: which held-out conversations and problems are used."""

    max_loss_examples: NonNegativeInt
    problem_system: str | None
    problem_user_template: str
    humaneval_user_template: str


class ProfileKnobs(Knobs):
    """``evaluation.profiles.<name>``: how much each profile asks (None = every item)."""

    tutor_examples: NonNegativeInt | None
    problems: NonNegativeInt | None
    humaneval: NonNegativeInt | None
    max_new_tokens: PositiveInt


class RuntimeKnobs(Knobs):
    """``evaluation.runtime``: threads, precision and layout of the models."""

    torch_threads: PositiveInt | None
    gguf_threads: PositiveInt | None
    torch_dtype: str
    chat_template: str
    seed: int


class GenerationKnobs(Knobs):
    """``evaluation.generation``."""

    batch_size: PositiveInt
    max_length: PositiveInt


class SandboxKnobs(Knobs):
    """``evaluation.scoring.sandbox``: evaluation.sandbox.SandboxLimits."""

    timeout_s: float = Field(gt=0)
    cpu_s: PositiveInt
    memory_mb: PositiveInt
    file_size_mb: PositiveInt
    max_open_files: PositiveInt
    max_processes: PositiveInt
    work_dir_mb: PositiveInt
    output_chars: PositiveInt
    isolation: Literal["bubblewrap", "rlimits-only"]


class StatisticsKnobs(Knobs):
    """``evaluation.scoring.statistics``: intervals and paired tests."""

    confidence: float = Field(gt=0, lt=1)
    resamples: PositiveInt
    seed: int
    alpha: float = Field(gt=0, lt=1)


class ScoringKnobs(Knobs):
    """``evaluation.scoring``."""

    target_language: str
    languages: list[str]  # ISO 639-1, checked by evaluation.metrics against lingua
    min_prose_chars: NonNegativeInt
    python_languages: list[str] = Field(min_length=1)
    pass_at_k: list[PositiveInt] = Field(min_length=1)
    statistics: StatisticsKnobs
    sandbox: SandboxKnobs


class ReportKnobs(Knobs):
    """``evaluation.report``."""

    examples: NonNegativeInt


class EvaluationParameters(Knobs):
    """The ``evaluation`` block."""

    profile: str  # a key of profiles, checked by evaluation.selection.resolve_profile
    profiles: dict[str, ProfileKnobs] = Field(min_length=1)
    selection: SelectionKnobs
    runtime: RuntimeKnobs
    generation: GenerationKnobs
    scoring: ScoringKnobs
    report: ReportKnobs
