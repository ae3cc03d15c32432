"""Cell transforms: HTML to Markdown keeps code text, docstrings leave code exactly, specs fail
early with the source and field named."""

from __future__ import annotations

import ast
import inspect
from html.parser import HTMLParser
from pathlib import Path

import pandas as pd
import pytest
from markdown_it import MarkdownIt

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from python_tutor.pipelines.ingestion.mapping import parse_field, parse_source
from python_tutor.pipelines.ingestion.nodes import build_examples, snapshot_raw_sources
from python_tutor.pipelines.ingestion.transforms import (
    TransformError,
    docstring,
    html_to_markdown,
    strip_docstring,
)

# A Stack Overflow answer body as the dumps hold it: entities, attributes, a lang-py block,
# code with <, &, *, _, backslashes, tabs, leading indentation and a fence of its own.
SO_BODY = """<p>Use <code>re.sub</code> with a raw string; <code>my_var</code> &amp;
<code>*args</code> are fine, and so is a backtick: <code>a`b</code>.</p>

<pre class="lang-py prettyprint-override"><code>    import re
if a &lt; b &amp;&amp; c &gt; d:  # not Python, but kept
\tpath = r'C:\\Users\\me\\*.txt'
\tprint(re.sub(r"\\s+", "_", s), 2 * 3, __name__)
</code></pre>

<ul>
<li>a list item with a <a href="https://docs.python.org/3/library/re.html"
rel="nofollow">link</a></li>
<li>and &ldquo;quotes&rdquo; &#8217;n entities</li>
</ul>

<pre><code>md = '''
```python
x = 1
```
'''
</code></pre>
"""


class _PreAndCode(HTMLParser):
    """The text of every <pre> block and every inline <code>, by the standard library's parser."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.blocks: list[str] = []
        self.inline: list[str] = []
        self._stack: list[str] = []

    def handle_starttag(self, tag, attrs):  # noqa: ANN001, ANN201
        self._stack.append(tag)
        if tag == "pre":
            self.blocks.append("")
        elif tag == "code" and "pre" not in self._stack:
            self.inline.append("")

    def handle_endtag(self, tag):  # noqa: ANN001, ANN201
        self._stack.pop()

    def handle_data(self, data):  # noqa: ANN001, ANN201
        if "pre" in self._stack:
            self.blocks[-1] += data
        elif "code" in self._stack:
            self.inline[-1] += data


def pre_and_code(body: str) -> _PreAndCode:
    parser = _PreAndCode()
    parser.feed(body)
    return parser


def fences(markdown: str) -> list[tuple[str, str]]:
    """(info, content) of every fenced block, as a CommonMark parser sees them."""
    return [
        (t.info, t.content) for t in MarkdownIt("commonmark").parse(markdown) if t.type == "fence"
    ]


class TestHtmlToMarkdown:
    def test_code_blocks_become_fences_with_the_exact_code_text(self):
        markdown = html_to_markdown(SO_BODY)
        expected = [block.strip("\n") + "\n" for block in pre_and_code(SO_BODY).blocks]
        assert [content for _, content in fences(markdown)] == expected
        assert fences(markdown)[0][0] == "python"  # class lang-py

    def test_inline_code_becomes_backticks_and_no_tag_or_entity_is_left(self):
        markdown = html_to_markdown(SO_BODY)
        inline = [
            child.content
            for token in MarkdownIt("commonmark").parse(markdown)
            if token.type == "inline"
            for child in token.children or []
            if child.type == "code_inline"
        ]
        assert inline == pre_and_code(SO_BODY).inline
        prose = markdown.split("```", 1)[0]
        assert "<code>" not in markdown and "&amp;" not in prose and "<p>" not in markdown
        assert "[link](https://docs.python.org/3/library/re.html)" in markdown
        assert "\u201cquotes\u201d \u2019n" in markdown  # typographic quotes kept

    def test_unmarked_block_gets_python_only_when_it_parses(self):
        traceback = (
            "<pre><code>Traceback (most recent call last):\n  File &quot;x&quot;</code></pre>"
        )
        assert fences(html_to_markdown(traceback))[0][0] == ""
        code = "<pre><code>for i in range(3):\n    print(i)\n</code></pre>"
        assert fences(html_to_markdown(code))[0][0] == "python"

    def test_identifiers_in_prose_are_not_escaped(self):
        assert html_to_markdown("<p>call my_func(*args) on __init__</p>") == (
            "call my_func(*args) on __init__"
        )


FUNCTION = '''@decorator
def area(width: float, height: float = 1.0) -> float:
    """Return the area of a *width* by *height* rectangle.

    >>> area(2.0, 3.0)
    6.0
    """

    # keep this comment
    return width * height
'''


class TestDocstring:
    def test_strip_removes_exactly_the_docstring_lines(self):
        stripped = strip_docstring(FUNCTION)
        original = FUNCTION.split("\n")
        kept = stripped.split("\n")
        assert kept == original[:2] + original[7:]
        removed = "\n".join(original[2:7]).strip()
        tree = ast.parse(stripped)
        assert ast.get_docstring(tree.body[0]) is None
        assert inspect.cleandoc(ast.literal_eval(removed)) == docstring(FUNCTION)

    def test_docstring_is_dedented_and_keeps_doctests(self):
        assert docstring(FUNCTION).split("\n") == [
            "Return the area of a *width* by *height* rectangle.",
            "",
            ">>> area(2.0, 3.0)",
            "6.0",
        ]

    def test_body_of_only_a_docstring_becomes_an_ellipsis(self):
        code = '@abstractmethod\ndef area(self):\n    """The area."""\n'
        assert strip_docstring(code) == "@abstractmethod\ndef area(self):\n    ...\n"
        assert strip_docstring('def f():\n\t"""Tab-indented."""') == "def f():\n\t..."

    def test_module_docstring_and_windows_newlines(self):
        assert strip_docstring('"""Module."""\r\nimport os\r\n') == "import os\n"

    def test_code_without_docstring_is_unchanged_and_has_no_docstring(self):
        assert strip_docstring("x = 1\n") == "x = 1\n"
        with pytest.raises(TransformError, match="no docstring"):
            docstring("def f():\n    return 1\n")

    def test_docstring_sharing_a_line_with_code_is_an_error(self):
        # ast offsets count UTF-8 bytes: the non-ASCII docstring must not hide the code after it
        with pytest.raises(TransformError, match="shares line 2"):
            strip_docstring('def f():\n    """Crème brûlée."""; x = 1\n')
        with pytest.raises(TransformError, match="shares line 1"):
            strip_docstring('def f(): "Doc."\n')

    def test_python_2_code_does_not_parse(self):
        with pytest.raises(TransformError, match="does not parse"):
            strip_docstring('def f():\n    """Doc."""\n    print "x"\n')


class TestFieldSpecs:
    @pytest.mark.parametrize(
        ("field", "spec", "message"),
        [
            ("code", {"column": "c", "transform": "unknown"}, "unknown transform 'unknown'"),
            ("code", {"column": "c", "transform": "html_to_markdown"}, "holds python"),
            ("code", {"column": "c", "transform": "docstring"}, "gives prose"),
            ("response", {"column": "c", "transform": "strip_docstring"}, "holds prose"),
            (
                "response",
                {"column": "c", "transform": ["docstring", "html_to_markdown"]},
                "'html_to_markdown' reads html, but 'docstring' gives prose",
            ),
            ("response", {"value": "x", "transform": "html_to_markdown"}, "takes no transform"),
            ("response", {"template": "{a}", "transform": {"b": "docstring"}}, r"\['b'\]"),
            ("response", {"template": "{a}", "fallback": "b"}, "`fallback` names a column"),
            ("response", {"column": "a", "transform": 3}, "must be a name or a list"),
            ("response", {"column": "a", "trnsform": "docstring"}, "must be a column name"),
        ],
    )
    def test_bad_spec_names_source_and_field(self, field, spec, message):
        with pytest.raises(ValueError, match=rf"source 'src' field '{field}'.*{message}"):
            parse_field("src", field, spec)

    def test_language_must_be_en_or_es(self):
        entry = {"name": "s", "file": "s.csv", "fields": {"instruction": "a", "response": "b"}}
        assert parse_source({**entry, "task": {"default": "qa"}}).language == "en"
        with pytest.raises(ValueError, match=r"source 's' language must be one of \('en', 'es'\)"):
            parse_source({**entry, "task": {"default": "qa"}, "language": "fr"})


LIMITS = {"max_cell_chars": 6000, "require_parsable_code": True}


def test_rows_carry_language_and_failed_transforms_are_rejected(tmp_path: Path):
    pd.DataFrame(
        {
            "pregunta": ["¿Qué hace `len`?", "¿Y esto?"],
            "codigo": ['def f():\n    """Doc."""\n    return 1', 'def g():\n    print "x"'],
        }
    ).to_csv(tmp_path / "es.csv", index=False)
    source = {
        "name": "es",
        "file": "es.csv",
        "language": "es",
        "fields": {
            "instruction": "pregunta",
            "code": {"column": "codigo", "transform": "strip_docstring"},
            "response": {"column": "codigo", "transform": "docstring"},
        },
        "task": {"default": "explain"},
    }
    reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
    examples, rejected, report = build_examples(
        snapshot_raw_sources(reader, [source]), [source], LIMITS
    )
    assert examples[["language", "code", "response"]].values.tolist() == [
        ["es", "def f():\n    return 1", "Doc."]
    ]
    assert rejected[["row", "column", "reason_kind"]].values.tolist() == [
        [2, "'codigo'", "transform_failed"]
    ]
    assert rejected["reason"][0].startswith(
        "es.csv row 2: 'code' from column 'codigo': strip_docstring: code does not parse"
    )
    assert report["rows_in"] == report["kept"] + report["rejected"] == 2


def test_fallback_reads_the_second_column_where_the_first_is_blank():
    spec = parse_field("src", "instruction", {"column": "rewritten", "fallback": "intent"})
    assert spec.columns == ("rewritten", "intent")
    assert spec.render({"rewritten": " ", "intent": "Why?"}) == "Why?"
    assert spec.render({"rewritten": "Sort `l`", "intent": "Why?"}) == "Sort `l`"


def test_template_transforms_apply_per_column():
    spec = parse_field(
        "src",
        "instruction",
        {"template": "{Title}\n\n{Body}", "transform": {"Body": "html_to_markdown"}},
    )
    title = "Why does <module> fail & how?"  # plain text: must not be parsed as HTML
    assert spec.render({"Title": title, "Body": "<p>a &lt; b</p>"}) == f"{title}\n\na < b"
