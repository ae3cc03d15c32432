"""``tracking`` (conf/base/parameters_tracking.yml): what each run records in mlflow."""

from __future__ import annotations

from pydantic import Field

from .knobs import Knobs


class TrackingParameters(Knobs):
    """The ``tracking`` block."""

    enabled: bool
    metrics: list[str]  # dataset names
    artifacts: list[str]  # dataset names
    max_artifact_mb: float = Field(gt=0)
