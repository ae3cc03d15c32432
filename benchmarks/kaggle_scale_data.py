"""Kaggle-scale raw data in the alpaca and CodeSearchNet shapes, from text nobody here wrote.

    PYTHONPATH=src .venv/bin/python benchmarks/kaggle_scale_data.py \
        --out data/01_raw/kaggle_scale --rows 18000 --seed 0 --codesearchnet

Every row is a real function of the standard library or an installed package (found by an
``ast`` walk of their ``.py`` files) and its real docstring:

- ``python_code_instructions_18k.csv`` (``instruction,input,output,prompt``, the shape of the
  18k Python code-instructions alpaca set): either "Write a Python function `name(args)` that:
  <the docstring's first paragraph>" answered by the function's source, unfenced, or "Explain
  what this Python function does." with the source minus its docstring as ``input``, answered
  by the docstring.
- ``codesearchnet_python.csv`` (optional): the CodeSearchNet columns for the standard-library
  functions among them, ``code`` holding the function with its docstring; mapped with the
  ``strip_docstring``/``docstring`` transforms to "Write the docstring of this Python function."
- ``parameters_ingestion.yml``: the ``ingestion.sources`` entries that map both files.

The files walked are shuffled with ``--seed`` and read until enough rows exist, so the output
is the same for the same seed and the same installed packages. No row repeats (by source code
and by instruction/input/output).
"""

from __future__ import annotations

import argparse
import ast
import csv
import hashlib
import inspect
import io
import platform
import random
import re
import sysconfig
import textwrap
import time
import tokenize
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import yaml

from python_tutor.pipelines.ingestion.transforms import TransformError, strip_docstring

ALPACA_COLUMNS = ["instruction", "input", "output", "prompt"]
CODESEARCHNET_COLUMNS = [
    "repo",
    "path",
    "func_name",
    "original_string",
    "language",
    "code",
    "code_tokens",
    "docstring",
    "docstring_tokens",
    "sha",
    "url",
    "partition",
]
# The alpaca set's own prompt column.
ALPACA_PROMPT = (
    "Below is an instruction that describes a task. Write a response that appropriately "
    "completes the request.\n\n### Instruction:\n{instruction}\n\n### Input:\n{input}\n\n"
    "### Output:\n{output}"
)
EXPLAIN = "Explain what this Python function does."
DOCUMENT = "Write the docstring of this Python function."  # CodeSearchNet: the docstring answers
EXPLAIN_SHARE = 0.3  # share of explain rows, as in code-instruction sets
MAX_CHARS = 6000  # ingestion.limits.max_cell_chars: longer cells would be rejected
SUMMARY_CHARS = (20, 400)  # a first paragraph shorter or longer is no usable request
_SKIP_PARTS = {"test", "tests", "idle_test", "site-packages", "__pycache__", "lib2to3"}


@dataclass(frozen=True)
class Function:
    """One documented function as found in a file."""

    path: str  # relative to its root, e.g. fractions.py or pandas/core/frame.py
    stdlib: bool  # from the standard library (CPython's Lib/), else an installed package
    qualname: str
    signature: str  # name(args)
    source: str  # dedented, decorators included, docstring included
    def_to_end: str  # from `def` on, later lines as indented in the file (CodeSearchNet's slice)
    docstring: str  # as written (not dedented), as CodeSearchNet keeps it
    summary: str  # the docstring's first paragraph on one line
    first_line: int
    last_line: int


def python_files(root: Path) -> list[Path]:
    """Every ``.py`` file under ``root``, tests and nested site-packages left out, sorted."""
    return sorted(
        path
        for path in root.rglob("*.py")
        if not _SKIP_PARTS.intersection(path.relative_to(root).parts[:-1])
    )


def functions_in(path: Path, root: Path, stdlib: bool) -> Iterator[Function]:
    """Module-level functions and methods with a usable docstring; unreadable files yield none."""
    try:
        text = path.read_text(encoding="utf-8")
        tree = ast.parse(text)
    except (OSError, UnicodeDecodeError, SyntaxError, ValueError):
        return
    lines = re.split(r"\r\n?|\n", text)  # as ast numbers lines (splitlines also splits on \f)
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef)]
    candidates = [(None, n) for n in tree.body] + [(c, n) for c in classes for n in c.body]
    for owner, node in candidates:
        if not isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        raw = ast.get_docstring(node, clean=False)
        if not raw:
            continue
        summary = " ".join(ast.get_docstring(node).split("\n\n")[0].split())
        first = min([node.lineno, *(d.lineno for d in node.decorator_list)])
        source = textwrap.dedent("\n".join(lines[first - 1 : node.end_lineno]))
        if not SUMMARY_CHARS[0] <= len(summary) <= SUMMARY_CHARS[1] or len(source) > MAX_CHARS:
            continue
        yield Function(
            path=path.relative_to(root).as_posix(),
            stdlib=stdlib,
            qualname=f"{owner.name}.{node.name}" if owner else node.name,
            signature=f"{node.name}({ast.unparse(node.args)})",
            source=source,
            def_to_end="\n".join(
                [lines[node.lineno - 1][node.col_offset :], *lines[node.lineno : node.end_lineno]]
            ),
            docstring=raw,
            summary=summary,
            first_line=node.lineno,
            last_line=node.end_lineno,
        )


def collect(stdlib: Path, packages: Path, wanted: int, seed: int) -> list[Function]:
    """``wanted`` distinct functions from the files of both folders in a seeded order."""
    files = [(stdlib, p) for p in python_files(stdlib)]
    files += [(packages, p) for p in python_files(packages)]
    random.Random(seed).shuffle(files)
    seen: set[str] = set()
    functions: list[Function] = []
    for root, path in files:
        for function in functions_in(path, root, root == stdlib):
            if function.source not in seen:
                seen.add(function.source)
                functions.append(function)
        if len(functions) >= wanted:
            return functions[:wanted]
    return functions


def alpaca_row(function: Function, explain: bool) -> dict[str, str]:
    """An alpaca-shaped row: write the function from its summary, or explain its code."""
    if explain:
        try:
            stripped = strip_docstring(function.source)
        except TransformError:
            stripped = ""
        if stripped and stripped.split("\n")[-1].strip() != "...":  # not a stub
            answer = inspect.cleandoc(function.docstring)
            fields = {"instruction": EXPLAIN, "input": stripped, "output": answer}
            return {**fields, "prompt": ALPACA_PROMPT.format(**fields)}
    fields = {
        "instruction": f"Write a Python function `{function.signature}` that: {function.summary}",
        "input": "",
        "output": function.source,
    }
    return {**fields, "prompt": ALPACA_PROMPT.format(**fields)}


def alpaca_rows(functions: list[Function], seed: int) -> list[dict[str, str]]:
    """One row per function, about ``EXPLAIN_SHARE`` of them explain rows, none repeated."""
    rng = random.Random(seed)
    rows, seen = [], set()
    for function in functions:
        row = alpaca_row(function, rng.random() < EXPLAIN_SHARE)
        key = (row["instruction"], row["input"], row["output"])
        if key not in seen:
            seen.add(key)
            rows.append(row)
    return rows


def codesearchnet_row(function: Function) -> dict[str, str]:
    """A CodeSearchNet-shaped row of a standard-library function (repo python/cpython at the
    running Python's tag); token lists are written as Python list literals, as CSV exports do.
    """
    doc = ast.parse(function.def_to_end).body[0].body[0]
    code_tokens = [
        t.string
        for t in tokenize.generate_tokens(io.StringIO(function.def_to_end).readline)
        if t.type in {tokenize.NAME, tokenize.OP, tokenize.NUMBER, tokenize.STRING}
        and not (doc.lineno, doc.col_offset) <= t.start <= (doc.end_lineno, doc.end_col_offset)
    ]
    repo, path = "python/cpython", f"Lib/{function.path}"
    return {
        "repo": repo,
        "path": path,
        "func_name": function.qualname,
        "original_string": function.def_to_end,
        "language": "python",
        "code": function.def_to_end,
        "code_tokens": repr(code_tokens),
        "docstring": function.docstring,
        "docstring_tokens": repr(re.findall(r"\w+|[^\w\s]", function.summary)),
        # CodeSearchNet's sha names a commit; a tag has none here, so the code's own hash.
        "sha": hashlib.sha1(function.source.encode()).hexdigest(),  # noqa: S324 - an id
        "url": f"https://github.com/{repo}/blob/v{platform.python_version()}/{path}"
        f"#L{function.first_line}-L{function.last_line}",
        "partition": "train",
    }


def write_csv(path: Path, columns: list[str], rows: list[dict[str, str]]) -> None:
    """A CSV as pandas writes one: LF line ends, quoting where needed."""
    with path.open("w", encoding="utf-8", newline="") as stream:
        writer = csv.DictWriter(stream, columns, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)


SOURCES = {
    "alpaca": {
        "name": "kaggle_scale_alpaca",
        "file": "python_code_instructions_18k.csv",
        "fields": {"instruction": "instruction", "code": "input", "response": "output"},
        "task": {
            "rules": [{"pattern": r"(?i)^\s*explain\b", "task": "explain"}],
            "default": "generate",
        },
    },
    "codesearchnet": {
        "name": "kaggle_scale_codesearchnet",
        "file": "codesearchnet_python.csv",
        "fields": {
            "instruction": {"value": DOCUMENT},
            "code": {"column": "code", "transform": "strip_docstring"},
            "response": {"column": "code", "transform": "docstring"},
        },
        "task": {"default": "explain"},
    },
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, required=True, help="folder for the CSVs and YAML")
    parser.add_argument("--rows", type=int, default=18000, help="alpaca rows (at least)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--codesearchnet", action="store_true", help="also the CSN shape")
    args = parser.parse_args()
    started = time.perf_counter()
    paths = sysconfig.get_paths()
    # A margin for functions that become the same row; trimmed to --rows below.
    functions = collect(
        Path(paths["stdlib"]), Path(paths["purelib"]), int(args.rows * 1.02) + 10, args.seed
    )
    rows = alpaca_rows(functions, args.seed)[: args.rows]
    if len(rows) < args.rows:
        raise SystemExit(f"only {len(rows)} distinct functions found; install more packages")
    args.out.mkdir(parents=True, exist_ok=True)
    write_csv(args.out / SOURCES["alpaca"]["file"], ALPACA_COLUMNS, rows)
    sources = [SOURCES["alpaca"]]
    if args.codesearchnet:
        # Same code in two places (a method copied between classes) would be one example.
        unique = {f.def_to_end: f for f in functions if f.stdlib}.values()
        csn = [codesearchnet_row(f) for f in unique]
        write_csv(args.out / SOURCES["codesearchnet"]["file"], CODESEARCHNET_COLUMNS, csn)
        sources.append(SOURCES["codesearchnet"])
    (args.out / "parameters_ingestion.yml").write_text(
        yaml.safe_dump({"ingestion": {"sources": sources}}, sort_keys=False, allow_unicode=True)
    )
    print(
        f"{len(rows)} alpaca rows from {len(functions)} functions in "
        f"{time.perf_counter() - started:.1f} s -> {args.out}"
    )


if __name__ == "__main__":
    main()
