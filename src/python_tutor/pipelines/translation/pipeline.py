"""Translation wiring: translate (through the write-through cache), then check and report."""

from kedro.pipeline import Node, Pipeline

from .humaneval import translate_humaneval
from .nodes import check_translations, translate_examples

# What translating needs, for the examples and for HumanEval-ES alike.
ENGINE = [
    "translation_cache",
    "params:translation.backend",
    "params:translation.batching",
    "params:translation.retry",
    "params:translation.protect",
    "params:translation.segment",
]


def create_pipeline(**kwargs) -> Pipeline:
    """Two nodes, so quality settings can be re-applied with ``--from-nodes`` on cached text;
    a third builds HumanEval-ES with the same backend, protection and checks."""
    return Pipeline(
        [
            Node(
                func=translate_examples,
                inputs=[
                    "examples",
                    *ENGINE,
                    "params:translation.translate_code_comments",
                    "translation_credentials",
                    "params:translation.workers",
                ],
                outputs=["translation_candidates", "translation_run_stats"],
                name="translate_examples_node",
            ),
            Node(
                func=check_translations,
                inputs=[
                    "translation_candidates",
                    "translation_run_stats",
                    "params:translation.protect",
                    "params:translation.quality",
                    "translation_cache",
                    "params:translation.workers",
                ],
                outputs=[
                    "translated_examples",
                    "rejected_translations",
                    "translation_report",
                    "translation_quality_plot",
                ],
                name="check_translations_node",
            ),
            Node(
                func=translate_humaneval,
                inputs=[
                    "humaneval",
                    *ENGINE,
                    "translation_credentials",
                ],
                outputs=["humaneval_es", "humaneval_es_report"],
                name="translate_humaneval_node",
            ),
        ]
    )
