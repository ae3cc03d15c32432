"""A folder of raw CSV sources, read on demand, with optional Kaggle downloads.

Which files to read, and how their columns map, lives in parameters; this dataset only does the
IO, so the ingestion nodes stay pure and a new CSV shape needs no code.
"""

from __future__ import annotations

import csv
import io
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any

import fsspec
import pandas as pd
from kedro.io import AbstractDataset, DatasetError

logger = logging.getLogger(__name__)

# Bytes that are not UTF-8 decode to lone surrogates under "surrogateescape".
_UNDECODABLE = re.compile("[\udc80-\udcff]")


@dataclass(frozen=True)
class RawTable:
    """The cells of one CSV exactly as read, all strings, plus where they came from.

    Attributes:
        frame: One row per data row, one string column per CSV column.
        origin: The file the rows were read from (local path or Kaggle cache path).
        undecodable: Row index -> columns whose bytes were not valid UTF-8; those cells hold
            the bytes as ``\\xNN`` escapes so nothing is lost.
    """

    frame: pd.DataFrame
    origin: str
    undecodable: dict[int, list[str]] = field(default_factory=dict)


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

    def read(self, file: str, kaggle: str | None = None) -> RawTable:
        """Read ``file`` (relative to the raw folder), from Kaggle if ``kaggle`` names a dataset.

        Raises:
            DatasetError: the file is missing, empty or not a CSV; the message names the file.
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
        text = raw.decode(self._encoding, errors="surrogateescape")
        return _parse_csv(text, path)

    def _kaggle_path(self, handle: str, file: str) -> str | None:
        """Download ``handle`` with kagglehub when credentials exist; None: use the local file."""
        import kagglehub  # noqa: PLC0415 - only sources that name Kaggle need it
        from kagglehub.config import (  # noqa: PLC0415
            get_kaggle_credentials,
            set_kaggle_credentials,
        )

        if self._credentials:
            set_kaggle_credentials(self._credentials["username"], self._credentials["key"])
        if get_kaggle_credentials() is None:
            logger.info(
                "No Kaggle credentials (conf/local/credentials.yml or KAGGLE_USERNAME/KAGGLE_KEY):"
                " using the local copy of '%s' for %s.",
                file,
                handle,
            )
            return None
        try:
            folder = kagglehub.dataset_download(handle)
        except Exception as err:  # kagglehub raises many kinds; all mean "not downloaded"
            logger.warning(
                "Kaggle download of %s failed (%s): using the local copy of '%s'.",
                handle,
                err,
                file,
            )
            return None
        candidate = Path(folder) / PurePosixPath(file).name
        if not candidate.exists():
            raise DatasetError(
                f"Kaggle dataset {handle} was downloaded to '{folder}' but has no file "
                f"'{candidate.name}'; it holds: "
                f"{', '.join(sorted(p.name for p in Path(folder).iterdir()))}"
            )
        logger.info("Downloaded %s from Kaggle to %s.", handle, candidate)
        return str(candidate)


def _parse_csv(text: str, path: str) -> RawTable:
    """Parse with the csv module (strings only, no type guessing) and locate undecodable bytes.

    Undecodable bytes become ``\\xNN`` escapes so every later step sees valid text.
    """
    try:
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
          encoding: utf-8
          # credentials: kaggle   # optional; kagglehub also reads KAGGLE_USERNAME/KAGGLE_KEY
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
