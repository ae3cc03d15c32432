"""Ingestion: raw Kaggle-style CSVs to one canonical, validated table of English examples."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
