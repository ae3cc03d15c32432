"""HumanEval-ES: HumanEval's docstrings in Spanish, everything else byte for byte.

Each prompt goes through the same path as a training example's code with
``translate_code_comments``: the backend of ``translation.backend`` (Apertium's tutor mode by
default), code inside the docstrings protected, the code tokens compared after restoring. Then
two checks, and a row that fails either keeps its English prompt and says why (never dropped):

- the project's integrity check (``integrity.code_problem`` on the prompt,
  ``integrity.prose_problem`` on each docstring);
- an independent one, written here without the protection's or the integrity check's rules:
  every line outside the docstrings is byte for byte the same once ``#`` comments are cut
  (imports, signatures, helper code; comments may be translated), the syntax trees with the
  docstrings deleted are equal, and the doctest examples ``doctest.DocTestParser`` finds in the
  docstrings' source text (source and expected output) are the same list.
"""

from __future__ import annotations

import ast
import doctest
import io
import logging
import tokenize
from typing import Any

import pandas as pd

from python_tutor.datasets.credentials import Secrets

from .integrity import code_problem, prose_problem
from .nodes import translate_examples

logger = logging.getLogger(__name__)

DOCUMENTED = (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)
COLUMNS = [
    "task_id",
    "entry_point",
    "prompt",
    "prompt_en",
    "test",
    "canonical_solution",
    "translated",
    "reason",
]


def _docstring_nodes(tree: ast.Module) -> list[ast.Expr]:
    """The docstring statements of the module, classes and functions, in source order."""
    found = [
        node.body[0]
        for node in ast.walk(tree)
        if isinstance(node, DOCUMENTED) and ast.get_docstring(node, clean=False) is not None
    ]
    return sorted(found, key=lambda node: node.lineno)


def docstrings(source: str) -> list[str]:
    """The raw docstring texts of ``source``, in source order."""
    return [node.value.value for node in _docstring_nodes(ast.parse(source))]


def _outside_docstrings(source: str, tree: ast.Module) -> list[str]:
    """The source lines no docstring touches, each cut at its ``#`` comment."""
    inside = {
        line
        for node in _docstring_nodes(tree)
        for line in range(node.lineno, (node.end_lineno or node.lineno) + 1)
    }
    lines = source.splitlines()
    for token in tokenize.generate_tokens(io.StringIO(source).readline):
        if token.type == tokenize.COMMENT:
            row, column = token.start
            lines[row - 1] = lines[row - 1][:column]
    return [line.rstrip() for number, line in enumerate(lines, 1) if number not in inside]


def _without_docstrings(tree: ast.Module) -> str:
    """The syntax tree with every docstring statement deleted (a body may end up empty)."""
    targets = {id(node) for node in _docstring_nodes(tree)}
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if isinstance(body, list) and body and id(body[0]) in targets:
            del body[0]
    return ast.dump(tree, include_attributes=False)


def _doctest_examples(source: str, tree: ast.Module) -> list[tuple[str, str]]:
    """(source, expected output) of every doctest example, read from the docstrings' source
    text: a ``\\n`` inside an example stays an escape, as the author wrote it."""
    parser = doctest.DocTestParser()
    return [
        (example.source, example.want)
        for node in _docstring_nodes(tree)
        for example in parser.get_examples(ast.get_source_segment(source, node) or "")
    ]


def independent_problem(english: str, spanish: str) -> str | None:
    """Why ``spanish`` is not ``english`` with only docstring prose changed, or None."""
    try:
        before, after = ast.parse(english), ast.parse(spanish)
    except SyntaxError as err:
        return f"does not parse: {err.msg} (line {err.lineno})"
    if _outside_docstrings(english, before) != _outside_docstrings(spanish, after):
        return "a line outside the docstrings changed (signature, import or code)"
    try:
        examples_en = _doctest_examples(english, before)
        examples_es = _doctest_examples(spanish, after)
    except ValueError as err:
        return f"doctest examples no longer parse: {err}"
    if examples_en != examples_es:
        return "the doctest examples (source or expected output) changed"
    if _without_docstrings(before) != _without_docstrings(after):
        return "the syntax tree without docstrings changed"
    return None


def _row_problem(row: dict[str, Any]) -> str | None:
    """The first reason the translated prompt of one candidate row cannot be used."""
    if row["failure_kind"] is not None and not pd.isna(row["failure_kind"]):
        return f"{row['failure_kind']}: {row['failure_reason']}"
    english, spanish = row["code"], row["code_es"]
    if english == spanish:
        return "kept in English: the translated docstring did not restore to the same code tokens"
    problem = code_problem(english, spanish)
    for before, after in zip(docstrings(english), docstrings(spanish)):
        problem = problem or prose_problem(before, after)
    if problem:
        return f"integrity check: {problem}"
    problem = independent_problem(english, spanish)
    return f"independent check: {problem}" if problem else None


def translate_humaneval(  # noqa: PLR0913, PLR0917 - the translation parameter blocks
    humaneval: pd.DataFrame,
    translation_cache: Any,
    backend: dict[str, Any],
    batching: dict[str, Any],
    retry: dict[str, Any],
    protect: dict[str, Any],
    segment: dict[str, Any],
    translation_credentials: Secrets | None = None,
) -> tuple[pd.DataFrame, dict[str, Any]]:
    """HumanEval-ES: every problem, its Spanish prompt or the reason it kept the English one.

    Returns:
        ``humaneval_es`` (one row per HumanEval problem, ``translated`` and ``reason`` say
        which prompt is Spanish) and a small report: counts and reasons.
    """
    examples = pd.DataFrame(
        {
            "example_id": humaneval["task_id"],
            "source": "humaneval",
            "task": "humaneval",
            "language": backend["source"],
            "code": humaneval["prompt"],
            "instruction": "",
            "response": "",
        }
    )
    candidates, stats = translate_examples(
        examples,
        translation_cache,
        backend,
        batching,
        retry,
        protect,
        segment,
        translate_code_comments=True,
        translation_credentials=translation_credentials,
        workers=1,
    )
    rows = []
    for problem, candidate in zip(
        humaneval.to_dict(orient="records"), candidates.to_dict(orient="records"), strict=True
    ):
        reason = _row_problem(candidate)
        rows.append(
            {
                "task_id": problem["task_id"],
                "entry_point": problem["entry_point"],
                "prompt": problem["prompt"] if reason else candidate["code_es"],
                "prompt_en": problem["prompt"],
                "test": problem["test"],
                "canonical_solution": problem["canonical_solution"],
                "translated": reason is None,
                "reason": reason,
            }
        )
    frame = pd.DataFrame(rows, columns=COLUMNS)
    failed = frame[~frame["translated"]]
    for line in failed.itertuples():
        logger.warning("HumanEval-ES %s keeps its English prompt: %s", line.task_id, line.reason)
    report = {
        "problems": len(frame),
        "translated": int(frame["translated"].sum()),
        "kept_in_english": len(failed),
        "reasons": {
            reason.split(":", 1)[0]: int(count)
            for reason, count in failed["reason"].value_counts().items()
        },
        "engine": stats,
    }
    logger.info(
        "HumanEval-ES: %d of %d prompts translated intact", report["translated"], report["problems"]
    )
    return frame, report
