"""Export: merge the LoRA adapter, convert it to GGUF with llama.cpp, verify it, add a Modelfile."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
