"""Translation: English examples to Spanish, code kept byte for byte, cached and resumable."""

from .pipeline import create_pipeline

__all__ = ["create_pipeline"]
