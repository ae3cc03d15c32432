"""Did a translation keep its code? Checked without the protection's rules.

Protection decides what to hide (markdown-it blocks, doctest, Python's parser on statement
kinds, identifier regexes from parameters); when it misses code, restoring its placeholders
succeeds and the loss is invisible to it. This check looks another way, fixed in code and
independent of parameters:

- a line of the English is code when Python compiles it (a doctest prompt removed, a trailing
  header given a body) and its tokens show an operator or bracket, or it opens with a keyword;
  every such line must come back byte for byte in the Spanish;
- code words (names followed by ``(``, dotted names, names with ``_``, backquoted text) keep
  their counts;
- ``code_es`` has the same syntax tree as ``code`` once docstrings are blanked (comments are
  not in the tree), so translating comments can never change the program.
"""

from __future__ import annotations

import ast
import io
import keyword
import re
import tokenize
from collections import Counter
from functools import lru_cache

STRONG_OPERATORS = frozenset("( [ { = . -> += -= *= /= == != <= >= < > + - * / % ** // @".split())
PROMPT = re.compile(r"^(>>>|\.\.\.)( |$)")
BULLET = re.compile(r"^[-*+] (?=\S)")  # a Markdown list bullet is not a unary minus
# Cheap pre-filter: a line with none of these has no sign of code to find.
LINE_HINT = re.compile(r"[(\[{=<>+*/%@]|\w\.\w|\w-\w| - |^(?:" + "|".join(keyword.kwlist) + r")\b")
CODE_WORD = re.compile(
    r"(`+)(?![`\s])[^\n]+?(?<![`\s])\1(?!`)"  # backquoted, ``double`` too (no edge spaces)
    r"|[A-Za-z_]\w*(?=\()"  # called names
    r"|[A-Za-z_]\w*(?:\.[A-Za-z_]\w*)+"  # dotted names
    r"|\w*_\w*[A-Za-z0-9]\w*"  # names with an underscore
)


def _tokens(source: str) -> list[tokenize.TokenInfo] | None:
    try:
        return list(tokenize.generate_tokens(io.StringIO(source).readline))
    except (tokenize.TokenError, SyntaxError, IndentationError):
        return None


def _is_sign(token: tokenize.TokenInfo, before: tokenize.TokenInfo | None, after) -> bool:
    """An operator that shows code: not a sentence's full stop (``expires. See``) nor the
    hyphen of a compound word (``x-coordinates``)."""
    if token.type != tokenize.OP or token.string not in STRONG_OPERATORS:
        return False
    glued = before is not None and after is not None
    glued = glued and before.end == token.start and token.end == after.start
    if token.string == ".":
        return glued
    if token.string == "-" and glued:
        return not (before.type == after.type == tokenize.NAME)
    return True


@lru_cache(maxsize=65536)
def is_code_line(line: str) -> bool:
    """True when one line, on its own, is Python with an unmistakable sign of code."""
    source = BULLET.sub("", PROMPT.sub("", line.strip()))
    if not source or source.startswith("#") or not LINE_HINT.search(source):
        return False
    tokens = _tokens(source)
    if tokens is None:
        return False
    meaningful = [t for t in tokens if t.type in (tokenize.NAME, tokenize.OP, tokenize.NUMBER)]
    if not meaningful:
        return False
    opens_with_keyword = meaningful[0].string in keyword.kwlist and len(meaningful) > 1
    neighbours = zip([None, *meaningful[:-1]], meaningful, [*meaningful[1:], None], strict=True)
    has_operator = any(_is_sign(token, before, after) for before, token, after in neighbours)
    if not (opens_with_keyword or has_operator):
        return False
    for candidate in (source, source + " pass" if source.endswith(":") else None):
        if candidate is None:
            continue
        try:
            tree = compile(candidate, "<line>", "exec", ast.PyCF_ONLY_AST)
        except (SyntaxError, ValueError):
            continue
        # ``website: www.example.com`` compiles as a bare annotation; English labels do that.
        return not all(isinstance(s, ast.AnnAssign) and s.value is None for s in tree.body)
    return False


def code_lines(text: str) -> Counter[str]:
    """The code lines of a text (surrounding whitespace removed), with their counts."""
    return Counter(line.strip() for line in text.splitlines() if is_code_line(line))


def code_words(text: str) -> Counter[str]:
    """Identifier-shaped words and backquoted spans, with their counts."""
    return Counter(match.group(0) for match in CODE_WORD.finditer(text))


def prose_problem(english: str, spanish: str) -> str | None:
    """Why the Spanish prose lost code of the English, or None when it kept all of it."""
    if english.strip() == spanish.strip():
        return None
    for line, count in code_lines(english).items():
        if spanish.count(line) < count:
            return f"code line changed: {line!r:.120}"
    before, after = code_words(english), code_words(spanish)
    lost = before - after
    if lost:
        word = sorted(lost)[0]
        return f"code word {word!r:.80} appears {before[word]}x in English, {after[word]}x after"
    return None


def _program(code: str) -> str | None:
    """The syntax tree without docstring texts, or None when the code does not parse."""
    try:
        tree = ast.parse(code)
    except (SyntaxError, ValueError):
        return None
    for node in ast.walk(tree):
        body = getattr(node, "body", None)
        if (
            isinstance(body, list)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            body[0].value.value = ""
    return ast.dump(tree, include_attributes=False)


def code_problem(code: str, code_es: str) -> str | None:
    """Why ``code_es`` is not the same program as ``code``, or None when it is."""
    if code == code_es:
        return None
    before, after = _program(code), _program(code_es)
    if after is None:
        return "code_es does not parse"
    if before != after:
        return "code_es is another program than code (more than comments and docstrings changed)"
    return None
