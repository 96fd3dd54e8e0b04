"""An article prepared for matching: normalised tokens by position, field by field.

Positions are global across fields so proximity never spans two fields: the title's tokens
start at 0 and the body's at ``BODY_START``. The lead is not a separate text but the body's
first ``LEAD_TOKENS`` tokens (the summary, when the feed gives one, comes first in the body).
"""

from __future__ import annotations

import bisect
import functools
import re
from collections import defaultdict
from dataclasses import dataclass, field
from itertools import accumulate, repeat

import Stemmer

from newswatch.text import token_layout, token_spans, tokens, tokens_and_layout

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
    """An article ready for matching: its fields' tokens, in order."""

    title: str
    body: str
    language: str | None = None
    stemmer: CachedStemmer | None = None  # the article language's, where one exists
    title_words: list[str] = field(default_factory=list)  # tokens of the title
    body_words: list[str] = field(default_factory=list)  # the first MAX_BODY_TOKENS of the body
    # Where the tokens lie in the raw text, when that came free with them (see
    # ``tokens_and_layout``); snippets and exact-case terms use it.
    title_layout: str | None = field(default=None, repr=False)
    body_layout: str | None = field(default=None, repr=False)
    # Worked out when a snippet first needs them, by field name.
    _spans: dict[str, list[tuple[int, int]] | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )
    _sentences: dict[str, Sentences | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

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
        title_words, title_layout = tokens_and_layout(title)
        body_words, body_layout = tokens_and_layout(body)
        if len(body_words) > MAX_BODY_TOKENS:
            del body_words[MAX_BODY_TOKENS:]
        return cls(
            title=title,
            body=body,
            language=language,
            stemmer=stemmer_for(language),
            title_words=title_words,
            body_words=body_words,
            title_layout=title_layout,
            body_layout=body_layout,
        )

    @property
    def title_tokens(self) -> int:
        """How many tokens the title has."""
        return len(self.title_words)

    @property
    def body_tokens(self) -> int:
        """How many tokens of the body are looked at."""
        return len(self.body_words)

    @functools.cached_property
    def tokens(self) -> dict[str, list[int]]:
        """Every token with its positions (the title's from 0, the body's from BODY_START).

        The matcher does not need this index (it looks up only the words that occur in some
        topic); it is built on first use, for tools and tests.
        """
        index: defaultdict[str, list[int]] = defaultdict(list)
        for position, token in enumerate(self.title_words):
            index[token].append(position)
        for position, token in enumerate(self.body_words, start=BODY_START):
            index[token].append(position)
        return dict(index)

    def spans(self, field_name: str) -> list[tuple[int, int]] | None:
        """Character spans of a field's tokens (by position), or None if they do not line up."""
        cache = self._spans
        if field_name not in cache:
            spans = token_spans(self.raw(field_name))
            expected = self.title_tokens if field_name == "title" else self.body_tokens
            cache[field_name] = spans[:expected] if len(spans) >= expected else None
        return cache[field_name]

    def sentences(self, field_name: str) -> Sentences | None:
        """A field's sentences and its tokens' places in them; None if the tokens' offsets in
        the raw text are not known (the same condition as ``spans``)."""
        cache = self._sentences
        if field_name not in cache:
            cache[field_name] = self._find_sentences(field_name)
        return cache[field_name]

    def _find_sentences(self, field_name: str) -> Sentences | None:
        title = field_name == "title"
        layout = self.title_layout if title else self.body_layout
        count = self.title_tokens if title else self.body_tokens
        text = self.raw(field_name)
        if layout is None:
            # The tokens were normalised out of line with the text: its own tokens' spans
            # serve if there are at least as many of them (as for ``spans``).
            layout = token_layout(text)
            if layout is not None:
                sentences = Sentences(text, count, layout=layout)
                return sentences if sentences.runs >= count else None
        if layout is not None:
            return Sentences(text, count, layout=layout)
        spans = self.spans(field_name)
        return None if spans is None else Sentences(text, count, spans=spans)

    def raw(self, field_name: str) -> str:
        """The text of a field as written (for case-sensitive terms and snippets)."""
        return self.title if field_name == "title" else self.body

    def position_of_offset(self, field_name: str, offset: int) -> int:
        """The token position at a character offset of a field's raw text."""
        layout = self.title_layout if field_name == "title" else self.body_layout
        if layout is not None:
            # The tokens of the text before the offset are the runs of the layout before it
            # (one cut short by the offset still counts once, as it does when tokenised).
            count = _runs_before(layout, offset)
        else:
            count = len(tokens(self.raw(field_name)[:offset]))
        return count if field_name == "title" else BODY_START + count


# A sentence ends at ".", "!", "?" or "…" before a space, or at a line break. (Written with
# the characters first, so that ``re`` can skip to them.)
_SENTENCE_END_RE = re.compile(r"[.!?…\n](?:(?<=\n)|(?=\s))")
_RUN_RE = re.compile(r"[^ ]+")
# A token layout in UTF-8 with each character turned into one byte: b" " for a space, b"x"
# for anything else (the lead byte of a multi-byte character stands for it, the others go).
_MARK_BYTES = bytes(0x20 if byte == 0x20 else 0x78 for byte in range(256))
_CONTINUATION_BYTES = bytes(range(0x80, 0xC0))


def _marks(layout: str) -> bytes:
    """The layout as b" " and b"x", one byte per character, after one b" ": each token then
    starts at a b" x", which ``bytes.count`` counts in C."""
    data = layout.encode("utf-8", "surrogatepass")
    return b" " + data.translate(_MARK_BYTES, _CONTINUATION_BYTES)


def _runs_before(layout: str, offset: int) -> int:
    """How many runs of non-spaces of a token layout start before ``offset``."""
    return _marks(layout[:offset]).count(b" x")


class Sentences:
    """Where a field's sentences end, which one each token is in, and the tokens' spans.

    Built from a token layout (the spans of a sentence's tokens are then worked out only when
    its snippet is made) or from the spans of all the field's tokens.
    """

    def __init__(
        self,
        text: str,
        tokens: int,
        *,
        layout: str | None = None,
        spans: list[tuple[int, int]] | None = None,
    ) -> None:
        self.text = text
        self.tokens = tokens  # how many tokens are looked at (the first runs or spans)
        self.ends = [m.end() for m in _SENTENCE_END_RE.finditer(text)]
        self._layout = layout
        self._spans = spans
        self._sentence_spans: dict[int, list[tuple[int, int]]] = {}
        self.runs = len(spans) if spans is not None else 0  # tokens in the whole text
        # before[k]: how many tokens start before the end of sentence k (with a layout).
        # Tokens starting in [start, end) are the b" x" in marks[start : end + 1].
        self._before: list[int] = []
        if layout is not None:
            marks = _marks(layout)
            self.runs = marks.count(b" x")
            ends = self.ends
            counts = map(marks.count, repeat(b" x"), [0, *ends], [end + 1 for end in ends])
            self._before = list(accumulate(counts))

    def of(self, index: int) -> int:
        """The sentence the token at ``index`` (in the field) starts in."""
        if self._spans is not None:
            return bisect.bisect_right(self.ends, self._spans[index][0])
        return bisect.bisect_right(self._before, index)

    def bounds(self, sentence: int) -> tuple[int, int]:
        """Where a sentence starts and ends in the text."""
        ends = self.ends
        start = ends[sentence - 1] if sentence > 0 else 0
        end = ends[sentence] if sentence < len(ends) else len(self.text)
        return start, end

    def span(self, index: int) -> tuple[int, int]:
        """Where the token at ``index`` lies in the text."""
        if self._spans is not None:
            return self._spans[index]
        sentence = self.of(index)
        spans = self._sentence_spans.get(sentence)
        if spans is None:
            start, end = self.bounds(sentence)
            assert self._layout is not None
            spans = [m.span() for m in _RUN_RE.finditer(self._layout, start, end)]
            self._sentence_spans[sentence] = spans
        first = self._before[sentence - 1] if sentence > 0 else 0
        return spans[index - first]


_SPACE_RE = re.compile(r"\W+")
# ASCII characters that are not word characters (\w), as spaces.
_NON_WORD_BYTES = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or byte == ord("_") else 0x20
    for byte in range(256)
)


def _prefix_key(text: str) -> str:
    """The start of a text, case-folded, each run of non-word characters one space."""
    folded = text[:200].casefold()
    # The same, without a pattern: ASCII punctuation and spacing become spaces; this is right
    # unless some other character that is not a word character is left.
    data = folded.encode("utf-8", "surrogatepass").translate(_NON_WORD_BYTES)
    words = data.decode("utf-8", "surrogatepass").split()
    if folded.isascii() or "".join(words).replace("_", "a").isalnum():  # all \w ("_" too)
        return " ".join(words)
    return _SPACE_RE.sub(" ", folded).strip()
