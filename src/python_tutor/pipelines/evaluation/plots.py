"""The evaluation's figures: rates with their bootstrap intervals as error bars, loss, speed."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

RATE_METRICS = (
    ("{target}_answer_rate", "respuestas en {target}"),
    ("python_answer_rate", "con bloque python"),
    ("code_parse_rate", "código que parsea"),
    ("code_run_rate", "código que se ejecuta"),
    ("pass_at_1_problems", "pass@1 problemas"),
    ("pass_at_1_humaneval", "pass@1 HumanEval-ES"),
)


def _rate_and_error(row: Mapping[str, Any], key: str) -> tuple[float, tuple[float, float]]:
    """The rate and its distance to the interval's ends (0 where there is none)."""
    value = row.get(key)
    if not isinstance(value, dict) or value.get("interval") is None:
        return math.nan, (0.0, 0.0)
    low, high = value["interval"]
    return value["rate"], (value["rate"] - low, high - value["rate"])


def _chrf_and_error(row: Mapping[str, Any]) -> tuple[float, tuple[float, float]]:
    """Mean sentence chrF / 100 and its interval (the scale of the rates)."""
    mean, interval = row.get("chrf_sentence_mean"), row.get("chrf_sentence_interval")
    if mean is None or interval is None:
        return math.nan, (0.0, 0.0)
    return mean / 100, ((mean - interval[0]) / 100, (interval[1] - mean) / 100)


def plot_evaluation_quality(evaluation_metrics: list[dict[str, Any]], target: str) -> Any:
    """Grouped bars per measured model: each rate and chrF/100, 95% intervals as error bars."""
    from matplotlib.figure import Figure  # noqa: PLC0415 - only the report draws

    measured = [row for row in evaluation_metrics if row["measured"]]
    keys = [(key.format(target=target), label.format(target=target)) for key, label in RATE_METRICS]
    figure = Figure(figsize=(10, 4.5), layout="constrained")
    axis = figure.subplots()
    width = 0.8 / max(1, len(measured))
    for index, row in enumerate(measured):
        points = [_rate_and_error(row, key) for key, _ in keys] + [_chrf_and_error(row)]
        positions = [i + index * width for i in range(len(points))]
        errors = [[p[1][0] for p in points], [p[1][1] for p in points]]
        axis.bar(
            positions,
            [p[0] for p in points],
            width=width,
            label=row["model"],
            yerr=errors,
            capsize=3,
        )
    axis.set_xticks([i + width * (len(measured) - 1) / 2 for i in range(len(keys) + 1)])
    axis.set_xticklabels(
        [label for _, label in keys] + ["chrF / 100 (media)"], rotation=20, ha="right"
    )
    axis.set_ylim(0, 1)
    axis.set_ylabel("proporción (barras: intervalo bootstrap)")
    axis.set_title("Calidad de las respuestas por modelo")
    axis.legend()
    return figure


def plot_evaluation_loss_speed(evaluation_metrics: list[dict[str, Any]]) -> Any:
    """Assistant-token loss (transformers models) and generation speed (all measured models)."""
    from matplotlib.figure import Figure  # noqa: PLC0415

    measured = [row for row in evaluation_metrics if row["measured"]]
    figure = Figure(figsize=(9, 3.5), layout="constrained")
    loss_axis, speed_axis = figure.subplots(1, 2)
    with_loss = [row for row in measured if row.get("loss") is not None]
    loss_axis.bar([r["model"] for r in with_loss], [r["loss"] for r in with_loss])
    loss_axis.set_title("Pérdida en tokens del asistente (tutor_test)")
    speed_axis.bar([r["model"] for r in measured], [r["tokens_per_second"] or 0 for r in measured])
    speed_axis.set_title("Velocidad de generación (tokens/s)")
    return figure
