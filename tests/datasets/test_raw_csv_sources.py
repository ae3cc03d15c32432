"""RawCSVSourcesDataset: local reads, decoding, bad files and the Kaggle path (stubbed)."""

from __future__ import annotations

import csv
import re
import zipfile
from pathlib import Path

import pytest
from kedro.io import DatasetError

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset
from tests.raw_files import SAMPLE_QA, data_dump_cell, excel_cp1252_export


@pytest.fixture
def raw_dir(tmp_path: Path) -> Path:
    (tmp_path / "good.csv").write_text(
        'q,a\n"What is x?","An ""answer""\nwith two lines"\n', encoding="utf-8"
    )
    return tmp_path


class TestRawCSVSourcesDataset:
    def test_reads_strings_exactly(self, raw_dir):
        table = RawCSVSourcesDataset(path=str(raw_dir)).load().read("good.csv")
        assert table.frame.to_dict(orient="records") == [
            {"q": "What is x?", "a": 'An "answer"\nwith two lines'}
        ]
        assert table.undecodable == {}

    def test_keeps_empty_cells_as_empty_strings(self, tmp_path):
        (tmp_path / "e.csv").write_text("q,a\nNA,\n", encoding="utf-8")
        table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("e.csv")
        assert table.frame.to_dict(orient="records") == [{"q": "NA", "a": ""}]

    def test_missing_file_names_it_and_lists_the_folder(self, raw_dir):
        reader = RawCSVSourcesDataset(path=str(raw_dir)).load()
        with pytest.raises(DatasetError, match=r"nope\.csv' does not exist.*good\.csv"):
            reader.read("nope.csv")

    def test_empty_file_is_an_error(self, tmp_path):
        (tmp_path / "empty.csv").write_bytes(b"\n  \n")
        with pytest.raises(DatasetError, match=r"empty\.csv' is empty"):
            RawCSVSourcesDataset(path=str(tmp_path)).load().read("empty.csv")

    def test_undecodable_bytes_are_escaped_and_located(self, tmp_path):
        # a UTF-8 file (caf\xc3\xa9) with two stray bytes: it stays UTF-8, the bytes are marked
        (tmp_path / "bad.csv").write_bytes(b"q,a\ncaf\xc3\xa9,ok\nbroken \xff\xfe,ok\n")
        table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("bad.csv")
        assert table.undecodable == {1: ["q"]}
        assert table.frame.at[1, "q"] == "broken \\xff\\xfe"
        assert table.encoding == {"used": "utf-8", "how": "default"}

    def test_missing_folder(self, tmp_path):
        with pytest.raises(DatasetError, match="does not exist"):
            RawCSVSourcesDataset(path=str(tmp_path / "absent")).load()

    def test_is_read_only(self, raw_dir):
        with pytest.raises(DatasetError, match="read-only"):
            RawCSVSourcesDataset(path=str(raw_dir)).save(object())

    def test_exists_and_describe(self, raw_dir, tmp_path):
        assert RawCSVSourcesDataset(path=str(raw_dir)).exists()
        assert not RawCSVSourcesDataset(path=str(tmp_path / "x")).exists()
        assert "good" not in str(RawCSVSourcesDataset(path=str(raw_dir)))


@pytest.fixture
def kaggle_env(tmp_path, monkeypatch):
    """No Kaggle credentials from this machine: no variables, no ~/.kaggle/kaggle.json."""
    for name in ("KAGGLE_USERNAME", "KAGGLE_KEY", "KAGGLE_API_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("KAGGLE_CONFIG_DIR", str(tmp_path / "no_kaggle_config"))


class TestKaggleDownload:
    def test_without_credentials_uses_local_file(self, raw_dir, monkeypatch, caplog):
        import kagglehub

        monkeypatch.setattr("kagglehub.config.get_kaggle_credentials", lambda: None)
        monkeypatch.setattr(
            kagglehub, "dataset_download", lambda *a, **k: pytest.fail("must not download")
        )
        with caplog.at_level("INFO"):
            table = (
                RawCSVSourcesDataset(path=str(raw_dir)).load().read("good.csv", kaggle="owner/data")
            )
        assert table.origin.endswith("good.csv") and str(raw_dir) in table.origin
        assert "No Kaggle credentials" in caplog.text

    def test_catalog_credentials_are_lent_to_kagglehub_for_the_download_only(
        self, raw_dir, tmp_path, kaggle_env, monkeypatch
    ):
        import kagglehub
        from kagglehub.config import get_kaggle_credentials

        downloaded = tmp_path / "kaggle_cache"
        downloaded.mkdir()
        (downloaded / "good.csv").write_text("q,a\nfrom,kaggle\n", encoding="utf-8")
        seen = []

        def download(handle, **kw):
            credentials = get_kaggle_credentials()
            seen.append((handle, credentials.username, credentials.key))
            return str(downloaded)

        monkeypatch.setattr(kagglehub, "dataset_download", download)
        dataset = RawCSVSourcesDataset(
            path=str(raw_dir), credentials={"username": "u", "key": "kaggle-key-7e1"}
        )
        table = dataset.load().read("good.csv", kaggle="owner/data")
        assert seen == [("owner/data", "u", "kaggle-key-7e1")]
        assert table.origin == str(downloaded / "good.csv")
        assert table.frame.to_dict(orient="records") == [{"q": "from", "a": "kaggle"}]
        assert get_kaggle_credentials() is None  # not left behind in the process
        assert "kaggle-key-7e1" not in str(dataset)  # what Kedro logs on every load

    def test_environment_variables_work_without_a_credentials_file(
        self, raw_dir, tmp_path, kaggle_env, monkeypatch
    ):
        import kagglehub
        from kagglehub.config import get_kaggle_credentials

        monkeypatch.setenv("KAGGLE_USERNAME", "env-user")
        monkeypatch.setenv("KAGGLE_KEY", "env-key")
        seen = []
        monkeypatch.setattr(
            kagglehub,
            "dataset_download",
            lambda handle, **kw: seen.append(get_kaggle_credentials().username) or str(raw_dir),
        )
        # {} is what the catalog passes when only conf/base/credentials.yml exists
        RawCSVSourcesDataset(path=str(raw_dir), credentials={}).load().read("good.csv", "o/d")
        assert seen == ["env-user"]

    def test_incomplete_credentials_name_what_is_missing(self, raw_dir, kaggle_env):
        dataset = RawCSVSourcesDataset(path=str(raw_dir), credentials={"username": "u"})
        with pytest.raises(DatasetError, match=r"credentials.yml lack key: the `kaggle` entry"):
            dataset.load().read("good.csv", kaggle="owner/data")

    def test_a_failed_download_never_logs_the_key(self, raw_dir, kaggle_env, monkeypatch, caplog):
        import kagglehub

        def unauthorized(handle, **kw):
            raise PermissionError("401 for user u with key s3cr3t-kaggle-key")

        monkeypatch.setattr(kagglehub, "dataset_download", unauthorized)
        dataset = RawCSVSourcesDataset(
            path=str(raw_dir), credentials={"username": "u", "key": "s3cr3t-kaggle-key"}
        )
        dataset.load().read("good.csv", kaggle="o/d")
        assert "Kaggle download of o/d failed" in caplog.text
        assert "s3cr3t-kaggle-key" not in caplog.text and "key ***" in caplog.text

    def test_failed_download_falls_back_with_a_warning(self, raw_dir, monkeypatch, caplog):
        import kagglehub

        def offline(handle, **kw):
            raise ConnectionError("no network")

        monkeypatch.setattr("kagglehub.config.get_kaggle_credentials", object)
        monkeypatch.setattr(kagglehub, "dataset_download", offline)
        table = RawCSVSourcesDataset(path=str(raw_dir)).load().read("good.csv", kaggle="o/d")
        assert table.origin.endswith("good.csv")
        assert "Kaggle download of o/d failed" in caplog.text


def test_ragged_row_names_file_and_row(tmp_path):
    (tmp_path / "r.csv").write_text("q,a\n1,2\n3,4,5\n", encoding="utf-8")
    with pytest.raises(DatasetError, match=r"r\.csv' row 2: 3 fields, the header has 2"):
        RawCSVSourcesDataset(path=str(tmp_path)).load().read("r.csv")


class TestEncodings:
    def test_a_configured_cp1252_source_reads_exactly(self, tmp_path):
        data, rows = excel_cp1252_export()
        assert b"\x92" in data and b"\xe9" in data and b"\r\n" in data  # really Windows-1252
        (tmp_path / "qa.csv").write_bytes(data)
        table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("qa.csv", encoding="cp1252")
        assert table.frame.to_dict(orient="records") == rows
        assert table.encoding == {"used": "cp1252", "how": "configured"}
        assert table.undecodable == {}

    def test_cp1252_without_configuration_is_detected_and_said(self, tmp_path, caplog):
        data, rows = excel_cp1252_export()
        (tmp_path / "qa.csv").write_bytes(data)
        with caplog.at_level("WARNING"):
            table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("qa.csv")
        assert table.frame.to_dict(orient="records") == rows
        assert table.encoding == {"used": "cp1252", "how": "detected"}
        assert "qa.csv' is not valid utf-8: decoded as cp1252" in caplog.text
        assert "encoding: cp1252" in caplog.text

    def test_utf8_is_not_second_guessed(self, tmp_path):
        (tmp_path / "qa.csv").write_bytes(SAMPLE_QA.read_bytes())
        table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("qa.csv")
        assert table.encoding == {"used": "utf-8", "how": "default"}

    def test_an_unknown_encoding_names_the_file_and_the_parameter(self, tmp_path):
        (tmp_path / "qa.csv").write_bytes(SAMPLE_QA.read_bytes())
        reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
        with pytest.raises(DatasetError, match=r"qa\.csv': unknown encoding 'cp-1252'.*encoding:"):
            reader.read("qa.csv", encoding="cp-1252")


class TestFilesThatAreNotCSV:
    def test_a_kaggle_zip_given_as_the_csv_is_refused_in_one_line(self, tmp_path):
        # Kaggle's download button gives archive.zip; pointing `file:` at it is an easy mistake
        with zipfile.ZipFile(tmp_path / "archive.zip", "w", zipfile.ZIP_DEFLATED) as archive:
            archive.write(SAMPLE_QA, "python_qa_pairs.csv")
        reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
        with pytest.raises(DatasetError) as raised:
            reader.read("archive.zip")
        message = str(raised.value)
        assert "\n" not in message
        assert re.search(r"'[^']*archive\.zip' is not text", message)

    def test_nul_bytes_are_not_text_even_with_an_encoding(self, tmp_path):
        (tmp_path / "dump.csv").write_bytes(b"q,a\n" + b"\x00\x01\x02\x03" * 64)
        reader = RawCSVSourcesDataset(path=str(tmp_path)).load()
        with pytest.raises(DatasetError, match=r"dump\.csv' is not text"):
            reader.read("dump.csv", encoding="latin-1")


def test_a_cell_over_the_csv_field_limit_is_read_whole(tmp_path):
    """One huge cell (a pasted data dump) used to fail the whole file; now it is read and
    ingestion rejects its row by size. The csv module's own limit is left as it was."""
    huge = data_dump_cell()
    assert len(huge) > csv.field_size_limit() == 131_072
    with (tmp_path / "big.csv").open("w", newline="", encoding="utf-8") as handle:
        csv.writer(handle).writerows(
            [["q", "code"], ["small", "x = 1"], ["dump", huge], ["z", "y"]]
        )
    table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("big.csv")
    assert table.frame["code"].tolist() == ["x = 1", huge, "y"]
    assert csv.field_size_limit() == 131_072
