"""Paired comparisons on the same items and a verdict that claims no more than they show."""

from __future__ import annotations

import pandas as pd
import pytest

from python_tutor.pipelines.evaluation.statistics import BETTER, TIE
from python_tutor.pipelines.evaluation.verdict import compare_models, verdict_lines

STATISTICS = {"confidence": 0.95, "resamples": 1000, "seed": 0, "alpha": 0.05}


def samples(items: int, base_pass: list[bool], tuned_pass: list[bool]) -> pd.DataFrame:
    """``items`` HumanEval rows and one tutor row, with each model's flags."""
    rows = [
        {
            "id": f"HumanEval/{i}",
            "kind": "humaneval",
            "base_passed": base_pass[i],
            "fine_tuned_passed": tuned_pass[i],
            "base_language": "es",
            "fine_tuned_language": "es",
            "base_parses": True,
            "fine_tuned_parses": True,
            "base_chrf": None,
            "fine_tuned_chrf": None,
        }
        for i in range(items)
    ]
    rows.append(
        {
            "id": "t",
            "kind": "tutor",
            "base_passed": None,
            "fine_tuned_passed": None,
            "base_language": "en",
            "fine_tuned_language": "es",
            "base_parses": None,
            "fine_tuned_parses": None,
            "base_chrf": 10.0,
            "fine_tuned_chrf": 20.0,
        }
    )
    return pd.DataFrame(rows)


METRICS = [
    {"model": "base", "measured": True, "loss": 2.0},
    {"model": "fine_tuned", "measured": True, "loss": 1.5},
    {"model": "gguf", "measured": False, "reason": "no gguf"},
]


def by_metric(rows):
    return {row["metric"]: row for row in rows}


def test_a_few_items_are_not_distinguishable_however_they_fall():
    rows = compare_models(METRICS, samples(3, [False] * 3, [True] * 3), "es", STATISTICS)
    assert {(r["reference"], r["challenger"]) for r in rows} == {("base", "fine_tuned")}
    humaneval = by_metric(rows)["pass@1 HumanEval-ES"]
    assert (humaneval["second_only"], humaneval["first_only"]) == (3, 0)
    assert humaneval["p_value"] == pytest.approx(0.25)
    assert humaneval["direction"] == TIE
    assert by_metric(rows)["pass@1 project problems"]["items"] == 0


def test_enough_paired_wins_are_better():
    rows = compare_models(METRICS, samples(12, [False] * 12, [True] * 12), "es", STATISTICS)
    assert by_metric(rows)["pass@1 HumanEval-ES"]["direction"] == BETTER


def test_the_verdict_names_each_metric_and_stays_honest_about_size():
    metrics = {
        "base": METRICS[0],
        "fine_tuned": {
            **METRICS[1],
            "provenance": {"global_step": 12, "data": {"tutor_train": {"conversations": 127}}},
            "es_answer_rate": {"total": 1},
            "pass_at_1_humaneval": {"total": 3},
            "pass_at_1_problems": {"total": 0},
        },
    }
    rows = compare_models(METRICS, samples(3, [False] * 3, [True] * 3), "es", STATISTICS)
    lines = "\n".join(verdict_lines(rows, metrics, "es"))
    assert "pass@1 HumanEval-ES: fine-tuned vs base -> **not distinguishable" in lines
    assert "exact McNemar p = 0.25" in lines
    assert "not distinguishable at this sample size.**" in lines
    assert "no paired test" in lines and "12 optimizer steps on 127" in lines
    strong = compare_models(METRICS, samples(12, [False] * 12, [True] * 12), "es", STATISTICS)
    metrics["fine_tuned"]["pass_at_1_humaneval"] = {"total": 12}
    assert "**Overall, the fine-tuned model is better than the base**" in "\n".join(
        verdict_lines(strong, metrics, "es")
    )


def test_without_both_models_there_is_no_verdict():
    assert verdict_lines([], {}, "es") == [
        "The base or the fine-tuned model was not measured, so there is no verdict."
    ]
