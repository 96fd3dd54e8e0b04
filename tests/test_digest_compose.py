"""Digest composition and schedules, without a database: grouping, ranking, trends, health."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from builders import feed_state
from newswatch.digest.compose import compose, evidence_terms, feed_problems, sparkline, summarize
from newswatch.digest.schedule import next_slot, owed_slot
from newswatch.model import (
    Article,
    DigestCandidate,
    Evidence,
    FeedActivity,
    FeedStatus,
    StoryMember,
    TopicMatch,
)

END = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)
TOPICS = [("guarantees", "Security guarantees"), ("talks", "Peace talks"), ("assets", "Assets")]


def candidate(
    article_id: int,
    scores: dict[str, float],
    *,
    story: int | None = None,
    outlet: str = "Wire",
    hours_ago: float = 1,
    title: str | None = None,
) -> DigestCandidate:
    article = Article(
        feed_id=article_id,
        entry_key=str(article_id),
        title=title or f"Story {article_id}",
        url=f"https://news.example/{article_id}",
        summary=f"Summary of {article_id}.",
        id=article_id,
        story_id=story,
        ingested_at=END - timedelta(hours=hours_ago),
    )
    matches = tuple(
        TopicMatch(article_id, slug, score, (Evidence(f"{slug}-term", "title", 0),))
        for slug, score in scores.items()
    )
    return DigestCandidate(article, outlet, matches)


def build(candidates: list[DigestCandidate], **options: object) -> object:
    arguments: dict[str, object] = {
        "channel": "daily",
        "config_name": "newswatch.yaml",
        "timezone": "UTC",
        "topics": TOPICS,
        "candidates": candidates,
        "members": [],
        "feeds": [],
        "activity": [],
        "topic_activity": [],
        "period_start": END - timedelta(days=1),
        "period_end": END,
        "max_per_topic": None,
        "version": "TEST",
    }
    arguments.update(options)
    return compose(**arguments)  # type: ignore[arg-type]


def test_a_story_appears_once_under_its_best_topic_with_the_others_named() -> None:
    result = build([candidate(1, {"guarantees": 0.6, "talks": 0.9})])

    (section,) = result.view.sections  # type: ignore[attr-defined]
    assert section.slug == "talks"
    (story,) = section.stories
    assert story.other_topics == ("Security guarantees",)
    assert [(i.article_id, i.topic_slug) for i in result.items] == [(1, "talks")]  # type: ignore[attr-defined]


def test_tied_scores_go_to_the_topic_listed_first() -> None:
    result = build([candidate(1, {"assets": 0.8, "guarantees": 0.8})])

    assert result.view.sections[0].slug == "guarantees"  # type: ignore[attr-defined]


def test_cluster_members_collapse_into_one_story_and_all_enter_the_ledger() -> None:
    cands = [
        candidate(1, {"assets": 0.7}, story=9, outlet="Wire"),
        candidate(2, {"assets": 0.9}, story=9, outlet="Daily"),
        candidate(3, {"assets": 0.5}, outlet="Daily"),
    ]
    members = [
        StoryMember(9, 1, 1, "Wire", "Story 1", "https://wire.example/1"),
        StoryMember(9, 2, 2, "Daily", "Story 2", "https://daily.example/2"),
        StoryMember(9, 7, 7, "Gazette", "Old copy", "https://gazette.example/7"),
    ]
    result = build(cands, members=members)

    (section,) = result.view.sections  # type: ignore[attr-defined]
    lead, single = section.stories
    assert lead.title == "Story 2"  # the best-scoring copy leads
    assert [o.name for o in lead.also] == ["Wire", "Gazette"]
    assert lead.coverage == 3
    assert sorted(i.article_id for i in result.items) == [1, 2, 3]  # type: ignore[attr-defined]
    assert single.article_ids == (3,)


def test_coverage_and_recency_break_near_ties() -> None:
    cands = [
        candidate(1, {"assets": 0.80}, hours_ago=20),
        candidate(2, {"assets": 0.80}, hours_ago=1),
        candidate(3, {"assets": 0.78}, story=5, outlet="A"),
        candidate(4, {"assets": 0.70}, story=5, outlet="B"),
    ]
    result = build(cands)

    order = [s.article_ids for s in result.view.sections[0].stories]  # type: ignore[attr-defined]
    assert order == [(3, 4), (2,), (1,)]


def test_max_per_topic_moves_the_rest_to_more_without_dropping_them() -> None:
    cands = [candidate(i, {"assets": 0.9 - i / 100}) for i in range(1, 6)]
    result = build(cands, max_per_topic=2)

    section = result.view.sections[0]  # type: ignore[attr-defined]
    assert [s.article_ids[0] for s in section.stories] == [1, 2]
    assert [s.article_ids[0] for s in section.more] == [3, 4, 5]
    assert len(result.items) == 5  # type: ignore[attr-defined]


def test_trend_counts_matches_per_day_with_the_last_24_hours_last() -> None:
    activity = [("assets", END - timedelta(hours=h)) for h in (1, 2, 30, 50, 170, 200)]
    result = build([candidate(1, {"assets": 0.9})], topic_activity=activity)

    section = result.view.sections[0]  # type: ignore[attr-defined]
    assert section.trend == (1, 0, 0, 0, 0, 1, 1, 2)  # 200 hours ago is outside the window
    assert section.sparkline == "▅▁▁▁▁▅▅█"
    assert section.average == pytest.approx(3 / 7)


def test_summary_takes_one_or_two_sentences_within_the_limit() -> None:
    article = Article(
        feed_id=1,
        entry_key="a",
        title="Title",
        summary="First sentence here. Second one follows! Third is too much.",
    )
    assert summarize(article, limit=45) == "First sentence here. Second one follows!"
    assert summarize(article, limit=30) == "First sentence here."
    long = Article(feed_id=1, entry_key="b", title="T", summary="word " * 100)
    assert summarize(long, limit=40).endswith("…")
    assert len(summarize(long, limit=40)) <= 40
    same = Article(feed_id=1, entry_key="c", title="Same text", summary="Same text")
    assert summarize(same) == ""


def test_evidence_terms_are_distinct_title_first_without_wildcards() -> None:
    match = TopicMatch(
        1,
        "t",
        0.9,
        (
            Evidence("asset*", "body", 3),
            Evidence("Euroclear", "title", 2),
            Evidence("ASSET*", "lead", 1),
        ),
    )
    assert evidence_terms(match) == ("Euroclear", "ASSET")


def test_sparkline_scales_to_the_largest_value() -> None:
    assert sparkline([0, 0, 0]) == "▁▁▁"
    assert sparkline([0, 7]) == "▁█"


def test_feed_health_lists_failing_disabled_and_unusually_silent_feeds() -> None:
    now = END
    old = now - timedelta(days=60)
    feeds = [
        feed_state(
            old,
            id=1,
            name="Failing",
            status=FeedStatus.FAILING,
            last_error="HTTP 500",
            consecutive_failures=4,
        ),
        feed_state(old, id=2, name="Gone", status=FeedStatus.DISABLED, last_error="HTTP 410"),
        feed_state(old, id=3, name="Busy but silent", status=FeedStatus.OK),
        feed_state(old, id=4, name="Weekly", status=FeedStatus.OK),
        feed_state(now - timedelta(days=1), id=5, name="Brand new", status=FeedStatus.OK),
    ]
    activity = [
        # 60 articles a month, none for four days: silent.
        FeedActivity(3, 60, now - timedelta(days=4)),
        # 4 a month, last one six days ago: normal for it.
        FeedActivity(4, 4, now - timedelta(days=6)),
    ]
    problems = feed_problems(feeds, activity, now)

    assert [(p.name, p.kind) for p in problems] == [
        ("Failing", "failing"),
        ("Gone", "disabled"),
        ("Busy but silent", "silent"),
    ]
    assert problems[0].detail == "HTTP 500 after 4 failed fetches"
    assert problems[2].detail == "no new articles for 4 days"


KYIV = ZoneInfo("Europe/Kyiv")


def test_owed_slot_is_the_latest_slot_since_the_last_digest() -> None:
    last = datetime(2026, 11, 20, 5, 0, tzinfo=UTC)
    now = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)

    assert owed_slot("0 7 * * *", KYIV, after=last, now=now) == datetime(
        2026, 11, 26, 5, 0, tzinfo=UTC
    )
    assert owed_slot("0 7 * * *", KYIV, after=now - timedelta(hours=1), now=now) is None
    assert owed_slot("0 7 * * *", KYIV, after=None, now=now) is None


def test_owed_slot_after_a_long_gap_with_a_frequent_schedule() -> None:
    now = datetime(2026, 11, 26, 12, 0, 30, tzinfo=UTC)
    last = now - timedelta(days=300)

    assert owed_slot("*/5 * * * *", KYIV, after=last, now=now) == datetime(
        2026, 11, 26, 12, 0, tzinfo=UTC
    )


def test_slots_follow_daylight_saving_changes() -> None:
    # Kyiv: 07:00 is 04:00 UTC in summer time and 05:00 UTC after 25 October 2026.
    before = datetime(2026, 10, 24, 6, 0, tzinfo=UTC)
    assert next_slot("0 7 * * *", KYIV, before) == datetime(2026, 10, 25, 5, 0, tzinfo=UTC)
    spring = datetime(2026, 3, 28, 6, 0, tzinfo=UTC)  # summer time starts 29 March
    assert next_slot("0 7 * * *", KYIV, spring) == datetime(2026, 3, 29, 4, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("schedule", "expected"),
    [
        ("0 7 * * 1", datetime(2026, 11, 30, 5, 0, tzinfo=UTC)),  # crontab's 1 is Monday
        ("0 7 * * 0", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),  # 0 and 7 are Sunday
        ("0 7 * * 7", datetime(2026, 11, 29, 5, 0, tzinfo=UTC)),
        ("0 7 * * 5-7", datetime(2026, 11, 27, 5, 0, tzinfo=UTC)),  # Friday to Sunday
        ("0 7 * * sat", datetime(2026, 11, 28, 5, 0, tzinfo=UTC)),
        ("30 0 7 * * *", datetime(2026, 11, 26, 5, 0, 30, tzinfo=UTC)),  # seconds first
    ],
)
def test_schedules_read_weekdays_as_crontab_does(schedule: str, expected: datetime) -> None:
    thursday = datetime(2026, 11, 26, 1, 0, tzinfo=UTC)
    assert next_slot(schedule, KYIV, thursday) == expected
