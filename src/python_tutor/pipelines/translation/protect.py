"""Hide code from translators: protected spans become placeholders, restored byte for byte.

Apertium turns ``def add(a, b)`` into ``def añadir(un, b)`` and ``None`` into "Ninguno", so
nothing that is code (found by ``find_code``: blocks, doctests, unfenced code, inline code and
calls), no identifier and no glossary term may reach a backend. ``protect`` swaps each such
span for a numbered placeholder; ``restore`` puts the original bytes back and fails loudly when
a placeholder was lost, duplicated or invented. Backends sometimes change a placeholder's case
or spacing (Apertium wrote ``Xqz0x.py`` for ``XQZ0X.py``): those are still recognised.
Whether the restored text really kept its code is checked apart, by ``integrity``.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cached_property

from python_tutor.find_code import find_code


class IntegrityError(ValueError):
    """A placeholder did not come back exactly once: restoring would corrupt code."""


@dataclass(frozen=True)
class Protector:
    """Compiled protection rules, built once from the ``translation.protect`` parameters.

    Attributes:
        placeholder: A format string with ``{index}``; its text must survive every backend.
        glossary: Terms kept verbatim (``True``, ``None``), matched as whole words. Names the
            backend knows (the tutor mode's "Python") stay out, so its grammar sees them.
        identifier_patterns: Regular expressions for identifiers in prose (``snake_case``,
            ``dotted.names``, ``CamelCase``, ``__dunder__``, ``calls()``).
    """

    placeholder: str
    glossary: tuple[str, ...]
    identifier_patterns: tuple[re.Pattern[str], ...]

    @classmethod
    def from_params(cls, params: dict) -> Protector:
        """Build from the ``translation.protect`` block (checked at load:
        python_tutor.parameters.translation.ProtectKnobs)."""
        patterns = tuple(re.compile(p) for p in params.get("identifier_patterns") or [])
        return cls(params["placeholder"], tuple(params.get("glossary") or ()), patterns)

    @cached_property
    def glossary_pattern(self) -> re.Pattern[str] | None:
        """One alternation of all glossary terms, longest first, on word boundaries."""
        if not self.glossary:
            return None
        terms = sorted(self.glossary, key=len, reverse=True)
        return re.compile(r"(?<![\w.])(?:" + "|".join(map(re.escape, terms)) + r")(?![\w])")

    @cached_property
    def placeholder_pattern(self) -> re.Pattern[str]:
        """Matches any placeholder this protector writes, in any case, a space inside allowed."""
        before, after = self.placeholder.split("{index}", 1)
        return re.compile(re.escape(before) + r" ?(\d+) ?" + re.escape(after), re.I)

    def rules(self) -> Iterable[re.Pattern[str]]:
        """Word-level rules applied after the code spans: glossary, then identifier shapes."""
        if self.glossary_pattern is not None:
            yield self.glossary_pattern
        yield from self.identifier_patterns

    def protect(self, text: str) -> tuple[str, list[str]]:
        """Replace every protected span by a placeholder; return the masked text and spans.

        Raises:
            ValueError: the text already contains something that looks like a placeholder,
                which restoring would confuse with ours.
        """
        if self.placeholder_pattern.search(text):
            raise ValueError(
                f"text already contains a placeholder like {self.placeholder!r}; choose "
                "another translation.protect.placeholder"
            )
        spans: list[str] = []
        placeholders = self.placeholder_pattern

        def hide(match: re.Match[str]) -> str:
            spans.append(match.group(0))
            return self.placeholder.format(index=len(spans) - 1)

        masked, cursor = [], 0
        for start, end in find_code(text):
            masked.append(text[cursor:start])
            spans.append(text[start:end])
            masked.append(self.placeholder.format(index=len(spans) - 1))
            cursor = end
        text = "".join(masked) + text[cursor:]
        for rule in self.rules():
            pieces = placeholders.split(text)  # keep placeholders out of later rules' reach
            masked = []
            for position, piece in enumerate(pieces):
                if position % 2 == 0:
                    masked.append(rule.sub(hide, piece))
                else:
                    masked.append(self.placeholder.format(index=piece))
            text = "".join(masked)
        return text, spans

    def restore(self, text: str, spans: list[str]) -> str:
        """Put every span back where its placeholder is.

        Raises:
            IntegrityError: a placeholder is missing, repeated or unknown after translation.
        """
        found = Counter(int(m) for m in self.placeholder_pattern.findall(text))
        expected = Counter(range(len(spans)))
        if found != expected:
            missing = sorted(set(expected) - set(found))
            repeated = sorted(i for i, n in found.items() if n > 1)
            unknown = sorted(set(found) - set(expected))
            raise IntegrityError(
                f"protected spans changed in translation: missing {missing}, "
                f"repeated {repeated}, unknown {unknown}"
            )
        return self.placeholder_pattern.sub(lambda m: spans[int(m.group(1))], text)

    def altered(self, text: str) -> int:
        """How many placeholders came back with another case or spacing than written."""
        return sum(
            m.group(0) != self.placeholder.format(index=m.group(1))
            for m in self.placeholder_pattern.finditer(text)
        )

    def strip(self, text: str) -> str:
        """The text without placeholders: what language identification should look at."""
        return self.placeholder_pattern.sub(" ", text)
