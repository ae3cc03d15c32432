"""python-tutor: English Python examples to a Spanish-speaking Python tutor model."""

__version__ = "0.1.0"
