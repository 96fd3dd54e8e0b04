"""Near-duplicate signatures, to group syndicated copies of one story.

An article's signature is a 64-bit SimHash of :func:`story_text`: its title, stripped of wire
and outlet decorations ("UPDATE 1-", " - Kyiv Post"), and the beginning of its text, without
boilerplate sentences ("Read more…", "© Reuters", "The post … appeared first on …"). Two
copies of the same story carried by different outlets differ in those places and in a word
or two; their signatures then differ in few bits, while different articles, even on the same
theme, differ in about half of the 64.

The features are word bigrams of :func:`newswatch.text.tokens` (single tokens for texts of
fewer than four tokens), hashed with BLAKE2b (8 bytes), which is the same in every process
and on every machine, unlike Python's ``hash()``. Signatures are stored as signed 64-bit
integers so they fit a database BIGINT.

Threshold (``NEAR_DUPLICATE_BITS = 9``), measured by ``bench/cluster_threshold.py`` on the
135 real articles of ``articles-dev.jsonl`` that have text (see ``bench/README.md``, "Story
clustering threshold"). At 9 bits, 85% of 5,072 synthetic syndicated copies are detected
(boilerplate appended, wire slug or outlet name on the title, a word changed or added, two
words changed, another quote and punctuation style, only the lede, a shorter cut, and most of
that at once), and none of the 1,190 pairs of different articles on a shared topic is merged;
the closest such pair is 18 bits apart. More bits would catch more copies (89% at 10, 94% at
12, 97% at 14), but the threshold must also hold at scale: between different texts the
distance behaves like the number of heads in 64 fair coin tosses (the unrelated pairs of the
data set follow it), so two unrelated articles fall within k bits with probability
P(Binomial(64, 1/2) <= k): 1.8e-9 at 9 bits, 1.0e-8 at 10, 2.3e-7 at 12, 3.5e-6 at 14. Every
new article is compared with every article of the clustering window; at 10,000 new articles
a day against 30,000 known ones, 9 bits merges about one unrelated pair every two days, 10
bits three a day, 12 bits seventy.
"""

from __future__ import annotations

import hashlib
import itertools
import re
from collections.abc import Iterator
from typing import Final

from newswatch.text import tokens

__all__ = [
    "NEAR_DUPLICATE_BITS",
    "hamming",
    "is_near_duplicate",
    "simhash",
    "story_signature",
    "story_text",
]

#: Signatures differing in at most this many bits are the same story (see the module docstring).
NEAR_DUPLICATE_BITS: Final = 9

_BITS: Final = 64
_MASK: Final = (1 << _BITS) - 1
_SIGN: Final = 1 << (_BITS - 1)
#: A story text shorter than this many tokens gets no signature: "Entry 1" and "Entry 2" (or
#: "Day 1001" and "Day 1002") are near-identical by any measure yet different items, and
#: chaining them would merge a whole feed into one story. Such articles cluster by link only.
MIN_SIGNATURE_TOKENS: Final = 6
#: Below this many tokens, bigrams are too few to vote; single tokens are used instead.
_MIN_SHINGLE_TOKENS: Final = 4

# Wire-service slugs ("UPDATE 2-", "EXCLUSIVE-") are upper case; the colon kind is any case.
_TITLE_PREFIX: Final = re.compile(
    r"""^\s*(?:
        (?:UPDATE|WRAPUP|RPT|CORRECTED|REFILE|EXCLUSIVE|ANALYSIS|FACTBOX|EXPLAINER|INSIGHT
          |FOCUS|INTERVIEW|BREAKINGVIEWS|GRAPHIC)(?:\s*\d+)?\s*-\s*
      | (?i:breaking|exclusive|update[ds]?|live|watch|video|opinion|analysis|explainer
          |just\ in|developing|exclusiva|eilmeldung|срочно|терміново)(?:\s*\d+)?\s*:\s*
    )+""",
    re.VERBOSE,
)
# " - Kyiv Post", " | Reuters", " : NPR": a short trailing segment naming the outlet.
_TITLE_SUFFIX: Final = re.compile(r"\s+[-|:\u2013\u2014]\s+(\S+(?:\s+\S+){0,3})\s*$")
_MIN_TITLE_WORDS: Final = 3

# Sentences that belong to the outlet, not the story. Only short ones are dropped, so an
# article about, say, copyright law keeps its text.
_BOILERPLATE: Final = re.compile(
    r"""
      \bthe\ post\b.*\bappeared\ first\ on\b
    | \b(?:first|originally)\ (?:appeared|published)\b
    | ^\W*(?:reporting|writing|additional\ reporting)\ by\b
    | \bediting\ by\b
    | ^\W*(?:read|see)\ (?:more|also|the\ full|the\ original)\b
    | ^\W*(?:continue\ reading|click\ here|subscribe|sign\ up|follow\ us|share\ this|advertisement
          |related\ (?:articles|stories|coverage)|читайте\ також|читайте\ также|czytaj\ także
          |lesen\ sie\ auch|mehr\ zum\ thema)\b
    | ©|\(c\)\s*\d{4}|\bcopyright\b|\ball\ rights\ reserved\b
    """,
    re.IGNORECASE | re.VERBOSE,
)
_BOILERPLATE_MAX_WORDS: Final = 30
_SENTENCE_END: Final = re.compile(r"(?<=[.!?\u2026])\s+|\n+")


def _clean_title(title: str) -> str:
    title = " ".join(title.split())
    stripped = _TITLE_PREFIX.sub("", title)
    if len(stripped.split()) >= _MIN_TITLE_WORDS:
        title = stripped
    for _ in range(2):  # "Story | Section | Outlet"
        match = _TITLE_SUFFIX.search(title)
        if match is None or len(title[: match.start()].split()) < _MIN_TITLE_WORDS:
            break
        title = title[: match.start()]
    return title


#: Every alternative of ``_BOILERPLATE`` contains one of these, lower-cased. Searching the
#: lower-cased sentence for them first is much faster than the case-insensitive pattern,
#: which then runs only on the sentences that might match.
_BOILERPLATE_HINTS: Final = (
    *("appeared", "published", "ing by", "read ", "see ", "continue reading", "click here"),
    *("subscribe", "sign up", "follow us", "share this", "advertisement", "related "),
    *("читайте ", "czytaj ", "lesen sie auch", "mehr zum thema"),
    *("©", "(c)", "copyright", "all rights reserved"),
)
#: Characters the case-insensitive pattern equates with a letter of it while ``str.lower``
#: does not turn them into that letter (dotless ı and dotted İ for i, long ſ for s, the
#: Kelvin sign, the old Cyrillic letter forms U+1C80-U+1C88): with one of them, the hints
#: prove nothing, and the pattern decides.
_CASE_TRAPS: Final = re.compile("[\u0130\u0131\u017f\u212a\u1c80-\u1c88]")


def _is_boilerplate(sentence: str) -> bool:
    if len(sentence.split()) > _BOILERPLATE_MAX_WORDS:
        return False
    lowered = sentence.lower()
    if not any(hint in lowered for hint in _BOILERPLATE_HINTS) and (
        sentence.isascii() or not _CASE_TRAPS.search(sentence)
    ):
        return False
    return _BOILERPLATE.search(sentence) is not None


def _sentences(text: str) -> Iterator[str]:
    """``_SENTENCE_END.split(text)``, lazily: only the first few sentences are read."""
    start = 0
    for match in _SENTENCE_END.finditer(text):
        yield text[start : match.start()]
        start = match.end()
    yield text[start:]


def story_text(title: str, text: str, limit_words: int = 60) -> str:
    """The part of an article its near-duplicate signature is computed over.

    That is the title without wire slugs and outlet suffixes, then the first ``limit_words``
    words of the text without boilerplate sentences. Capping the text matters: outlets
    carrying the same story differ mostly after the lede (their own boilerplate, related
    links, a longer or shorter cut) and often carry only the lede. The default of 60 words is
    about one or two lede paragraphs. In ``bench/cluster_threshold.py``, at the threshold,
    60 words detect 85% of copies (49% of lede-only ones), 300 words 80% (15%) and 40 words
    87% (71%); a shorter cap, though, leaves fewer words to tell apart stories with formulaic
    openings, and each word edit weighs more.

    Args:
        title: The article's title (plain text).
        text: Its plain text (content, else summary).
        limit_words: How many words of the text to keep.

    Returns:
        The title and the opening of the text, separated by a newline.
    """
    kept: list[str] = []
    count = 0
    for sentence in _sentences(text):
        if count >= limit_words:
            break
        if not sentence.strip() or _is_boilerplate(sentence):
            continue
        words = sentence.split()[: limit_words - count]
        kept.extend(words)
        count += len(words)
    return _clean_title(title) + "\n" + " ".join(kept)


#: Hashes of recent features. Common bigrams ("of the", "peace talks") recur from article to
#: article, and a dictionary look-up costs a fraction of a BLAKE2b call. Emptied when full.
_DIGESTS: dict[str, bytes] = {}
_DIGESTS_MAX: Final = 1 << 16


def _digests(features: list[str]) -> bytes:
    """The 8-byte BLAKE2b hashes of the features, end to end."""
    memo = _DIGESTS
    hashes = []
    for feature in features:
        digest = memo.get(feature)
        if digest is None:
            digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
            if len(memo) >= _DIGESTS_MAX:
                memo.clear()
            memo[feature] = digest
        hashes.append(digest)
    return b"".join(hashes)


def simhash(text: str) -> int:
    """The 64-bit SimHash of a text, over word bigrams of its normalised tokens.

    Every bigram votes on each of the 64 bits with its own hash; a bit is set where most
    votes are for it. Texts sharing most bigrams therefore share most bits. Texts of fewer
    than four tokens use single tokens; a text with no tokens gets 0.

    Args:
        text: Usually :func:`story_text` of an article.

    Returns:
        The signature as a signed 64-bit integer (-2**63 to 2**63 - 1), stable across
        processes, machines and Python versions.
    """
    return _simhash_of_tokens(tokens(text))


def _simhash_of_tokens(words: list[str]) -> int:
    if len(words) < _MIN_SHINGLE_TOKENS:
        features = words
    else:
        features = [f"{a} {b}" for a, b in itertools.pairwise(words)]
    if not features:
        return 0
    # Count, for every bit, how many features set it, without a Python step per feature and
    # bit. The hashes (8 bytes each, big-endian) are laid end to end; every 8th byte from
    # the k-th on is byte k of each hash, and read as one integer, its bit b in every byte
    # is bit 8·(7 - k) + b of each hash: shifted right by b and masked with a 1 in every
    # byte, bit_count() gives that bit's votes.
    count = len(features)
    hashes = _digests(features)
    ones = int.from_bytes(b"\x01" * count, "big")
    majority = count  # a bit is set where set-votes outnumber unset ones: 2·votes > n
    signature = 0
    for byte in range(8):
        column = int.from_bytes(hashes[byte::8], "big")
        position = 8 * (7 - byte)
        for bit in range(8):
            if 2 * ((column >> bit) & ones).bit_count() > majority:
                signature |= 1 << (position + bit)
    return signature - (1 << _BITS) if signature & _SIGN else signature


def hamming(a: int, b: int) -> int:
    """How many bits two signatures differ in.

    Args:
        a: A signature, signed or unsigned 64-bit.
        b: Another one.

    Returns:
        The Hamming distance of their 64-bit patterns, 0 to 64.
    """
    return ((a ^ b) & _MASK).bit_count()


def story_signature(title: str, text: str) -> int | None:
    """The SimHash of an article's :func:`story_text`, or ``None`` when it is too short to say
    anything (fewer than ``MIN_SIGNATURE_TOKENS`` tokens) or empty."""
    words = tokens(story_text(title, text))
    if len(words) < MIN_SIGNATURE_TOKENS:
        return None
    return _simhash_of_tokens(words) or None


def is_near_duplicate(a: int, b: int) -> bool:
    """Whether two signatures are close enough to be the same story.

    Args:
        a: A signature from :func:`simhash`.
        b: Another one.

    Returns:
        True when they differ in at most :data:`NEAR_DUPLICATE_BITS` bits.
    """
    return hamming(a, b) <= NEAR_DUPLICATE_BITS
