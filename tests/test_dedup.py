"""Near-duplicate signatures (newswatch.dedup)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from newswatch.dedup import (
    NEAR_DUPLICATE_BITS,
    hamming,
    is_near_duplicate,
    simhash,
    story_text,
)

TITLE = "Allies meet in Paris to finalise security guarantees for Ukraine"
TEXT = (
    "Leaders of the coalition of the willing gathered in Paris on Tuesday to settle the last "
    "details of the security guarantees that would take effect after a ceasefire. Officials "
    "said the plan includes a multinational force, air policing and a monitoring mission led by "
    "the United States. Kyiv wants the commitments to be legally binding and ratified by "
    "parliaments, while Moscow has repeatedly rejected any foreign troops on Ukrainian soil. "
    "A joint declaration is expected in the evening."
)


def signature(title: str, text: str) -> int:
    return simhash(story_text(title, text))


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param(TITLE, TEXT, id="identical"),
        pytest.param(
            TITLE,
            TEXT + "\n\nRead more at Kyiv Post. \u00a9 2025 Reuters. All rights reserved.",
            id="boilerplate",
        ),
        pytest.param(
            TITLE,
            TEXT + "\nThe post Allies meet in Paris appeared first on Euromaidan Press.",
            id="wordpress-footer",
        ),
        pytest.param(f"UPDATE 2-{TITLE} - Kyiv Post", TEXT, id="wire-slug-and-outlet"),
        pytest.param(f"Exclusive: {TITLE} | Reuters", TEXT, id="colon-prefix"),
        pytest.param(TITLE, TEXT.replace("Tuesday", "Wednesday"), id="one-word"),
        pytest.param(
            TITLE, TEXT.replace("gathered", "met").replace("settle", "agree"), id="reworded"
        ),
        pytest.param(
            TITLE.upper(),
            TEXT.replace(". ", ".  ").replace("United States", "United  States"),
            id="case-and-spacing",
        ),
        pytest.param(
            TITLE,
            TEXT + " The meeting follows weeks of talks in Geneva and Berlin between envoys.",
            id="longer-tail",
        ),
    ],
)
def test_syndicated_copy_is_near_duplicate(title: str, text: str) -> None:
    original, copy = signature(TITLE, TEXT), signature(title, text)
    assert hamming(original, copy) <= NEAR_DUPLICATE_BITS
    assert is_near_duplicate(original, copy)


@pytest.mark.parametrize(
    ("title", "text"),
    [
        pytest.param(
            "Ukraine's partners weigh troop pledges as peace talks stall",
            "European governments are debating how many soldiers they could send to Ukraine "
            "once the fighting stops, but several capitals say they will not commit without "
            "American backing. The talks on a peace settlement have slowed as Russia insists on "
            "territorial concessions in Donetsk.",
            id="same-theme",
        ),
        pytest.param(
            "Heavy snow closes mountain passes across the Alps",
            "Avalanche warnings were raised to the highest level in parts of Switzerland and "
            "Austria after a metre of fresh snow fell overnight, cutting off several ski resorts.",
            id="unrelated",
        ),
    ],
)
def test_different_story_is_far(title: str, text: str) -> None:
    distance = hamming(signature(TITLE, TEXT), signature(title, text))
    assert distance > 2 * NEAR_DUPLICATE_BITS
    assert not is_near_duplicate(signature(TITLE, TEXT), signature(title, text))


# Fixed values: signatures are stored, so they must never change between runs or releases.
@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", 0),
        ("Ukraine", 8813590768433933226),
        ("Allies meet in Paris to finalise security guarantees for Ukraine", -1747584344419114706),
        ("Київ, Вашингтон, Зеленський", 1154092886967384129),
    ],
)
def test_simhash_fixed_values(text: str, expected: int) -> None:
    assert simhash(text) == expected


def test_simhash_same_in_another_process() -> None:
    # A different PYTHONHASHSEED would change anything built on hash().
    code = "from newswatch.dedup import simhash; print(simhash('Peace talks resume in Geneva'))"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert int(result.stdout) == simhash("Peace talks resume in Geneva")


def test_simhash_is_signed_64_bit() -> None:
    values = [simhash(f"story number {n} about talks in city {n * 7}") for n in range(200)]
    assert all(-(2**63) <= value < 2**63 for value in values)
    # Half of the patterns have the top bit set; they must come out negative, not >= 2**63.
    assert any(value < 0 for value in values)
    assert any(value > 0 for value in values)


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (0, 0, 0),
        (0b1011, 0b0001, 2),
        (-1, 0, 64),
        (-1, 2**64 - 1, 0),  # the same pattern, signed and unsigned
        (-(2**63), 0, 1),
        (2**63 - 1, -(2**63), 64),
        (-2, -1, 1),
    ],
)
def test_hamming(a: int, b: int, expected: int) -> None:
    assert hamming(a, b) == expected
    assert hamming(b, a) == expected


def test_is_near_duplicate_boundary() -> None:
    base = simhash(TITLE)
    at_threshold = base ^ ((1 << NEAR_DUPLICATE_BITS) - 1)
    beyond = base ^ ((1 << (NEAR_DUPLICATE_BITS + 1)) - 1)
    assert is_near_duplicate(base, at_threshold)
    assert not is_near_duplicate(base, beyond)
    assert 0 < NEAR_DUPLICATE_BITS < 32


@pytest.mark.parametrize(
    ("title", "text", "limit", "expected"),
    [
        pytest.param(
            "Plain title", "One two three.", 60, "Plain title\nOne two three.", id="plain"
        ),
        pytest.param(
            "UPDATE 1-Talks resume in Geneva - Kyiv Post",
            "x",
            60,
            "Talks resume in Geneva\nx",
            id="slug-and-suffix",
        ),
        pytest.param(
            "NATO-Ukraine council meets | Reuters",
            "x",
            60,
            "NATO-Ukraine council meets\nx",
            id="keeps-hyphenated-start",
        ),
        pytest.param("Live: Kyiv", "x", 60, "Live: Kyiv\nx", id="too-short-to-strip"),
        pytest.param(
            "T",
            "Leaders met. Read more at Kyiv Post. \u00a9 2025 Reuters\nAll rights reserved.",
            60,
            "T\nLeaders met.",
            id="boilerplate",
        ),
        pytest.param("T", "a b c d e f", 4, "T\na b c d", id="limit"),
        pytest.param("T", "One two. Three four five.", 3, "T\nOne two. Three", id="limit-across"),
    ],
)
def test_story_text(title: str, text: str, limit: int, expected: str) -> None:
    assert story_text(title, text, limit) == expected


def test_story_text_keeps_long_sentences_mentioning_copyright() -> None:
    sentence = (
        "The court ruled that the copyright claim brought by the broadcaster against the "
        "streaming service over the war documentary could go ahead, rejecting the defence "
        "argument that the footage was in the public interest and free to use."
    )
    assert story_text("T", sentence, 100) == "T\n" + sentence
