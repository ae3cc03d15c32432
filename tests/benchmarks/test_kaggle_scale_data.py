"""The Kaggle-scale data generator's core on a few real standard-library files."""

from __future__ import annotations

import ast
import inspect
import shutil
import sysconfig
from pathlib import Path

import pandas as pd
import pytest

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from python_tutor.pipelines.ingestion.nodes import build_examples, snapshot_raw_sources

from . import load_benchmark

STDLIB = Path(sysconfig.get_paths()["stdlib"])
FILES = ["textwrap.py", "fractions.py", "shlex.py", "json/__init__.py"]


@pytest.fixture(scope="module")
def bench():
    return load_benchmark("kaggle_scale_data")


@pytest.fixture
def trees(tmp_path: Path) -> tuple[Path, Path]:
    """A small "stdlib" and "site-packages": real files, a test folder, a copy, a broken file."""
    stdlib, packages = tmp_path / "lib", tmp_path / "site-packages"
    for name in FILES:
        (stdlib / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(STDLIB / name, stdlib / name)
    (stdlib / "test").mkdir()
    shutil.copy(STDLIB / "textwrap.py", stdlib / "test" / "textwrap.py")  # skipped: tests
    (packages / "vendored").mkdir(parents=True)
    shutil.copy(STDLIB / "shlex.py", packages / "vendored" / "shlex.py")  # same functions again
    (packages / "py2.py").write_text('def f():\n    """Python 2 file."""\n    print "x"\n')
    return stdlib, packages


def test_functions_are_real_distinct_and_seeded(bench, trees):
    stdlib, packages = trees
    functions = bench.collect(stdlib, packages, 1000, seed=0)
    assert len({f.source for f in functions}) == len(functions) > 20
    assert {f.path for f in functions} <= set(FILES)  # no test folder, no copy, no py2 file
    assert [f.qualname for f in bench.collect(stdlib, packages, 1000, seed=0)] == [
        f.qualname for f in functions
    ]
    assert [f.qualname for f in bench.collect(stdlib, packages, 1000, seed=1)] != [
        f.qualname for f in functions
    ]
    dedent = next(f for f in functions if f.qualname == "dedent")
    assert dedent.docstring == __import__("textwrap").dedent.__doc__
    assert dedent.signature == "dedent(text)"
    limit = next(f for f in functions if f.qualname == "Fraction.limit_denominator")
    assert ast.parse(limit.source) and ast.parse(limit.def_to_end)


def test_alpaca_rows_ingest_without_rejections_or_duplicates(bench, trees, tmp_path):
    functions = bench.collect(*trees, 1000, seed=0)
    rows = bench.alpaca_rows(functions, seed=0)
    explain = [r for r in rows if r["instruction"] == bench.EXPLAIN]
    generate = [r for r in rows if r["instruction"] != bench.EXPLAIN]
    assert explain and generate and len(rows) == len(functions)
    for row in explain:
        tree = ast.parse(row["input"])
        assert ast.get_docstring(tree.body[0]) is None
        assert row["output"] == inspect.cleandoc(row["output"])  # the dedented docstring
    for row in generate:
        assert row["instruction"].startswith("Write a Python function `")
        assert ast.parse(row["output"]) and row["input"] == ""
        assert row["prompt"].endswith(f"### Output:\n{row['output']}")

    out = tmp_path / "raw"
    out.mkdir()
    bench.write_csv(out / "python_code_instructions_18k.csv", bench.ALPACA_COLUMNS, rows)
    csn = [bench.codesearchnet_row(f) for f in functions]
    bench.write_csv(out / "codesearchnet_python.csv", bench.CODESEARCHNET_COLUMNS, csn)
    read = pd.read_csv(out / "python_code_instructions_18k.csv", dtype=str, keep_default_na=False)
    assert read.to_dict(orient="records") == rows
    sources = list(bench.SOURCES.values())
    reader = RawCSVSourcesDataset(path=str(out)).load()
    _, rejected, report = build_examples(
        snapshot_raw_sources(reader, sources),
        sources,
        {"max_cell_chars": bench.MAX_CHARS, "require_parsable_code": True},
    )
    assert rejected.empty, rejected["reason"].tolist()
    assert report["kept"] == len(rows) + len(csn)


def test_codesearchnet_tokens_leave_out_the_docstring(bench, trees):
    functions = bench.collect(*trees, 1000, seed=0)
    row = bench.codesearchnet_row(next(f for f in functions if f.qualname == "dedent"))
    tokens = ast.literal_eval(row["code_tokens"])
    assert tokens[:5] == ["def", "dedent", "(", "text", ")"]
    assert not any("Remove any common leading whitespace" in t for t in tokens)
    assert row["url"].startswith("https://github.com/python/cpython/blob/v3.")
    assert row["path"] == "Lib/textwrap.py" and row["code"] == row["original_string"]
