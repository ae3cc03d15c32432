"""The checkpoint folders: resume only the same run, start clean otherwise, one run at a time."""

from __future__ import annotations

import json
import threading
import time

import pytest

from python_tutor.pipelines.training.checkpoints import (
    FINGERPRINT,
    checkpoint_folder,
    claim_checkpoints,
    fingerprint,
    last_checkpoint,
    prepare_checkpoint_dir,
)


def fake_checkpoint(folder, step, complete=True):
    path = folder / f"checkpoint-{step}"
    path.mkdir(parents=True)
    if complete:
        (path / "trainer_state.json").write_text(json.dumps({"global_step": step}))
    return path


def test_last_checkpoint_is_the_highest_complete_step(tmp_path):
    fake_checkpoint(tmp_path, 8)
    ten = fake_checkpoint(tmp_path, 10)
    fake_checkpoint(tmp_path, 12, complete=False)  # killed while saving
    (tmp_path / "checkpoint-notes").mkdir()
    assert last_checkpoint(tmp_path) == ten
    assert last_checkpoint(tmp_path / "missing") is None


def test_resume_continues_the_same_run(tmp_path):
    folder = tmp_path / "ckpt"
    assert prepare_checkpoint_dir(folder, "abc", resume=True) is None
    assert json.loads((folder / FINGERPRINT).read_text()) == {"fingerprint": "abc"}
    four = fake_checkpoint(folder, 4)
    assert prepare_checkpoint_dir(folder, "abc", resume=True) == four


def test_resume_refuses_checkpoints_of_other_settings(tmp_path):
    folder = tmp_path / "ckpt"
    prepare_checkpoint_dir(folder, "abc", resume=True)
    fake_checkpoint(folder, 4)
    with pytest.raises(ValueError, match=r"training.run.resume: true.*other parameters or data"):
        prepare_checkpoint_dir(folder, "xyz", resume=True)


def test_no_resume_starts_clean(tmp_path):
    folder = tmp_path / "ckpt"
    prepare_checkpoint_dir(folder, "abc", resume=True)
    fake_checkpoint(folder, 4)
    assert prepare_checkpoint_dir(folder, "xyz", resume=False) is None
    assert last_checkpoint(folder) is None
    assert json.loads((folder / FINGERPRINT).read_text()) == {"fingerprint": "xyz"}


def test_each_fingerprint_trains_in_its_own_folder(tmp_path):
    one, other = fingerprint({"r": 4}, {}), fingerprint({"r": 8}, {})
    assert checkpoint_folder(tmp_path, one) != checkpoint_folder(tmp_path, other)
    assert checkpoint_folder(tmp_path, one).parent == tmp_path


def test_a_successful_run_removes_its_spent_checkpoints(tmp_path):
    folder = tmp_path / "abc"
    with claim_checkpoints(folder, "abc", resume=True, keep=False) as resume_from:
        assert resume_from is None
        fake_checkpoint(folder, 4)
    assert not folder.exists()
    with claim_checkpoints(folder, "abc", resume=True, keep=True):
        fake_checkpoint(folder, 4)
    assert last_checkpoint(folder) is not None


def test_a_failed_run_keeps_its_checkpoints_for_the_next(tmp_path):
    folder = tmp_path / "abc"
    with pytest.raises(RuntimeError), claim_checkpoints(folder, "abc", True, keep=False):
        four = fake_checkpoint(folder, 4)
        raise RuntimeError("killed")
    with claim_checkpoints(folder, "abc", resume=True, keep=False) as resume_from:
        assert resume_from == four


def test_a_second_run_of_the_same_fingerprint_waits_for_the_first(tmp_path):
    folder = tmp_path / "abc"
    events = []

    def second_run():
        with claim_checkpoints(folder, "abc", resume=True, keep=False) as resume_from:
            events.append(("second starts", resume_from))

    with claim_checkpoints(folder, "abc", resume=True, keep=False):
        fake_checkpoint(folder, 4)
        waiting = threading.Thread(target=second_run)
        waiting.start()
        time.sleep(0.5)
        events.append(("first ends", None))
    waiting.join(timeout=10)
    # the second never saw the first's checkpoints half-way: it began after they were spent
    assert events == [("first ends", None), ("second starts", None)]


def test_fingerprint_depends_on_parameters_and_data():
    base = fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "aa"})
    assert base == fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "aa"})
    assert base != fingerprint({"sft": {"learning_rate": 2e-4}}, {"tutor_train": "aa"})
    assert base != fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "bb"})
