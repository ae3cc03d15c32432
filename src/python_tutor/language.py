"""The one language identifier of the project: lingua restricted to a few languages.

Translation uses it to check that prose came back in Spanish, evaluation to count answers in
Spanish; both must call a text the same language, so both build this class.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

IDENTIFY_CHARS = 600  # the language shows in the first sentences; lingua costs linear time


class LanguageIdentifier:
    """lingua restricted to ``languages`` (ISO 639-1; fast and sure), built once per node call.

    ``parameter`` names the file and key the languages came from, for the error message.
    """

    def __init__(self, languages: Sequence[str], parameter: str) -> None:
        from lingua import IsoCode639_1, LanguageDetectorBuilder  # noqa: PLC0415

        try:
            codes = [IsoCode639_1.from_str(str(code).lower()) for code in languages]
        except ValueError as err:
            raise ValueError(f"{parameter} {list(languages)}: {err}") from err
        if len(codes) < 2:  # noqa: PLR2004 - lingua needs a choice
            raise ValueError(f"{parameter} {list(languages)}: needs at least two languages")
        self._detector = LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()
        self._cache_id = f"lingua:{','.join(sorted(languages))}:{IDENTIFY_CHARS}"

    def identify_many(self, texts: Sequence[str], cache: Any = None) -> list[tuple[str, float]]:
        """The most likely ISO 639-1 code and its confidence for each text, on every core.

        With ``cache`` (the translation cache), texts identified by an earlier run are read
        back, so a re-run only pays for new text.
        """
        heads = [text[:IDENTIFY_CHARS] for text in texts]
        known = cache.get_many(self._cache_id, list(set(heads))) if cache is not None else {}
        todo = list(dict.fromkeys(h for h in heads if h not in known))
        results = self._detector.compute_language_confidence_values_in_parallel(todo)
        found = {
            head: f"{values[0].language.iso_code_639_1.name.lower()} {values[0].value:.6f}"
            for head, values in zip(todo, results, strict=True)
        }
        if cache is not None and found:
            cache.put_many(self._cache_id, list(found.items()))
        answers = known | found
        return [(answers[h].split()[0], float(answers[h].split()[1])) for h in heads]

    def languages_of(self, texts: Sequence[str], min_chars: int) -> list[str | None]:
        """ISO 639-1 code of each text, None where it has fewer than ``min_chars`` to judge."""
        judged = [i for i, text in enumerate(texts) if len(text.strip()) >= min_chars]
        found = self.identify_many([texts[i] for i in judged])
        languages: list[str | None] = [None] * len(texts)
        for index, (language, _) in zip(judged, found, strict=True):
            languages[index] = language
        return languages
