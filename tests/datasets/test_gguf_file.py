"""GGUFFileDataset and OllamaModelfileDataset: one version folder holds a GGUF and its Modelfile."""

from __future__ import annotations

from pathlib import Path

import pytest
from kedro.io.core import DatasetError, Version

from python_tutor.datasets.gguf_file import GGUFFileDataset, OllamaModelfileDataset

MODELFILE = 'FROM ./tutor.Q8_0.gguf\nSYSTEM """Hola"""\n'


@pytest.fixture
def gguf(tmp_path) -> Path:
    path = tmp_path / "work" / "tutor.Q8_0.gguf"
    path.parent.mkdir()
    path.write_bytes(b"GGUF" + bytes(range(32)))
    return path


class TestGGUFFileDataset:
    def test_save_and_load(self, tmp_path, gguf):
        dataset = GGUFFileDataset(filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"))
        dataset.save(gguf)
        assert dataset.load().read_bytes() == gguf.read_bytes()

    def test_exists(self, tmp_path, gguf):
        dataset = GGUFFileDataset(filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"))
        assert not dataset.exists()
        dataset.save(gguf)
        assert dataset.exists()

    def test_load_missing_file(self, tmp_path):
        dataset = GGUFFileDataset(filepath=str(tmp_path / "tutor.Q8_0.gguf"))
        with pytest.raises(DatasetError, match="No GGUF file"):
            dataset.load()

    def test_refuses_another_outtype_name(self, tmp_path, gguf):
        dataset = GGUFFileDataset(filepath=str(tmp_path / "tutor" / "tutor.F16.gguf"))
        with pytest.raises(DatasetError, match=r"names the GGUF 'tutor.F16.gguf'.*tutor.Q8_0"):
            dataset.save(gguf)

    def test_refuses_a_file_that_is_not_gguf(self, tmp_path):
        fake = tmp_path / "tutor.Q8_0.gguf"
        fake.write_bytes(b"PK\x03\x04 not a gguf")
        dataset = GGUFFileDataset(filepath=str(tmp_path / "out" / "tutor.Q8_0.gguf"))
        with pytest.raises(DatasetError, match="not a GGUF file"):
            dataset.save(fake)


class TestGGUFFileDatasetVersioned:
    def test_gguf_and_modelfile_share_one_version_folder(self, tmp_path, gguf):
        version = Version(None, "2026-11-29T02.00.00.000Z")
        model = GGUFFileDataset(
            filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"), version=version
        )
        modelfile = OllamaModelfileDataset(
            filepath=str(tmp_path / "tutor" / "Modelfile"), version=version
        )
        model.save(gguf)
        modelfile.save(MODELFILE)
        folder = tmp_path / "tutor" / "2026-11-29T02.00.00.000Z"
        assert sorted(p.name for p in folder.iterdir()) == ["Modelfile", "tutor.Q8_0.gguf"]
        assert model.load() == folder / "tutor.Q8_0.gguf"
        assert modelfile.load() == MODELFILE

    def test_loads_latest_or_pinned_version(self, tmp_path, gguf):
        path = str(tmp_path / "tutor" / "tutor.Q8_0.gguf")
        for version in ("2026-11-29T01.00.00.000Z", "2026-11-29T02.00.00.000Z"):
            GGUFFileDataset(filepath=path, version=Version(None, version)).save(gguf)
        latest = GGUFFileDataset(filepath=path, version=Version(None, None)).load()
        pinned = GGUFFileDataset(filepath=path, version=Version("2026-11-29T01.00.00.000Z", None))
        assert latest.parent.name == "2026-11-29T02.00.00.000Z"
        assert pinned.load().parent.name == "2026-11-29T01.00.00.000Z"

    def test_save_refuses_to_overwrite_a_version(self, tmp_path, gguf):
        version = Version(None, "2026-11-29T02.00.00.000Z")
        path = str(tmp_path / "tutor" / "tutor.Q8_0.gguf")
        GGUFFileDataset(filepath=path, version=version).save(gguf)
        with pytest.raises(DatasetError, match="must not exist"):
            GGUFFileDataset(filepath=path, version=version).save(gguf)

    def test_exists_without_versions(self, tmp_path):
        dataset = GGUFFileDataset(
            filepath=str(tmp_path / "tutor" / "tutor.Q8_0.gguf"), version=Version(None, None)
        )
        assert not dataset.exists()


class TestOllamaModelfileDataset:
    def test_save_and_load(self, tmp_path):
        dataset = OllamaModelfileDataset(filepath=str(tmp_path / "Modelfile"))
        dataset.save(MODELFILE)
        assert dataset.load() == MODELFILE

    def test_load_missing_file(self, tmp_path):
        with pytest.raises(DatasetError, match="No Modelfile"):
            OllamaModelfileDataset(filepath=str(tmp_path / "Modelfile")).load()

    def test_refuses_a_modelfile_without_from(self, tmp_path):
        dataset = OllamaModelfileDataset(filepath=str(tmp_path / "Modelfile"))
        with pytest.raises(DatasetError, match="without a FROM"):
            dataset.save('SYSTEM """Hola"""\n')


class TestOptionalBeforeAnyExport:
    """`optional: true` lets evaluation run before the first export; saving is unchanged."""

    def test_optional_datasets_load_none_until_something_is_saved(self, tmp_path, gguf):
        target = tmp_path / "tutor"
        optional_gguf = GGUFFileDataset(
            filepath=str(target / gguf.name), version=Version(None, None), optional=True
        )
        optional_modelfile = OllamaModelfileDataset(
            filepath=str(target / "Modelfile"), version=Version(None, None), optional=True
        )
        assert optional_gguf.load() is None and optional_modelfile.load() is None
        optional_gguf.save(gguf)
        assert optional_gguf.load().read_bytes()[:4] == b"GGUF"

    def test_without_optional_a_missing_export_is_still_an_error(self, tmp_path, gguf):
        strict = GGUFFileDataset(
            filepath=str(tmp_path / "empty" / gguf.name), version=Version(None, None)
        )
        with pytest.raises(DatasetError):
            strict.load()
