"""``translation`` (conf/base/parameters_translation.yml): English prose to Spanish.

Backend names, language codes, patterns and the placeholder are checked where they are used
(translation.backends, quality, protect): that needs the installed translators and lingua.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BeforeValidator, Field, NonNegativeInt, PositiveInt

from .knobs import Knobs

# Why a request failed (translation.backends.TranslationFailure.kind); retry_on names these.
FAILURE_KINDS = (
    "timeout",
    "rate_limited",
    "http_error",
    "connection",
    "garbage_body",
    "backend_error",
)
ON_BAD_TRANSLATION = ("flag", "reject")


def _has_index(placeholder: str) -> str:
    if "{index}" not in placeholder:
        raise ValueError("the placeholder must contain '{index}'")
    return placeholder


def _regex(pattern: str) -> str:
    try:
        re.compile(pattern)
    except re.error as err:
        raise ValueError(f"{pattern!r} is not a valid regex: {err}") from err
    return pattern


def _term(term: Any) -> Any:
    if not isinstance(term, str) or not term:
        raise ValueError(
            f"glossary terms are non-empty strings (quote True/False/None in YAML); got {term!r}"
        )
    return term


class ApertiumKnobs(Knobs):
    """``translation.backend.apertium``."""

    executable: str
    mode: str
    modes_dir: str | None
    max_chars: PositiveInt
    timeout_s: float = Field(gt=0)


class WebKnobs(Knobs):
    """``translation.backend.web``: a deep-translator translator."""

    options: dict[str, Any]
    base_url: str | None
    max_chars: PositiveInt
    timeout_s: float = Field(gt=0)
    requests_per_second: float | None = Field(gt=0)


class LlmKnobs(Knobs):
    """``translation.backend.llm``: an OpenAI-compatible chat endpoint."""

    base_url: str | None
    model: str | None
    system_prompt: str
    user_template: str
    temperature: float = Field(ge=0)
    max_tokens: PositiveInt
    timeout_s: float = Field(gt=0)
    requests_per_second: float | None = Field(gt=0)
    max_chars: PositiveInt
    extra_body: dict[str, Any]


class BackendKnobs(Knobs):
    """``translation.backend``."""

    name: str
    source: str
    target: str
    apertium: ApertiumKnobs
    web: WebKnobs
    llm: LlmKnobs


class BatchingKnobs(Knobs):
    """``translation.batching``."""

    batch_size: PositiveInt
    batch_max_chars: PositiveInt
    concurrency: PositiveInt


class RetryKnobs(Knobs):
    """``translation.retry``."""

    max_attempts: PositiveInt
    initial_wait_s: float = Field(ge=0)
    max_wait_s: float = Field(ge=0)
    retry_on: list[Literal[FAILURE_KINDS]]


class ProtectKnobs(Knobs):
    """``translation.protect``."""

    placeholder: Annotated[str, AfterValidator(_has_index)]
    glossary: list[Annotated[str, BeforeValidator(_term)]]
    identifier_patterns: list[Annotated[str, AfterValidator(_regex)]]


class SegmentKnobs(Knobs):
    """``translation.segment``."""

    reflow: bool
    back_translation: bool


class QualityKnobs(Knobs):
    """``translation.quality``: the signals and thresholds that flag a row."""

    target_language: str
    languages: list[str]
    min_chars: NonNegativeInt
    min_confidence: float = Field(ge=0, le=1)
    length_ratio: list[float] = Field(min_length=2, max_length=2)
    max_unknown_word_ratio: float = Field(ge=0)
    min_unknown_words: NonNegativeInt
    max_wrong_terms: NonNegativeInt
    min_back_translation_chrf: float = Field(ge=0, le=100)
    on_bad_translation: Literal[ON_BAD_TRANSLATION]


class TranslationParameters(Knobs):
    """The ``translation`` block."""

    backend: BackendKnobs
    batching: BatchingKnobs
    retry: RetryKnobs
    protect: ProtectKnobs
    workers: PositiveInt | None
    segment: SegmentKnobs
    translate_code_comments: bool
    quality: QualityKnobs
