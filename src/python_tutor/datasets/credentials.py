"""One entry of conf/*/credentials.yml handed to a node, with values that never print.

Why a dataset: Kedro passes credentials to datasets only, never to nodes, and parameters are
logged (kedro-mlflow) and written into ``_lineage.json``. A translator's API key therefore
travels as this dataset's load result: a read-only mapping whose ``repr``, like the dataset's
own description, names the keys but never shows a value.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from kedro.io import AbstractDataset, DatasetError


class Secrets(Mapping[str, Any]):
    """Credential values by name; empty values are dropped, ``repr`` masks every value."""

    def __init__(self, values: Mapping[str, Any] | None = None) -> None:
        self._values = {k: v for k, v in (values or {}).items() if v not in (None, "")}

    def __getitem__(self, key: str) -> Any:
        return self._values[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __repr__(self) -> str:
        return f"Secrets({', '.join(f'{key}=***' for key in self._values)})"

    def redact(self, text: str) -> str:
        """``text`` with every secret value replaced by ``***`` (for error details)."""
        for value in self._values.values():
            if isinstance(value, str) and value:
                text = text.replace(value, "***")
        return text


class CredentialsDataset(AbstractDataset[Any, Secrets]):
    """Loads the credentials entry named in the catalog as ``Secrets``; read-only.

    Example catalog entry (``translation`` is a key of credentials.yml)::

        translation_credentials:
          type: python_tutor.datasets.credentials.CredentialsDataset
          credentials: translation
    """

    def __init__(
        self,
        *,
        credentials: Mapping[str, Any] | None = None,
        metadata: dict[str, Any] | None = None,
    ) -> None:
        if credentials is not None and not isinstance(credentials, Mapping):
            raise DatasetError(
                "credentials.yml: a CredentialsDataset entry must be a mapping of names to "
                f"values (e.g. {{api_key: ...}}), got {type(credentials).__name__}"
            )
        self._secrets = Secrets(credentials)
        self.metadata = metadata

    def load(self) -> Secrets:
        """The non-empty credential values."""
        return self._secrets

    def save(self, data: Any) -> None:
        """Credentials are configuration, never pipeline output."""
        raise DatasetError("CredentialsDataset is read-only: edit conf/local/credentials.yml.")

    def _exists(self) -> bool:
        return True

    def _describe(self) -> dict[str, Any]:
        return {"keys": sorted(self._secrets)}
