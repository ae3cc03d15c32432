"""Export wiring: checks first, then merge -> convert -> verify -> publish, and the report."""

from kedro.pipeline import Node, Pipeline

from .nodes import (
    build_export_report,
    check_export_inputs,
    check_gguf_fidelity,
    convert_lora_adapter,
    convert_to_gguf,
    merge_lora_adapter,
    publish_gguf,
)


def create_pipeline(**kwargs) -> Pipeline:
    """``gguf_model`` is published only after ``check_gguf_fidelity_node`` passed."""
    return Pipeline(
        [
            Node(
                func=check_export_inputs,
                inputs={
                    "lora_adapter": "lora_adapter",
                    "base_model": "base_model",
                    "scratch": "export_scratch",
                    "converter": "params:export.converter",
                    "conversion": "params:export.conversion",
                },
                outputs="export_plan",
                name="check_export_inputs_node",
            ),
            Node(
                func=merge_lora_adapter,
                inputs={"export_plan": "export_plan", "merge": "params:export.merge"},
                outputs=["merged_model", "merge_stats"],
                name="merge_lora_adapter_node",
            ),
            Node(
                func=convert_to_gguf,
                inputs={"merged_model": "merged_model", "export_plan": "export_plan"},
                outputs=["converted_gguf", "conversion_stats"],
                name="convert_to_gguf_node",
            ),
            Node(
                func=convert_lora_adapter,
                inputs={"export_plan": "export_plan"},
                outputs=["lora_gguf", "lora_conversion_stats"],
                name="convert_lora_adapter_node",
            ),
            Node(
                func=check_gguf_fidelity,
                inputs={
                    "converted_gguf": "converted_gguf",
                    "merged_model": "merged_model",
                    "export_plan": "export_plan",
                    "tutor_val": "tutor_val",
                    "fidelity": "params:export.fidelity",
                },
                outputs="fidelity_figures",
                name="check_gguf_fidelity_node",
            ),
            Node(
                func=publish_gguf,
                inputs={
                    "converted_gguf": "converted_gguf",
                    "fidelity_figures": "fidelity_figures",
                    "export_plan": "export_plan",
                    "tutor_val": "tutor_val",
                    "modelfile": "params:export.modelfile",
                },
                outputs=["gguf_model", "ollama_modelfile"],
                name="publish_gguf_node",
            ),
            Node(
                func=build_export_report,
                inputs={
                    "export_plan": "export_plan",
                    "merge_stats": "merge_stats",
                    "conversion_stats": "conversion_stats",
                    "lora_conversion_stats": "lora_conversion_stats",
                    "fidelity_figures": "fidelity_figures",
                },
                outputs="export_report",
                name="build_export_report_node",
            ),
        ]
    )
