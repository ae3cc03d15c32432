"""Scoring helpers for generated answers: parse/run rates, chrF, the code of an answer, pass@1.

Answers are Markdown, split by the project's one fence parser (``python_tutor.find_code``), so
fences, inline code and an unclosed fence at the token limit are read the way a renderer reads
them, as translation reads them.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Sequence
from typing import Any

from python_tutor.find_code import split_markdown

from .sandbox import SandboxLimits, SandboxResult, run_snippet


def parses(code: str) -> bool:
    """Whether ``code`` is valid Python syntax (compiled, never run)."""
    try:
        ast.parse(code)
    except (SyntaxError, ValueError):
        return False
    return True


def solution_code(answer: str, python_languages: Sequence[str]) -> str:
    """The code of an answer to a programming problem.

    The Python fences joined; else any fence; else the whole answer when it is valid Python
    (a model that answers with bare code). Empty when the answer holds no code.
    """
    split = split_markdown(answer, python_languages)
    if split.python_blocks:
        return split.python_code
    if split.other_blocks:
        return "\n\n".join(split.other_blocks)
    return answer if answer.strip() and parses(answer) else ""


def run_against_tests(code: str, tests: str, limits: SandboxLimits) -> SandboxResult | None:
    """Run a candidate solution followed by its tests in the sandbox; None when there is no code."""
    if not code.strip():
        return None
    return run_snippet(f"{code}\n\n# --- tests ---\n{tests}", limits)


def chrf_scores(hypotheses: Sequence[str], references: Sequence[str]) -> tuple[float, list[float]]:
    """Corpus chrF and one sentence chrF per pair (sacrebleu, 0-100)."""
    from sacrebleu.metrics import CHRF  # noqa: PLC0415

    if len(hypotheses) != len(references):
        raise ValueError(
            f"chrF needs one reference per answer: {len(hypotheses)} answers, "
            f"{len(references)} references"
        )
    if not hypotheses:
        return math.nan, []
    metric = CHRF()
    corpus = metric.corpus_score(list(hypotheses), [list(references)]).score
    per_pair = [metric.sentence_score(h, [r]).score for h, r in zip(hypotheses, references)]
    return corpus, per_pair


def rate(flags: Iterable[bool | None]) -> dict[str, Any]:
    """Share of True among the flags that are not None, with its counts (None: not applicable)."""
    counted = [flag for flag in flags if flag is not None]
    passed = sum(1 for flag in counted if flag)
    return {
        "rate": passed / len(counted) if counted else math.nan,
        "passed": passed,
        "total": len(counted),
    }
