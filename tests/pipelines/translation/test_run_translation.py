"""`kedro run --pipeline translation` on the sample data, offline with Apertium, twice."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession


def run(project: Path, name: str) -> None:
    with KedroSession.create(project_path=project, conf_source=str(project / "conf")) as session:
        session.run(pipeline_names=[name])


def latest(project: Path, relative: str) -> Path:
    folder = project / relative
    return sorted(folder.iterdir())[-1] / folder.name


@pytest.mark.slow
@pytest.mark.usefixtures("apertium")
def test_sample_translates_offline_and_a_second_run_is_all_cache_hits(project):
    run(project, "ingestion")
    run(project, "translation")
    first = json.loads(latest(project, "data/08_reporting/translation_report.json").read_text())
    run(project, "translation")
    second = json.loads(latest(project, "data/08_reporting/translation_report.json").read_text())

    assert first["engine"]["segments_translated"] == first["engine"]["segments_unique"] > 500
    assert second["engine"]["segments_translated"] == 0
    assert second["engine"]["cache_hits"] == second["engine"]["segments_unique"]
    assert second["examples_in"] == second["kept"] + second["rejected"]
    assert second["kept"] >= 0.9 * second["examples_in"]

    examples = pd.read_json(
        latest(project, "data/02_intermediate/examples.jsonl"), lines=True, dtype=False
    )
    translated = pd.read_json(
        latest(project, "data/03_primary/translated_examples.jsonl"), lines=True, dtype=False
    )
    merged = translated.merge(examples, on="example_id", suffixes=("", "_in"))
    assert len(merged) == len(translated)
    assert (merged["code"] == merged["code_in"]).all()
    assert (merged["response_en"] == merged["response"]).all()
    assert (merged["response_es_language"] == "es").mean() > 0.9
    assert (project / "data/02_intermediate/translation_cache").is_dir()
