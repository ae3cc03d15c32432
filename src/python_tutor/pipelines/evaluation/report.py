"""The Markdown report: what was measured, the table with intervals, the paired verdict,
the plots (embedded, so the report is one file) and answers side by side."""

from __future__ import annotations

import base64
import io
import json
from typing import Any

import pandas as pd

from .generation import FINE_TUNED, GGUF
from .plots import plot_evaluation_loss_speed, plot_evaluation_quality
from .verdict import verdict_lines


def _percent(value: Any) -> str:
    """``42% (5/12) [20-70]``: the rate, its counts and its interval."""
    if not isinstance(value, dict) or not value["total"]:
        return "n/a"
    text = f"{100 * value['rate']:.0f}% ({value['passed']}/{value['total']})"
    interval = value.get("interval")
    return text if interval is None else f"{text} [{100 * interval[0]:.0f}-{100 * interval[1]:.0f}]"


def _number(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"  # noqa: PLR0124


def _chrf(row: dict[str, Any]) -> str:
    interval = row.get("chrf_sentence_interval")
    text = _number(row["chrf"], 1)
    return (
        text
        if interval is None
        else f"{text} (mean {row['chrf_sentence_mean']:.1f} [{interval[0]:.1f}-{interval[1]:.1f}])"
    )


def _figure_markdown(figure: Any, title: str) -> str:
    """A PNG embedded as a data URI: the report stays one self-contained file."""
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"


def _measured_lines(evaluation_metrics: list[dict[str, Any]]) -> list[str]:
    lines = []
    by_model = {row["model"]: row for row in evaluation_metrics}
    for row in evaluation_metrics:
        if row["measured"]:
            version = row["version"] or "unversioned"
            lines.append(f"- **{row['model']}**: `{row['artifact']}` (version {version})")
        else:
            lines.append(f"- **{row['model']}**: not measured ({row['reason']})")
    tuned, gguf = by_model.get(FINE_TUNED, {}), by_model.get(GGUF, {})
    if tuned.get("version") and gguf.get("version") and gguf["version"] < tuned["version"]:
        lines.append(
            f"- **Warning**: the GGUF (version {gguf['version']}) is older than the adapter "
            f"(version {tuned['version']}): it was exported from an earlier adapter, so the "
            "gguf column does not measure this fine-tune. Re-run the export stage first."
        )
    provenance = tuned.get("provenance") if tuned.get("measured") else None
    if provenance:
        lines.append(
            f"- Adapter provenance: created {provenance.get('created_utc')}, "
            f"{provenance.get('global_step')} steps, chat template "
            f"{provenance.get('chat_template')}, data {json.dumps(provenance.get('data'))}"
        )
    return lines


def _data_lines(data: dict[str, Any], measured: list[dict[str, Any]]) -> list[str]:
    failed = data["humaneval_not_translated"]
    lines = [
        f"- Profile `{data['profile']}` (`evaluation.profile`; `full` asks every item).",
        f"- tutor_test: {data['tutor_test_rows']} rows (fingerprint "
        f"`{data['tutor_test_fingerprint']}`), {data['tutor_prompts']} answered, "
        f"{data['loss_conversations']} scored for loss",
        f"- Spanish problem set: {data['problems']} of {data['problem_set_rows']} problems "
        f"(fingerprint `{data['problem_set_fingerprint']}`)",
        f"- HumanEval-ES: {data['humaneval']} asked of the {data['humaneval_translated']} of "
        f"{data['humaneval_rows']} problems translated intact (fingerprint "
        f"`{data['humaneval_fingerprint']}`); kept in English, not asked: "
        + (", ".join(f"{task} ({reason})" for task, reason in failed.items()) or "none"),
        "- Load versions of every input: `_lineage.json` beside this report (lineage hook).",
    ]
    if not any(r.get("pass_at_1_tutor_test") for r in measured):
        lines.append(
            "- tutor_test rows carry no unit tests today, so pass@1 is measured on the "
            "problem sets only."
        )
    isolation = [
        f"{r['model']}: {r['sandbox']['isolation']}"
        for r in measured
        if (r.get("sandbox") or {}).get("snippets_run")
    ]
    lines.append(
        "- Sandbox isolation of the snippets run: " + (", ".join(isolation) or "no snippet ran")
    )
    return lines


def write_evaluation_report(  # noqa: PLR0917 - one input each, as the node wires them
    evaluation_metrics: list[dict[str, Any]],
    evaluation_comparisons: list[dict[str, Any]],
    evaluation_samples: pd.DataFrame,
    evaluation_prompts: dict[str, Any],
    target: str,
    report: dict[str, Any],
) -> str:
    """The Markdown report: versions measured, the comparison table, plots, verdict, examples."""
    by_model = {row["model"]: row for row in evaluation_metrics}
    measured = [row for row in evaluation_metrics if row["measured"]]
    lines = ["# Evaluation: base vs fine-tuned vs GGUF", "", "## What was measured", ""]
    lines += _measured_lines(evaluation_metrics)
    lines += _data_lines(evaluation_prompts["data"], measured)
    lines += [
        "",
        "## Comparison",
        "",
        "Rates: share (passed/total) [95% bootstrap interval, percent].",
        "",
        "| metric | " + " | ".join(row["model"] for row in measured) + " |",
        "|---|" + "---|" * len(measured),
    ]
    table = [
        ("assistant-token loss", lambda r: _number(r["loss"])),
        ("perplexity", lambda r: _number(r["perplexity"], 2)),
        (f"{target} answer rate", lambda r: _percent(r[f"{target}_answer_rate"])),
        ("answers with a python block", lambda r: _percent(r["python_answer_rate"])),
        ("python blocks that parse", lambda r: _percent(r["code_parse_rate"])),
        ("python blocks that run", lambda r: _percent(r["code_run_rate"])),
        ("chrF vs reference (corpus; sentence mean)", _chrf),
        ("pass@1 (HumanEval-ES)", lambda r: _percent(r["pass_at_1_humaneval"])),
        ("pass@1 (project problems)", lambda r: _percent(r["pass_at_1_problems"])),
        ("tokens/s", lambda r: _number(r["tokens_per_second"], 1)),
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(row) for row in measured) + " |" for label, cell in table
    ]
    lines += ["", "## Verdict", ""]
    lines += verdict_lines(evaluation_comparisons, by_model, target)
    lines += [
        "",
        "### Paired tests",
        "",
        "| challenger vs reference | metric | test | result |",
        "|---|---|---|---|",
    ]
    for row in evaluation_comparisons:
        lines.append(
            f"| {row['challenger']} vs {row['reference']} | {row['metric']} | "
            f"{row['test']} | {row['direction']} |"
        )
    lines += ["", "## Plots", ""]
    lines.append(_figure_markdown(plot_evaluation_quality(evaluation_metrics, target), "quality"))
    lines.append("")
    lines.append(_figure_markdown(plot_evaluation_loss_speed(evaluation_metrics), "loss/speed"))
    lines += ["", "## Examples", ""]
    for sample in evaluation_samples.head(int(report["examples"])).to_dict(orient="records"):
        lines += [f"### {sample['kind']} `{sample['id']}` ({sample['task']})", "", "**Prompt**", ""]
        lines += [sample["prompt"], ""]
        for row in measured:
            lines += [f"**{row['model']}**", "", sample.get(f"{row['model']}_answer") or "", ""]
    return "\n".join(lines) + "\n"
