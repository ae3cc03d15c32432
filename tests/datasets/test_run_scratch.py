"""RunScratchDataset: one folder per run (per catalog), the same for every load of that run."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import pytest
from kedro.io import DatasetError
from kedro.io.core import VERSION_FORMAT

from python_tutor.datasets.run_scratch import RunScratchDataset


def test_each_run_gets_its_own_folder_and_keeps_it_for_the_run(tmp_path):
    one, other = RunScratchDataset(path=str(tmp_path)), RunScratchDataset(path=str(tmp_path))
    folder = one.load()
    assert folder.is_dir() and folder.parent == tmp_path
    assert one.load() == folder  # every node of the run sees the same folder
    assert other.load() != folder


def test_a_copy_for_another_worker_process_points_at_the_same_folder(tmp_path):
    dataset = RunScratchDataset(path=str(tmp_path))
    assert pickle.loads(pickle.dumps(dataset)).load() == dataset.load()


def test_leftovers_of_other_runs_are_counted_not_touched(tmp_path, caplog):
    left = RunScratchDataset(path=str(tmp_path)).load()
    (left / "merged").mkdir()
    with caplog.at_level("INFO"):
        RunScratchDataset(path=str(tmp_path)).load()
    assert "1 other scratch folder(s)" in caplog.text
    assert (left / "merged").is_dir()


def test_remove_deletes_only_this_runs_folder(tmp_path):
    mine, theirs = RunScratchDataset(path=str(tmp_path)), RunScratchDataset(path=str(tmp_path))
    mine_folder, theirs_folder = mine.load(), theirs.load()
    mine.remove()
    assert not mine_folder.exists() and theirs_folder.is_dir()


def test_is_read_only(tmp_path):
    with pytest.raises(DatasetError, match="read-only"):
        RunScratchDataset(path=str(tmp_path)).save(tmp_path)


def test_folder_is_named_with_kedros_version_time(tmp_path):
    before = datetime.now(UTC)
    name = RunScratchDataset(path=str(tmp_path)).load().name
    stamp = name.split("-pid", 1)[0]
    made = datetime.strptime(stamp, VERSION_FORMAT).replace(tzinfo=UTC)
    assert before - timedelta(milliseconds=1) <= made <= datetime.now(UTC)
