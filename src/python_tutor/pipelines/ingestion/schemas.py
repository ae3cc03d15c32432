"""pandera schemas: what every later stage may assume about ingestion's outputs."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series

from .mapping import LANGUAGES, TASKS


class ExampleSchema(pa.DataFrameModel):
    """The canonical English example, one row each, unique by content hash."""

    example_id: Series[str] = pa.Field(str_matches=r"^[0-9a-f]{16}$", unique=True)
    source: Series[str] = pa.Field(str_length={"min_value": 1})
    language: Series[str] = pa.Field(isin=list(LANGUAGES))  # of the prose; "es" is not translated
    task: Series[str] = pa.Field(isin=list(TASKS))
    instruction: Series[str] = pa.Field(str_length={"min_value": 1})
    code: Series[str]
    response: Series[str] = pa.Field(str_length={"min_value": 1})

    class Config:
        strict = True
        coerce = True


class RejectedExampleSchema(pa.DataFrameModel):
    """A raw row that could not become an example, and why."""

    source: Series[str]
    file: Series[str]
    row: Series[int] = pa.Field(ge=1)
    column: Series[str]
    reason_kind: Series[str]
    reason: Series[str]
    raw: Series[object]

    class Config:
        strict = True
        coerce = True
