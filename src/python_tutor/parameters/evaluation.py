"""``evaluation`` (conf/base/parameters_evaluation.yml): base vs fine-tuned vs GGUF."""

from __future__ import annotations

from typing import Literal

from pydantic import Field, NonNegativeInt, PositiveInt

from .knobs import Knobs


class SelectionKnobs(Knobs):
    """``evaluation.selection``: which held-out conversations and problems are used."""

    max_tutor_examples: NonNegativeInt
    max_loss_examples: NonNegativeInt
    max_problems: NonNegativeInt
    problem_system: str | None
    problem_user_template: str


class RuntimeKnobs(Knobs):
    """``evaluation.runtime``: threads, precision and layout of the models."""

    torch_threads: PositiveInt | None
    gguf_threads: PositiveInt | None
    torch_dtype: str
    chat_template: str
    seed: int


class GenerationKnobs(Knobs):
    """``evaluation.generation``."""

    max_new_tokens: PositiveInt
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


class ScoringKnobs(Knobs):
    """``evaluation.scoring``."""

    target_language: str
    languages: list[str]  # ISO 639-1, checked by evaluation.metrics against lingua
    min_prose_chars: NonNegativeInt
    python_languages: list[str] = Field(min_length=1)
    sandbox: SandboxKnobs


class ReportKnobs(Knobs):
    """``evaluation.report``."""

    examples: NonNegativeInt


class EvaluationParameters(Knobs):
    """The ``evaluation`` block."""

    selection: SelectionKnobs
    runtime: RuntimeKnobs
    generation: GenerationKnobs
    scoring: ScoringKnobs
    report: ReportKnobs
