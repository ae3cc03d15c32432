"""`kedro tutor versions` and `kedro tutor rollback`, driven as a user would."""

from __future__ import annotations

import json

from click.testing import CliRunner

from python_tutor.cli import cli
from python_tutor.parameters.validation import ParametersError


def invoke(*args: str):
    result = CliRunner().invoke(cli, ["tutor", *args])
    return result


def test_versions_rollback_and_undo(project, run_project):
    run_project(pipeline_names=["ingestion"])
    run_project(pipeline_names=["ingestion"])
    older, newer = sorted(
        p.name for p in (project / "data/01_raw/snapshots/raw_snapshot.jsonl").iterdir()
    )

    listing = invoke("versions", "raw_snapshot", "examples")
    assert listing.exit_code == 0, listing.output
    rows = [line for line in listing.output.splitlines() if "raw_snapshot" in line and "│" in line]
    assert len(rows) >= 2
    assert "*" in next(r for r in rows if newer in r and r.split("│")[2].strip() == "raw_snapshot")
    assert f"raw_snapshot@{newer}" in listing.output  # lineage of the newest examples

    pinned = invoke("rollback", "raw_snapshot", older)
    assert pinned.exit_code == 0, pinned.output
    assert (project / "conf/local/pins.yml").is_file()
    run_project(pipeline_names=["ingestion"], from_nodes=["build_examples_node"])
    newest_examples = sorted((project / "data/02_intermediate/examples.jsonl").iterdir())[-1]
    assert json.loads((newest_examples / "_lineage.json").read_text())["inputs"] == {
        "raw_snapshot": older
    }
    assert "* pinned" in invoke("versions", "raw_snapshot").output

    undone = invoke("rollback", "raw_snapshot", "--latest")
    assert undone.exit_code == 0 and not (project / "conf/local/pins.yml").exists()
    run_project(pipeline_names=["ingestion"], from_nodes=["build_examples_node"])
    newest_examples = sorted((project / "data/02_intermediate/examples.jsonl").iterdir())[-1]
    lineage = json.loads((newest_examples / "_lineage.json").read_text())
    assert lineage["inputs"] == {"raw_snapshot": newer}
    # Nothing was deleted along the way.
    assert len(list((project / "data/01_raw/snapshots/raw_snapshot.jsonl").iterdir())) == 2


def test_rollback_rejects_unknown_dataset_and_version(project, run_project):
    run_project(pipeline_names=["ingestion"])
    unknown_version = invoke("rollback", "raw_snapshot", "1999-01-01T00.00.00.000Z")
    assert unknown_version.exit_code != 0
    assert "has no version '1999-01-01T00.00.00.000Z'" in unknown_version.output
    unknown_dataset = invoke("rollback", "nope", "x")
    assert unknown_dataset.exit_code != 0 and "not a versioned dataset" in unknown_dataset.output
    assert invoke("rollback", "raw_snapshot").exit_code != 0  # neither VERSION nor --latest


def test_a_failed_run_ends_in_one_error_line(project):
    """`kedro run` is Kedro's own, options and all; a failure is one line, not a traceback."""
    conf = ["--conf-source", str(project / "conf"), "--pipelines", "ingestion"]
    params = ["--params", "ingestion.sources=7,tracking.enabled=false"]
    failed = CliRunner().invoke(cli, ["run", *conf, *params])
    assert failed.exit_code == 1
    last = failed.output.strip().splitlines()[-1]
    assert last == (
        "Error: kedro run failed: ParametersError: Invalid parameter ingestion.sources: Input "
        "should be a valid list; got 7 (--params) (the log above names the node; --traceback "
        "shows where)"
    )
    assert "Traceback" not in failed.output
    shown = CliRunner().invoke(cli, ["run", *conf, *params, "--traceback"])
    assert isinstance(shown.exception, ParametersError)  # raised as is: Kedro prints it
    passed = CliRunner().invoke(cli, ["run", *conf, "--params", "tracking.enabled=false"])
    assert passed.exit_code == 0, passed.output
    assert (project / "data/02_intermediate/examples.jsonl").is_dir()
