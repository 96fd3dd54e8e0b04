"""``simhash`` gives the signatures its first version gave (they are stored and compared).

The first version counted each bit's votes feature by feature, eight bits at a time; the
reference below is that code.
"""

from __future__ import annotations

import hashlib

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswatch.dedup import (
    _BOILERPLATE,
    _SENTENCE_END,
    _is_boilerplate,
    _sentences,
    simhash,
    story_signature,
    story_text,
)
from newswatch.text import tokens

_LANE = 32
_LANE_MASK = (1 << _LANE) - 1
_SPREAD = tuple(sum(((b >> bit) & 1) << (_LANE * bit) for bit in range(8)) for b in range(256))


def reference_simhash(text: str) -> int:
    words = tokens(text)
    if len(words) < 4:
        features = words
    else:
        features = [" ".join(words[i : i + 2]) for i in range(len(words) - 1)]
    if not features:
        return 0
    lanes = [0] * 8
    for feature in features:
        digest = hashlib.blake2b(feature.encode("utf-8"), digest_size=8).digest()
        value = int.from_bytes(digest, "big")
        for byte in range(8):
            lanes[byte] += _SPREAD[(value >> (8 * byte)) & 0xFF]
    signature = 0
    for byte, packed in enumerate(lanes):
        for bit in range(8):
            if 2 * ((packed >> (_LANE * bit)) & _LANE_MASK) > len(features):
                signature |= 1 << (8 * byte + bit)
    return signature - (1 << 64) if signature & (1 << 63) else signature


WORDS = st.sampled_from(
    ["peace", "talks", "Kyiv", "NATO", "the", "of", "É", "п'ять", "a", "1", "—", "...", "\n"]
)
TEXTS = st.one_of(
    st.text(max_size=300),
    st.lists(WORDS, max_size=120).map(" ".join),
)


@settings(max_examples=examples(300))
@given(text=TEXTS)
@example(text="")
@example(text="one two three")
@example(text="one two three four")
@example(text="peace " * 5000)
def test_simhash_matches_the_reference(text: str) -> None:
    assert simhash(text) == reference_simhash(text)


@settings(max_examples=examples(200))
@given(title=TEXTS, text=TEXTS)
def test_story_signature_matches_the_reference(title: str, text: str) -> None:
    story = story_text(title, text)
    expected = reference_simhash(story) if len(tokens(story)) >= 6 else None
    assert story_signature(title, text) == (expected or None)


@settings(max_examples=examples(200))
@given(text=st.one_of(TEXTS, st.text(". !?\u2026\n\t ab", max_size=60)))
def test_sentences_are_the_split_of_the_text(text: str) -> None:
    assert list(_sentences(text)) == _SENTENCE_END.split(text)


_BOILERPLATE_BITS = st.sampled_from(
    [
        "The post ",
        " appeared first on ",
        "Originally published",
        "Reporting by",
        "editing BY",
        "Read more",
        "See also",
        "Subscribe",
        "ſubſcribe",
        "wrİting by",
        "WRıTING BY",
        "Related coverage",
        "ЧИТАЙТЕ ТАКОЖ",
        "читаᲄте також",
        "Czytaj także",
        "Lesen Sie auch",
        "© ",
        "(C) 2025",
        "All Rights Reserved",
        "copyright",
        "\u212a",
        " word",
        "…",
    ]
)


@settings(max_examples=examples(300))
@given(
    sentence=st.lists(st.one_of(_BOILERPLATE_BITS, st.text(max_size=8)), max_size=8).map("".join)
)
def test_boilerplate_prefilter_agrees_with_the_pattern(sentence: str) -> None:
    expected = len(sentence.split()) <= 30 and _BOILERPLATE.search(sentence) is not None
    assert _is_boilerplate(sentence) == expected
