"""A persistent, write-through cache of translated segments (diskcache, SQLite underneath).

Why this IO lives in a dataset object and not in a node's return value: translating is the
slow, interruptible step, and a run killed halfway must keep every batch it already paid
for. A node's outputs are only saved when it returns, so the dataset hands the node an open
cache that commits each batch as it arrives; a re-run finds those segments and sends only the
rest. The key is the backend's ``cache_id`` (backend and language pair) plus the SHA-256 of the
source segment, so switching backends never serves another engine's translation.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError


def cache_key(backend_id: str, text: str) -> str:
    """``backend_id:sha256(text)``; the source text itself is stored beside the translation."""
    return f"{backend_id}:{hashlib.sha256(text.encode('utf-8')).hexdigest()}"


class TranslationCache:
    """Segment translations by backend, persisted on every ``put_many``."""

    def __init__(self, directory: str | Path) -> None:
        import diskcache  # noqa: PLC0415 - only the translation stage needs it

        # No size limit, no eviction: a cache that forgets would re-translate silently.
        self._cache = diskcache.Cache(str(directory), eviction_policy="none", size_limit=2**62)
        self.directory = str(directory)

    def get_many(self, backend_id: str, texts: Iterable[str]) -> dict[str, str]:
        """Cached translations of ``texts`` (only those found)."""
        found = {}
        for text in texts:
            entry = self._cache.get(cache_key(backend_id, text))
            if entry is not None:
                found[text] = entry[1]
        return found

    def put_many(self, backend_id: str, pairs: Iterable[tuple[str, str]]) -> None:
        """Store translations in one transaction; they are on disk when this returns."""
        with self._cache.transact():
            for source, translation in pairs:
                self._cache.set(cache_key(backend_id, source), (source, translation))

    def items(self) -> Iterator[tuple[str, tuple[str, str]]]:
        """Every (key, (source, translation)) in the cache."""
        for key in self._cache.iterkeys():
            yield key, self._cache[key]

    def __len__(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        """Close the database handles."""
        self._cache.close()


class TranslationCacheDataset(AbstractDataset[TranslationCache, TranslationCache]):
    """Loads an open ``TranslationCache`` the translation node writes through; not versioned.

    Example catalog entry::

        translation_cache:
          type: python_tutor.datasets.translation_cache.TranslationCacheDataset
          path: data/02_intermediate/translation_cache
    """

    def __init__(self, *, path: str, metadata: dict[str, Any] | None = None) -> None:
        self._path = Path(path)
        self.metadata = metadata

    def load(self) -> TranslationCache:
        """Open (or create) the cache directory."""
        try:
            self._path.mkdir(parents=True, exist_ok=True)
            return TranslationCache(self._path)
        except OSError as err:
            raise DatasetError(f"Cannot open translation cache at '{self._path}': {err}") from err

    def save(self, data: TranslationCache) -> None:
        """Merge another cache's entries into this one (e.g. a cache built on another machine)."""
        if Path(data.directory).resolve() == self._path.resolve():
            return  # already written through
        target = self.load()
        try:
            with target._cache.transact():  # noqa: SLF001 - same module
                for key, value in data.items():
                    target._cache.set(key, value)  # noqa: SLF001
        finally:
            target.close()

    def _exists(self) -> bool:
        return (self._path / "cache.db").exists()

    def _describe(self) -> dict[str, Any]:
        return {"path": str(self._path)}
