"""Score every answer, then each model: rates with bootstrap intervals, chrF, pass@k, speed.

Spanish rate counts answers whose prose (code stripped) the project's language identifier
calls the target language, among answers with at least ``min_prose_chars`` of prose; parse and
run rates are over answers with a Python block; pass@1 is greedy, one answer per problem, run
in the sandbox as the reference harness runs it (``harness``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from python_tutor.find_code import split_markdown
from python_tutor.language import LanguageIdentifier
from python_tutor.machine import cpu

from . import metrics as m
from .generation import SETS
from .harness import completion_from_code, humaneval_program
from .sandbox import SandboxLimits, SandboxResult, check_isolation, run_snippet
from .statistics import bootstrap_interval, pass_at_k, rate_interval

KIND = {"tutor": "tutor", "problems": "problem", "humaneval": "humaneval"}


def _test_run(
    answer: str, item: Mapping[str, Any], languages: Sequence[str], limits: SandboxLimits
) -> SandboxResult | None:
    """The answer against the item's tests; None when there is nothing to run."""
    code = m.solution_code(answer, languages)
    if "entry_point" not in item:
        return m.run_against_tests(code, item["tests"], limits)
    if not code.strip():
        return None
    completion = completion_from_code(code, item["entry_point"])
    program = humaneval_program(item["prompt"], completion, item["tests"], item["entry_point"])
    return run_snippet(program, limits)


def _score_answer(
    answer: str, item: Mapping[str, Any], scoring: Mapping[str, Any], limits: SandboxLimits
) -> dict[str, Any]:
    languages = scoring["python_languages"]
    split = split_markdown(answer, languages)
    has_code = bool(split.python_blocks)
    parsed = m.parses(split.python_code) if has_code else None
    ran = run_snippet(split.python_code, limits) if parsed else None
    score = {
        "prose": split.prose,
        "has_python": has_code,
        "parses": parsed,
        "runs": None if not has_code else bool(ran and ran.ok),
        "run_status": None if ran is None else ran.status,
        "passed": None,
        "test_status": None,
        "isolation": None if ran is None else ran.isolation,
    }
    if item.get("tests"):
        result = _test_run(answer, item, languages, limits)
        score["passed"] = bool(result and result.ok)
        score["test_status"] = "no_code" if result is None else result.status
        if result is not None:
            score["isolation"] = result.isolation
    return score


def rate_with_interval(flags: Sequence[bool | None], statistics: Mapping[str, Any]) -> dict:
    """``metrics.rate`` plus the interval of the share (None without items)."""
    counted = [bool(flag) for flag in flags if flag is not None]
    interval = rate_interval(
        counted, statistics["confidence"], statistics["resamples"], statistics["seed"]
    )
    return {**m.rate(flags), "interval": None if interval is None else list(interval)}


def _pass_at_k(scores: Sequence[Mapping[str, Any]], ks: Sequence[int]) -> dict[str, float | None]:
    """Unbiased pass@k over the problems; greedy decoding gives one sample each (n = 1)."""
    passed = [int(bool(s["passed"])) for s in scores if s["passed"] is not None]
    return {f"pass@{k}": pass_at_k([1] * len(passed), passed, k) for k in ks}


def _model_metrics(
    outputs: Mapping[str, Any],
    scores: Mapping[str, list[dict[str, Any]]],
    chrf: tuple[float, list[float]],
    scoring: Mapping[str, Any],
) -> dict[str, Any]:
    statistics = scoring["statistics"]
    answers = [a for name in SETS for a in outputs[f"{name}_answers"]]
    every = [s for name in SETS for s in scores[name]]
    tokens = sum(a["new_tokens"] for a in answers)
    seconds = sum(a["seconds"] for a in answers)
    tutor_tests = [s["passed"] for s in scores["tutor"] if s["passed"] is not None]
    loss = outputs.get("loss") or {}
    target = scoring["target_language"]

    def rate(flags: Sequence[bool | None]) -> dict[str, Any]:
        return rate_with_interval(list(flags), statistics)

    sentence_chrf = chrf[1]
    chrf_interval = bootstrap_interval(
        sentence_chrf, statistics["confidence"], statistics["resamples"], statistics["seed"]
    )
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
        f"{target}_answer_rate": rate(
            None if s["language"] is None else s["language"] == target for s in every
        ),
        "python_answer_rate": rate(s["has_python"] for s in every),
        "code_parse_rate": rate(s["parses"] for s in every),
        "code_run_rate": rate(s["runs"] for s in every),
        "chrf": chrf[0],
        "chrf_sentence_mean": sum(sentence_chrf) / len(sentence_chrf) if sentence_chrf else None,
        "chrf_sentence_interval": None if chrf_interval is None else list(chrf_interval),
        "pass_at_1_problems": rate(s["passed"] for s in scores["problems"]),
        "pass_at_1_humaneval": rate(s["passed"] for s in scores["humaneval"]),
        "pass_at_k_humaneval": _pass_at_k(scores["humaneval"], scoring["pass_at_k"]),
        "pass_at_1_tutor_test": rate(tutor_tests) if tutor_tests else None,
        "generated_tokens": tokens,
        "generation_seconds": round(seconds, 3),
        "tokens_per_second": tokens / seconds if seconds else None,
        # transformers' compute precision (None for the GGUF: its outtype) and the CPU it ran on
        "precision": outputs.get("precision"),
        "cpu": cpu(),
        # How the sandbox isolated what it ran, as its results say (the report shows it).
        "sandbox": _isolation(every),
    }


def _isolation(scores: Sequence[Mapping[str, Any]]) -> dict[str, Any]:
    """The isolation the sandbox reported for this model's snippets (None: nothing ran)."""
    used = sorted({s["isolation"] for s in scores if s["isolation"] is not None})
    return {"snippets_run": bool(used), "isolation": ", ".join(used) or None}


def _samples(prompts: Mapping[str, Any]) -> dict[str, dict[str, Any]]:
    """One row per prompt, before any model's answer is added."""
    samples = {}
    for name in SETS:
        for item in prompts[name]:
            samples[item["id"]] = {
                "id": item["id"],
                "kind": KIND[name],
                "task": item["task"],
                "prompt": item["messages"][-2 if name == "tutor" else -1]["content"],
                "reference": item["reference"],
            }
    return samples


def score_evaluation(
    evaluation_prompts: dict[str, Any],
    base_outputs: dict[str, Any],
    fine_tuned_outputs: dict[str, Any],
    gguf_outputs: dict[str, Any],
    scoring: dict[str, Any],
) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    """Metrics per model (one row each) and the answers side by side with their scores."""
    limits = SandboxLimits.from_params(scoring["sandbox"])
    check_isolation(limits)  # fail closed before any snippet, naming the parameter
    identifier = LanguageIdentifier(
        scoring["languages"], "parameters_evaluation.yml: evaluation.scoring.languages"
    )
    rows: list[dict[str, Any]] = []
    samples = _samples(evaluation_prompts)
    items = [item for name in SETS for item in evaluation_prompts[name]]
    for outputs in (base_outputs, fine_tuned_outputs, gguf_outputs):
        name = outputs["model"]
        if not outputs["measured"]:
            rows.append({"model": name, "measured": False, "reason": outputs["reason"]})
            continue
        answers = [a for s in SETS for a in outputs.get(f"{s}_answers", [])]
        if len(answers) != len(items):
            raise ValueError(f"{name}: {len(answers)} answers for {len(items)} prompts")
        every = [_score_answer(a["text"], item, scoring, limits) for a, item in zip(answers, items)]
        languages = identifier.languages_of(
            [s.pop("prose") for s in every], int(scoring["min_prose_chars"])
        )
        for score, language in zip(every, languages):
            score["language"] = language
        by_set, start = {}, 0
        for prompt_set in SETS:
            by_set[prompt_set] = every[start : start + len(evaluation_prompts[prompt_set])]
            start += len(evaluation_prompts[prompt_set])
        chrf = m.chrf_scores(
            [a["text"] for a in outputs["tutor_answers"]],
            [item["reference"] for item in evaluation_prompts["tutor"]],
        )
        rows.append(_model_metrics(outputs, by_set, chrf, scoring))
        split = len(outputs["tutor_answers"])
        for position, (answer, score, item) in enumerate(zip(answers, every, items)):
            sample = samples[item["id"]]
            sample[f"{name}_answer"] = answer["text"]
            sample[f"{name}_chrf"] = chrf[1][position] if position < split else None
            for key, value in score.items():
                sample[f"{name}_{key}"] = value
    return rows, pd.DataFrame(list(samples.values()))
