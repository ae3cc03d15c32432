"""RawCSVSourcesDataset: local reads, decoding, bad files and the Kaggle path (stubbed)."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io import DatasetError

from python_tutor.datasets.raw_csv_sources import RawCSVSourcesDataset


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
        (tmp_path / "bad.csv").write_bytes(b"q,a\nfine,ok\nbroken \xff\xfe,ok\n")
        table = RawCSVSourcesDataset(path=str(tmp_path)).load().read("bad.csv")
        assert table.undecodable == {1: ["q"]}
        assert table.frame.at[1, "q"] == "broken \\xff\\xfe"

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

    def test_with_credentials_downloads_through_kagglehub(self, raw_dir, tmp_path, monkeypatch):
        import kagglehub

        downloaded = tmp_path / "kaggle_cache"
        downloaded.mkdir()
        (downloaded / "good.csv").write_text("q,a\nfrom,kaggle\n", encoding="utf-8")
        calls = []
        monkeypatch.setattr(
            kagglehub,
            "dataset_download",
            lambda handle, **kw: calls.append(handle) or str(downloaded),
        )
        dataset = RawCSVSourcesDataset(path=str(raw_dir), credentials={"username": "u", "key": "k"})
        table = dataset.load().read("good.csv", kaggle="owner/data")
        assert calls == ["owner/data"]
        assert table.origin == str(downloaded / "good.csv")
        assert table.frame.to_dict(orient="records") == [{"q": "from", "a": "kaggle"}]
        from kagglehub.config import clear_kaggle_credentials

        clear_kaggle_credentials()

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
