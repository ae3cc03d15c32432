"""TranslationCacheDataset: an open cache that persists every put, keyed by backend."""

from __future__ import annotations

import pytest
from kedro.io import DatasetError

from python_tutor.datasets.translation_cache import TranslationCacheDataset, cache_key


class TestTranslationCacheDataset:
    def test_save_and_load(self, tmp_path):
        source = TranslationCacheDataset(path=str(tmp_path / "a")).load()
        source.put_many("apertium:eng-spa", [("Hello.", "Hola.")])
        target = TranslationCacheDataset(path=str(tmp_path / "b"))
        target.save(source)
        assert target.load().get_many("apertium:eng-spa", ["Hello.", "Bye."]) == {"Hello.": "Hola."}

    def test_puts_are_on_disk_without_save(self, tmp_path):
        dataset = TranslationCacheDataset(path=str(tmp_path / "c"))
        dataset.load().put_many("b", [("x", "y")])
        assert dataset.load().get_many("b", ["x"]) == {"x": "y"}
        assert dataset.load().get_many("other", ["x"]) == {}

    def test_exists(self, tmp_path):
        dataset = TranslationCacheDataset(path=str(tmp_path / "d"))
        assert not dataset.exists()
        dataset.load()
        assert dataset.exists()

    def test_load_unwritable_path(self, tmp_path):
        blocker = tmp_path / "file"
        blocker.write_text("not a folder")
        with pytest.raises(DatasetError, match="Cannot open translation cache"):
            TranslationCacheDataset(path=str(blocker / "cache")).load()


def test_cache_key_separates_backends_and_texts():
    assert cache_key("a", "x") != cache_key("b", "x") != cache_key("a", "y")
    assert cache_key("a", "x").startswith("a:")
