"""Translation nodes: English prose to Spanish with code kept intact, then quality checks."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from typing import Any

import pandas as pd

from python_tutor.datasets.credentials import Secrets

from .backends import build_backend
from .comments import CodeComments, CodePlan, same_code_tokens
from .engine import translate_segments
from .protect import FENCED_CODE, INLINE_CODE, TRACEBACK, IntegrityError, Protector
from .segment import Piece, join_pieces, split_segments

logger = logging.getLogger(__name__)

PROSE_FIELDS = ("instruction", "response")
CANDIDATE_COLUMNS = [
    "example_id",
    "source",
    "task",
    "code",
    "code_es",
    "instruction_en",
    "instruction_es",
    "response_en",
    "response_es",
    "failure_kind",
    "failure_reason",
]
REJECTED_COLUMNS = [
    "example_id",
    "source",
    "task",
    "reason_kind",
    "reason",
    "instruction_en",
    "instruction_es",
    "response_en",
    "response_es",
]
ON_BAD_TRANSLATION = ("flag", "reject")


@dataclass
class _Field:
    """One prose field on its way through: its placeholders' spans and its pieces."""

    spans: list[str]
    pieces: list[Piece]
    span_plans: list[CodePlan | None]

    @property
    def segments(self) -> list[str]:
        """Every text of this field the backend must translate."""
        texts = [p.text for p in self.pieces if p.translate]
        return texts + [t for plan in self.span_plans if plan for t in plan.segments]

    def spans_after(self, translations: dict[str, str]) -> list[str]:
        """The spans to restore: fenced Python with translated comments when planned."""
        return [
            plan.apply(translations) if plan else span
            for span, plan in zip(self.spans, self.span_plans, strict=True)
        ]


def _plan_field(
    text: str, protector: Protector, comments: CodeComments | None, max_chars: int
) -> _Field:
    """Protect, then segment; code spans with translatable comments get their own pieces."""
    masked, spans = protector.protect(text)
    pieces = split_segments(masked, max_chars, protector.placeholder_pattern)
    span_plans = [comments.plan_span(s, max_chars) if comments else None for s in spans]
    return _Field(spans, pieces, span_plans)


def translate_examples(  # noqa: PLR0913, PLR0917 - one parameter block each
    examples: pd.DataFrame,
    translation_cache: Any,
    backend: dict[str, Any],
    batching: dict[str, Any],
    retry: dict[str, Any],
    protect: dict[str, Any],
    translate_code_comments: bool,
    translation_credentials: Secrets | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Translate instruction and response of every example; code never reaches the backend.

    ``translation_cache`` is written through batch by batch (see TranslationCacheDataset), so
    this node may be killed and re-run without paying for a segment twice.
    ``translation_credentials`` holds the backend's keys (credentials.yml, never parameters).

    Returns:
        One candidate row per example (a failure kind and reason where translation failed)
        and the run's statistics for the report.
    """
    protector = Protector.from_params(protect)
    engine = build_backend(backend, batching["concurrency"], translation_credentials)
    comments = CodeComments(protector) if translate_code_comments else None
    try:
        plans: list[dict[str, _Field] | str] = []
        code_plans: list[Any] = []
        for row in examples.itertuples(index=False):
            try:
                plans.append(
                    {
                        f: _plan_field(getattr(row, f), protector, comments, engine.max_chars)
                        for f in PROSE_FIELDS
                    }
                )
            except ValueError as err:
                plans.append(f"example {row.example_id}: {err}")
            code_plans.append(comments.plan(row.code, engine.max_chars) if comments else None)
        wanted = [
            text
            for plan in plans
            if isinstance(plan, dict)
            for field in plan.values()
            for text in field.segments
        ]
        wanted += [text for plan in code_plans if plan for text in plan.segments]
        translations, failures, stats = translate_segments(
            wanted, engine, translation_cache, batching, retry
        )
    finally:
        engine.close()
    rows = [
        _candidate(row, plan, code_plan, protector, translations, failures)
        for row, plan, code_plan in zip(
            examples.itertuples(index=False), plans, code_plans, strict=True
        )
    ]
    run_stats = {"backend": engine.cache_id, **stats.as_dict(), "cache_entries": None}
    if engine.cacheable:
        run_stats["cache_entries"] = len(translation_cache)
    logger.info(
        "Translation: %d distinct segments, %d from cache, %d translated, %d failed",
        stats.segments_unique,
        stats.cache_hits,
        stats.segments_translated,
        sum(stats.failed_segments.values()),
    )
    return pd.DataFrame(rows, columns=CANDIDATE_COLUMNS), run_stats


def _candidate(  # noqa: PLR0913, PLR0917
    row: Any,
    plan: dict[str, _Field] | str,
    code_plan: Any,
    protector: Protector,
    translations: dict[str, str],
    failures: dict[str, str],
) -> dict[str, Any]:
    """One output row: restored Spanish text, or the first failure that prevents it."""
    out: dict[str, Any] = {
        "example_id": row.example_id,
        "source": row.source,
        "task": row.task,
        "code": row.code,
        "code_es": row.code,
        **{f"{f}_en": getattr(row, f) for f in PROSE_FIELDS},
        **{f"{f}_es": None for f in PROSE_FIELDS},
        "failure_kind": None,
        "failure_reason": None,
    }
    if isinstance(plan, str):
        return {**out, "failure_kind": "unprotectable_text", "failure_reason": plan}
    for name, field in plan.items():
        failed = sorted({failures[t] for t in field.segments if t in failures})
        if failed:
            return {
                **out,
                "failure_kind": f"translation_failed:{failed[0]}",
                "failure_reason": f"example {row.example_id} field '{name}': backend failed "
                f"({', '.join(failed)}) after retries",
            }
        try:
            out[f"{name}_es"] = protector.restore(
                join_pieces(field.pieces, translations), field.spans_after(translations)
            )
        except IntegrityError as err:
            return {
                **out,
                "failure_kind": "code_integrity",
                "failure_reason": f"example {row.example_id} field '{name}': {err}",
            }
    if code_plan is not None:
        out["code_es"] = code_plan.apply(translations)
    return out


def code_spans(text: str) -> Counter[str]:
    """Fenced blocks, tracebacks and inline code of a text: what must survive translation."""
    spans: Counter[str] = Counter()
    for rule in (FENCED_CODE, TRACEBACK, INLINE_CODE):
        spans.update(m.group(0) for m in rule.finditer(text))
        text = rule.sub(" ", text)
    return spans


class LanguageIdentifier:
    """lingua restricted to a few languages (fast and sure), built once per node call."""

    def __init__(self, languages: list[str]) -> None:
        from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: PLC0415

        try:
            codes = [IsoCode639_1.from_str(code) for code in languages]
        except ValueError as err:
            raise ValueError(
                f"parameters_translation.yml: translation.quality.languages {languages}: {err}"
            ) from err
        self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()

    def identify(self, text: str) -> tuple[str, float]:
        """The most likely ISO 639-1 code and its confidence."""
        best = self._detector.compute_language_confidence_values(text)[0]
        return best.language.iso_code_639_1.name.lower(), float(best.value)


def _prose_only(text: str, protector: Protector) -> str:
    """The text without anything protected: code must not sway language identification."""
    masked, _ = protector.protect(text)
    return re.sub(r"\s+", " ", protector.strip(masked)).strip()


def check_translations(  # noqa: PLR0914
    candidates: pd.DataFrame,
    run_stats: dict[str, Any],
    protect: dict[str, Any],
    quality: dict[str, Any],
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Check code integrity and the language of every translation; route the bad ones.

    Failed translations and broken code are always rejected; prose that is not in the target
    language is flagged, or rejected when ``on_bad_translation`` is ``reject``.

    Returns:
        ``translated_examples``, ``rejected_translations`` and ``translation_report``.
    """
    policy = quality["on_bad_translation"]
    if policy not in ON_BAD_TRANSLATION:
        raise ValueError(
            "parameters_translation.yml: translation.quality.on_bad_translation must be one "
            f"of {ON_BAD_TRANSLATION}; got {policy!r}"
        )
    protector = Protector.from_params(protect)
    identifier = LanguageIdentifier(quality["languages"])
    target = quality["target_language"]
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    languages: Counter[str] = Counter()
    for row in candidates.to_dict(orient="records"):
        reason_kind, reason = row.pop("failure_kind"), row.pop("failure_reason")
        if pd.isna(reason_kind):
            reason_kind, reason = _integrity_problem(row)
        flags: list[str] = []
        if reason_kind is None:
            for field in PROSE_FIELDS:
                prose = _prose_only(row[f"{field}_es"], protector)
                language, confidence = (None, None)
                if len(prose) >= quality["min_chars"]:
                    language, confidence = identifier.identify(prose)
                    if language != target or confidence < quality["min_confidence"]:
                        flags.append(f"{field}_not_{target}")
                languages[language or "unchecked"] += 1
                row[f"{field}_es_language"] = language
                row[f"{field}_es_confidence"] = (
                    round(confidence, 4) if confidence is not None else None
                )
            if flags and policy == "reject":
                reason_kind = "not_target_language"
                reason = f"example {row['example_id']}: {', '.join(flags)}"
        if reason_kind is not None:
            rejected.append(
                {
                    **{c: row.get(c) for c in REJECTED_COLUMNS},
                    "reason_kind": reason_kind,
                    "reason": reason,
                }
            )
            continue
        kept.append({**row, "quality_flags": flags})
    translated = pd.DataFrame(kept, columns=_kept_columns())
    rejected_frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
    report = _report(candidates, translated, rejected_frame, run_stats, languages)
    for line in rejected:
        logger.warning("Rejected translation %s", line["reason"])
    return translated, rejected_frame, report


def _kept_columns() -> list[str]:
    quality = [f"{f}_es_{k}" for f in PROSE_FIELDS for k in ("language", "confidence")]
    kept = [c for c in CANDIDATE_COLUMNS if not c.startswith("failure")]
    return [*kept, *quality, "quality_flags"]


def _integrity_problem(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """Independent of the placeholders: every code span of the English is in the Spanish."""
    for field in PROSE_FIELDS:
        before, after = code_spans(row[f"{field}_en"]), code_spans(row[f"{field}_es"])
        if before != after and not _only_comments_differ(before, after, row):
            lost = sorted((before - after).elements())[:1]
            return "code_integrity", (
                f"example {row['example_id']} field '{field}': code changed, e.g. {lost!r:.120}"
            )
    return None, None


def _only_comments_differ(before: Counter[str], after: Counter[str], row: dict) -> bool:
    """With comment translation on, fenced blocks differ by design; their code tokens may not."""
    if row["code_es"] == row["code"] and sum(before.values()) != sum(after.values()):
        return False
    return sum(before.values()) == sum(after.values()) and all(
        same_code_tokens(a, b) for a, b in zip(sorted(before), sorted(after), strict=True)
    )


def _report(
    candidates: pd.DataFrame,
    translated: pd.DataFrame,
    rejected: pd.DataFrame,
    run_stats: dict[str, Any],
    languages: Counter[str],
) -> dict[str, Any]:
    """Counts that must add up (in = kept + rejected), cache use, failures and throughput."""
    counts = {
        "examples_in": len(candidates),
        "kept": len(translated),
        "rejected": len(rejected),
        "flagged": int(translated["quality_flags"].map(bool).sum()) if len(translated) else 0,
    }
    if counts["examples_in"] != counts["kept"] + counts["rejected"]:
        raise RuntimeError(f"Translation accounting does not add up: {counts}")
    return {
        **counts,
        "rejected_by_reason": {
            k: int(v) for k, v in rejected["reason_kind"].value_counts().sort_index().items()
        },
        "quality_flags": dict(
            sorted(
                Counter(
                    flag for flags in translated.get("quality_flags", []) for flag in flags
                ).items()
            )
        ),
        "detected_languages": dict(sorted(languages.items())),
        "engine": run_stats,
    }
