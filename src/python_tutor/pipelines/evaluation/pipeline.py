"""Evaluation wiring: profile -> prompts -> one node per model -> scores -> paired tests ->
plots and report. The nodes live in modules named for their concern."""

from kedro.pipeline import Node, Pipeline

from .generation import evaluate_base_model, evaluate_fine_tuned_model, evaluate_gguf_model
from .plots import plot_evaluation_loss_speed, plot_evaluation_quality
from .report import write_evaluation_report
from .scoring import score_evaluation
from .selection import build_evaluation_prompts, resolve_profile
from .verdict import compare_models

TARGET = "params:evaluation.scoring.target_language"


def create_pipeline(**kwargs) -> Pipeline:
    """One node per model, so a model can be re-run alone (``--nodes evaluate_gguf_model_node``)."""
    runtime = "params:evaluation.runtime"
    generation = "evaluation_generation"
    return Pipeline(
        [
            Node(
                func=resolve_profile,
                inputs=[
                    "params:evaluation.profile",
                    "params:evaluation.profiles",
                    "params:evaluation.selection",
                    "params:evaluation.generation",
                ],
                outputs=["evaluation_selection", "evaluation_generation"],
                name="resolve_evaluation_profile_node",
            ),
            Node(
                func=build_evaluation_prompts,
                inputs=[
                    "tutor_test",
                    "evaluation_problems",
                    "humaneval_es",
                    "evaluation_selection",
                ],
                outputs="evaluation_prompts",
                name="build_evaluation_prompts_node",
            ),
            Node(
                func=evaluate_base_model,
                inputs=["evaluation_prompts", "base_model", runtime, generation],
                outputs="base_model_outputs",
                name="evaluate_base_model_node",
            ),
            Node(
                func=evaluate_fine_tuned_model,
                inputs=["evaluation_prompts", "base_model", "lora_adapter", runtime, generation],
                outputs="fine_tuned_model_outputs",
                name="evaluate_fine_tuned_model_node",
            ),
            Node(
                func=evaluate_gguf_model,
                inputs=[
                    "evaluation_prompts",
                    "gguf_model",
                    "ollama_modelfile",
                    runtime,
                    generation,
                ],
                outputs="gguf_model_outputs",
                name="evaluate_gguf_model_node",
            ),
            Node(
                func=score_evaluation,
                inputs=[
                    "evaluation_prompts",
                    "base_model_outputs",
                    "fine_tuned_model_outputs",
                    "gguf_model_outputs",
                    "params:evaluation.scoring",
                ],
                outputs=["evaluation_metrics", "evaluation_samples"],
                name="score_evaluation_node",
            ),
            Node(
                func=compare_models,
                inputs=[
                    "evaluation_metrics",
                    "evaluation_samples",
                    TARGET,
                    "params:evaluation.scoring.statistics",
                ],
                outputs="evaluation_comparisons",
                name="compare_models_node",
            ),
            Node(
                func=plot_evaluation_quality,
                inputs=["evaluation_metrics", TARGET],
                outputs="evaluation_quality_plot",
                name="plot_evaluation_quality_node",
            ),
            Node(
                func=plot_evaluation_loss_speed,
                inputs="evaluation_metrics",
                outputs="evaluation_loss_speed_plot",
                name="plot_evaluation_loss_speed_node",
            ),
            Node(
                func=write_evaluation_report,
                inputs=[
                    "evaluation_metrics",
                    "evaluation_comparisons",
                    "evaluation_samples",
                    "evaluation_prompts",
                    TARGET,
                    "params:evaluation.report",
                ],
                outputs="evaluation_report",
                name="write_evaluation_report_node",
            ),
        ]
    )
