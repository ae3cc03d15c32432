"""Ingestion wiring: snapshot the raw CSVs, then build the canonical examples from the snapshot."""

from kedro.pipeline import Node, Pipeline

from .nodes import build_examples, snapshot_raw_sources


def create_pipeline(**kwargs) -> Pipeline:
    """Two nodes, so a past snapshot can be replayed with ``--from-nodes build_examples_node``."""
    return Pipeline(
        [
            Node(
                func=snapshot_raw_sources,
                inputs=["raw_sources", "params:ingestion.sources"],
                outputs="raw_snapshot",
                name="snapshot_raw_sources_node",
            ),
            Node(
                func=build_examples,
                inputs=["raw_snapshot", "params:ingestion.sources", "params:ingestion.limits"],
                outputs=["examples", "rejected_examples", "ingestion_report"],
                name="build_examples_node",
            ),
        ]
    )
