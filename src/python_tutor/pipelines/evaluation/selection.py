"""Which prompts every model answers: the profile's size, then sorted ids and the first N.

Three sets, the same for every model: ``tutor_test`` conversations (answers compared with the
reference), the project's Spanish problems and HumanEval-ES (answers executed in the sandbox).
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from typing import Any

import pandas as pd

from python_tutor.contracts import CONVERSATIONS, validate

from . import metrics as m

PROBLEM_FIELDS = ("problem_id", "entry_point", "signature", "statement", "tests")
HUMANEVAL_FIELDS = ("task_id", "entry_point", "prompt", "test", "translated")
PROFILE_KEYS = ("tutor_examples", "problems", "humaneval", "max_new_tokens")


def resolve_profile(
    profile: str,
    profiles: dict[str, Any],
    selection: dict[str, Any],
    generation: dict[str, Any],
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The selection and generation blocks with the sizes of ``evaluation.profile``.

    Raises:
        ValueError: an unknown profile, or a profile without one of ``PROFILE_KEYS``.
    """
    if profile not in profiles:
        raise ValueError(
            f"parameters_evaluation.yml: evaluation.profile {profile!r} is not one of "
            f"evaluation.profiles {sorted(profiles)}"
        )
    sizes = profiles[profile]
    missing = [key for key in PROFILE_KEYS if key not in sizes]
    if missing:
        raise ValueError(
            f"parameters_evaluation.yml: evaluation.profiles.{profile} lacks {missing}"
        )
    return (
        {**selection, **{key: sizes[key] for key in PROFILE_KEYS[:3]}, "profile": profile},
        {**generation, "max_new_tokens": int(sizes["max_new_tokens"])},
    )


def _first(rows: list[dict[str, Any]], limit: int | None) -> list[dict[str, Any]]:
    """The first ``limit`` rows (all of them for None)."""
    return rows if limit is None else rows[: int(limit)]


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


def _check_humaneval(row: Mapping[str, Any], position: int) -> None:
    where = f"humaneval_es row {position} ({row.get('task_id')})"
    missing = [key for key in HUMANEVAL_FIELDS if key not in row]
    if missing:
        raise ValueError(f"{where}: missing column(s) {missing}")
    if row["translated"] and not m.parses(f"{row['prompt']}    pass\n"):
        raise ValueError(f"{where}: column 'prompt' is not a function header and docstring")


def _task_number(task_id: str) -> int:
    """``HumanEval/12`` -> 12: the package's order, not the string order."""
    return int(str(task_id).rsplit("/", 1)[-1])


def _system_prompt(selection: Mapping[str, Any], conversations: list[dict[str, Any]]) -> str:
    system = selection.get("problem_system") or next(
        (
            msg["content"]
            for row in conversations
            for msg in row["messages"]
            if msg["role"] == "system"
        ),
        None,
    )
    if not system:
        raise ValueError(
            "No system prompt for the problem sets: tutor_test has no system turns; set "
            "`evaluation.selection.problem_system`"
        )
    return system


def _problem(identifier: str, task: str, system: str, user: str, **fields: str) -> dict:
    """A problem prompt: system and user turns, no reference answer, its tests in ``fields``."""
    messages = [{"role": "system", "content": system}, {"role": "user", "content": user}]
    return {"id": identifier, "task": task, "messages": messages, "reference": "", **fields}


def build_evaluation_prompts(
    tutor_test: pd.DataFrame,
    evaluation_problems: pd.DataFrame,
    humaneval_es: pd.DataFrame,
    selection: dict[str, Any],
) -> dict[str, Any]:
    """The prompts every model answers, chosen deterministically (sorted ids, first N).

    Problem prompts get the tutor's system turn from ``tutor_test`` (the persona it was trained
    with) unless ``selection.problem_system`` sets one. HumanEval-ES rows whose translation
    failed are not asked; they are counted in ``data`` for the report.

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
    problems = _first(problems, selection["problems"])
    humaneval = humaneval_es.to_dict(orient="records")
    for position, row in enumerate(humaneval, start=1):
        _check_humaneval(row, position)
    translated = sorted(
        (row for row in humaneval if row["translated"]), key=lambda r: _task_number(r["task_id"])
    )
    asked = _first(translated, selection["humaneval"])
    system = _system_prompt(selection, conversations) if problems or asked else ""
    tutor = [
        {
            "id": str(row["example_id"]),
            "task": row.get("task", ""),
            "messages": row["messages"],
            "reference": row["messages"][-1]["content"],
            # tutor_test carries no tests today; generate/fix rows that do count for pass@1.
            "tests": row.get("tests") if row.get("task") in ("generate", "fix") else None,
        }
        for row in _first(conversations, selection["tutor_examples"])
    ]
    problem_prompts = [
        _problem(
            problem["problem_id"],
            "problem",
            system,
            selection["problem_user_template"].format(**problem),
            tests=problem["tests"],
        )
        for problem in problems
    ]
    humaneval_prompts = [
        _problem(
            row["task_id"],
            "humaneval",
            system,
            selection["humaneval_user_template"].format(**row),
            tests=row["test"],
            prompt=row["prompt"],
            entry_point=row["entry_point"],
        )
        for row in asked
    ]
    loss = _first(conversations, selection["max_loss_examples"])
    return {
        "tutor": tutor,
        "problems": problem_prompts,
        "humaneval": humaneval_prompts,
        "loss_conversations": [
            {"example_id": row["example_id"], "messages": row["messages"]} for row in loss
        ],
        "data": {
            "profile": selection["profile"],
            "tutor_test_rows": len(rows),
            "tutor_test_fingerprint": _fingerprint([str(r["example_id"]) for r in conversations]),
            "tutor_prompts": len(tutor),
            "loss_conversations": len(loss),
            "problem_set_rows": len(evaluation_problems),
            "problem_set_fingerprint": _fingerprint(
                [json.dumps(p, sort_keys=True, ensure_ascii=False) for p in problems]
            ),
            "problems": len(problem_prompts),
            "humaneval_rows": len(humaneval),
            "humaneval_translated": len(translated),
            "humaneval_not_translated": {
                str(row["task_id"]): str(row.get("reason"))
                for row in humaneval
                if not row["translated"]
            },
            "humaneval_fingerprint": _fingerprint([str(r["task_id"]) for r in asked]),
            "humaneval": len(humaneval_prompts),
        },
    }
