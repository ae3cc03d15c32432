"""pandera schema of ``rejected_examples`` (``examples``, read by translation: contracts.py)."""

from __future__ import annotations

import pandera.pandas as pa
from pandera.typing import Series


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
