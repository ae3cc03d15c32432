"""Base vs fine-tuned vs GGUF on the same items: paired tests, and a verdict that says no more.

Every comparison reads the per-answer scores of ``evaluation_samples``, keeps the items both
models have a value for, and tests the difference: pass/fail flags with an exact McNemar test,
chrF per tutor answer with a paired bootstrap interval. Each says "better", "worse" or "not
distinguishable at this sample size" at ``evaluation.scoring.statistics.alpha``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from .generation import BASE, FINE_TUNED, GGUF
from .statistics import BETTER, TIE, WORSE, direction, mcnemar_exact, paired_bootstrap

PAIRS = ((BASE, FINE_TUNED), (FINE_TUNED, GGUF), (BASE, GGUF))  # (reference, challenger)
# (sample column suffix, kinds of item it is measured on, label); {target}: target language
FLAGS = (
    ("language", None, "answers in {target}"),
    ("passed", "humaneval", "pass@1 HumanEval-ES"),
    ("passed", "problem", "pass@1 project problems"),
    ("parses", None, "python blocks that parse"),
)
VERDICT_METRICS = ("answers in {target}", "pass@1 HumanEval-ES", "pass@1 project problems")


def _flags(samples: pd.DataFrame, model: str, column: str, kind: str | None, target: str):
    rows = samples if kind is None else samples[samples["kind"] == kind]
    values = rows.get(f"{model}_{column}", pd.Series([None] * len(rows), index=rows.index))
    if column == "language":
        return [None if pd.isna(v) else v == target for v in values]
    return [None if pd.isna(v) else bool(v) for v in values]


def compare_models(
    evaluation_metrics: list[dict[str, Any]],
    evaluation_samples: pd.DataFrame,
    target: str,
    statistics: dict[str, Any],
) -> list[dict[str, Any]]:
    """One row per (pair of measured models, metric): the test, its numbers and direction."""
    measured = {row["model"] for row in evaluation_metrics if row["measured"]}
    alpha = float(statistics["alpha"])
    rows = []
    for first, second in PAIRS:
        if not {first, second} <= measured:
            continue
        for column, kind, label in FLAGS:
            a = _flags(evaluation_samples, first, column, kind, target)
            b = _flags(evaluation_samples, second, column, kind, target)
            both = [(x, y) for x, y in zip(a, b) if x is not None and y is not None]
            test = mcnemar_exact([x for x, _ in both], [y for _, y in both])
            rows.append(
                {
                    "reference": first,
                    "challenger": second,
                    "metric": label.format(target=target),
                    **test,
                    "reference_passed": sum(x for x, _ in both),
                    "challenger_passed": sum(y for _, y in both),
                    "direction": direction(test, alpha) if both else TIE,
                }
            )
        tutor = evaluation_samples[evaluation_samples["kind"] == "tutor"]
        test = paired_bootstrap(
            [float(v) for v in tutor[f"{first}_chrf"]],
            [float(v) for v in tutor[f"{second}_chrf"]],
            float(statistics["confidence"]),
            int(statistics["resamples"]),
            int(statistics["seed"]),
        )
        rows.append(
            {
                "reference": first,
                "challenger": second,
                "metric": "chrF per tutor answer",
                **test,
                "direction": direction(test, alpha),
            }
        )
    return rows


def verdict_lines(
    comparisons: list[dict[str, Any]], by_model: Mapping[str, Mapping[str, Any]], target: str
) -> list[str]:
    """Fine-tuned against base, said plainly, then why the data cannot say more."""
    mine = [c for c in comparisons if (c["reference"], c["challenger"]) == (BASE, FINE_TUNED)]
    if not mine:
        return ["The base or the fine-tuned model was not measured, so there is no verdict."]
    lines = []
    for row in mine:
        lines.append(
            f"- {row['metric']}: fine-tuned vs base -> **{row['direction']}** ({_evidence(row)})."
        )
    base, tuned = by_model[BASE], by_model[FINE_TUNED]
    if base.get("loss") is not None and tuned.get("loss") is not None:
        lines.append(
            f"- Assistant-token loss on tutor_test: fine-tuned {tuned['loss']:.3f} vs base "
            f"{base['loss']:.3f} (one number per model, so no paired test)."
        )
    keys = {label.format(target=target) for label in VERDICT_METRICS}
    directions = {row["direction"] for row in mine if row["metric"] in keys}
    if directions == {BETTER} or (BETTER in directions and WORSE not in directions):
        overall = BETTER
    elif WORSE in directions and BETTER not in directions:
        overall = WORSE
    else:
        overall = TIE
    lines.append(
        f"\n**Overall, the fine-tuned model is {overall} than the base**"
        if overall != TIE
        else "\n**Overall, the fine-tuned model and the base are not distinguishable at "
        "this sample size.**"
    )
    provenance = tuned.get("provenance") or {}
    steps = provenance.get("global_step")
    train = (provenance.get("data") or {}).get("tutor_train", {}).get("conversations")
    lines.append(
        f"- Training: {steps if steps is not None else 'unknown'} optimizer steps on "
        f"{train if train is not None else 'an unknown number of'} conversations."
    )
    judged = tuned[f"{target}_answer_rate"]["total"]
    lines.append(
        f"- Sample sizes: {judged} answer(s) had enough prose to judge the language; pass@1 "
        f"on {tuned['pass_at_1_humaneval']['total']} HumanEval-ES and "
        f"{tuned['pass_at_1_problems']['total']} project problems. The full profile "
        "(`evaluation.profile: full`) asks every item."
    )
    return lines


def _evidence(row: Mapping[str, Any]) -> str:
    if row["test"] == "exact McNemar":
        return (
            f"{row['challenger_passed']} vs {row['reference_passed']} of {row['items']} paired "
            f"items, {row['second_only']} won / {row['first_only']} lost, "
            f"exact McNemar p = {row['p_value']:.3g}"
        )
    interval = row["interval"]
    span = "n/a" if interval is None else f"[{interval[0]:+.1f}, {interval[1]:+.1f}]"
    return f"mean difference {row['mean_difference']:+.1f}, paired bootstrap interval {span}"
