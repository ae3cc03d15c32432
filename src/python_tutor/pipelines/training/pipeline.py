"""Training wiring: train the adapter, then plot its loss curves."""

from kedro.pipeline import Node, Pipeline

from .nodes import plot_training_loss, train_lora_adapter


def create_pipeline(**kwargs) -> Pipeline:
    """Plotting is its own node so a past run's metrics can be re-plotted without training."""
    return Pipeline(
        [
            Node(
                func=train_lora_adapter,
                inputs={
                    "tutor_train": "tutor_train",
                    "tutor_val": "tutor_val",
                    "base_model": "base_model",
                    "scratch": "training_scratch",
                    "backend": "params:training.backend",
                    "model": "params:training.model",
                    "lora": "params:training.lora",
                    "sft": "params:training.sft",
                    "run": "params:training.run",
                },
                outputs=["lora_adapter", "training_metrics"],
                name="train_lora_adapter_node",
            ),
            Node(
                func=plot_training_loss,
                inputs="training_metrics",
                outputs="training_loss_plot",
                name="plot_training_loss_node",
            ),
        ]
    )
