"""Evaluation nodes: pick the held-out prompts, run each model on them, score, plot, report.

Every model answers the same prompts: a sample of ``tutor_test`` conversations (answers
compared with the reference by chrF, language and code checks) and the Spanish problem set
(answers executed against unit tests in the sandbox for pass@1).
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from python_tutor.contracts import CONVERSATIONS, validate
from python_tutor.machine import cpu
from python_tutor.modelfile import parse_modelfile

from . import metrics as m
from .sandbox import SandboxLimits

logger = logging.getLogger(__name__)

BASE, FINE_TUNED, GGUF = "base", "fine_tuned", "gguf"
MODELS = (BASE, FINE_TUNED, GGUF)
PROBLEM_FIELDS = ("problem_id", "entry_point", "signature", "statement", "tests")
_VERSION = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}\.\d{2}\.\d{2}\.\d{3}Z")


def _fingerprint(values: Sequence[str]) -> str:
    """A short content hash that names exactly which rows were measured."""
    return hashlib.sha256("\x1f".join(values).encode("utf-8")).hexdigest()[:16]


def _check_problem(row: Mapping[str, Any], position: int) -> None:
    where = f"evaluation_problems row {position}"
    missing = [key for key in PROBLEM_FIELDS if not str(row.get(key) or "").strip()]
    if missing:
        raise ValueError(f"{where} ({row.get('problem_id')}): empty or missing {missing}")
    if f"def {row['entry_point']}(" not in row["signature"]:
        raise ValueError(f"{where} ({row['problem_id']}): 'signature' does not define entry_point")
    if not m.parses(row["tests"]):
        raise ValueError(f"{where} ({row['problem_id']}): column 'tests' is not valid Python")


def build_evaluation_prompts(
    tutor_test: pd.DataFrame, evaluation_problems: pd.DataFrame, selection: dict[str, Any]
) -> dict[str, Any]:
    """The prompts every model answers, chosen deterministically (sorted ids, first N).

    Problem prompts get the tutor's system turn from ``tutor_test`` (the persona it was trained
    with) unless ``selection.problem_system`` sets one.

    Raises:
        ValueError: a malformed conversation or problem (row and field named), or no system
            prompt for the problems.
    """
    validate(tutor_test, CONVERSATIONS, "tutor_test", columns=["example_id", "messages"])
    rows = tutor_test.to_dict(orient="records")
    conversations = [
        {**row, "messages": [{"role": t["role"], "content": t["content"]} for t in row["messages"]]}
        for row in rows
    ]
    conversations.sort(key=lambda row: str(row["example_id"]))
    problems = evaluation_problems.to_dict(orient="records")
    for position, problem in enumerate(problems, start=1):
        _check_problem(problem, position)
    problems.sort(key=lambda row: str(row["problem_id"]))
    problems = problems[: int(selection["max_problems"])]

    system = selection.get("problem_system") or next(
        (
            msg["content"]
            for row in conversations
            for msg in row["messages"]
            if msg["role"] == "system"
        ),
        None,
    )
    if problems and not system:
        raise ValueError(
            "No system prompt for the problem set: tutor_test has no system turns; set "
            "`evaluation.selection.problem_system`"
        )
    tutor = [
        {
            "id": str(row["example_id"]),
            "task": row.get("task", ""),
            "messages": row["messages"],
            "reference": row["messages"][-1]["content"],
            # tutor_test carries no tests today; generate/fix rows that do count for pass@1.
            "tests": row.get("tests") if row.get("task") in ("generate", "fix") else None,
        }
        for row in conversations[: int(selection["max_tutor_examples"])]
    ]
    template = selection["problem_user_template"]
    problem_prompts = [
        {
            "id": problem["problem_id"],
            "task": "problem",
            "messages": [
                {"role": "system", "content": system},
                {"role": "user", "content": template.format(**problem)},
            ],
            "reference": "",
            "tests": problem["tests"],
        }
        for problem in problems
    ]
    return {
        "tutor": tutor,
        "problems": problem_prompts,
        "loss_conversations": [
            {"example_id": row["example_id"], "messages": row["messages"]}
            for row in conversations[: int(selection["max_loss_examples"])]
        ],
        "data": {
            "tutor_test_rows": len(rows),
            "tutor_test_fingerprint": _fingerprint([str(r["example_id"]) for r in conversations]),
            "tutor_prompts": len(tutor),
            "loss_conversations": min(len(conversations), int(selection["max_loss_examples"])),
            "problem_set_rows": len(evaluation_problems),
            "problem_set_fingerprint": _fingerprint(
                [json.dumps(p, sort_keys=True, ensure_ascii=False) for p in problems]
            ),
            "problems": len(problem_prompts),
        },
    }


def _version_of(path: Path | str) -> str | None:
    """The Kedro save version in an artifact's path, when it has one."""
    found = _VERSION.findall(str(path))
    return found[-1] if found else None


def _provenance_summary(provenance: Mapping[str, Any]) -> dict[str, Any]:
    """What the report needs from the adapter's provenance.json: when and on what it trained."""
    return {
        key: provenance[key]
        for key in ("created_utc", "global_step", "chat_template", "data", "base_model")
        if key in provenance
    }


def _prompt_chats(prompts: Mapping[str, Any]) -> list[list[dict[str, str]]]:
    """System + user turns of every prompt (tutor then problems), without the reference."""
    return [item["messages"][:-1] for item in prompts["tutor"]] + [
        item["messages"] for item in prompts["problems"]
    ]


def _outputs(
    name: str, artifact: Mapping[str, Any], answers: Sequence[Any], prompts: Mapping[str, Any]
) -> dict[str, Any]:
    split = len(prompts["tutor"])
    dicts = [answer.to_dict() for answer in answers]
    return {
        "model": name,
        "measured": True,
        "artifact": dict(artifact),
        "tutor_answers": dicts[:split],
        "problem_answers": dicts[split:],
    }


def _transformers_outputs(  # noqa: PLR0917 - the two node functions below name them
    name: str,
    prompts: Mapping[str, Any],
    base_model: Path,
    adapter: Path | None,
    runtime: Mapping[str, Any],
    generation: Mapping[str, Any],
) -> dict[str, Any]:
    from .models import (  # noqa: PLC0415 - torch behind it
        assistant_loss,
        generate_transformers,
        load_transformers_model,
    )

    loaded = load_transformers_model(base_model, adapter, runtime)
    loss = assistant_loss(loaded, prompts["loss_conversations"], int(generation["max_length"]))
    answers = generate_transformers(loaded, _prompt_chats(prompts), generation)
    artifact = {"path": str(adapter or base_model), "version": _version_of(adapter or base_model)}
    if adapter is not None:
        artifact["base_path"] = str(base_model)
        provenance = Path(adapter) / "provenance.json"
        if provenance.is_file():
            artifact["provenance"] = _provenance_summary(
                json.loads(provenance.read_text(encoding="utf-8"))
            )
    outputs = _outputs(name, artifact, answers, prompts)
    outputs["loss"] = loss
    outputs["precision"] = loaded.precision.as_dict()
    logger.info("%s: assistant loss %.3f on %d tokens", name, loss["loss"], loss["scored_tokens"])
    return outputs


def evaluate_base_model(
    evaluation_prompts: dict[str, Any],
    base_model: Path,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Loss and answers of the untouched base checkpoint: the bar to beat."""
    return _transformers_outputs(BASE, evaluation_prompts, base_model, None, runtime, generation)


def evaluate_fine_tuned_model(
    evaluation_prompts: dict[str, Any],
    base_model: Path,
    lora_adapter: Path,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Loss and answers of base + LoRA (merged), prompted with the adapter's own tokenizer."""
    model = (evaluation_prompts, base_model, lora_adapter, runtime, generation)
    return _transformers_outputs(FINE_TUNED, *model)


def evaluate_gguf_model(
    evaluation_prompts: dict[str, Any],
    gguf_model: Path | None,
    ollama_modelfile: str | None,
    runtime: dict[str, Any],
    generation: dict[str, Any],
) -> dict[str, Any]:
    """Answers of the deployed GGUF through llama.cpp, prompted from the Modelfile.

    A missing GGUF (``None``/``False`` from an optional dataset) is reported as not measured,
    never silently dropped. No loss: llama.cpp is compared on answers only.
    """
    if not gguf_model or not ollama_modelfile:
        return {"model": GGUF, "measured": False, "reason": "no gguf_model/ollama_modelfile"}
    from .models import generate_gguf, load_gguf_model  # noqa: PLC0415

    modelfile = parse_modelfile(ollama_modelfile)
    llama = load_gguf_model(Path(gguf_model), modelfile, runtime)
    answers = generate_gguf(llama, modelfile, _prompt_chats(evaluation_prompts), generation)
    artifact = {
        "path": str(gguf_model),
        "version": _version_of(gguf_model),
        "system_prompt": modelfile.get("system", ""),
        "stop": modelfile.get("stop", []),
    }
    return _outputs(GGUF, artifact, answers, evaluation_prompts)


def _score_answer(
    answer: str,
    tests: str | None,
    detector: Any,
    scoring: Mapping[str, Any],
    limits: SandboxLimits,
) -> dict[str, Any]:
    languages = scoring["python_languages"]
    split = m.split_markdown(answer, languages)
    code = split.python_code
    has_code = bool(split.python_blocks)
    parsed = m.parses(code) if has_code else None
    ran = m.run_snippet(code, limits) if parsed else None
    score = {
        "language": m.language_of(detector, split.prose, int(scoring["min_prose_chars"])),
        "has_python": has_code,
        "parses": parsed,
        "runs": None if not has_code else bool(ran and ran.ok),
        "run_status": None if ran is None else ran.status,
        "passed": None,
        "test_status": None,
    }
    if tests:
        result = m.run_against_tests(m.solution_code(answer, languages), tests, limits)
        score["passed"] = bool(result and result.ok)
        score["test_status"] = "no_code" if result is None else result.status
    return score


def _model_metrics(
    outputs: Mapping[str, Any],
    tutor_scores: Sequence[Mapping[str, Any]],
    problem_scores: Sequence[Mapping[str, Any]],
    chrf: float,
    target_language: str,
) -> dict[str, Any]:
    answers = [*outputs["tutor_answers"], *outputs["problem_answers"]]
    every = [*tutor_scores, *problem_scores]
    tokens = sum(a["new_tokens"] for a in answers)
    seconds = sum(a["seconds"] for a in answers)
    tutor_tests = [s["passed"] for s in tutor_scores if s["passed"] is not None]
    loss = outputs.get("loss") or {}
    return {
        "model": outputs["model"],
        "measured": True,
        "version": outputs["artifact"].get("version"),
        "artifact": outputs["artifact"]["path"],
        "provenance": outputs["artifact"].get("provenance"),
        "answers": len(answers),
        "loss": loss.get("loss"),
        "perplexity": loss.get("perplexity"),
        "loss_tokens": loss.get("scored_tokens"),
        # Over answers with enough prose to judge: a code-only answer has no language.
        f"{target_language}_answer_rate": m.rate(
            None if s["language"] is None else s["language"] == target_language for s in every
        ),
        "python_answer_rate": m.rate(s["has_python"] for s in every),
        "code_parse_rate": m.rate(s["parses"] for s in every),
        "code_run_rate": m.rate(s["runs"] for s in every),
        "chrf": chrf,
        "pass_at_1_problems": m.rate(s["passed"] for s in problem_scores),
        "pass_at_1_tutor_test": m.rate(tutor_tests) if tutor_tests else None,
        "generated_tokens": tokens,
        "generation_seconds": round(seconds, 3),
        "tokens_per_second": tokens / seconds if seconds else None,
        # transformers' compute precision (None for the GGUF: its outtype) and the CPU it ran on
        "precision": outputs.get("precision"),
        "cpu": cpu(),
    }


def score_evaluation(
    evaluation_prompts: dict[str, Any],
    base_outputs: dict[str, Any],
    fine_tuned_outputs: dict[str, Any],
    gguf_outputs: dict[str, Any],
    scoring: dict[str, Any],
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Metrics per model (one row each) and the answers side by side with their scores.

    Spanish rate counts answers whose prose (code stripped) lingua identifies as the target
    language, among the answers with at least ``min_prose_chars`` of prose; parse and run rates
    are over answers with a Python block; pass@1 is greedy, one answer per problem, executed
    with the problem's tests in the sandbox.
    """
    limits = SandboxLimits.from_params(scoring["sandbox"])
    detector = m.build_language_detector(scoring["languages"])
    target = scoring["target_language"]
    rows: list[dict[str, Any]] = []
    samples: dict[str, dict[str, Any]] = {}
    items = [("tutor", item) for item in evaluation_prompts["tutor"]] + [
        ("problem", item) for item in evaluation_prompts["problems"]
    ]
    for item_kind, item in items:
        samples[item["id"]] = {
            "id": item["id"],
            "kind": item_kind,
            "task": item["task"],
            "prompt": item["messages"][-2 if item_kind == "tutor" else -1]["content"],
            "reference": item["reference"],
        }
    for outputs in (base_outputs, fine_tuned_outputs, gguf_outputs):
        name = outputs["model"]
        if not outputs["measured"]:
            rows.append({"model": name, "measured": False, "reason": outputs["reason"]})
            continue
        answers = [*outputs["tutor_answers"], *outputs["problem_answers"]]
        if len(answers) != len(items):
            raise ValueError(f"{name}: {len(answers)} answers for {len(items)} prompts")
        scores = [
            _score_answer(answer["text"], item.get("tests"), detector, scoring, limits)
            for answer, (_, item) in zip(answers, items)
        ]
        split = len(outputs["tutor_answers"])
        chrf, per_pair = m.chrf_scores(
            [a["text"] for a in outputs["tutor_answers"]],
            [item["reference"] for item in evaluation_prompts["tutor"]],
        )
        rows.append(_model_metrics(outputs, scores[:split], scores[split:], chrf, target))
        for position, (answer, score, (_, item)) in enumerate(zip(answers, scores, items)):
            sample = samples[item["id"]]
            sample[f"{name}_answer"] = answer["text"]
            sample[f"{name}_chrf"] = per_pair[position] if position < split else None
            for key, value in score.items():
                sample[f"{name}_{key}"] = value
    return rows, pd.DataFrame(list(samples.values()))


_RATE_METRICS = (
    ("{target}_answer_rate", "respuestas en {target}"),
    ("python_answer_rate", "con bloque python"),
    ("code_parse_rate", "código que parsea"),
    ("code_run_rate", "código que se ejecuta"),
    ("pass_at_1_problems", "pass@1 problemas"),
)


def _rate_value(row: Mapping[str, Any], key: str) -> float:
    value = row.get(key)
    return value["rate"] if isinstance(value, dict) else float("nan")


def plot_evaluation_quality(evaluation_metrics: list[dict[str, Any]], target: str) -> Any:
    """Grouped bars: each rate (and chrF/100) per measured model."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    measured = [row for row in evaluation_metrics if row["measured"]]
    keys = [
        (key.format(target=target), label.format(target=target)) for key, label in _RATE_METRICS
    ]
    figure, axis = plt.subplots(figsize=(9, 4))
    width = 0.8 / max(1, len(measured))
    for index, row in enumerate(measured):
        values = [_rate_value(row, key) for key, _ in keys] + [(row["chrf"] or 0) / 100]
        positions = [i + index * width for i in range(len(values))]
        axis.bar(positions, values, width=width, label=row["model"])
    axis.set_xticks([i + width * (len(measured) - 1) / 2 for i in range(len(keys) + 1)])
    axis.set_xticklabels([label for _, label in keys] + ["chrF / 100"], rotation=20, ha="right")
    axis.set_ylim(0, 1)
    axis.set_ylabel("proporción")
    axis.set_title("Calidad de las respuestas por modelo")
    axis.legend()
    figure.tight_layout()
    return figure


def plot_evaluation_loss_speed(evaluation_metrics: list[dict[str, Any]]) -> Any:
    """Assistant-token loss (transformers models) and generation speed (all measured models)."""
    import matplotlib  # noqa: PLC0415

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt  # noqa: PLC0415

    measured = [row for row in evaluation_metrics if row["measured"]]
    figure, (loss_axis, speed_axis) = plt.subplots(1, 2, figsize=(9, 3.5))
    with_loss = [row for row in measured if row.get("loss") is not None]
    loss_axis.bar([r["model"] for r in with_loss], [r["loss"] for r in with_loss])
    loss_axis.set_title("Pérdida en tokens del asistente (tutor_test)")
    speed_axis.bar([r["model"] for r in measured], [r["tokens_per_second"] or 0 for r in measured])
    speed_axis.set_title("Velocidad de generación (tokens/s)")
    figure.tight_layout()
    return figure


def _percent(value: Any) -> str:
    if isinstance(value, dict):
        if not value["total"]:
            return "n/a"
        return f"{100 * value['rate']:.0f}% ({value['passed']}/{value['total']})"
    return "n/a"


def _number(value: Any, digits: int = 3) -> str:
    return "n/a" if value is None or value != value else f"{value:.{digits}f}"  # noqa: PLR0124


def _figure_markdown(figure: Any, title: str) -> str:
    """A PNG embedded as a data URI: the report stays one self-contained file."""
    import base64  # noqa: PLC0415
    import io  # noqa: PLC0415

    import matplotlib.pyplot as plt  # noqa: PLC0415

    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=80)
    plt.close(figure)
    encoded = base64.b64encode(buffer.getvalue()).decode("ascii")
    return f"![{title}](data:image/png;base64,{encoded})"


def _verdict(by_model: Mapping[str, Mapping[str, Any]], target: str) -> list[str]:
    """Does the fine-tune beat the base on the target-language rate and on loss? Said plainly."""
    base, tuned = by_model.get(BASE), by_model.get(FINE_TUNED)
    if not (base and tuned and base["measured"] and tuned["measured"]):
        return ["The base or the fine-tuned model was not measured, so there is no verdict."]
    key = f"{target}_answer_rate"
    rate_base, rate_tuned = base[key]["rate"], tuned[key]["rate"]
    better_rate = rate_tuned > rate_base
    better_loss = (tuned["loss"] or float("inf")) < (base["loss"] or float("inf"))
    lines = [
        f"- {target} answer rate: fine-tuned {_percent(tuned[key])} vs base {_percent(base[key])}"
        f" -> {'better' if better_rate else 'NOT better'}.",
        f"- Assistant-token loss on tutor_test: fine-tuned {_number(tuned['loss'])} vs base "
        f"{_number(base['loss'])} -> {'better' if better_loss else 'NOT better'}.",
    ]
    if better_rate and better_loss:
        lines.append("\n**The fine-tuned model beats the base on both.**")
        return lines
    lines.append("\n**The fine-tuned model does not beat the base on both.** Likely reasons:")
    provenance = tuned.get("provenance") or {}
    steps = provenance.get("global_step")
    train = (provenance.get("data") or {}).get("tutor_train", {}).get("conversations")
    lines.append(
        f"- Training was short: {steps if steps is not None else 'unknown'} optimizer steps on "
        f"{train if train is not None else 'an unknown number of'} conversations "
        "(the default run is sized for 2 CPU cores)."
    )
    judged = tuned[key]["total"]
    lines.append(
        f"- The samples are small: {judged} answer(s) had enough prose to judge the language, "
        f"so one answer moves the rate by {100 / max(1, judged):.0f} points; answers cut at "
        "`generation.max_new_tokens` often hold only code."
    )
    return lines


def write_evaluation_report(
    evaluation_metrics: list[dict[str, Any]],
    evaluation_samples: pd.DataFrame,
    evaluation_prompts: dict[str, Any],
    target: str,
    report: dict[str, Any],
) -> str:
    """The Markdown report: versions measured, the comparison table, plots, verdict, examples."""
    by_model = {row["model"]: row for row in evaluation_metrics}
    measured = [row for row in evaluation_metrics if row["measured"]]
    data = evaluation_prompts["data"]
    lines = ["# Evaluation: base vs fine-tuned vs GGUF", "", "## What was measured", ""]
    for row in evaluation_metrics:
        if row["measured"]:
            version = row["version"] or "unversioned"
            lines.append(f"- **{row['model']}**: `{row['artifact']}` (version {version})")
        else:
            lines.append(f"- **{row['model']}**: not measured ({row['reason']})")
    tuned = by_model.get(FINE_TUNED, {})
    gguf = by_model.get(GGUF, {})
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
    lines += [
        f"- tutor_test: {data['tutor_test_rows']} rows (fingerprint "
        f"`{data['tutor_test_fingerprint']}`), {data['tutor_prompts']} answered, "
        f"{data['loss_conversations']} scored for loss",
        f"- Spanish problem set: {data['problems']} of {data['problem_set_rows']} problems "
        f"(fingerprint `{data['problem_set_fingerprint']}`)",
        "- Load versions of every input: `_lineage.json` beside this report (lineage hook).",
        "- tutor_test rows carry no unit tests today, so pass@1 is measured on the problem set "
        "only."
        if not any(r.get("pass_at_1_tutor_test") for r in measured)
        else "",
        "",
        "## Comparison",
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
        ("chrF vs reference", lambda r: _number(r["chrf"], 1)),
        ("pass@1 (problem set)", lambda r: _percent(r["pass_at_1_problems"])),
        ("tokens/s", lambda r: _number(r["tokens_per_second"], 1)),
    ]
    lines += [
        f"| {label} | " + " | ".join(cell(row) for row in measured) + " |" for label, cell in table
    ]
    lines += ["", "## Verdict", "", *_verdict(by_model, target), "", "## Plots", ""]
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
