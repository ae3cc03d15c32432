"""CredentialsDataset: the project's real conf hands `translation` credentials to a node."""

from __future__ import annotations

import logging

import pytest
from kedro.config import OmegaConfigLoader
from kedro.io import DataCatalog, DatasetError

from python_tutor.datasets.credentials import CredentialsDataset, Secrets
from python_tutor.settings import CONFIG_LOADER_ARGS

CANARY = "sk-canary-0f9e8d7c6b5a"


def translation_credentials(project) -> tuple[Secrets, DataCatalog]:
    """Load ``translation_credentials`` the way ``kedro run`` builds the catalog."""
    loader = OmegaConfigLoader(conf_source=str(project / "conf"), **CONFIG_LOADER_ARGS)
    catalog = DataCatalog.from_config(loader["catalog"], loader["credentials"])
    return catalog.load("translation_credentials"), catalog


class TestProjectConf:
    def test_without_local_credentials_or_variable_there_is_no_key(self, project, monkeypatch):
        monkeypatch.delenv("TRANSLATION_API_KEY", raising=False)
        secrets, _ = translation_credentials(project)
        assert dict(secrets) == {}

    def test_the_environment_variable_is_the_default(self, project, monkeypatch):
        monkeypatch.setenv("TRANSLATION_API_KEY", CANARY)
        secrets, catalog = translation_credentials(project)
        assert secrets["api_key"] == CANARY
        assert CANARY not in repr(secrets)
        assert CANARY not in repr(catalog) and CANARY not in str(catalog)

    def test_local_credentials_without_translation_still_load(self, project, monkeypatch):
        monkeypatch.delenv("TRANSLATION_API_KEY", raising=False)
        (project / "conf/local/credentials.yml").write_text(
            "kaggle:\n  username: someone\n  key: k\n", encoding="utf-8"
        )
        secrets, _ = translation_credentials(project)
        assert dict(secrets) == {}

    def test_local_credentials_win_and_keep_every_name(self, project, monkeypatch):
        monkeypatch.setenv("TRANSLATION_API_KEY", "from-the-environment")
        (project / "conf/local/credentials.yml").write_text(
            f"translation:\n  api_key: {CANARY}\n  secret_key: s3cr3t-value\n", encoding="utf-8"
        )
        secrets, _ = translation_credentials(project)
        assert dict(secrets) == {"api_key": CANARY, "secret_key": "s3cr3t-value"}
        assert repr(secrets) == "Secrets(api_key=***, secret_key=***)"


@pytest.mark.slow
def test_a_kedro_run_with_a_key_writes_it_nowhere(project, run_project, monkeypatch, caplog):
    """Parameters go to mlflow and _lineage.json; the key, through credentials, must not."""
    monkeypatch.setenv("TRANSLATION_API_KEY", CANARY)
    caplog.set_level(logging.DEBUG)
    run_project(pipeline_names=["ingestion"])
    run_project(
        pipeline_names=["translation"],
        runtime_params={"translation": {"backend": {"name": "none"}}},
    )
    written = [p for p in project.rglob("*") if p.is_file() and "conf" not in p.parts]
    assert any(p.name == "_lineage.json" for p in written)
    assert any(p.name == "mlflow.db" for p in written)
    assert [p for p in written if CANARY.encode() in p.read_bytes()] == []
    assert CANARY not in caplog.text


class TestCredentialsDataset:
    def test_describes_names_only(self):
        dataset = CredentialsDataset(credentials={"api_key": CANARY, "region": None})
        assert dict(dataset.load()) == {"api_key": CANARY}
        assert CANARY not in repr(dataset) and "api_key" in repr(dataset)

    def test_is_read_only(self):
        with pytest.raises(DatasetError, match="read-only"):
            CredentialsDataset(credentials={}).save({"api_key": CANARY})

    def test_a_plain_string_entry_is_an_error(self):
        with pytest.raises(DatasetError, match="mapping of names"):
            CredentialsDataset(credentials="sk-key-pasted-as-a-string")

    def test_redact_replaces_every_value(self):
        secrets = Secrets({"api_key": CANARY, "secret_key": "zz-top"})
        url = f"https://api.example/v2/translate?auth_key={CANARY}&secret=zz-top&text=Hi"
        assert (
            secrets.redact(url)
            == "https://api.example/v2/translate?auth_key=***&secret=***&text=Hi"
        )
