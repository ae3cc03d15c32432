"""Raw files as users really hand them over: Excel's Windows-1252 "CSV", a pasted data dump."""

from __future__ import annotations

import csv
import io
import re
from pathlib import Path

SAMPLE_QA = Path(__file__).resolve().parents[1] / "data" / "01_raw" / "python_qa_pairs.csv"
# A classic question from a French-speaking user, as typed (accents) in Excel on Windows.
ACCENTED_ROW = {
    "id": "9001",
    "title": "How do I sort “Émile” and “Zoé” alphabetically?",
    "question": "sorted() puts “Émile” after “Zoé”. Isn’t there a locale-aware sort?",
    "answer": "Use `sorted(names, key=locale.strxfrm)` after `locale.setlocale(...)` – "
    "it’s the usual way.",
    "tags": "python;sorting;unicode",
    "score": "57",
}


def excel_cp1252_export(rows: int = 6) -> tuple[bytes, list[dict[str, str]]]:
    """The sample QA rows as Excel on Windows saves "CSV": Word-style apostrophes and dashes
    (autocorrect), an accented row, CRLF line ends, Windows-1252 bytes."""
    with SAMPLE_QA.open(newline="", encoding="utf-8") as handle:
        sample = list(csv.DictReader(handle))[:rows]
    typographic = [
        {
            k: re.sub(r"(?<=[A-Za-z])'(?=[a-z])", "\u2019", v).replace(" - ", " \u2013 ")
            for k, v in row.items()
        }
        for row in sample
    ] + [ACCENTED_ROW]
    text = io.StringIO(newline="")
    writer = csv.DictWriter(text, fieldnames=list(sample[0]), lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(typographic)
    return text.getvalue().encode("cp1252"), typographic


def data_dump_cell() -> str:
    """A code cell holding a pasted data literal, longer than the csv module's 131,072 limit."""
    return "DATA = [" + ", ".join(str(i) for i in range(40_000)) + "]"
