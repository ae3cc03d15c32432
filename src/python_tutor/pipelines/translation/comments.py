"""Optional: translate ``#`` comments and docstrings inside Python code, nothing else.

Python's ``tokenize`` finds comments, ``ast`` finds docstrings; only their text is replaced,
by offsets, so every other token keeps its bytes. The result must parse and have the same
code tokens as the original, else the original code is kept.
"""

from __future__ import annotations

import ast
import io
import re
import tokenize
from dataclasses import dataclass

from .protect import Protector
from .segment import Piece, join_pieces, split_segments

DOCSTRING = re.compile(r"\A([rRuU]?)('''|\"\"\"|'|\")(.*)\2\Z", re.S)
COMMENT = re.compile(r"\A(#+[ \t]*)(.*)\Z", re.S)


def _tokens(code: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(code).readline))
    except (tokenize.TokenError, SyntaxError):
        return None


def _docstring_starts(code: str) -> set[tuple[int, int]]:
    """Where docstrings start (line, column), from the module, class and function bodies."""
    tree = ast.parse(code)
    starts = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef):
            first = node.body[0] if node.body else None
            if (
                isinstance(first, ast.Expr)
                and isinstance(first.value, ast.Constant)
                and isinstance(first.value.value, str)
            ):
                starts.add((first.lineno, first.col_offset))
    return starts


def _code_signature(code: str) -> list[tuple[int, str]] | None:
    """The tokens that are code: comments, docstrings and layout-only tokens left out."""
    tokens = _tokens(code)
    if tokens is None:
        return None
    try:
        docstrings = _docstring_starts(code)
    except SyntaxError:
        return None
    skip = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE}
    return [
        (t.type, t.string)
        for t in tokens
        if t.type not in skip and not (t.type == tokenize.STRING and t.start in docstrings)
    ]


def same_code_tokens(before: str, after: str) -> bool:
    """True when two snippets differ at most in comments and docstrings."""
    if before == after:
        return True
    signature = _code_signature(before)
    return signature is not None and signature == _code_signature(after)


@dataclass
class _Edit:
    start: int
    end: int
    prefix: str
    suffix: str
    spans: list[str]
    pieces: list[Piece]


@dataclass
class CodePlan:
    """The comment and docstring texts of one snippet, and how to put translations back."""

    code: str
    edits: list[_Edit]
    protector: Protector

    @property
    def segments(self) -> list[str]:
        """Texts to translate."""
        return [p.text for edit in self.edits for p in edit.pieces if p.translate]

    def apply(self, translations: dict[str, str]) -> str:
        """The code with translated comments; the original if anything would break it."""
        if any(p.translate and p.text not in translations for e in self.edits for p in e.pieces):
            return self.code
        code = self.code
        for edit in sorted(self.edits, key=lambda e: e.start, reverse=True):
            try:
                text = self.protector.restore(join_pieces(edit.pieces, translations), edit.spans)
            except ValueError:
                continue
            code = code[: edit.start] + edit.prefix + text + edit.suffix + code[edit.end :]
        return code if same_code_tokens(self.code, code) else self.code


class CodeComments:
    """Finds translatable comment and docstring text in a code cell (written to ``code_es``)."""

    def __init__(self, protector: Protector) -> None:
        self.protector = protector

    def plan(self, code: str, max_chars: int) -> CodePlan | None:
        """Plan a snippet; None when it does not tokenize and parse (left untouched)."""
        tokens = _tokens(code)
        if not code or tokens is None:
            return None
        try:
            docstrings = _docstring_starts(code)
        except SyntaxError:
            return None
        offsets = [0]
        for line in code.splitlines(keepends=True):
            offsets.append(offsets[-1] + len(line))
        edits = []
        for token in tokens:
            if token.type == tokenize.COMMENT:
                match = COMMENT.match(token.string)
            elif token.type == tokenize.STRING and token.start in docstrings:
                match = DOCSTRING.match(token.string)
            else:
                continue
            if not match or not match.group(match.lastindex).strip():
                continue
            body = match.group(match.lastindex)
            start = offsets[token.start[0] - 1] + token.start[1]
            end = offsets[token.end[0] - 1] + token.end[1]
            prefix = token.string[: match.start(match.lastindex)]
            suffix = token.string[match.end(match.lastindex) :]
            masked, spans = self.protector.protect(body)
            pieces = split_segments(masked, max_chars, self.protector.placeholder_pattern)
            edits.append(_Edit(start, end, prefix, suffix, spans, pieces))
        return CodePlan(code, edits, self.protector)
