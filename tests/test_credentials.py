"""Kaggle credentials from conf/local/credentials.yml reach the download and nothing else.

A canary secret is planted in the credentials file of a scratch project; a real `kedro run` of
the ingestion pipeline downloads one source "from Kaggle" (kagglehub's download is the only
thing replaced: there is no network here) with mlflow tracking on. Then every file the run wrote
and everything it printed is searched for the canary.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path

import pandas as pd
import pytest
import yaml

CANARY_USER = f"canary-user-{uuid.uuid4().hex[:12]}"
CANARY_KEY = f"canary-key-{uuid.uuid4().hex}"


def hits(root: Path, needles: tuple[str, ...], skip: Path) -> list[str]:
    """``file: needle`` for every file under ``root`` (but ``skip``) that holds a needle."""
    found = []
    for path in root.rglob("*"):
        if path.is_file() and path != skip:
            data = path.read_bytes()
            found += [f"{path}: {n}" for n in needles if n.encode() in data]
    return found


@pytest.fixture
def kaggle_cache(tmp_path_factory, monkeypatch, project_root):
    """kagglehub's download, replaced by a copy into a cache folder like kagglehub's own; it
    records the credentials kagglehub holds when it is called."""
    import kagglehub
    from kagglehub.config import get_kaggle_credentials

    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    cache = tmp_path_factory.mktemp("kagglehub") / "datasets/owner/python-qa/versions/1"
    cache.mkdir(parents=True)
    shutil.copy(project_root / "data/01_raw/python_qa_pairs.csv", cache)
    seen: list[tuple[str, str, str]] = []

    def download(handle, **kwargs):
        credentials = get_kaggle_credentials()
        seen.append((handle, credentials.username, credentials.key))
        return str(cache)

    monkeypatch.setattr(kagglehub, "dataset_download", download)
    return cache, seen


def test_a_canary_secret_reaches_kagglehub_and_nothing_the_run_writes(
    project, run_project, kaggle_cache, capfd, caplog
):
    cache, seen = kaggle_cache
    credentials = project / "conf/local/credentials.yml"
    credentials.write_text(
        yaml.safe_dump({"kaggle": {"username": CANARY_USER, "key": CANARY_KEY}}), "utf-8"
    )
    ingestion = yaml.safe_load((project / "conf/base/parameters_ingestion.yml").read_text())
    for source in ingestion["ingestion"]["sources"]:
        if source["file"] == "python_qa_pairs.csv":
            source["kaggle"] = "owner/python-qa"
    (project / "conf/local/parameters_ingestion.yml").write_text(yaml.safe_dump(ingestion))

    with caplog.at_level("DEBUG"):
        run_project(pipeline_names=["ingestion"])

    assert seen == [("owner/python-qa", CANARY_USER, CANARY_KEY)]  # it really reached kagglehub
    snapshot = next((project / "data/01_raw/snapshots").rglob("*/raw_snapshot.jsonl"))
    origins = set(pd.read_json(snapshot, lines=True)["origin"])
    assert str(cache / "python_qa_pairs.csv") in origins  # the download was what got read
    assert (project / "mlruns/mlflow.db").is_file()  # tracking was on
    assert any(project.rglob("_lineage.json"))
    # the scan does find the canary where it belongs, and nowhere else
    assert hits(project, (CANARY_KEY,), skip=project) == [f"{credentials}: {CANARY_KEY}"]
    assert hits(project, (CANARY_USER, CANARY_KEY), skip=credentials) == []
    printed = "".join(capfd.readouterr()) + caplog.text
    assert CANARY_KEY not in printed and CANARY_USER not in printed
