"""Story clustering as a pure function: signatures in, groups out."""

from __future__ import annotations

import random

from newswatch.dedup import simhash
from newswatch.model import StoryGroup, StorySignature
from newswatch.stories import cluster


def sig(
    article: int, value: int | None, url: str | None = None, story: int | None = None
) -> StorySignature:
    return StorySignature(article, feed_id=1, story_id=story, simhash=value, canonical_url=url)


BASE = 0x0F0F_F0F0_1234_5678


def flip(value: int, *bits: int) -> int:
    for bit in bits:
        value ^= 1 << bit
    return value


def test_near_signatures_join_a_known_story_far_ones_start_new() -> None:
    known = [sig(1, BASE, story=10)]
    groups = cluster([sig(2, flip(BASE, 3, 40, 63)), sig(3, ~BASE)], known, threshold=4)
    assert groups == [StoryGroup((2,), 10), StoryGroup((3,), None)]


def test_same_canonical_url_is_the_same_story() -> None:
    known = [sig(1, BASE, "https://a.example/x", story=7)]
    assert cluster([sig(2, ~BASE, "https://a.example/x")], known) == [StoryGroup((2,), 7)]


def test_matching_is_transitive_among_new_articles() -> None:
    # 1 and 2 share a link; 2 and 3 share text; all three are one new story.
    new = [
        sig(1, BASE, "https://a.example/x"),
        sig(2, ~BASE, "https://a.example/x"),
        sig(3, flip(~BASE, 1)),
    ]
    assert cluster(new, [], threshold=3) == [StoryGroup((1, 2, 3), None)]


def test_a_group_touching_two_stories_joins_the_oldest() -> None:
    known = [sig(1, BASE, story=20), sig(2, ~BASE, "https://b.example/", story=5)]
    new = [sig(3, flip(BASE, 2), "https://b.example/")]
    assert cluster(new, known, threshold=3) == [StoryGroup((3,), 5)]


def test_articles_without_signature_or_link_stand_alone() -> None:
    assert cluster([sig(1, None), sig(2, None)], []) == [
        StoryGroup((1,), None),
        StoryGroup((2,), None),
    ]


def test_band_index_finds_every_pair_within_the_threshold() -> None:
    # Pigeonhole: some band of the pair differs in at most one bit.
    threshold = 9
    for spread in range(threshold + 1):
        other = flip(BASE, *range(0, 64, 64 // (spread or 1))[:spread])
        groups = cluster([sig(2, other)], [sig(1, BASE, story=1)], threshold=threshold)
        assert groups == [StoryGroup((2,), 1)], spread


def test_real_signatures() -> None:
    text = "Envoys met in Geneva to discuss the revised peace plan and security guarantees."
    known = [sig(1, simhash(text), story=3)]
    edited = simhash(text.replace("Envoys", "Negotiators"))
    unrelated = simhash("Heavy snowfall closed the airport in Warsaw for the whole afternoon.")
    groups = cluster([sig(2, edited), sig(4, unrelated)], known, threshold=20)
    assert groups[1] == StoryGroup((4,), None)


def test_a_copy_is_found_however_many_articles_came_between() -> None:
    # A cold pass over a thousand feeds, or a busy three-day window: the copy of a story may
    # arrive tens of thousands of articles after the original. (Scanning only each band's
    # latest articles grouped 299 of 1,750 syndicated stories of the ingest bench.)
    rng = random.Random(3)
    window = [sig(n, rng.getrandbits(64) - (1 << 63), story=n) for n in range(1, 30_001)]
    first, middle = window[0], window[15_000]
    assert first.simhash is not None
    assert middle.simhash is not None
    new = [sig(50_001, flip(first.simhash, 3, 17, 40, 63)), sig(50_002, flip(middle.simhash, 9))]
    assert cluster(new, window, threshold=9) == [
        StoryGroup((50_001,), first.article_id),
        StoryGroup((50_002,), middle.article_id),
    ]
