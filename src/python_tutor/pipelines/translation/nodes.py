"""Translation nodes: English prose to Spanish with code kept intact, then checks and a gate."""

from __future__ import annotations

import logging
import re
from collections import Counter
from dataclasses import dataclass
from functools import partial
from typing import Any

import pandas as pd

from python_tutor.contracts import EXAMPLES, TRANSLATED_EXAMPLES, validate
from python_tutor.datasets.credentials import Secrets
from python_tutor.language import LanguageIdentifier

from .backends import TranslationFailure, build_backend
from .comments import CodeComments
from .engine import failure_reason, translate_segments
from .integrity import code_problem, prose_problem
from .layout import Layout, LayoutError, reflow
from .parallel import map_rows
from .protect import IntegrityError, Protector
from .quality import (
    SIGNALS,
    distribution,
    flag_kind,
    flags_for,
    plot_signals,
    prose_of,
    prose_only,
    row_signals,
)
from .segment import Piece, join_pieces, split_segments

logger = logging.getLogger(__name__)

PROSE_FIELDS = ("instruction", "response")
SPACES = re.compile(r"(?<=\S) {2,}(?=\S)")
FIELD_SIGNALS = ("unknown_words", "placeholders_altered", "back_translation_chrf")
PLAN_COLUMNS = ("example_id", "language", *PROSE_FIELDS)  # what planning a row reads
# What this stage reads of `examples` (`language` is optional: "en" when absent). Only their
# presence and types are checked: any task passes through, empty prose is nothing to translate.
EXAMPLE_COLUMNS = ("example_id", "source", "task", *PROSE_FIELDS, "code")
# The prose without code, English and Spanish, for the checks; not saved.
PROSE_COLUMNS = tuple(f"{f}_prose_{lang}" for f in PROSE_FIELDS for lang in ("en", "es"))
CANDIDATE_COLUMNS = [
    "example_id",
    "source",
    "task",
    "language",
    "code",
    "code_es",
    "instruction_en",
    "instruction_es",
    "response_en",
    "response_es",
    *(f"{f}_{s}" for f in PROSE_FIELDS for s in FIELD_SIGNALS),
    *PROSE_COLUMNS,
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


@dataclass(slots=True)
class _Field:
    """One prose field on its way through: its placeholders' spans, layout and pieces."""

    spans: list[str]
    layout: Layout | None
    pieces: list[Piece]

    @property
    def segments(self) -> list[str]:
        """Every text of this field the backend must translate."""
        return [p.text for p in self.pieces if p.translate]


def _plan_row(
    row: tuple[str, ...],
    *,
    protector: Protector,
    reflow_paragraphs: bool,
    max_chars: int,
    target: str,
) -> dict[str, _Field] | str | None:
    """The plan of one example (PLAN_COLUMNS), None when it is already in the target language,
    or the reason it cannot be protected."""
    values = dict(zip(PLAN_COLUMNS, row, strict=True))
    if _language_of(values["language"]) == target:
        return None
    try:
        return {
            f: _plan_field(values[f], protector, reflow_paragraphs, max_chars) for f in PROSE_FIELDS
        }
    except ValueError as err:
        return f"example {values['example_id']}: {err}"


def _plan_field(text: str, protector: Protector, reflow_paragraphs: bool, max_chars: int) -> _Field:
    """Protect the code, join wrapped paragraphs, then cut into sentence segments."""
    masked, spans = protector.protect(text)
    layout = None
    if reflow_paragraphs:
        masked, layout = reflow(masked, protector.placeholder_pattern)
    return _Field(spans, layout, split_segments(masked, max_chars, protector.placeholder_pattern))


def translate_examples(  # noqa: PLR0913, PLR0917 - one parameter block each
    examples: pd.DataFrame,
    translation_cache: Any,
    backend: dict[str, Any],
    batching: dict[str, Any],
    retry: dict[str, Any],
    protect: dict[str, Any],
    segment: dict[str, Any],
    translate_code_comments: bool,
    translation_credentials: Secrets | None = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Translate instruction and response of every example; code never reaches the backend.

    Rows whose ``language`` already is the target pass through untranslated. With
    ``segment.back_translation`` and a backend that can translate back, the Spanish is
    translated back and scored with chrF against the English (a quality signal).
    ``translation_cache`` is written through batch by batch (see TranslationCacheDataset), so
    this node may be killed and re-run without paying for a segment twice.
    ``translation_credentials`` holds the backend's keys (credentials.yml, never parameters).

    Returns:
        One candidate row per example (a failure kind and reason where translation failed)
        and the run's statistics for the report.
    """
    validate(examples, EXAMPLES, "examples", columns=EXAMPLE_COLUMNS, rules=False)
    protector = Protector.from_params(protect)
    engine = build_backend(
        backend,
        batching["concurrency"],
        translation_credentials,
        placeholder=protect["placeholder"],
    )
    comments = CodeComments(protector) if translate_code_comments else None
    target = backend["target"]
    try:
        code_plans: list[Any] = []
        planner = partial(
            _plan_row,
            protector=protector,
            reflow_paragraphs=segment["reflow"],
            max_chars=engine.max_chars,
            target=target,
        )
        frame = examples.reindex(columns=list(PLAN_COLUMNS))
        items = list(frame.itertuples(index=False, name=None))
        plans = map_rows(planner, items, workers)
        for row in examples.itertuples(index=False):
            skip = comments is None or _language(row) == target
            code_plans.append(None if skip else comments.plan(row.code, engine.max_chars))
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
        back = _back_translations(engine, translations, translation_cache, batching, retry, segment)
    finally:
        engine.close()
    rows = [
        _candidate(row, plan, code_plan, protector, engine, translations, failures, back, retry)
        for row, plan, code_plan in zip(
            examples.itertuples(index=False), plans, code_plans, strict=True
        )
    ]
    run_stats = {"backend": engine.cache_id, **stats.as_dict(), "cache_entries": None}
    run_stats["back_translated_segments"] = len(back) if back is not None else None
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


def _language(row: Any) -> str:
    """The row's source language (ingestion's per-source ``language``; English by default)."""
    return _language_of(getattr(row, "language", None))


def _language_of(language: Any) -> str:
    return language if isinstance(language, str) and language else "en"


def _back_translations(  # noqa: PLR0913, PLR0917
    engine: Any,
    translations: dict[str, str],
    cache: Any,
    batching: dict[str, Any],
    retry: dict[str, Any],
    segment: dict[str, Any],
) -> dict[str, float] | None:
    """chrF of each segment's back-translation against its English, when the backend can."""
    reverse = engine.reverse() if segment["back_translation"] else None
    if reverse is None:
        return None
    from sacrebleu.metrics import CHRF  # noqa: PLC0415

    try:
        spanish = {engine.strip_marks(t)[0]: s for s, t in translations.items()}
        back, _, _ = translate_segments(list(spanish), reverse, cache, batching, retry)
    finally:
        reverse.close()
    chrf = CHRF()
    return {
        spanish[es]: chrf.sentence_score(reverse.strip_marks(en)[0], [spanish[es]]).score
        for es, en in back.items()
    }


def _candidate(  # noqa: PLR0913, PLR0917
    row: Any,
    plan: dict[str, _Field] | str | None,
    code_plan: Any,
    protector: Protector,
    engine: Any,
    translations: dict[str, str],
    failures: dict[str, TranslationFailure],
    back: dict[str, float] | None,
    retry: dict[str, Any],
) -> dict[str, Any]:
    """One output row: restored Spanish text and its signals, or the failure that prevents it."""
    out: dict[str, Any] = {
        "example_id": row.example_id,
        "source": row.source,
        "task": row.task,
        "language": _language(row),
        "code": row.code,
        "code_es": row.code,
        **{f"{f}_en": getattr(row, f) for f in PROSE_FIELDS},
        **{f"{f}_es": None for f in PROSE_FIELDS},
        "failure_kind": None,
        "failure_reason": None,
    }
    if plan is None:  # already in the target language
        return {**out, **{f"{f}_es": getattr(row, f) for f in PROSE_FIELDS}}
    if isinstance(plan, str):
        return {**out, "failure_kind": "unprotectable_text", "failure_reason": plan}
    for name, field in plan.items():
        where = f"example {row.example_id} field '{name}'"
        failed = [s for s in field.segments if s in failures]
        if failed:
            error = failures[failed[0]]
            return {
                **out,
                "failure_kind": f"translation_failed:{error.kind}",
                "failure_reason": f"{where}: segment {failed[0]!r:.60} failed "
                f"{failure_reason(error, retry)}",
            }
        unknown = 0
        clean = {}
        for text in field.segments:
            translated, marks = engine.strip_marks(translations[text])
            clean[text] = SPACES.sub(" ", translated)  # a dropped pronoun leaves two spaces
            unknown += marks
        masked = join_pieces(field.pieces, clean)
        try:
            if field.layout is not None:
                masked = field.layout.restore(masked)
            out[f"{name}_es"] = protector.restore(masked, field.spans)
        except (IntegrityError, LayoutError) as err:
            return {**out, "failure_kind": "code_integrity", "failure_reason": f"{where}: {err}"}
        out[f"{name}_prose_en"] = prose_of("".join(p.text for p in field.pieces), protector)
        out[f"{name}_prose_es"] = prose_of(masked, protector)
        out[f"{name}_unknown_words"] = unknown
        out[f"{name}_placeholders_altered"] = protector.altered(masked)
        if back is not None:
            scores = [back[t] for t in field.segments if t in back]
            out[f"{name}_back_translation_chrf"] = (
                round(sum(scores) / len(scores), 2) if scores else None
            )
    if code_plan is not None:
        out["code_es"] = code_plan.apply(translations)
    return out


def check_translations(  # noqa: PLR0917 - one input each, as the node wires them
    candidates: pd.DataFrame,
    run_stats: dict[str, Any],
    protect: dict[str, Any],
    quality: dict[str, Any],
    translation_cache: Any = None,
    workers: int | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any], Any]:
    """Check code integrity, measure every row's quality signals and apply the gate.

    Failed translations and changed code are always rejected. A row whose signals break a
    threshold of ``translation.quality`` is flagged (kept, with ``quality_flags``; formatting
    leaves it out of training by default), or rejected when ``on_bad_translation: reject``.

    Returns:
        ``translated_examples``, ``rejected_translations``, ``translation_report`` and
        ``translation_quality_plot``. Languages identified are kept in ``translation_cache``
        (when given), like translations.
    """
    policy = quality["on_bad_translation"]
    protector = Protector.from_params(protect)
    rows = candidates.to_dict(orient="records")
    unchecked = [row for row in rows if pd.isna(row["failure_kind"])]
    checked = map_rows(_integrity_problem, [_integrity_input(row) for row in unchecked], workers)
    for row, (kind, reason) in zip(unchecked, checked, strict=True):
        row["failure_kind"], row["failure_reason"] = kind, reason
    good = [row for row in rows if row["failure_kind"] is None]
    _measure(good, protector, quality, translation_cache)
    kept, rejected = [], []
    for row in rows:
        reason_kind, reason = row.pop("failure_kind"), row.pop("failure_reason")
        flags = row.get("quality_flags") or []
        if reason_kind is None and flags and policy == "reject":
            reason_kind = flag_kind(flags[0])
            reason = f"example {row['example_id']}: {', '.join(flags)}"
        if reason_kind is None:
            kept.append(row)
        else:
            rejected.append(
                {
                    **{c: row.get(c) for c in REJECTED_COLUMNS},
                    "reason_kind": reason_kind,
                    "reason": reason,
                }
            )
    translated = pd.DataFrame(kept, columns=_kept_columns())
    validate(translated, TRANSLATED_EXAMPLES, "translated_examples")
    rejected_frame = pd.DataFrame(rejected, columns=REJECTED_COLUMNS)
    report = _report(candidates, translated, rejected_frame, run_stats, quality["target_language"])
    for line in rejected:
        logger.warning("Rejected translation %s", line["reason"])
    plot = plot_signals(
        {s: [v for f in PROSE_FIELDS for v in translated.get(f"{f}_{s}", [])] for s in SIGNALS}
        | {
            "wrong_terms": [
                len(v) for f in PROSE_FIELDS for v in translated.get(f"{f}_wrong_terms", [])
            ]
        },
        quality,
    )
    return translated, rejected_frame, report, plot


def _measure(
    rows: list[dict[str, Any]], protector: Protector, quality: dict[str, Any], cache: Any
) -> None:
    """Add each field's signals and the row's ``quality_flags`` (languages found in one batch)."""
    identifier = LanguageIdentifier(
        quality["languages"], "parameters_translation.yml: translation.quality.languages"
    )
    target = quality["target_language"]
    prose = {
        (index, field): _stored_prose(row, field, "es", protector)
        for index, row in enumerate(rows)
        for field in PROSE_FIELDS
        if row["language"] != target
    }
    checked = {key: text for key, text in prose.items() if len(text) >= quality["min_chars"]}
    identified = dict(
        zip(checked, identifier.identify_many(list(checked.values()), cache), strict=True)
    )
    for index, row in enumerate(rows):
        flags: list[str] = []
        for field in PROSE_FIELDS:
            if (index, field) not in prose:
                row[f"{field}_wrong_terms"] = []
                continue
            english = _stored_prose(row, field, "en", protector)
            signals = row_signals(
                english,
                prose[(index, field)],
                int(row.get(f"{field}_unknown_words") or 0),
                int(row.get(f"{field}_placeholders_altered") or 0),
                _number(row.get(f"{field}_back_translation_chrf")),
            )
            language, confidence = identified.get((index, field), (None, None))
            signals |= {
                "language": language,
                "language_confidence": round(confidence, 4) if confidence is not None else None,
                "checked_length": (index, field) in checked,
            }
            flags += flags_for(field, signals, quality)
            row[f"{field}_es_language"] = language
            for name in SIGNALS:
                if name in signals:
                    row[f"{field}_{name}"] = signals[name]
        row["quality_flags"] = flags


def _stored_prose(row: dict[str, Any], field: str, language: str, protector: Protector) -> str:
    """The prose the translate node kept aside, or the text protected again when absent."""
    stored = row.get(f"{field}_prose_{language}")
    if isinstance(stored, str):
        return stored
    return prose_only(row[f"{field}_{language}"], protector)


def _number(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def _kept_columns() -> list[str]:
    kept = [c for c in CANDIDATE_COLUMNS if not c.startswith("failure") and c not in PROSE_COLUMNS]
    measured = [f"{f}_{s}" for f in PROSE_FIELDS for s in ("es_language", *SIGNALS)]
    return [*kept, *(c for c in measured if c not in kept), "quality_flags"]


def _integrity_input(row: dict[str, Any]) -> dict[str, Any]:
    """The columns the integrity check reads (what travels to a worker process)."""
    return {
        c: row[c]
        for c in (
            "example_id",
            "code",
            "code_es",
            *(f"{f}_{x}" for f in PROSE_FIELDS for x in ("en", "es")),
        )
    }


def _integrity_problem(row: dict[str, Any]) -> tuple[str | None, str | None]:
    """Independent of the protection: the code of the English is all in the Spanish."""
    for field in PROSE_FIELDS:
        problem = prose_problem(row[f"{field}_en"], row[f"{field}_es"])
        if problem:
            return "code_integrity", f"example {row['example_id']} field '{field}': {problem}"
    problem = code_problem(row["code"] or "", row["code_es"] or "")
    if problem:
        return "code_integrity", f"example {row['example_id']} column 'code_es': {problem}"
    return None, None


def _report(
    candidates: pd.DataFrame,
    translated: pd.DataFrame,
    rejected: pd.DataFrame,
    run_stats: dict[str, Any],
    target: str,
) -> dict[str, Any]:
    """Counts that must add up (in = kept + rejected), signals, cache use and throughput."""
    counts = {
        "examples_in": len(candidates),
        "kept": len(translated),
        "rejected": len(rejected),
        "flagged": int(translated["quality_flags"].map(bool).sum()) if len(translated) else 0,
        "passed_through": int((translated["language"] == target).sum()),
    }
    if counts["examples_in"] != counts["kept"] + counts["rejected"]:
        raise RuntimeError(f"Translation accounting does not add up: {counts}")
    signals = {
        f"{field}_{name}": distribution(
            [len(v) for v in translated[f"{field}_{name}"]]
            if name == "wrong_terms"
            else list(translated[f"{field}_{name}"])
        )
        for field in PROSE_FIELDS
        for name in SIGNALS
        if f"{field}_{name}" in translated
    }
    return {
        **counts,
        "rejected_by_reason": {
            k: int(v) for k, v in rejected["reason_kind"].value_counts().sort_index().items()
        },
        "quality_flags": dict(
            sorted(Counter(f for flags in translated["quality_flags"] for f in flags).items())
        ),
        "detected_languages": dict(
            sorted(
                Counter(
                    str(v)
                    for f in PROSE_FIELDS
                    for v in translated[f"{f}_es_language"].fillna("unchecked")
                ).items()
            )
        ),
        "signals": signals,
        "engine": run_stats,
    }
