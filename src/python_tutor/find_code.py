"""Find the code in a prose field wherever it is, fenced or not.

Real data hides code where a fence regex cannot see it: alpaca answers that are a bare
function, docstrings with doctest sessions and signatures, Stack Overflow bodies with
``<pre><code>``. Block structure comes from markdown-it-py (CommonMark: fences, indented blocks,
HTML blocks, inline code spans), doctest sessions from Python's own ``doctest`` parser, and
unfenced code from Python's own parser: a run of lines is code when it parses *and* has a sign
of code that English lacks (a call, an assignment, an operator, a lower-case keyword statement).
``Return the file name.`` does not parse; ``Note: this is it`` parses (an annotation) but has
no such sign; ``x = f(1)`` has both.

Spans are character offsets into the text; the caller decides what to do with them. The same
parser splits a model's Markdown answer into prose and fenced code (``split_markdown``), so
translation and evaluation read a fence the same way.
"""

from __future__ import annotations

import ast
import doctest
import re
import textwrap
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache

from markdown_it import MarkdownIt
from markdown_it.token import Token

Span = tuple[int, int]

TRACEBACK = re.compile(
    r"^[ \t]*Traceback \(most recent call last\):[ \t]*\n(?:[ \t]+.*\n)*[ \t]*\S.*$", re.M
)
# A call in running text: a name, then balanced brackets checked by ast (see _inline_calls).
CALL_START = re.compile(r"(?<![\w.])[A-Za-z_][\w.]*\(")
# Cheap pre-filter: a line without any of these cannot start code worth parsing.
CODE_HINT = re.compile(
    r"[()\[\]{}=]|\w[.|]\w|^\s*(?:>>>|\.\.\.|@|#)|^\s*(?:def|class|import|from|return|for|while|if|"
    r"elif|else|try|except|finally|with|raise|assert|lambda|yield|async|await|del|global|"
    r"nonlocal|pass|break|continue|print)\b"
)
MARKUP = re.compile(r"`|~~~|<(?:pre|code)\b|^(?: {4}|\t)", re.M | re.I)
HTML_CODE = re.compile(r"<pre\b.*?</pre>|<code\b.*?</code>", re.I | re.S)
PROSE_BLOCK = re.compile(r"[A-Za-z][A-Za-z ,;'’\-]*[.!?:]?")
COMPOUND = (
    ast.FunctionDef,
    ast.AsyncFunctionDef,
    ast.ClassDef,
    ast.For,
    ast.AsyncFor,
    ast.While,
    ast.If,
    ast.With,
    ast.AsyncWith,
    ast.Try,
)
CODE_STATEMENTS = (
    *COMPOUND,
    ast.Import,
    ast.ImportFrom,
    ast.Return,
    ast.Raise,
    ast.Assert,
    ast.Delete,
    ast.Global,
    ast.Nonlocal,
    ast.Assign,
    ast.AugAssign,
    ast.Pass,
    ast.Break,
    ast.Continue,
)
CODE_EXPRESSIONS = (
    ast.Call,
    ast.Attribute,
    ast.Subscript,
    ast.Lambda,
    ast.ListComp,
    ast.SetComp,
    ast.DictComp,
    ast.GeneratorExp,
    ast.Dict,
    ast.List,
    ast.Set,
    ast.Await,
    ast.Yield,
    ast.YieldFrom,
    ast.NamedExpr,
    ast.JoinedStr,
)
SYMBOL_OPERATORS = (
    ast.Add,
    ast.Sub,
    ast.Mult,
    ast.Div,
    ast.FloorDiv,
    ast.Mod,
    ast.Pow,
    ast.MatMult,
    ast.LShift,
    ast.RShift,
    ast.BitOr,
    ast.BitAnd,
    ast.BitXor,
    ast.Eq,
    ast.NotEq,
    ast.Lt,
    ast.LtE,
    ast.Gt,
    ast.GtE,
)
MAX_RUN_LINES = 200


def _is_code_expression(node: ast.expr) -> bool:
    """An expression English text would not produce by accident."""
    if isinstance(node, CODE_EXPRESSIONS):
        return True
    if isinstance(node, ast.BinOp):
        return isinstance(node.op, SYMBOL_OPERATORS)
    if isinstance(node, ast.Compare):
        return any(isinstance(op, SYMBOL_OPERATORS) for op in node.ops)
    if isinstance(node, ast.Tuple):
        return any(_is_code_expression(e) for e in node.elts)
    return False


def _is_code_statement(node: ast.stmt) -> bool:
    """A statement that is code; a bare name, or ``Label: word`` (an annotation), is not."""
    if isinstance(node, CODE_STATEMENTS):
        return True
    if isinstance(node, ast.AnnAssign):
        return node.value is not None
    if isinstance(node, ast.Expr):
        return _is_code_expression(node.value)
    return isinstance(node, ast.Match)


@lru_cache(maxsize=65536)
def is_code(source: str) -> bool:
    """True when ``source`` (one or more lines, any common indentation) is Python code.

    A trailing compound-statement header (``def f(x):``, ``for x in y:``) gets a body to
    parse, so a signature alone counts.
    """
    text = textwrap.dedent(source).strip("\n")
    if not text.strip() or not CODE_HINT.search(text):
        return False
    candidates = [text]
    if text.rstrip().endswith(":"):
        indent = len(text.splitlines()[-1]) - len(text.splitlines()[-1].lstrip())
        candidates.append(text + "\n" + " " * (indent + 4) + "pass")
    for candidate in candidates:
        try:
            tree = ast.parse(candidate)
        except (SyntaxError, ValueError):
            continue
        if len(tree.body) == 1 and text.startswith("(") and text.endswith(")"):
            return True  # ``(lra, conflicts)``: a returned tuple of names in a docstring
        return bool(tree.body) and all(_is_code_statement(s) for s in tree.body)
    return False


class _Lines:
    """Line offsets of a text, so line-based finders can report character spans."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.lines = text.splitlines(keepends=True)
        self.starts = [0]
        for line in self.lines:
            self.starts.append(self.starts[-1] + len(line))

    def body(self, index: int) -> str:
        """Line ``index`` without its line ending."""
        return self.lines[index].rstrip("\r\n")

    def span(self, first: int, last: int) -> Span:
        """From the first non-blank character of line ``first`` to the end of line ``last``."""
        first_body = self.body(first)
        start = self.starts[first] + len(first_body) - len(first_body.lstrip())
        return start, self.starts[last] + len(self.body(last))

    def blank(self, index: int) -> bool:
        return not self.lines[index].strip()


def _baseline(lines: _Lines) -> int:
    """The indentation of a raw docstring's second and later lines (``inspect.cleandoc``)."""
    indents = [
        len(line) - len(line.lstrip(" "))
        for index, line in enumerate(lines.lines)
        if index and line.strip()
    ]
    return min(indents) if indents else 0


def _markdown_view(lines: _Lines) -> str:
    """The text with a docstring's common indentation removed, line for line."""
    cut = _baseline(lines)
    return "".join(
        line[min(cut, len(line) - len(line.lstrip(" "))) :] if index else line
        for index, line in enumerate(lines.lines)
    )


def _is_prose_block(block: str) -> bool:
    """An indented block that is English sentences (numpy-style descriptions), not code."""
    words = block.split()
    return len(words) >= 4 and all(PROSE_BLOCK.fullmatch(w) or w.isalnum() for w in words)


def _block_spans(lines: _Lines, tokens: list[Token]) -> list[Span]:
    """Fenced, indented and HTML ``<pre>``/``<code>`` blocks, by their source lines."""
    spans = []
    for token in tokens:
        if token.map is None or token.type not in {"fence", "code_block", "html_block"}:
            continue
        first, last = token.map[0], token.map[1] - 1
        while last > first and lines.blank(last):
            last -= 1
        block = "".join(lines.lines[first : last + 1])
        if token.type == "html_block":
            offset = lines.starts[first]
            spans += [(offset + a, offset + b) for a, b in _html_code(block)]
            continue
        if token.type == "code_block" and _is_prose_block(block) and not is_code(block):
            continue
        spans.append(lines.span(first, last))
    return spans


def _html_code(block: str) -> list[Span]:
    """``<pre>`` and ``<code>`` elements of an HTML block (the prose around them is not code)."""
    return [m.span() for m in HTML_CODE.finditer(block)]


def _inline_spans(lines: _Lines, tokens: list[Token]) -> list[Span]:
    """Inline code (backticks, HTML ``<code>``) where markdown-it found it, located in place."""
    spans = []
    for token in tokens:
        if token.type != "inline" or token.map is None or not token.children:
            continue
        region_start = lines.starts[token.map[0]]
        region_end = lines.starts[token.map[1]]
        cursor = region_start
        for child in token.children:
            if child.type == "code_inline":
                tick = re.escape(child.markup)
                found = re.compile(rf"(?<!`){tick}(?!`)[\s\S]*?(?<!`){tick}(?!`)").search(
                    lines.text, cursor, region_end
                )
            elif child.type == "html_inline" and re.fullmatch(r"<code\b[^>]*>", child.content):
                found = HTML_CODE.search(lines.text, cursor, region_end)
            else:
                continue
            if found:
                spans.append(found.span())
                cursor = found.end()
    return spans


def _doctest_spans(lines: _Lines) -> list[Span]:
    """Doctest sessions (``>>>``/``...`` lines and their expected output), by doctest itself."""
    try:
        parts = doctest.DocTestParser().parse(lines.text)
    except ValueError:  # inconsistent prompts: fall back to the prompt lines alone
        return [
            lines.span(i, i)
            for i in range(len(lines.lines))
            if re.match(r"\s*(>>>|\.\.\.)( |$)", lines.lines[i])
        ]
    spans = []
    for part in parts:
        if isinstance(part, doctest.Example):
            count = part.source.count("\n") + part.want.count("\n")
            spans.append(lines.span(part.lineno, part.lineno + max(count, 1) - 1))
    return spans


def _covered(spans: list[Span], lines: _Lines) -> set[int]:
    """Indexes of lines any span touches."""
    touched = set()
    for start, end in spans:
        for index in range(len(lines.lines)):
            if lines.starts[index] < end and lines.starts[index + 1] > start:
                touched.add(index)
    return touched


def _run_end(lines: _Lines, first: int, taken: set[int]) -> int:
    """The last line a code run from ``first`` may reach: deeper indentation, blanks, code."""
    base = len(lines.body(first)) - len(lines.body(first).lstrip())
    last = first
    index = first + 1
    while index < len(lines.lines) and index - first < MAX_RUN_LINES and index not in taken:
        body = lines.body(index)
        indent = len(body) - len(body.lstrip())
        if body.strip() and indent <= base and not CODE_HINT.search(body):
            break
        if body.strip():
            last = index
        index += 1
    return last


def _unfenced_spans(lines: _Lines, taken: set[int]) -> list[Span]:
    """Runs of lines outside every block that parse as code (signatures, one-liners, bodies)."""
    spans = []
    index = 0
    while index < len(lines.lines):
        if index in taken or lines.blank(index) or not CODE_HINT.search(lines.body(index)):
            index += 1
            continue
        bound = _run_end(lines, index, taken)
        found = None
        for last in range(bound, index - 1, -1):
            if not lines.blank(last) and is_code("".join(lines.lines[index : last + 1])):
                found = last
                break
        if found is None:
            index += 1
            continue
        spans.append(lines.span(index, found))
        index = found + 1
    return spans


def _inline_calls(text: str) -> list[Span]:
    """``name(args)`` in running text: a name glued to brackets, to their close or line end.

    Documentation signatures often do not parse (``range([start,] stop[, step])``), so the
    shape decides, not the parser; English puts a space before its parentheses. A call whose
    arguments go on past the line keeps the rest of its line.
    """
    spans = []
    for match in CALL_START.finditer(text):
        depth, position = 0, match.end() - 1
        while position < len(text) and text[position] != "\n":
            depth += {"(": 1, ")": -1}.get(text[position], 0)
            position += 1
            if depth == 0:
                break
        spans.append((match.start(), position))
    return spans


def _merge(spans: list[Span]) -> list[Span]:
    """Sorted spans with overlaps joined (a call inside a block belongs to the block)."""
    merged: list[Span] = []
    for start, end in sorted(spans):
        if merged and start < merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], end))
        else:
            merged.append((start, end))
    return merged


@lru_cache(maxsize=1)
def _markdown() -> MarkdownIt:
    """One CommonMark parser (building one costs more than parsing a docstring)."""
    return MarkdownIt("commonmark")


def find_code(text: str) -> list[Span]:
    """Every code span of ``text``: sorted, non-overlapping ``(start, end)`` offsets."""
    if not text.strip():
        return []
    if is_code(text):
        stripped = text.strip()
        start = text.index(stripped[0])
        return [(start, start + len(stripped))]
    lines = _Lines(text)
    # Only texts with Markdown or HTML code syntax pay for the parser (most prose has none).
    tokens = _markdown().parse(_markdown_view(lines)) if MARKUP.search(text) else []
    blocks = _block_spans(lines, tokens)
    if ">>>" in text:
        blocks += _doctest_spans(lines)
    blocks += [m.span() for m in TRACEBACK.finditer(text)]
    taken = _covered(blocks, lines)
    blocks += _unfenced_spans(lines, taken)
    spans = _merge(blocks)
    inline = [
        s
        for s in _inline_spans(lines, tokens) + _inline_calls(text)
        if not any(a <= s[0] < b for a, b in spans)
    ]
    return _merge(spans + inline)


@dataclass(frozen=True)
class SplitAnswer:
    """An answer as prose (code stripped) and its code blocks by language."""

    prose: str
    python_blocks: tuple[str, ...]
    other_blocks: tuple[str, ...]
    bare_code: tuple[str, ...] = ()  # unfenced code paragraphs (indentation not kept)

    @property
    def python_code(self) -> str:
        """The Python blocks as one program, in answer order."""
        return "\n\n".join(self.python_blocks)


def split_markdown(answer: str, python_languages: Sequence[str]) -> SplitAnswer:
    """Prose without any code (fences, indented blocks, inline code, unfenced code
    paragraphs), and the code blocks, read the way a CommonMark renderer reads them.

    A fence counts as Python when its info string's first word is in ``python_languages``; an
    unclosed fence (an answer cut at the token limit) is still code. Unfenced paragraphs that
    ``is_code`` accepts go to ``bare_code`` (Markdown has already dropped their indentation).
    """
    languages = {language.lower() for language in python_languages}
    prose: list[str] = []
    python_blocks: list[str] = []
    other_blocks: list[str] = []
    bare_code: list[str] = []
    for token in _markdown().parse(answer):
        if token.type == "fence":
            info = token.info.strip().split(maxsplit=1)
            target = python_blocks if info and info[0].lower() in languages else other_blocks
            target.append(token.content)
        elif token.type == "code_block":
            other_blocks.append(token.content)
        elif token.type == "inline" and is_code(token.content):
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
