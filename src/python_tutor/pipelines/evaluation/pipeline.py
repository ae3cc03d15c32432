"""Evaluation wiring: prompts -> one node per model -> scores -> plots and report."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_evaluation_prompts,
    evaluate_base_model,
    evaluate_fine_tuned_model,
    evaluate_gguf_model,
    plot_evaluation_loss_speed,
    plot_evaluation_quality,
    score_evaluation,
    write_evaluation_report,
)


def create_pipeline(**kwargs) -> Pipeline:
    """One node per model, so a model can be re-run alone (``--nodes evaluate_gguf_model_node``)."""
    runtime = "params:evaluation.runtime"
    generation = "params:evaluation.generation"
    return Pipeline(
        [
            Node(
                func=build_evaluation_prompts,
                inputs=["tutor_test", "evaluation_problems", "params:evaluation.selection"],
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
                func=plot_evaluation_quality,
                inputs=["evaluation_metrics", "params:evaluation.scoring.target_language"],
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
                    "evaluation_samples",
                    "evaluation_prompts",
                    "params:evaluation.scoring.target_language",
                    "params:evaluation.report",
                ],
                outputs="evaluation_report",
                name="write_evaluation_report_node",
            ),
        ]
    )
