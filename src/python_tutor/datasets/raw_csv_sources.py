"""A folder of raw CSV sources, read on demand, with optional Kaggle downloads.

Which files to read, and how their columns map, lives in parameters; this dataset only does the
IO, so the ingestion nodes stay pure and a new CSV shape needs no code.

Decoding: a source's own ``encoding`` (parameters) wins; otherwise the dataset's (UTF-8) is used
when the file decodes with it, or has only a few broken bytes among valid non-ASCII text (those
rows are rejected later as ``undecodable_bytes``). Anything else is detected with
charset-normalizer (cp1252 and latin-1 exports from Excel), and the table says which encoding
was used and how, for the ingestion report. Bytes no encoding reads as text (a ZIP, a
spreadsheet, NUL bytes) are refused naming the file.
"""

from __future__ import annotations

import codecs
import csv
import io
import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

# Bytes that are not UTF-8 decode to lone surrogates under "surrogateescape".
_UNDECODABLE = re.compile("[\udc80-\udcff]")
# A character that decoded properly and is not ASCII: the file really is in that encoding.
_DECODED_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
# Equally clean code pages (cp1250 and cp1252 read "café’s" the same) go to the one Windows uses
# for Western languages, which is what Excel writes for English data.
_PREFERRED_CODE_PAGE = "cp1252"


@dataclass(frozen=True)
class RawTable:
    """The cells of one CSV exactly as read, all strings, plus where they came from.

    Attributes:
        frame: One row per data row, one string column per CSV column.
        origin: The file the rows were read from (local path or Kaggle cache path).
        undecodable: Row index -> columns whose bytes were not valid UTF-8; those cells hold
            the bytes as ``\\xNN`` escapes so nothing is lost.
        encoding: ``{"used": codec name, "how": "configured" | "default" | "detected"}``.
    """

    frame: pd.DataFrame
    origin: str
    undecodable: dict[int, list[str]] = field(default_factory=dict)
    encoding: dict[str, str] = field(default_factory=dict)


class RawCSVReader:
    """Reads one named CSV of the raw folder, downloading it from Kaggle when asked and able."""

    def __init__(
        self,
        root: str,
        fs: fsspec.AbstractFileSystem,
        encoding: str,
        credentials: dict[str, str] | None,
    ) -> None:
        self._root = root
        self._fs = fs
        self._encoding = encoding
        self._credentials = credentials

    def read(self, file: str, kaggle: str | None = None, encoding: str | None = None) -> RawTable:
        """Read ``file`` (relative to the raw folder), from Kaggle if ``kaggle`` names a dataset.

        Args:
            file: The CSV, relative to the raw folder.
            kaggle: ``owner/dataset`` to download it from, when credentials exist.
            encoding: The source's own encoding (``cp1252``); None: the dataset's, or detected.

        Raises:
            DatasetError: the file is missing, empty, not text or not a CSV, or ``encoding`` is
                unknown; the message names the file.
        """
        path = self._kaggle_path(kaggle, file) if kaggle else None
        if path is None:
            path = str(PurePosixPath(self._root) / file)
            if not self._fs.exists(path):
                available = sorted(PurePosixPath(p).name for p in self._fs.ls(self._root))
                raise DatasetError(
                    f"Raw source file '{path}' does not exist. Files in '{self._root}': "
                    f"{', '.join(available) or 'none'}. Fix `file:` in "
                    "conf/base/parameters_ingestion.yml or add the file."
                )
        with self._fs.open(path, "rb") as stream:
            raw = stream.read()
        if not raw.strip():
            raise DatasetError(f"Raw source file '{path}' is empty (0 data bytes).")
        text, used = decode_text(raw, path, encoding, self._encoding)
        return replace(_parse_csv(text, path), encoding=used)

    def _kaggle_path(self, handle: str, file: str) -> str | None:
        """Download ``handle`` with kagglehub when credentials exist; None: use the local file.

        The catalog's credentials (``conf/local/credentials.yml``) are lent to kagglehub for
        this download only; without them kagglehub reads ``KAGGLE_USERNAME``/``KAGGLE_KEY``.
        """
        import kagglehub  # noqa: PLC0415 - only sources that name Kaggle need it
        from kagglehub.config import (  # noqa: PLC0415
            clear_kaggle_credentials,
            get_kaggle_credentials,
            set_kaggle_credentials,
        )

        if self._credentials:
            set_kaggle_credentials(*_kaggle_token(self._credentials))
        try:
            if get_kaggle_credentials() is None:
                logger.info(
                    "No Kaggle credentials (conf/local/credentials.yml or KAGGLE_USERNAME/"
                    "KAGGLE_KEY): using the local copy of '%s' for %s.",
                    file,
                    handle,
                )
                return None
            folder = kagglehub.dataset_download(handle)
        except Exception as err:  # kagglehub raises many kinds; all mean "not downloaded"
            logger.warning(
                "Kaggle download of %s failed (%s): using the local copy of '%s'.",
                handle,
                _redacted(str(err), self._credentials),
                file,
            )
            return None
        finally:
            if self._credentials:  # kagglehub keeps them process-wide; the loan ends here
                clear_kaggle_credentials()
        candidate = Path(folder) / PurePosixPath(file).name
        if not candidate.exists():
            raise DatasetError(
                f"Kaggle dataset {handle} was downloaded to '{folder}' but has no file "
                f"'{candidate.name}'; it holds: "
                f"{', '.join(sorted(p.name for p in Path(folder).iterdir()))}"
            )
        logger.info("Downloaded %s from Kaggle to %s.", handle, candidate)
        return str(candidate)


def _kaggle_token(credentials: dict[str, Any]) -> tuple[str, str]:
    """``(username, key)`` of the ``kaggle`` credentials, or an error naming what is missing."""
    missing = [name for name in ("username", "key") if not credentials.get(name)]
    if missing:
        raise DatasetError(
            f"Kaggle credentials in conf/local/credentials.yml lack {' and '.join(missing)}: "
            "the `kaggle` entry needs `username` and `key` (your Kaggle API token); see "
            "conf/local/credentials.yml.template."
        )
    return str(credentials["username"]), str(credentials["key"])


def _redacted(message: str, credentials: dict[str, Any] | None) -> str:
    """``message`` with every credential value masked, so an error text cannot log a key."""
    for value in (credentials or {}).values():
        if value:
            message = message.replace(str(value), "***")
    return message


def decode_text(
    raw: bytes, path: str, configured: str | None, default: str
) -> tuple[str, dict[str, str]]:
    """The file's text, and which encoding gave it and how it was chosen.

    Raises:
        DatasetError: ``configured`` is no known codec, or the bytes are not text.
    """
    if configured:
        try:
            used = codecs.lookup(configured).name
        except LookupError as err:
            raise DatasetError(
                f"Raw source file '{path}': unknown encoding {configured!r} (`encoding:` of its "
                "source in conf/base/parameters_ingestion.yml)"
            ) from err
        return _text(raw.decode(used, errors="surrogateescape"), path), _how(used, "configured")
    text = raw.decode(default, errors="surrogateescape")
    if "\x00" not in text and (not _UNDECODABLE.search(text) or _DECODED_NON_ASCII.search(text)):
        return text, _how(default, "default")
    detected = _detect(raw)
    if detected is None:
        raise DatasetError(_not_text(path))
    logger.warning(
        "'%s' is not valid %s: decoded as %s (detected by charset-normalizer). Set `encoding: "
        "%s` on its source in parameters_ingestion.yml to make that explicit.",
        path,
        default,
        detected,
        detected,
    )
    return _text(raw.decode(detected, errors="surrogateescape"), path), _how(detected, "detected")


def _detect(raw: bytes) -> str | None:
    """The encoding charset-normalizer finds cleanest, None when nothing decodes it as text."""
    import charset_normalizer  # noqa: PLC0415 - only files that are not UTF-8 need it

    matches = charset_normalizer.from_bytes(raw)
    best = matches.best()
    if best is None:
        return None
    tied = {  # could_be_from_charset: the code pages that give the very same text
        codecs.lookup(name).name
        for match in matches
        if match.chaos == best.chaos
        for name in match.could_be_from_charset
    }
    return (
        _PREFERRED_CODE_PAGE if _PREFERRED_CODE_PAGE in tied else codecs.lookup(best.encoding).name
    )


def _how(encoding: str, how: str) -> dict[str, str]:
    return {"used": codecs.lookup(encoding).name, "how": how}


def _text(text: str, path: str) -> str:
    """``text`` unless it holds NUL characters, which no CSV has and binary files do."""
    if "\x00" in text:
        raise DatasetError(_not_text(path))
    return text


def _not_text(path: str) -> str:
    return (
        f"Raw source file '{path}' is not text (binary data: NUL bytes, or no character "
        "encoding reads it); give a CSV export (a spreadsheet saved as CSV, an unzipped file)."
    )


@contextmanager
def _field_limit(size: int) -> Iterator[None]:
    """Let the csv module read cells up to ``size`` characters, then restore its limit.

    Its default (131,072) would fail the whole file on one huge cell; ingestion rejects that
    row instead (``max_cell_chars``, reason ``oversized_cell``) and keeps the others.
    """
    previous = csv.field_size_limit()
    csv.field_size_limit(max(previous, size))
    try:
        yield
    finally:
        csv.field_size_limit(previous)


def _parse_csv(text: str, path: str) -> RawTable:
    """Parse with the csv module (strings only, no type guessing) and locate undecodable bytes.

    Undecodable bytes become ``\\xNN`` escapes so every later step sees valid text.
    """
    try:
        with _field_limit(len(text)):
            header, *rows = csv.reader(io.StringIO(text, newline=""))
    except csv.Error as err:
        raise DatasetError(f"Raw source file '{path}' is not a readable CSV: {err}") from err
    undecodable: dict[int, list[str]] = {}
    cleaned = []
    for index, row in enumerate(rows):
        if len(row) != len(header):
            raise DatasetError(
                f"Raw source file '{path}' row {index + 1}: {len(row)} fields, the header "
                f"has {len(header)}"
            )
        bad = [name for name, cell in zip(header, row) if _UNDECODABLE.search(cell)]
        if bad:
            undecodable[index] = bad
        cleaned.append([_escape(cell) for cell in row] if bad else row)
    return RawTable(pd.DataFrame(cleaned, columns=header, dtype=object), path, undecodable)


def _escape(cell: str) -> str:
    return cell.encode("utf-8", "surrogateescape").decode("utf-8", "backslashreplace")


class RawCSVSourcesDataset(AbstractDataset[object, RawCSVReader]):
    """A read-only folder of raw CSVs; ``load`` returns a reader the ingestion node asks per file.

    Example catalog entry::

        raw_sources:
          type: python_tutor.datasets.raw_csv_sources.RawCSVSourcesDataset
          path: data/01_raw
          encoding: utf-8       # tried first; a source's own `encoding` parameter wins
          credentials: kaggle   # conf/local/credentials.yml; KAGGLE_USERNAME/KAGGLE_KEY work too
    """

    def __init__(
        self,
        *,
        path: str,
        encoding: str = "utf-8",
        credentials: dict[str, Any] | None = None,
        fs_args: dict[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        protocol, root = fsspec.core.split_protocol(path)
        self._protocol = protocol or "file"
        self._root = root
        self._fs = fsspec.filesystem(self._protocol, **(fs_args or {}))
        self._encoding = encoding
        self._credentials = credentials
        self.metadata = metadata

    def load(self) -> RawCSVReader:
        """Return a reader over the folder; files are only read when the node asks for them."""
        if not self._fs.isdir(self._root):
            raise DatasetError(f"Raw data folder '{self._root}' does not exist.")
        return RawCSVReader(self._root, self._fs, self._encoding, self._credentials)

    def save(self, data: object) -> None:
        """Raw data is never written by the pipeline."""
        raise DatasetError("RawCSVSourcesDataset is read-only: raw data is never overwritten.")

    def _exists(self) -> bool:
        return self._fs.isdir(self._root)

    def _describe(self) -> dict[str, Any]:
        return {"path": self._root, "protocol": self._protocol, "encoding": self._encoding}
