"""Formatting wiring: build conversations, measure and filter by length, split, report."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_conversations,
    filter_long_conversations,
    report_formatting,
    split_conversations,
)


def create_pipeline(**kwargs) -> Pipeline:
    """Four nodes; only the splits, the rejections, the report and the histogram are saved."""
    return Pipeline(
        [
            Node(
                func=build_conversations,
                inputs=[
                    "translated_examples",
                    "params:formatting.prompts",
                    "params:formatting.quality",
                ],
                outputs=["conversations", "rejected_templating"],
                name="build_conversations_node",
            ),
            Node(
                func=filter_long_conversations,
                inputs=["conversations", "base_tokenizer", "params:formatting.lengths"],
                outputs=["measured_conversations", "rejected_overlong"],
                name="filter_long_conversations_node",
            ),
            Node(
                func=split_conversations,
                inputs=["measured_conversations", "params:formatting.split"],
                outputs=["tutor_train", "tutor_val", "tutor_test", "split_assignment"],
                name="split_conversations_node",
            ),
            Node(
                func=report_formatting,
                inputs=[
                    "translated_examples",
                    "rejected_templating",
                    "rejected_overlong",
                    "split_assignment",
                    "params:formatting.lengths",
                ],
                outputs=["rejected_conversations", "formatting_report", "token_length_histogram"],
                name="report_formatting_node",
            ),
        ]
    )
