"""Scoring helpers for generated answers: prose vs code, language, parse/run rates, chrF, pass@1.

Answers are Markdown. ``markdown-it-py`` (already installed through ``rich``) splits them, so
fences, inline code and an unclosed fence at the token limit are read the way a renderer reads
them, not by a regular expression.
"""

from __future__ import annotations

import ast
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from .sandbox import SandboxLimits, SandboxResult, run_snippet


@dataclass(frozen=True)
class SplitAnswer:
    """An answer as prose (code stripped) and its fenced code blocks by language."""

    prose: str
    python_blocks: tuple[str, ...]
    other_blocks: tuple[str, ...]
    bare_code: tuple[str, ...] = ()  # unfenced code paragraphs (indentation not kept)

    @property
    def python_code(self) -> str:
        return "\n\n".join(self.python_blocks)


def split_markdown(answer: str, python_languages: Sequence[str]) -> SplitAnswer:
    """Prose without any code (fences, indented blocks, inline code, unfenced code
    paragraphs), and the code blocks.

    A fence counts as Python when its info string's first word is in ``python_languages``;
    unfenced code paragraphs go to ``bare_code`` (not a ```python answer, and Markdown has
    already dropped their indentation).
    """
    from markdown_it import MarkdownIt  # noqa: PLC0415 - keep module import light

    languages = {language.lower() for language in python_languages}
    prose: list[str] = []
    python_blocks: list[str] = []
    other_blocks: list[str] = []
    bare_code: list[str] = []
    for token in MarkdownIt("commonmark").parse(answer):
        if token.type == "fence":
            info = token.info.strip().split(maxsplit=1)
            target = python_blocks if info and info[0].lower() in languages else other_blocks
            target.append(token.content)
        elif token.type == "code_block":
            other_blocks.append(token.content)
        elif token.type == "inline" and _bare_code(token.content):
            bare_code.append(token.content)
        elif token.type == "inline":
            words = [
                child.content if child.type == "text" else " "
                for child in token.children or []
                if child.type in ("text", "softbreak", "hardbreak")
            ]
            prose.append("".join(words).strip())
    return SplitAnswer(
        prose="\n".join(part for part in prose if part),
        python_blocks=tuple(python_blocks),
        other_blocks=tuple(other_blocks),
        bare_code=tuple(bare_code),
    )


def _bare_code(paragraph: str) -> bool:
    """A paragraph that is Python outside any fence (small models often forget the fence).

    It must parse and hold more than bare names or constants: "Hola" alone parses as a name,
    a Spanish sentence does not parse at all.
    """
    try:
        tree = ast.parse(paragraph)
    except (SyntaxError, ValueError):
        return False
    return any(
        not (isinstance(node, ast.Expr) and isinstance(node.value, (ast.Name, ast.Constant)))
        for node in tree.body
    )


def build_language_detector(languages: Sequence[str]) -> Any:
    """A lingua detector restricted to ``languages`` (ISO 639-1), built once per node run.

    Raises:
        ValueError: an unknown code (the message names ``evaluation.language.languages``).
    """
    from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: PLC0415

    codes = []
    for code in languages:
        try:
            codes.append(IsoCode639_1.from_str(code.lower()))
        except (ValueError, AttributeError) as error:
            raise ValueError(
                f"Unknown ISO 639-1 code {code!r} in parameter `evaluation.language.languages`"
            ) from error
    if len(codes) < 2:
        raise ValueError("Parameter `evaluation.language.languages` needs at least two languages")
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


def language_of(detector: Any, prose: str, min_chars: int) -> str | None:
    """ISO 639-1 code of the prose, or None when there is too little prose to tell."""
    if len(prose.strip()) < min_chars:
        return None
    language = detector.detect_language_of(prose)
    return None if language is None else language.iso_code_639_1.name.lower()


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
