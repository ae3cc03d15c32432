"""Four real public shapes (tests/data/real_shapes) through snapshot_raw_sources + build_examples.

Each check compares the examples with the raw CSV read independently (pandas, the standard
library's HTML parser, a CommonMark parser), never with the code under test.
"""

from __future__ import annotations

import ast
import difflib
import inspect
import shutil
from pathlib import Path

import pandas as pd
import pytest
import yaml
from markdown_it import MarkdownIt

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from python_tutor.pipelines.ingestion.nodes import build_examples, snapshot_raw_sources

from .test_transforms import pre_and_code

SHAPES = Path(__file__).resolve().parents[2] / "data" / "real_shapes"
SO_FILE = "stackoverflow_python_qa_cp1252.csv"
LIMITS = {"max_cell_chars": 6000, "require_parsable_code": True}


def raw(name: str, encoding: str = "utf-8") -> pd.DataFrame:
    """A fixture CSV as pandas reads it, blanks kept as empty strings."""
    return pd.read_csv(SHAPES / name, dtype=str, keep_default_na=False, encoding=encoding)


@pytest.fixture(scope="module")
def sources() -> list[dict]:
    return yaml.safe_load((SHAPES / "parameters_ingestion.yml").read_text())["ingestion"]["sources"]


def ingest(folder: Path, sources: list[dict]):
    reader = RawCSVSourcesDataset(path=str(folder)).load()
    snapshot = snapshot_raw_sources(reader, sources)
    return (snapshot, *build_examples(snapshot, sources, LIMITS))


@pytest.fixture(scope="module")
def utf8_run(tmp_path_factory, sources):
    """The fixtures with the Stack Overflow export re-encoded as UTF-8 (CRLF kept), as a user
    would save it until the per-source `encoding` option (issue 21) reads cp1252 directly."""
    folder = tmp_path_factory.mktemp("real_shapes")
    for path in SHAPES.glob("*.csv"):
        shutil.copy(path, folder)
    text = (SHAPES / SO_FILE).read_bytes().decode("cp1252")
    (folder / SO_FILE).write_bytes(text.encode("utf-8"))
    return ingest(folder, sources)


def of(examples: pd.DataFrame, source: str) -> pd.DataFrame:
    return examples[examples["source"] == source]


class TestAccounting:
    def test_every_row_is_counted_and_only_known_bad_rows_leave(self, utf8_run):
        snapshot, examples, rejected, report = utf8_run
        alpaca = raw("python_code_instructions_18k_alpaca.csv")
        so = raw(SO_FILE, encoding="cp1252")
        assert report["by_source"] == {
            "alpaca_18k": {
                "rows_in": len(alpaca),
                "kept": len(alpaca) - int(alpaca.duplicated().sum()),
                "rejected": 0,
                "duplicates": int(alpaca.duplicated().sum()),
            },
            "codesearchnet_python": {
                "rows_in": len(raw("codesearchnet_python.csv")),
                "kept": len(raw("codesearchnet_python.csv")),
                "rejected": 0,
                "duplicates": 0,
            },
            "conala": {
                "rows_in": len(raw("conala_train.csv")),
                "kept": len(raw("conala_train.csv")),
                "rejected": 0,
                "duplicates": 0,
            },
            "stackoverflow_python": {
                "rows_in": len(so),
                "kept": int((so["Body_a"] != "").sum()),
                "rejected": int((so["Body_a"] == "").sum()),
                "duplicates": 0,
            },
        }
        assert len(snapshot) == report["rows_in"] == len(examples) + len(rejected) + 1
        empty = rejected.iloc[0]
        assert (empty.file, empty.column, empty.reason_kind) == (SO_FILE, "'Body_a'", "empty_cell")
        assert empty.row == so.index[so["Body_a"] == ""][0] + 1
        assert set(examples["language"]) == {"en"}


class TestAlpaca:
    def test_unfenced_code_outputs_are_kept_byte_for_byte(self, utf8_run):
        alpaca = of(utf8_run[1], "alpaca_18k")
        rows = raw("python_code_instructions_18k_alpaca.csv").drop_duplicates()
        by_response = {r.response: r for r in alpaca.itertuples()}
        for row in rows.itertuples():
            example = by_response[row.output.strip()]
            if example.code:
                assert example.code == row.input.strip("\n")
                assert example.instruction == row.instruction
            else:  # empty or plain-text input, which joins the instruction
                assert example.instruction == f"{row.instruction}\n\n{row.input}".strip()
        responses = "\n".join(alpaca["response"])
        for line in ("from typing import List", "    for idx, elem in enumerate(numbers):"):
            assert line in responses.split("\n")

    def test_text_inputs_join_the_instruction_and_code_inputs_stay_code(self, utf8_run):
        alpaca = of(utf8_run[1], "alpaca_18k")
        text_inputs = alpaca[alpaca["instruction"].str.endswith("\n\nNot applicable")]
        assert len(text_inputs) == 3 and (text_inputs["code"] == "").all()
        for code in alpaca["code"][alpaca["code"] != ""]:
            ast.parse(code)
        tabs = alpaca[alpaca["code"].str.contains("\t")]
        assert tabs["code"].iloc[0].split("\n")[1] == "\tresult = []"


class TestCodeSearchNet:
    def test_code_loses_exactly_the_docstring_and_the_docstring_is_the_response(self, utf8_run):
        examples = of(utf8_run[1], "codesearchnet_python")
        rows = raw("codesearchnet_python.csv")
        assert len(examples) == len(rows)
        for row, example in zip(rows.itertuples(), examples.itertuples(), strict=True):
            original, stripped = row.code.split("\n"), example.code.split("\n")
            changes = [
                op
                for op in difflib.SequenceMatcher(None, original, stripped, False).get_opcodes()
                if op[0] != "equal"
            ]
            assert len(changes) == 1, row.func_name
            kind, start, end, new_start, new_end = changes[0]
            assert kind == "delete" or stripped[new_start:new_end] == [
                original[start][: len(original[start]) - len(original[start].lstrip())] + "..."
            ]
            removed = "\n".join(original[start:end]).strip()
            assert ast.literal_eval(removed) == row.docstring, row.func_name
            assert example.response == inspect.cleandoc(row.docstring)
            assert ast.get_docstring(ast.parse(example.code).body[0]) is None

    def test_doctests_and_sections_reach_the_response_only(self, utf8_run):
        examples = of(utf8_run[1], "codesearchnet_python")
        doctests = examples[examples["response"].str.contains("\n>>> ")]
        sections = examples[examples["response"].str.contains(r"\n(?:Args|Returns|Raises):\n")]
        assert len(doctests) >= 10 and len(sections) >= 3
        assert not examples["code"].str.contains(">>> ").any()
        stubs = examples["code"][examples["code"].str.fullmatch(r"def \w+\(self\):\n +\.\.\.")]
        assert stubs.tolist() == ["def __complex__(self):\n        ..."]  # numbers.Complex


class TestCoNaLa:
    def test_snippet_is_the_response_and_blank_rewritten_intent_falls_back(self, utf8_run):
        examples = of(utf8_run[1], "conala")
        rows = raw("conala_train.csv")
        blank = rows["rewritten_intent"] == ""
        assert blank.sum() == 3
        expected = rows["rewritten_intent"].where(~blank, rows["intent"])
        assert examples["instruction"].tolist() == expected.tolist()
        assert examples["response"].tolist() == rows["snippet"].tolist()
        assert (examples["code"] == "").all() and set(examples["task"]) == {"generate"}


class TestStackOverflow:
    def test_html_became_markdown_with_every_code_block_fenced_exactly(self, utf8_run):
        examples = of(utf8_run[1], "stackoverflow_python")
        rows = raw(SO_FILE, encoding="cp1252")
        rows = rows[rows["Body_a"] != ""]
        assert len(examples) == len(rows)
        parser = MarkdownIt("commonmark")
        for row, example in zip(rows.itertuples(), examples.itertuples(), strict=True):
            for body, text in ((row.Body_q, example.instruction), (row.Body_a, example.response)):
                html = body.replace("\r\n", "\n")
                expected = [b.strip("\n") + "\n" for b in pre_and_code(html).blocks]
                fenced = [t.content for t in parser.parse(text) if t.type == "fence"]
                inline = [
                    c.content
                    for t in parser.parse(text)
                    if t.type == "inline"
                    for c in t.children or []
                    if c.type == "code_inline"
                ]
                assert [b for b in fenced if b in expected] == expected, row.Id_a
                assert inline == pre_and_code(html).inline, row.Id_a
                prose = "".join(t.content for t in parser.parse(text) if t.type == "inline")
                assert "<p>" not in text and "&lt;" not in prose and "&amp;" not in prose
            assert example.instruction.startswith(f"{row.Title}\n\n")
            assert "\r" not in example.instruction + example.response

    def test_fence_language_follows_the_block(self, utf8_run):
        responses = "\n".join(of(utf8_run[1], "stackoverflow_python")["response"])
        assert "```python\nfor idx, val in enumerate(ints):\n    print(idx, val)\n```" in responses
        # A traceback and an IPython session are not Python source: bare fences
        assert "```\nIn [1]: def foo(*args):\n" in responses

    def test_cp1252_export_without_an_encoding_is_detected_and_recorded(self, sources):
        """The export as Kaggle ships it, no `encoding` given: UTF-8 fails, the encoding is
        detected, every row with é ’ “ ” decodes, and the report says how it was read."""
        _, examples, rejected, report = ingest(SHAPES, sources)
        so = report["by_source"]["stackoverflow_python"]
        rows = raw(SO_FILE, encoding="cp1252")
        assert "undecodable_bytes" not in set(rejected["reason_kind"])
        assert so["rows_in"] == so["kept"] + so["rejected"] == len(rows)
        assert "Jos\u00e9 Garc\u00eda" in "\n".join(examples["instruction"])
        assert "cp1252" in str(report["encodings"]).lower()

    def test_cp1252_export_reads_with_the_encoding_option(self, sources):
        """With `encoding: cp1252` every row decodes, é and ’ intact."""
        with_encoding = [
            {**s, "encoding": "cp1252"} if s["file"] == SO_FILE else s for s in sources
        ]
        _, examples, rejected, _ = ingest(SHAPES, with_encoding)
        assert set(rejected["reason_kind"]) == {"empty_cell"}
        assert "Jos\u00e9 Garc\u00eda" in "\n".join(examples["instruction"])
        assert "you\u2019ll" in "\n".join(examples["response"])
