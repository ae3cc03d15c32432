"""``ingestion`` (conf/base/parameters_ingestion.yml): which CSVs are read and how they map.

The keys of each source are checked here; what a field spec or task rule means (columns,
templates, transforms, task names) is parsed and checked by ingestion.mapping, which turns
them into the objects the nodes use.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, PositiveInt

from .knobs import Knobs


class TaskRule(Knobs):
    """One regex rule on the instruction; the first match gives the task."""

    pattern: str
    task: str


class TaskKnobs(Knobs):
    """Where a row's task comes from: a column, rules, or a default."""

    column: str | None = None
    rules: list[TaskRule] = []
    default: str | None = None


class SourceKnobs(Knobs):
    """One raw CSV (an entry of ``ingestion.sources``)."""

    name: str = Field(min_length=1)
    file: str = Field(min_length=1)
    kaggle: str | None = None
    language: Literal["en", "es"] = "en"
    unparsable_code: Literal["reject", "append_to_instruction"] = "reject"
    encoding: str | None = None
    fields: dict[Literal["instruction", "code", "response"], Any]  # ingestion.mapping.parse_field
    task: TaskKnobs


class LimitKnobs(Knobs):
    """``ingestion.limits``."""

    max_cell_chars: PositiveInt
    require_parsable_code: bool


class IngestionParameters(Knobs):
    """The ``ingestion`` block."""

    sources: list[SourceKnobs] = Field(min_length=1)
    limits: LimitKnobs
