"""Evaluation: base vs fine-tuned vs GGUF on held-out data and a Spanish problem set."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
