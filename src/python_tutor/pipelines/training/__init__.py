"""Training: LoRA fine-tuning of the base model on the Spanish tutor conversations."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
