"""An article prepared for matching: normalised tokens by position, field by field.

Positions are global across fields so proximity never spans two fields: the title's tokens
start at 0 and the body's at ``BODY_START``. The lead is not a separate text but the body's
first ``LEAD_TOKENS`` tokens (the summary, when the feed gives one, comes first in the body).
"""

from __future__ import annotations

import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field

import Stemmer

from newswatch.text import token_spans, tokens

BODY_START = 100_000
LEAD_TOKENS = 60
#: The most body tokens looked at; past this an article says nothing new about its topic.
MAX_BODY_TOKENS = 5_000

# Snowball stemmers by the article's language code (the first part of "en-US").
_STEMMERS = {
    "en": "english",
    "de": "german",
    "fr": "french",
    "ru": "russian",
    "pl": "polish",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
    "sv": "swedish",
    "da": "danish",
    "no": "norwegian",
    "nb": "norwegian",
    "fi": "finnish",
    "cs": "czech",
    "ro": "romanian",
    "hu": "hungarian",
    "tr": "turkish",
    "lt": "lithuanian",
    "el": "greek",
    "sr": "serbian",
}


@functools.cache
def stemmer_for(language: str | None) -> CachedStemmer | None:
    """A memoising Snowball stemmer for an article language, or None where there is none."""
    if not language:
        return None
    name = _STEMMERS.get(language.split("-")[0].lower())
    return CachedStemmer(name) if name else None


class CachedStemmer:
    """Stems with a cache: news vocabulary repeats, so most words are looked up, not stemmed."""

    def __init__(self, algorithm: str) -> None:
        self.algorithm = algorithm
        self._stemmer = Stemmer.Stemmer(algorithm)
        self._cache: dict[str, str] = {}

    def stem(self, word: str) -> str:
        stem = self._cache.get(word)
        if stem is None:
            if len(self._cache) > 500_000:
                self._cache.clear()
            stem = self._cache[word] = self._stemmer.stemWord(word)
        return stem


def field_of(position: int) -> str:
    """Which field a position lies in."""
    if position < BODY_START:
        return "title"
    return "lead" if position < BODY_START + LEAD_TOKENS else "body"


@dataclass
class Document:
    """An article ready for matching."""

    title: str
    body: str
    language: str | None = None
    tokens: dict[str, list[int]] = field(default_factory=dict)  # token → positions
    stemmer: CachedStemmer | None = None  # the article language's, where one exists

    @classmethod
    def build(cls, title: str, summary: str, content: str, language: str | None) -> Document:
        """Analyse an article's fields.

        Args:
            title: the headline.
            summary: the feed's summary (may repeat the content's opening).
            content: the article text.
            language: the article's language code, for stemming.
        """
        summary = summary.strip()
        content = content.strip()
        if (
            summary
            and content
            and _prefix_key(summary) in _prefix_key(content[: len(summary) + 200])
        ):
            body = content
        else:
            body = f"{summary}\n\n{content}" if summary and content else summary or content
        document = cls(title=title, body=body, language=language)
        index: defaultdict[str, list[int]] = defaultdict(list)
        title_tokens = tokens(title)
        body_tokens = tokens(body)[:MAX_BODY_TOKENS]
        document.title_tokens, document.body_tokens = len(title_tokens), len(body_tokens)
        for position, token in enumerate(title_tokens):
            index[token].append(position)
        for position, token in enumerate(body_tokens, start=BODY_START):
            index[token].append(position)
        document.tokens = dict(index)
        document.stemmer = stemmer_for(language)
        return document

    title_tokens: int = 0
    body_tokens: int = 0

    def spans(self, field_name: str) -> list[tuple[int, int]] | None:
        """Character spans of a field's tokens (by position), or None if they do not line up."""
        cache = self.__dict__.setdefault("_spans", {})
        if field_name not in cache:
            spans = token_spans(self.raw(field_name))
            expected = self.title_tokens if field_name == "title" else self.body_tokens
            cache[field_name] = spans[:expected] if len(spans) >= expected else None
        result: list[tuple[int, int]] | None = cache[field_name]
        return result

    def raw(self, field_name: str) -> str:
        """The text of a field as written (for case-sensitive terms and snippets)."""
        return self.title if field_name == "title" else self.body

    def position_of_offset(self, field_name: str, offset: int) -> int:
        """The token position at a character offset of a field's raw text."""
        count = len(tokens(self.raw(field_name)[:offset]))
        return count if field_name == "title" else BODY_START + count


_SPACE_RE = re.compile(r"\W+")


def _prefix_key(text: str) -> str:
    return _SPACE_RE.sub(" ", text[:200].casefold()).strip()
