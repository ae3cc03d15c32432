"""The report: what was measured (no machine paths), the table with intervals, the verdict,
plots with error bars."""

from __future__ import annotations

import pytest

from python_tutor.pipelines.evaluation.generation import shown_path
from python_tutor.pipelines.evaluation.plots import (
    plot_evaluation_loss_speed,
    plot_evaluation_quality,
)
from python_tutor.pipelines.evaluation.report import write_evaluation_report
from python_tutor.pipelines.evaluation.scoring import score_evaluation
from python_tutor.pipelines.evaluation.verdict import compare_models

from .cases import ENGLISH, GOOD, SPANISH, fake_outputs

GGUF_ABSENT = {"model": "gguf", "measured": False, "reason": "no gguf_model/ollama_modelfile"}


@pytest.fixture
def scored(prompts, params):
    def score(tuned_tutor):
        order = [item["id"] for item in prompts["problems"]]
        base = fake_outputs("base", prompts, [ENGLISH] * 3, ["No sé."] * 2, ["No sé."])
        tuned = fake_outputs(
            "fine_tuned", prompts, tuned_tutor, [GOOD[i] for i in order], [GOOD["HumanEval/2"]]
        )
        tuned["artifact"]["provenance"] = {"global_step": 12, "data": {}}
        rows, samples = score_evaluation(prompts, base, tuned, GGUF_ABSENT, params["scoring"])
        comparisons = compare_models(rows, samples, "es", params["scoring"]["statistics"])
        return rows, comparisons, samples

    return score


def report_of(scored_run, prompts, params) -> str:
    rows, comparisons, samples = scored_run
    return write_evaluation_report(rows, comparisons, samples, prompts, "es", params["report"])


def test_the_report_states_versions_table_intervals_and_an_honest_verdict(scored, prompts, params):
    report = report_of(scored([SPANISH] * 3), prompts, params)
    assert "**gguf**: not measured (no gguf_model/ollama_modelfile)" in report
    assert prompts["data"]["tutor_test_fingerprint"] in report
    assert "| es answer rate | 0% (0/3) [0-71] | 100% (5/5) [48-100] |" in report
    assert "| pass@1 (HumanEval-ES) | 0% (0/1) [0-98] | 100% (1/1) [3-100] |" in report
    # 3 of 3 tutor answers and two problems cannot show a difference at alpha 0.05.
    assert "not distinguishable at this sample size.**" in report
    assert "HumanEval/159 (integrity check" in report
    # Only the fine-tuned model wrote code, so only its snippets say how they were isolated.
    assert "- Sandbox isolation of the snippets run: fine_tuned: bubblewrap" in report
    assert report.count("data:image/png;base64,") == 2
    assert "pass@1 is measured on the problem sets only" in report
    assert "| fine_tuned vs base | pass@1 HumanEval-ES | exact McNemar |" in report


def test_the_report_names_artifacts_relative_to_the_project_root(
    scored, prompts, params, tmp_path, monkeypatch
):
    monkeypatch.chdir(tmp_path)
    machine = tmp_path / "data/06_models/lora_adapter/2026-12-02T08.59.41.726Z/lora_adapter"
    rows, comparisons, samples = scored([SPANISH] * 3)
    rows[1]["artifact"] = shown_path(machine)
    report = write_evaluation_report(rows, comparisons, samples, prompts, "es", params["report"])
    assert "`data/06_models/lora_adapter/2026-12-02T08.59.41.726Z/lora_adapter`" in report
    assert str(tmp_path) not in report


def test_a_gguf_older_than_the_adapter_is_flagged(scored, prompts, params):
    rows, comparisons, samples = scored([SPANISH] * 3)
    rows[1]["version"] = "2026-11-29T02.35.27.746Z"
    rows[2] = {**rows[1], "model": "gguf", "version": "2026-11-29T02.15.27.311Z"}
    report = write_evaluation_report(rows, comparisons, samples, prompts, "es", params["report"])
    assert "**Warning**: the GGUF (version 2026-11-29T02.15.27.311Z) is older" in report
    rows[2]["version"] = "2026-11-29T02.40.00.000Z"
    report = write_evaluation_report(rows, comparisons, samples, prompts, "es", params["report"])
    assert "**Warning**" not in report


def test_the_quality_plot_draws_each_interval_as_an_error_bar(scored):
    rows, _, _ = scored([SPANISH] * 3)
    figure = plot_evaluation_quality(rows, "es")
    from matplotlib.container import BarContainer

    bars = [c for c in figure.axes[0].containers if isinstance(c, BarContainer)]
    assert len(bars) == 2  # one group per measured model
    assert all(container.errorbar is not None for container in bars)
    assert len(plot_evaluation_loss_speed(rows).axes) == 2
