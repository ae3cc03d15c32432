"""The project's pipelines, one package each, found by ``find_pipelines``."""
