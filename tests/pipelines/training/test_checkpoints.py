"""The checkpoint scratch directory: resume only the same run, start clean otherwise."""

from __future__ import annotations

import json

import pytest

from python_tutor.pipelines.training.checkpoints import (
    FINGERPRINT,
    fingerprint,
    last_checkpoint,
    prepare_checkpoint_dir,
    remove_checkpoints,
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


def test_spent_checkpoints_are_removed_and_the_rest_kept(tmp_path):
    fake_checkpoint(tmp_path, 4)
    (tmp_path / "adapter").mkdir()
    remove_checkpoints(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["adapter"]


def test_fingerprint_depends_on_parameters_and_data():
    base = fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "aa"})
    assert base == fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "aa"})
    assert base != fingerprint({"sft": {"learning_rate": 2e-4}}, {"tutor_train": "aa"})
    assert base != fingerprint({"sft": {"learning_rate": 1e-4}}, {"tutor_train": "bb"})
