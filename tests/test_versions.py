"""Versions as `kedro tutor versions` lists them: read in Kedro's own version format."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kedro.io.core import Version
from kedro_datasets.json import JSONDataset

from python_tutor.versions import list_versions


def test_a_version_kedro_made_is_listed_with_the_time_it_was_saved(tmp_path):
    before = datetime.now(UTC)
    JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, None)).save({"a": 1})
    dataset = JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, None))
    [info] = list_versions("m", dataset)
    assert before - timedelta(milliseconds=1) <= info.saved_at <= datetime.now(UTC)
    assert info.loaded_next and info.size_bytes > 0


def test_a_folder_not_named_as_a_version_has_no_time(tmp_path):
    JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, "manual")).save(1)
    dataset = JSONDataset(filepath=str(tmp_path / "m.json"), version=Version(None, None))
    assert [info.saved_at for info in list_versions("m", dataset)] == [None]
