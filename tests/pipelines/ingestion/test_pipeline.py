"""Ingestion: mappings per shape, every bad-input case, accounting, and the pipeline slice."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pandas as pd
import pytest
import yaml
from kedro.io import DataCatalog, MemoryDataset
from kedro.runner import SequentialRunner

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from python_tutor.pipelines.ingestion import create_pipeline
from python_tutor.pipelines.ingestion.cleaning import clean_code, clean_prose
from python_tutor.pipelines.ingestion.nodes import build_examples, snapshot_raw_sources

LIMITS = {"max_cell_chars": 200, "require_parsable_code": True}

ALPACA = {
    "name": "alpaca",
    "file": "alpaca.csv",
    "fields": {"instruction": "instruction", "code": "input", "response": "output"},
    "task": {
        "rules": [
            {"pattern": r"(?i)^\s*(fix|debug)\b", "task": "fix"},
            {"pattern": r"(?i)^\s*explain\b", "task": "explain"},
        ],
        "default": "generate",
    },
}
QA = {
    "name": "qa",
    "file": "qa.csv",
    "fields": {"instruction": {"template": "{title}\n\n{question}"}, "response": "answer"},
    "task": {"default": "qa"},
}
EXPLAIN = {
    "name": "explain",
    "file": "explain.csv",
    "fields": {
        "instruction": {"value": "Explain this code."},
        "code": "code",
        "response": "explanation",
    },
    "task": {"column": "kind"},
}


def write_csv(folder: Path, name: str, rows: list[dict[str, str]]) -> None:
    pd.DataFrame(rows).to_csv(folder / name, index=False)


@pytest.fixture
def raw(tmp_path: Path):
    write_csv(
        tmp_path,
        "alpaca.csv",
        [
            {"instruction": "Write a function that adds.", "input": "", "output": "Use `+`."},
            {
                "instruction": "Fix the bug.",
                "input": "def f(x):\n    return x-1\n",
                "output": "Add 1.",
            },
            {"instruction": "Explain this.", "input": "x = [1]", "output": "A list."},
            {"instruction": "Write a function that adds.", "input": "", "output": "Use `+`."},
            {"instruction": "Fix it.", "input": "def broken(:\n", "output": "No."},
            {"instruction": "  ", "input": "", "output": "Orphan answer."},
            {"instruction": "Long.", "input": "", "output": "y" * 201},
        ],
    )
    write_csv(
        tmp_path,
        "qa.csv",
        [{"id": "1", "title": "Tuples?", "question": "Why tuples?", "answer": "Immutable."}],
    )
    write_csv(
        tmp_path,
        "explain.csv",
        [
            {
                "code": "for i in range(3):\n    print(i)",
                "explanation": "Counts.",
                "kind": "explain",
            },
            {"code": "x = 1", "explanation": "Assigns.", "kind": "poem"},
        ],
    )
    return RawCSVSourcesDataset(path=str(tmp_path)).load()


def run_ingestion(reader, sources):
    snapshot = snapshot_raw_sources(reader, sources)
    return snapshot, *build_examples(snapshot, sources, LIMITS)


class TestMappings:
    def test_each_shape_maps_onto_the_canonical_schema(self, raw):
        _, examples, _, _ = run_ingestion(raw, [ALPACA, QA, EXPLAIN])
        by_instruction = examples.set_index("instruction")
        assert by_instruction.loc["Fix the bug.", "task"] == "fix"
        assert by_instruction.loc["Fix the bug.", "code"] == "def f(x):\n    return x-1"
        assert by_instruction.loc["Explain this.", "task"] == "explain"
        assert by_instruction.loc["Write a function that adds.", "task"] == "generate"
        assert by_instruction.loc["Tuples?\n\nWhy tuples?", "response"] == "Immutable."
        assert by_instruction.loc["Tuples?\n\nWhy tuples?", "task"] == "qa"
        assert (
            by_instruction.loc["Explain this code.", "code"] == "for i in range(3):\n    print(i)"
        )
        assert list(examples.columns) == [
            "example_id",
            "source",
            "language",
            "task",
            "instruction",
            "code",
            "response",
        ]

    def test_example_id_is_a_stable_content_hash(self, raw):
        first = run_ingestion(raw, [ALPACA])[1]
        second = run_ingestion(raw, [ALPACA])[1]
        assert first["example_id"].tolist() == second["example_id"].tolist()
        assert first["example_id"].str.fullmatch(r"[0-9a-f]{16}").all()

    def test_missing_mapped_column_names_file_and_column(self, raw):
        bad = {**QA, "fields": {"instruction": "titel", "response": "answer"}}
        with pytest.raises(ValueError, match=r"qa\.csv: mapped column\(s\) \['titel'\].*'title'"):
            snapshot_raw_sources(raw, [bad])

    def test_invalid_field_spec_names_source_and_field(self, raw):
        bad = {**QA, "fields": {"instruction": {"colum": "title"}, "response": "answer"}}
        with pytest.raises(ValueError, match=r"source 'qa' field 'instruction'"):
            snapshot_raw_sources(raw, [bad])

    def test_unknown_task_in_rules_is_a_config_error(self, raw):
        bad = {**QA, "task": {"default": "poem"}}
        with pytest.raises(ValueError, match="names task 'poem'"):
            snapshot_raw_sources(raw, [bad])


class TestBadInput:
    def test_rejections_carry_file_row_column_and_reason(self, raw):
        _, _, rejected, _ = run_ingestion(raw, [ALPACA, EXPLAIN])
        reasons = {(r.file, r.row, r.reason_kind): r for r in rejected.itertuples()}
        assert set(reasons) == {
            ("alpaca.csv", 5, "unparsable_code"),
            ("alpaca.csv", 6, "empty_cell"),
            ("alpaca.csv", 7, "oversized_cell"),
            ("explain.csv", 2, "unknown_task"),
        }
        empty = reasons["alpaca.csv", 6, "empty_cell"]
        assert empty.column == "'instruction'"
        assert empty.reason.startswith("alpaca.csv row 6: empty value for 'instruction'")
        assert "201 characters" in reasons["alpaca.csv", 7, "oversized_cell"].reason
        assert "line 1" in reasons["alpaca.csv", 5, "unparsable_code"].reason
        assert reasons["alpaca.csv", 5, "unparsable_code"].raw["input"] == "def broken(:\n"

    def test_undecodable_bytes_reject_the_row(self, tmp_path):
        # UTF-8 (the caf\xc3\xa9), one row pasted from a cp1252 export (\x92 is its apostrophe)
        (tmp_path / "qa.csv").write_bytes(
            b"id,title,question,answer\n1,T,Why caf\xc3\xa9?,Fine.\n2,T,Don\x92t?,Bad.\n"
        )
        reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
        _, examples, rejected, report = run_ingestion(reader, [QA])
        assert len(examples) == 1
        assert rejected.iloc[0][["row", "column", "reason_kind"]].tolist() == [
            2,
            "question",
            "undecodable_bytes",
        ]
        assert rejected.iloc[0]["raw"]["question"] == "Don\\x92t?"
        assert report["encodings"] == {"qa": {"used": "utf-8", "how": "default"}}

    def test_header_only_file_is_an_error(self, tmp_path):
        (tmp_path / "qa.csv").write_text("id,title,question,answer\n")
        reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
        with pytest.raises(ValueError, match=r"qa\.csv: has a header but no data rows"):
            snapshot_raw_sources(reader, [QA])


class TestAccounting:
    def test_rows_in_equal_kept_plus_rejected_plus_duplicates(self, raw):
        snapshot, examples, rejected, report = run_ingestion(raw, [ALPACA, QA, EXPLAIN])
        assert report["rows_in"] == len(snapshot) == 10
        assert (report["kept"], report["rejected"], report["duplicates"]) == (5, 4, 1)
        assert report["kept"] == len(examples) and report["rejected"] == len(rejected)
        for counts in report["by_source"].values():
            assert counts["rows_in"] == counts["kept"] + counts["rejected"] + counts["duplicates"]
        assert report["by_source"]["alpaca"]["duplicates"] == 1
        assert report["by_task"] == {"explain": 2, "fix": 1, "generate": 1, "qa": 1}
        assert sum(report["by_reason"].values()) == report["rejected"]


class TestCleaning:
    def test_code_keeps_indentation_byte_for_byte(self):
        code = "\r\n\n    x = 1\r\n\tif x:\r\n\t\ty = 2  \r\n\n"
        assert clean_code(code) == "    x = 1\n\tif x:\n\t\ty = 2  "

    def test_prose_is_nfc_trimmed_and_visible(self):
        assert clean_prose("\ufeff  Cafe\u0301\u200b \r\n") == "Caf\u00e9"


class TestPipeline:
    def test_pipeline_slice_runs_over_memory_catalog(self, raw):
        catalog = DataCatalog(
            {
                "raw_sources": MemoryDataset(raw, copy_mode="assign"),
                "params:ingestion.sources": MemoryDataset([ALPACA, QA]),
                "params:ingestion.limits": MemoryDataset(LIMITS),
                "raw_snapshot": MemoryDataset(),
                "examples": MemoryDataset(),
                "rejected_examples": MemoryDataset(),
                "ingestion_report": MemoryDataset(),
            }
        )
        SequentialRunner().run(create_pipeline(), catalog)
        assert catalog.load("ingestion_report")["kept"] == len(catalog.load("examples")) == 4

    def test_node_names(self):
        assert [n.name for n in create_pipeline().nodes] == [
            "snapshot_raw_sources_node",
            "build_examples_node",
        ]


@pytest.fixture(scope="module")
def params(project_root):
    """The committed ingestion parameters."""
    return yaml.safe_load((project_root / "conf/base/parameters_ingestion.yml").read_text())[
        "ingestion"
    ]


class TestSampleData:
    """The committed sample data: three Kaggle shapes, valid code, nothing rejected."""

    def test_every_code_cell_parses(self, project_root, params):
        reader = RawCSVSourcesDataset(path=str(project_root / "data/01_raw")).load()
        snapshot = snapshot_raw_sources(reader, params["sources"])
        examples, _, _ = build_examples(snapshot, params["sources"], params["limits"])
        code_tasks = examples[examples["task"].isin(["fix", "explain"])]
        assert (code_tasks["code"] != "").all(), "fix/explain rows must carry code"
        blocks = examples["response"].str.findall(r"```python\n(.*?)```", flags=re.S).sum()
        for code in [*examples["code"][examples["code"] != ""], *blocks]:
            ast.parse(code)
        assert len(blocks) > 40 and len(code_tasks) > 60

    def test_sample_is_large_and_clean(self, project_root, params):
        reader = RawCSVSourcesDataset(path=str(project_root / "data/01_raw")).load()
        snapshot = snapshot_raw_sources(reader, params["sources"])
        examples, rejected, report = build_examples(snapshot, params["sources"], params["limits"])
        assert report["rows_in"] >= 150
        assert rejected.empty, rejected["reason"].tolist()
        assert set(report["by_task"]) == {"explain", "fix", "generate", "qa"}
        assert len(report["by_source"]) == 3


class TestUnparsableCodePolicy:
    def test_alpaca_text_input_joins_the_instruction(self, raw):
        lenient = {**ALPACA, "unparsable_code": "append_to_instruction"}
        _, examples, rejected, _ = run_ingestion(raw, [lenient])
        assert "unparsable_code" not in set(rejected["reason_kind"])
        row = examples[examples["instruction"].str.startswith("Fix it.")].iloc[0]
        assert row["instruction"] == "Fix it.\n\ndef broken(:"
        assert row["code"] == ""

    def test_unknown_policy_is_a_config_error(self, raw):
        with pytest.raises(ValueError, match="unparsable_code must be one of"):
            snapshot_raw_sources(raw, [{**ALPACA, "unparsable_code": "ignore"}])
