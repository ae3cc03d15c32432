"""deep-translator's private service URL, checked against the installed library: fails on an
upgrade that changes what python_tutor.private_api.deep_translator relies on."""

from __future__ import annotations

import pytest
import requests
from deep_translator import DeeplTranslator, GoogleTranslator

from python_tutor.private_api.deep_translator import set_base_url


class _Sent(Exception):
    """Raised by the fake transport with the URL a request went to."""


def _record_url(url, *args, **kwargs):
    raise _Sent(url)


@pytest.mark.parametrize(
    "translator",
    [
        GoogleTranslator(source="en", target="es"),
        DeeplTranslator(source="en", target="es", api_key="not-a-key", use_free_api=True),
    ],
    ids=["google", "deepl"],
)
def test_requests_go_to_the_url_set(monkeypatch, translator):
    monkeypatch.setattr(requests, "get", _record_url)
    monkeypatch.setattr(requests, "post", _record_url)
    set_base_url(translator, "http://127.0.0.1:9/stub/")
    with pytest.raises(_Sent, match=r"^http://127\.0\.0\.1:9/stub/"):
        translator.translate("Hello.")


def test_a_translator_without_the_attribute_fails_by_name():
    with pytest.raises(AttributeError, match=r"object has no `_base_url`.*private_api"):
        set_base_url(object(), "http://127.0.0.1:9/")
