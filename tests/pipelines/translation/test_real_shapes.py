"""Four real public shapes through ingestion and translation: code intact, or the row rejected.

The oracle here is neither the protection (find_code) nor the integrity check: it reads the
English with plain rules of its own (a cell Python parses, fenced blocks by their fence lines,
doctest prompt lines, backquoted spans) and demands each piece byte for byte in the Spanish of
every kept row. Every row must be kept or rejected with a reason.
"""

from __future__ import annotations

import ast
import re
import shutil
from collections import Counter

import pytest
import yaml

from python_tutor.datasets.translation_cache import TranslationCache
from python_tutor.pipelines.translation.nodes import check_translations, translate_examples

from ..ingestion.test_real_shapes import SHAPES, SO_FILE, ingest

FIELDS = ("instruction", "response")


def expected_code(english: str) -> list[str]:
    """What must survive, found without the code under test."""
    try:
        ast.parse(english)
        parses = "\n" in english or "(" in english or "=" in english
    except SyntaxError:
        parses = False
    if parses:
        return [english.strip()]
    pieces, block, fence = [], [], None
    for line in english.split("\n"):
        if fence is None and line.lstrip().startswith(("```", "~~~")):
            fence, block = line.lstrip()[:3], [line]
        elif fence is not None:
            block.append(line)
            if line.strip() == fence:
                pieces.append("\n".join(block))
                fence = None
        elif line.lstrip().startswith(">>> "):
            pieces.append(line.strip())
    pieces += re.findall(r"(?<!`)`[^`\n]+`(?!`)", english)
    return pieces


@pytest.fixture(scope="module")
def translated(tmp_path_factory):
    if shutil.which("apertium") is None:
        pytest.skip("apertium is not installed (make system-deps)")
    folder = tmp_path_factory.mktemp("real_shapes")
    for path in SHAPES.glob("*.csv"):
        shutil.copy(path, folder)
    text = (SHAPES / SO_FILE).read_bytes().decode("cp1252")
    (folder / SO_FILE).write_bytes(text.encode("utf-8"))
    sources = yaml.safe_load((SHAPES / "parameters_ingestion.yml").read_text())["ingestion"][
        "sources"
    ]
    _, examples, _, _ = ingest(folder, sources)
    from pathlib import Path

    root = Path(__file__).resolve().parents[3]
    params = yaml.safe_load((root / "conf/base/parameters_translation.yml").read_text())
    p = params["translation"]
    candidates, stats = translate_examples(
        examples,
        TranslationCache(tmp_path_factory.mktemp("cache")),
        p["backend"],
        p["batching"],
        p["retry"],
        p["protect"],
        p["segment"],
        False,
    )
    kept, rejected, report, _ = check_translations(candidates, stats, p["protect"], p["quality"])
    return examples, kept, rejected, report


def test_every_row_is_kept_or_rejected_with_a_reason(translated):
    examples, kept, rejected, report = translated
    assert set(examples["example_id"]) == set(kept["example_id"]) | set(rejected["example_id"])
    assert not set(kept["example_id"]) & set(rejected["example_id"])
    assert rejected["reason"].str.len().gt(0).all()
    assert report["examples_in"] == len(examples)


def test_kept_rows_carry_their_code_byte_for_byte(translated):
    _, kept, _, _ = translated
    broken = []
    for row in kept.itertuples():
        for field in FIELDS:
            english, spanish = getattr(row, f"{field}_en"), getattr(row, f"{field}_es")
            for piece in expected_code(english):
                if spanish.count(piece) < english.count(piece):
                    broken.append((row.source, field, piece[:80]))
    assert broken == []


@pytest.mark.parametrize(
    "source", ["alpaca_18k", "codesearchnet_python", "conala", "stackoverflow_python"]
)
def test_each_shape_mostly_survives(translated, source):
    examples, kept, _, _ = translated
    total = int((examples["source"] == source).sum())
    assert total and int((kept["source"] == source).sum()) >= 0.8 * total


def test_code_was_really_there_to_protect(translated):
    """The oracle is not vacuous: most shapes have code in their prose."""
    examples, _, _, _ = translated
    with_code = Counter(row.source for row in examples.itertuples() if expected_code(row.response))
    assert with_code["alpaca_18k"] and with_code["codesearchnet_python"]
    assert with_code["conala"] and with_code["stackoverflow_python"]
