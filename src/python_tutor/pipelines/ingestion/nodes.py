"""Ingestion nodes: snapshot the raw rows, then map, clean, check and de-duplicate them."""

from __future__ import annotations

import ast
import hashlib
import logging
from collections import Counter
from collections.abc import Mapping
from typing import Any

import pandas as pd

from python_tutor.contracts import EXAMPLES, TASKS, validate
from python_tutor.datasets.raw_csv_sources import RawCSVReader

from .cleaning import clean_code, clean_prose
from .mapping import FIELDS, REQUIRED_FIELDS, SourceSpec, parse_source
from .schemas import RejectedExampleSchema
from .transforms import TransformError

logger = logging.getLogger(__name__)

SNAPSHOT_COLUMNS = ["source", "file", "origin", "row", "fields", "undecodable", "encoding"]
EXAMPLE_COLUMNS = list(EXAMPLES.columns)


def snapshot_raw_sources(raw_sources: RawCSVReader, sources: list[dict[str, Any]]) -> pd.DataFrame:
    """Read every configured CSV and keep its rows exactly as read.

    The snapshot is versioned, so ``--load-versions raw_snapshot:<ts>`` replays a past run.

    Raises:
        ValueError: a mapped column is missing from a file, or a file has no data rows.
    """
    frames = []
    for spec in map(parse_source, sources):
        table = raw_sources.read(spec.file, kaggle=spec.kaggle, encoding=spec.encoding)
        missing = sorted(spec.columns - set(table.frame.columns))
        if missing:
            raise ValueError(
                f"{table.origin}: mapped column(s) {missing} of source '{spec.name}' do not "
                f"exist; the file has columns {list(table.frame.columns)}"
            )
        if table.frame.empty:
            raise ValueError(f"{table.origin}: has a header but no data rows")
        records = table.frame.to_dict(orient="records")
        frames.append(
            pd.DataFrame(
                {
                    "source": spec.name,
                    "file": spec.file,
                    "origin": table.origin,
                    "row": range(1, len(records) + 1),
                    "fields": records,
                    "undecodable": [table.undecodable.get(i, []) for i in range(len(records))],
                    "encoding": [table.encoding] * len(records),
                }
            )
        )
        logger.info("Read %d rows from %s", len(records), table.origin)
    return pd.concat(frames, ignore_index=True)[SNAPSHOT_COLUMNS]


def example_id(task: str, instruction: str, code: str, response: str) -> str:
    """A stable content hash: the same example gets the same id in every run and source."""
    payload = "\x1f".join((task, instruction, code, response)).encode("utf-8")
    return hashlib.sha256(payload).hexdigest()[:16]


def _render_fields(
    spec: SourceSpec, raw: Mapping[str, str], undecodable: list[str]
) -> tuple[dict[str, str], tuple[str, str, str] | None]:
    """The mapped, transformed fields of one raw row, or the problem that stops them."""
    values = dict.fromkeys(FIELDS, "")
    for name, field_spec in spec.fields.items():
        where = field_spec.describe()
        bad = [c for c in field_spec.columns if c in undecodable]
        if bad:
            return values, (
                bad[0],
                "undecodable_bytes",
                f"column '{bad[0]}' holds bytes that do not decode (kept as \\xNN escapes)",
            )
        try:
            values[name] = field_spec.render(raw)
        except TransformError as err:
            return values, (where, "transform_failed", f"'{name}' from column {where}: {err}")
    return values, None


def _map_row(
    spec: SourceSpec, raw: Mapping[str, str], undecodable: list[str], limits: Mapping[str, Any]
) -> tuple[dict[str, str] | None, tuple[str, str, str] | None]:
    """One raw row to (example, None) or (None, (column, reason_kind, reason))."""
    values, problem = _render_fields(spec, raw, undecodable)
    if problem:
        return None, problem
    for name, value in values.items():
        where = spec.fields[name].describe() if name in spec.fields else "(unmapped)"
        if name in REQUIRED_FIELDS and not value.strip():
            return None, (where, "empty_cell", f"empty value for '{name}' from column {where}")
        if len(value) > limits["max_cell_chars"]:
            return None, (
                where,
                "oversized_cell",
                f"'{name}' from column {where} has {len(value)} characters "
                f"(limit max_cell_chars={limits['max_cell_chars']})",
            )
    example = {
        "instruction": clean_prose(values["instruction"]),
        "code": clean_code(values["code"]),
        "response": clean_prose(values["response"]),
    }
    if example["code"] and limits["require_parsable_code"]:
        try:
            ast.parse(example["code"])
        except SyntaxError as err:
            if spec.unparsable_code == "append_to_instruction":
                example["instruction"] = (
                    f"{example['instruction']}\n\n{clean_prose(values['code'])}"
                )
                example["code"] = ""
            else:
                where = spec.fields["code"].describe()
                return None, (
                    where,
                    "unparsable_code",
                    f"code from column {where} does not parse: {err.msg} (line {err.lineno})",
                )
    task = spec.task_for(raw, example["instruction"])
    if task not in TASKS:
        return None, (spec.task_column or "(task)", "unknown_task", f"unknown task '{task}'")
    example["task"] = task
    example["language"] = spec.language
    return example, None


def build_examples(
    raw_snapshot: pd.DataFrame, sources: list[dict[str, Any]], limits: dict[str, Any]
) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, Any]]:
    """Map raw rows to canonical examples; reject bad rows with a reason; drop exact duplicates.

    Returns:
        ``examples``, ``rejected_examples`` and ``ingestion_report``, whose counts satisfy
        rows_in = kept + rejected + duplicates for every source.
    """
    specs = {spec.name: spec for spec in map(parse_source, sources)}
    kept: list[dict[str, Any]] = []
    rejected: list[dict[str, Any]] = []
    seen: set[str] = set()
    per_source: dict[str, Counter[str]] = {name: Counter() for name in specs}
    encodings: dict[str, Any] = {}
    for snap in raw_snapshot.itertuples(index=False):
        encodings[snap.source] = getattr(snap, "encoding", None)  # None: an older snapshot
        counts = per_source[snap.source]
        counts["rows_in"] += 1
        example, problem = _map_row(specs[snap.source], snap.fields, list(snap.undecodable), limits)
        if problem:
            column, kind, reason = problem
            counts["rejected"] += 1
            rejected.append(
                {
                    "source": snap.source,
                    "file": snap.file,
                    "row": int(snap.row),
                    "column": column,
                    "reason_kind": kind,
                    "reason": f"{snap.file} row {snap.row}: {reason}",
                    "raw": dict(snap.fields),
                }
            )
            continue
        identifier = example_id(
            example["task"], example["instruction"], example["code"], example["response"]
        )
        if identifier in seen:
            counts["duplicates"] += 1
            continue
        seen.add(identifier)
        counts["kept"] += 1
        kept.append({"example_id": identifier, "source": snap.source, **example})

    examples = validate(pd.DataFrame(kept, columns=EXAMPLE_COLUMNS), EXAMPLES, "examples")
    rejected_frame = RejectedExampleSchema.validate(
        pd.DataFrame(rejected, columns=list(RejectedExampleSchema.to_schema().columns))
    )
    report = {**_report(per_source, examples, rejected_frame), "encodings": encodings}
    for line in rejected:
        logger.warning("Rejected %s", line["reason"])
    logger.info(
        "Ingestion: %d rows in, %d kept, %d rejected, %d duplicates",
        report["rows_in"],
        report["kept"],
        report["rejected"],
        report["duplicates"],
    )
    return examples, rejected_frame, report


def _report(
    per_source: dict[str, Counter[str]], examples: pd.DataFrame, rejected: pd.DataFrame
) -> dict[str, Any]:
    """Counts per source, task and rejection reason; raises if the accounting does not add up."""
    keys = ("rows_in", "kept", "rejected", "duplicates")
    by_source = {name: {k: int(c[k]) for k in keys} for name, c in per_source.items()}
    totals = {k: sum(s[k] for s in by_source.values()) for k in keys}
    for name, counts in {**by_source, "total": totals}.items():
        if counts["rows_in"] != counts["kept"] + counts["rejected"] + counts["duplicates"]:
            raise RuntimeError(f"Ingestion accounting does not add up for {name}: {counts}")
    return {
        **totals,
        "by_source": by_source,
        "by_task": {k: int(v) for k, v in examples["task"].value_counts().sort_index().items()},
        "by_reason": {
            k: int(v) for k, v in rejected["reason_kind"].value_counts().sort_index().items()
        },
    }
