"""Experiment tracking: real `kedro run`s of the ingestion pipeline, read back with mlflow's
client from the local store, and the report-to-metrics rules on their own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import mlflow
import pytest
from kedro.io import DatasetError
from mlflow import MlflowClient

from python_tutor.tracking import metrics_of

EXPERIMENT = "python_tutor"  # conf/base/mlflow.yml


def tracked_runs(project: Path) -> list:
    """Every mlflow run of the project's local store (conf/base/mlflow.yml), newest first."""
    client = MlflowClient(f"sqlite:///{project.as_posix()}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name(EXPERIMENT)
    return client.search_runs([experiment.experiment_id]) if experiment else []


def latest_version(folder: Path) -> str:
    return sorted(p.name for p in folder.iterdir() if p.is_dir())[-1]


def test_a_run_logs_params_metrics_files_and_versions(project, run_project):
    run_project(
        pipeline_names=["ingestion"],
        runtime_params={
            "tracking": {"metrics": ["ingestion_report"], "artifacts": ["ingestion_report"]}
        },
    )

    [run] = tracked_runs(project)
    assert run.info.status == "FINISHED" and run.info.run_name == "ingestion"
    assert mlflow.active_run() is None
    # Parameters as the nodes received them, one per knob (kedro-mlflow, flattened).
    assert run.data.params["ingestion.limits.max_cell_chars"] == "6000"
    # Metrics: the numbers of the report, by field path.
    report_dir = project / "data/08_reporting/ingestion_report.json"
    version = latest_version(report_dir)
    report = json.loads((report_dir / version / "ingestion_report.json").read_text())
    metrics = run.data.metrics
    assert metrics["ingestion_report.rows_in"] == report["rows_in"] > 0
    assert metrics["ingestion_report.by_task.qa"] == report["by_task"]["qa"]
    # The file, copied into the run.
    client = MlflowClient(f"sqlite:///{project.as_posix()}/mlruns/mlflow.db")
    copy = client.download_artifacts(run.info.run_id, "ingestion_report/ingestion_report.json")
    assert json.loads(Path(copy).read_text()) == report
    # The version of every versioned dataset saved, as Kedro and lineage name it.
    snapshot = latest_version(project / "data/01_raw/snapshots/raw_snapshot.jsonl")
    assert run.data.tags["version.raw_snapshot"] == snapshot
    assert run.data.tags["version.ingestion_report"] == version
    assert run.data.tags["version.examples"] == version
    examples = project / "data/02_intermediate/examples.jsonl" / version / "_lineage.json"
    assert json.loads(examples.read_text())["inputs"] == {"raw_snapshot": snapshot}


def test_loaded_versions_are_tagged_too(project, run_project):
    run_project(pipeline_names=["ingestion"])
    older = latest_version(project / "data/01_raw/snapshots/raw_snapshot.jsonl")
    run_project(pipeline_names=["ingestion"])
    run_project(
        pipeline_names=["ingestion"],
        from_nodes=["build_examples_node"],
        load_versions={"raw_snapshot": older},
    )

    newest = tracked_runs(project)[0]
    assert newest.data.tags["version.raw_snapshot"] == older
    assert "--load-version=raw_snapshot:" + older in newest.data.tags["kedro_command"]


def test_tracking_off_writes_no_store_and_the_run_still_passes(project, run_project):
    (project / "conf/local/parameters_tracking.yml").write_text("tracking:\n  enabled: false\n")

    run_project(pipeline_names=["ingestion"])

    assert not (project / "mlruns").exists()
    assert (project / "data/08_reporting/ingestion_report.json").is_dir()


def test_off_for_one_run_with_params(project, run_project):
    run_project(pipeline_names=["ingestion"], runtime_params={"tracking": {"enabled": False}})

    assert not (project / "mlruns").exists()


def test_a_failed_run_is_closed_as_failed(project, run_project):
    (project / "data/01_raw/python_qa_pairs.csv").write_text("")  # an empty file is an error

    with pytest.raises(DatasetError, match="python_qa_pairs.csv"):
        run_project(pipeline_names=["ingestion"])

    [run] = tracked_runs(project)
    assert run.info.status == "FAILED"
    assert mlflow.active_run() is None  # the next run does not log into this one


def test_mlflow_telemetry_is_off_without_any_variable_set(project_root):
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"MLFLOW_DISABLE_TELEMETRY", "DO_NOT_TRACK", "CI", "PYTEST_CURRENT_TEST"}
    }
    probe = "import python_tutor.settings, mlflow.telemetry as t; print(t.get_telemetry_client())"
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project_root,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    assert result.stdout.strip().splitlines()[-1] == "None"


def test_metrics_of_reports_curves_and_models():
    training = {
        "backend": "hf",
        "load_in_4bit": False,
        "global_step": 2,
        "train_loss": [{"step": 1, "loss": 2.5}, {"step": 2, "loss": 2.25}],
        "val_loss": [{"step": 0, "loss": 2.75, "tokens": 10}],
        "fallbacks": ["training.sft.optim: adamw_8bit needs CUDA"],
        "peak_memory_mib": None,
    }
    assert metrics_of("training_metrics", training) == [
        ("training_metrics.global_step", 2.0, 0),
        ("training_metrics.train_loss", 2.5, 1),
        ("training_metrics.train_loss", 2.25, 2),
        ("training_metrics.val_loss.loss", 2.75, 0),
        ("training_metrics.val_loss.tokens", 10.0, 0),
    ]
    evaluation = [
        {"model": "base", "loss": 2.8, "code_run_rate": {"rate": 0.7, "total": 10}},
        {"model": "fine tuned?", "loss": 2.6, "measured": True, "version": "2026-11-29"},
    ]
    assert metrics_of("evaluation_metrics", evaluation) == [
        ("evaluation_metrics.base.loss", 2.8, 0),
        ("evaluation_metrics.base.code_run_rate.rate", 0.7, 0),
        ("evaluation_metrics.base.code_run_rate.total", 10.0, 0),
        ("evaluation_metrics.fine tuned_.loss", 2.6, 0),
    ]
    per_prompt = {"fidelity": {"agreement": 0.9, "per_prompt": [{"agreement": 1.0}]}}
    assert metrics_of("export_report", per_prompt) == [("export_report.fidelity.agreement", 0.9, 0)]


def test_tracking_off_needs_no_mlflow(monkeypatch):
    """Off means mlflow is never imported: a slim install without it (the GPU box) still runs."""
    import importlib
    from types import SimpleNamespace

    for name in ("mlflow", "mlflow.entities", "kedro_mlflow"):
        monkeypatch.setitem(sys.modules, name, None)  # any import of them raises ImportError
    monkeypatch.delitem(sys.modules, "python_tutor.tracking")  # imported afresh, then restored
    hooks = importlib.import_module("python_tutor.tracking").TrackingHooks()
    hooks.after_context_created(SimpleNamespace(params={"tracking": {"enabled": False}}))
    hooks.after_catalog_created(None, {}, {}, {}, "v", {})
    hooks.before_pipeline_run({}, None, None)
    hooks.before_node_run(SimpleNamespace(inputs=["x"]), None, {})
    hooks.after_dataset_saved("training_metrics", {"loss": 1.0})
    hooks.after_pipeline_run({}, None, None)
