"""Custom Kedro datasets for what kedro-datasets lacks (raw sources, models, GGUF files)."""
