"""Project pipelines: found by package name, run in data-flow order by default."""

from __future__ import annotations

from kedro.framework.project import find_pipelines
from kedro.pipeline import Pipeline

# The order of the default run; a stage only joins it once its package exists.
STAGES = ("ingestion", "translation", "formatting", "training", "export", "evaluation")


def register_pipelines() -> dict[str, Pipeline]:
    """Register every pipeline package and ``__default__`` as their sum in stage order.

    Returns:
        A mapping from pipeline names to ``Pipeline`` objects.
    """
    pipelines = find_pipelines(raise_errors=True)
    pipelines["__default__"] = sum(
        (pipelines[name] for name in STAGES if name in pipelines), Pipeline([])
    )
    return pipelines
