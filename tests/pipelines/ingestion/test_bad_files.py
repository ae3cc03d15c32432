"""Whole files that used to fail ingestion badly: a Windows-1252 export, one huge cell, a ZIP."""

from __future__ import annotations

import csv
import shutil
import zipfile
from pathlib import Path

import pytest
import yaml
from kedro.io import DatasetError

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from python_tutor.pipelines.ingestion.nodes import build_examples, snapshot_raw_sources
from tests.raw_files import SAMPLE_QA, data_dump_cell, excel_cp1252_export


@pytest.fixture(scope="module")
def shipped(project_root) -> dict:
    """The committed ingestion parameters: the real sources and limits."""
    text = (project_root / "conf/base/parameters_ingestion.yml").read_text(encoding="utf-8")
    return yaml.safe_load(text)["ingestion"]


def qa_source(shipped: dict, **extra) -> dict:
    source = next(s for s in shipped["sources"] if s["file"] == SAMPLE_QA.name)
    return {**source, **extra}


def ingest(folder: Path, sources: list[dict], limits: dict):
    reader = RawCSVSourcesDataset(path=str(folder)).load()
    snapshot = snapshot_raw_sources(reader, sources)
    return build_examples(snapshot, sources, limits)


@pytest.mark.parametrize(
    ("extra", "how"), [({"encoding": "cp1252"}, "configured"), ({}, "detected")]
)
def test_a_windows_1252_export_is_ingested_and_its_encoding_reported(tmp_path, shipped, extra, how):
    data, rows = excel_cp1252_export()
    (tmp_path / SAMPLE_QA.name).write_bytes(data)
    source = qa_source(shipped, **extra)

    examples, rejected, report = ingest(tmp_path, [source], shipped["limits"])

    assert rejected.empty, rejected["reason"].tolist()
    assert report["kept"] == len(rows)
    assert report["encodings"] == {source["name"]: {"used": "cp1252", "how": how}}
    accented = examples[examples["instruction"].str.contains("Zoé")].iloc[0]
    assert accented["instruction"].startswith("How do I sort “Émile” and “Zoé” alphabetically?")
    assert "it’s the usual way" in accented["response"]


def test_one_cell_over_the_csv_limit_rejects_its_row_and_keeps_the_file(tmp_path, shipped):
    source = next(s for s in shipped["sources"] if s["file"] == "python_code_explanations.csv")
    original = Path(SAMPLE_QA.parent / source["file"])
    with original.open(newline="", encoding="utf-8") as handle:
        header, *rows = list(csv.reader(handle))
    code = header.index(source["fields"]["code"])
    huge = data_dump_cell()
    rows[2][code] = huge
    with (tmp_path / source["file"]).open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows([header, *rows])

    examples, rejected, report = ingest(tmp_path, [source], shipped["limits"])

    [row] = rejected.itertuples()
    assert (row.row, row.reason_kind) == (3, "oversized_cell")
    assert f"{len(huge)} characters" in row.reason
    assert report["rows_in"] == len(rows) == report["kept"] + report["rejected"]
    assert len(examples) == len(rows) - 1


def test_a_zip_in_place_of_the_csv_stops_ingestion_naming_it(tmp_path, shipped):
    source = qa_source(shipped)
    with zipfile.ZipFile(tmp_path / "archive.zip", "w", zipfile.ZIP_DEFLATED) as archive:
        archive.write(SAMPLE_QA, SAMPLE_QA.name)
    shutil.move(tmp_path / "archive.zip", tmp_path / SAMPLE_QA.name)  # the download, renamed
    with pytest.raises(DatasetError, match=rf"{SAMPLE_QA.name}' is not text"):
        ingest(tmp_path, [source], shipped["limits"])
