"""Formatting: Spanish translated examples to chat conversations the trainer reads, split."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
