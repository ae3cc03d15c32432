"""Cell transforms that real dataset shapes need before a cell can be a field.

Stack Overflow dumps hold HTML bodies; CodeSearchNet holds a function with its docstring in one
cell, so the docstring must leave the code before it can be the answer. Each transform declares
what it reads and what it gives, so a mapping that chains them wrongly fails at config time.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from markdownify import MarkdownConverter

from .cleaning import normalise_newlines

# What a cell holds; "text" is a raw column, which may hold anything.
TEXT, HTML, PROSE, PYTHON = "text", "html", "prose", "python"

# The fence info string for a <pre> whose class names its language (Stack Overflow: lang-py).
_LANGUAGE_CLASS = re.compile(r"^(?:lang|language)-(\w+)$")
_LANGUAGE_ALIASES = {"py": "python", "python3": "python", "none": "", "plaintext": ""}


class TransformError(ValueError):
    """A cell the transform cannot handle; the row is rejected with this reason."""


class _StackOverflowMarkdown(MarkdownConverter):
    """markdownify whose fences outlast any backtick run inside the code."""

    def convert_pre(self, el, text, parent_tags):  # noqa: ANN001, ANN201 - markdownify's hook
        block = super().convert_pre(el, text, parent_tags)
        longest = max(map(len, re.findall("`+", text)), default=0)
        if longest < 3:  # noqa: PLR2004 - a run of three would close the fence
            return block
        fence = "`" * (longest + 1)
        block = block.replace("```", fence, 1)
        closing = block.rfind("```")
        return block[:closing] + fence + block[closing + 3 :]


def _code_language(pre) -> str:  # noqa: ANN001 - a BeautifulSoup tag
    """``python`` for a <pre> marked as Python, or unmarked but parsing as Python 3.

    Old answers are often Python 2 or tracebacks: they get a bare fence, not a wrong label.
    """
    classes = [*(pre.get("class") or []), *((pre.code and pre.code.get("class")) or [])]
    for name in classes:
        match = _LANGUAGE_CLASS.match(name)
        if match:
            return _LANGUAGE_ALIASES.get(match[1].lower(), match[1].lower())
    try:
        ast.parse(pre.get_text())
    except (SyntaxError, ValueError):
        return ""
    return "python"


# Underscores and asterisks are not escaped: prose in these dumps names identifiers (my_var,
# *args) without <code>, and escaping would change their bytes.
_CONVERTER = _StackOverflowMarkdown(
    heading_style="ATX",
    bullets="-",
    escape_underscores=False,
    escape_asterisks=False,
    code_language_callback=_code_language,
)


def html_to_markdown(html: str) -> str:
    """Markdown with fenced code blocks and backticked inline code; code text is kept exactly."""
    return _CONVERTER.convert(html)


def _parse(code: str) -> ast.Module:
    try:
        return ast.parse(code)
    except SyntaxError as err:
        raise TransformError(f"code does not parse: {err.msg} (line {err.lineno})") from None


def _docstring_owner(tree: ast.Module) -> tuple[ast.AST, ast.Expr] | None:
    """The module's docstring, else the first top-level function's or class's (CodeSearchNet
    cells hold one function), as (owner, docstring statement)."""
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    first_definition = next((n for n in tree.body if isinstance(n, definitions)), None)
    for owner in (tree, first_definition):
        if owner is not None and ast.get_docstring(owner, clean=False) is not None:
            return owner, owner.body[0]
    return None


def strip_docstring(code: str) -> str:
    """The code without its docstring's lines; every other line is kept byte for byte.

    A body that was only the docstring becomes ``...`` at the docstring's indentation (the
    stub convention of typeshed and Protocols), so the code still parses. Code without a
    docstring is returned unchanged.

    Raises:
        TransformError: the code does not parse, or the docstring shares a line with code.
    """
    code = normalise_newlines(code)
    found = _docstring_owner(_parse(code))
    if found is None:
        return code
    owner, node = found
    lines = code.split("\n")
    first, last = node.lineno - 1, node.end_lineno - 1
    before = lines[first].encode()[: node.col_offset]  # ast offsets count UTF-8 bytes
    after = lines[last].encode()[node.end_col_offset :]
    if before.strip() or after.strip():
        raise TransformError(
            f"the docstring shares line {node.lineno} with other code; only whole lines are removed"
        )
    stub = [f"{before.decode()}..."] if len(owner.body) == 1 else []
    return "\n".join([*lines[:first], *stub, *lines[last + 1 :]])


def docstring(code: str) -> str:
    """The docstring that ``strip_docstring`` removes, dedented (``inspect.cleandoc``).

    Raises:
        TransformError: the code does not parse or has no docstring.
    """
    found = _docstring_owner(_parse(normalise_newlines(code)))
    if found is None:
        raise TransformError("the code has no docstring")
    return ast.get_docstring(found[0], clean=True) or ""


@dataclass(frozen=True)
class Transform:
    """A named cell transform, what it reads and what it gives."""

    func: Callable[[str], str]
    reads: str
    gives: str


TRANSFORMS = {
    "html_to_markdown": Transform(html_to_markdown, HTML, PROSE),
    "strip_docstring": Transform(strip_docstring, PYTHON, PYTHON),
    "docstring": Transform(docstring, PYTHON, PROSE),
}


def check_chain(names: Iterable[str], holds: str) -> str | None:
    """Why the chain cannot turn a raw cell into ``holds`` (prose|python), or None if it can."""
    current, previous = TEXT, "the column"
    for name in names:
        transform = TRANSFORMS.get(name)
        if transform is None:
            return f"unknown transform '{name}'; transforms are {sorted(TRANSFORMS)}"
        if current not in {TEXT, transform.reads}:
            return f"transform '{name}' reads {transform.reads}, but {previous} gives {current}"
        current, previous = transform.gives, f"'{name}'"
    if current not in {TEXT, holds}:
        return f"{previous} gives {current}, but the field holds {holds}"
    return None


def apply(names: Iterable[str], text: str) -> str:
    """Run the transforms in order.

    Raises:
        TransformError: naming the transform that failed.
    """
    for name in names:
        try:
            text = TRANSFORMS[name].func(text)
        except TransformError as err:
            raise TransformError(f"{name}: {err}") from None
    return text
