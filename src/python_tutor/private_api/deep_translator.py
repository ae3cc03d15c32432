"""deep-translator's private service URL (1.11.4), for a self-hosted service, proxy or stub.

Its translators take no ``base_url`` argument: each passes its service's URL to
``BaseTranslator.__init__``, which keeps it as ``_base_url``, and ``translate`` sends every
request there.
"""

from __future__ import annotations

from typing import Any


def set_base_url(translator: Any, base_url: str) -> None:
    """Send ``translator``'s requests to ``base_url`` instead of the public service.

    Raises:
        AttributeError: the installed deep-translator keeps its URL elsewhere (an upgrade).
    """
    if not hasattr(translator, "_base_url"):
        raise AttributeError(
            f"{type(translator).__name__} has no `_base_url`: deep-translator changed how it "
            "stores the service URL; update python_tutor.private_api.deep_translator"
        )
    translator._base_url = base_url  # noqa: SLF001
