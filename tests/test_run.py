"""The project through KedroSession, as `kedro run` drives it: registry, versions, lineage."""

from __future__ import annotations

import json

from kedro.framework.project import pipelines
from kedro.framework.startup import bootstrap_project

from python_tutor.pipeline_registry import STAGES


def test_registry_orders_the_existing_stages(project_root):
    bootstrap_project(project_root)
    registered = [name for name in STAGES if name in dict(pipelines)]
    assert "ingestion" in registered
    default_nodes = {node.name for node in pipelines["__default__"].nodes}
    for name in registered:
        assert {node.name for node in pipelines[name].nodes} <= default_nodes


def test_ingestion_twice_gives_two_versions_and_load_versions_reads_the_older(project, run_project):
    run_project(pipeline_names=["ingestion"])
    run_project(pipeline_names=["ingestion"])
    snapshots = sorted((project / "data/01_raw/snapshots/raw_snapshot.jsonl").iterdir())
    assert len(snapshots) == 2
    older = snapshots[0].name

    # Replay the older snapshot only: the examples it yields carry its version in their lineage.
    run_project(
        pipeline_names=["ingestion"],
        from_nodes=["build_examples_node"],
        load_versions={"raw_snapshot": older},
    )
    examples_versions = sorted((project / "data/02_intermediate/examples.jsonl").iterdir())
    assert len(examples_versions) == 3
    lineage = json.loads((examples_versions[-1] / "_lineage.json").read_text())
    assert lineage["inputs"] == {"raw_snapshot": older}
    assert lineage["node"] == "build_examples_node"
    assert lineage["datasets"] == ["examples"]
    assert lineage["parameters"]["params:ingestion.limits"]["max_cell_chars"] > 0

    report_dir = sorted((project / "data/08_reporting/ingestion_report.json").iterdir())[-1]
    report = json.loads((report_dir / "ingestion_report.json").read_text())
    assert report["rows_in"] == report["kept"] + report["rejected"] + report["duplicates"]
    assert report["rows_in"] >= 150
