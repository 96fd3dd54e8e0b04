"""Storage round-trips, on SQLite and on a real PostgreSQL server."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta, timezone

import pytest

from newswatch.errors import LedgerConflict
from newswatch.model import (
    Article,
    Delivery,
    DeliveryStatus,
    DigestItem,
    DigestStatus,
    Evidence,
    FeedDeclaration,
    FeedStatus,
    TopicDefinition,
    TopicMatch,
)
from newswatch.storage import FeedSyncResult, Storage

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
FEEDS = [
    FeedDeclaration("https://one.example/rss", name="One", interval_seconds=900),
    FeedDeclaration("https://two.example/atom", full_text=True, backfill=True),
]
TOPICS = [
    TopicDefinition("peace-talks", "Peace talks", "Talks", '"peace plan" OR ceasefire', 1.0),
    TopicDefinition("frozen-assets", "Frozen assets", "", "Euroclear", 2.0, exclude="oligarch*"),
]


def make_article(storage: Storage, key: str = "guid-1", **changes: object) -> Article:
    feed = storage.list_feeds()[0]
    article = Article(
        feed_id=feed.id,
        entry_key=key,
        title="Envoys meet in Geneva on the 20-point plan",
        url="https://one.example/a?utm_source=x",
        canonical_url="https://one.example/a",
        guid=key,
        summary="Talks resumed.",
        content_text="Talks resumed in Geneva. Зеленський said…",
        content_html="<p>Talks resumed in Geneva.</p>",
        language="en",
        published_at=datetime(2026, 11, 25, 22, 30, tzinfo=timezone(timedelta(hours=2))),
        fingerprint="f" * 64,
        simhash=-(2**63) + 5,  # the full signed 64-bit range must survive
    )
    return replace(article, **changes)  # type: ignore[arg-type]


def test_feeds_mirror_the_config(storage: Storage) -> None:
    result = storage.sync_feeds(FEEDS, NOW)
    assert result.added == tuple(f.url for f in FEEDS)

    feeds = storage.list_feeds()
    assert [(f.url, f.name, f.status, f.articles) for f in feeds] == [
        ("https://one.example/rss", "One", FeedStatus.NEW, 0),
        ("https://two.example/atom", None, FeedStatus.NEW, 0),
    ]
    assert feeds[0].interval_seconds == 900
    assert feeds[1].full_text
    assert feeds[1].backfill
    assert feeds[0].next_fetch_at == NOW  # a new feed is due at once
    assert feeds[0].next_fetch_at.tzinfo is not None

    # Same config again: nothing changes.
    assert storage.sync_feeds(FEEDS, NOW) == type(result)()

    # A renamed feed is updated; a removed one is deactivated, not deleted.
    later = NOW + timedelta(hours=1)
    result = storage.sync_feeds([replace(FEEDS[0], name="Renamed")], later)
    assert result.updated == ("https://one.example/rss",)
    assert result.deactivated == ("https://two.example/atom",)
    assert [f.name for f in storage.list_feeds()] == ["Renamed"]
    assert len(storage.list_feeds(include_inactive=True)) == 2

    # Declared again: it comes back with its history.
    result = storage.sync_feeds(FEEDS, later)
    assert result.reactivated == ("https://two.example/atom",)
    feed = storage.get_feed("https://two.example/atom")
    assert feed is not None
    assert feed.active
    assert feed.created_at == NOW


@pytest.mark.parametrize(
    "change",
    [
        pytest.param({"name": "Renamed"}, id="name"),
        pytest.param({"interval_seconds": 60}, id="interval"),
        pytest.param({"full_text": True}, id="full-text"),
        pytest.param({"backfill": True}, id="backfill"),
    ],
)
def test_each_feed_setting_alone_is_mirrored(storage: Storage, change: dict[str, object]) -> None:
    # sync_feeds reads first and writes only when something changed: each change on its own
    # must still count as one.
    storage.sync_feeds(FEEDS, NOW)
    changed = [replace(FEEDS[0], **change), FEEDS[1]]  # type: ignore[arg-type]
    assert storage.sync_feeds(changed, NOW).updated == ("https://one.example/rss",)
    assert storage.sync_feeds(changed, NOW) == FeedSyncResult()  # and then it is in sync


def test_a_feed_removed_alone_then_declared_again(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    assert storage.sync_feeds(FEEDS[:1], NOW).deactivated == ("https://two.example/atom",)
    assert storage.sync_feeds(FEEDS, NOW).reactivated == ("https://two.example/atom",)
    assert storage.sync_feeds([*FEEDS, replace(FEEDS[0], url="https://three.example/")], NOW).added


def test_a_topic_renamed_requeried_redescribed_or_removed_alone_is_mirrored(
    storage: Storage,
) -> None:
    storage.sync_topics(TOPICS, NOW)
    renamed = [replace(TOPICS[0], name="Ceasefire talks"), TOPICS[1]]
    storage.sync_topics(renamed, NOW)
    assert [t.name for t in storage.list_topics()] == ["Frozen assets", "Ceasefire talks"]
    requeried = [replace(renamed[0], query="ceasefire"), renamed[1]]
    assert [t.version for t in storage.sync_topics(requeried, NOW)] == [2, 1]
    redescribed = [replace(requeried[0], description="Talks on a ceasefire"), requeried[1]]
    assert [t.version for t in storage.sync_topics(redescribed, NOW)] == [2, 1]  # not a new one
    assert storage.list_topics()[1].description == "Talks on a ceasefire"
    storage.sync_topics(renamed[:1], NOW)
    assert [t.slug for t in storage.list_topics()] == ["peace-talks"]
    storage.sync_topics(renamed, NOW)
    assert [t.slug for t in storage.list_topics()] == ["frozen-assets", "peace-talks"]


def test_article_round_trip_and_identity(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    article = make_article(storage)
    stored, new = storage.save_article(article, NOW)
    assert new
    assert stored.id is not None
    assert storage.get_article(stored.id) == stored
    assert stored.title == article.title
    assert stored.content_text.endswith("Зеленський said…")
    assert stored.simhash == article.simhash
    # Datetimes come back as the same instant, in UTC.
    assert stored.published_at == datetime(2026, 11, 25, 20, 30, tzinfo=UTC)
    assert stored.published_at is not None
    assert stored.published_at.utcoffset() == timedelta(0)
    assert stored.ingested_at == NOW

    # The same entry again (edited title) updates the row instead of adding one.
    later = NOW + timedelta(hours=2)
    again, new = storage.save_article(replace(article, title="Envoys agree in Geneva"), later)
    assert not new
    assert again.id == stored.id
    assert again.title == "Envoys agree in Geneva"
    assert again.ingested_at == NOW  # ingestion order does not move
    assert storage.count_articles() == 1
    assert storage.list_feeds()[0].articles == 1

    # A different entry gets a larger id: ids follow ingestion order.
    other, new = storage.save_article(make_article(storage, "guid-2"), later)
    assert new
    assert other.id is not None
    assert other.id > stored.id


def test_naive_datetimes_are_refused(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    article = make_article(storage, published_at=datetime(2026, 1, 1))
    with pytest.raises(Exception, match="naive datetime"):
        storage.save_article(article, NOW)
    assert storage.count_articles() == 0


def test_topics_are_versioned(storage: Storage) -> None:
    stored = storage.sync_topics(TOPICS, NOW)
    assert [(t.slug, t.version) for t in stored] == [("peace-talks", 1), ("frozen-assets", 1)]
    assert storage.list_topics()[0].exclude == "oligarch*"

    # A new name keeps the version (matches do not change); a new query bumps it.
    renamed = [replace(TOPICS[0], name="Ceasefire talks"), TOPICS[1]]
    assert [t.version for t in storage.sync_topics(renamed, NOW)] == [1, 1]
    changed = [replace(TOPICS[0], query="ceasefire"), TOPICS[1]]
    topics = storage.sync_topics(changed, NOW)
    assert [t.version for t in topics] == [2, 1]
    assert topics[0].name == "Peace talks"

    # A topic no longer configured is deactivated.
    storage.sync_topics(changed[:1], NOW)
    assert [t.slug for t in storage.list_topics()] == ["peace-talks"]


def test_matches_round_trip(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    storage.sync_topics(TOPICS, NOW)
    article, _ = storage.save_article(make_article(storage), NOW)
    assert article.id is not None
    matches = [
        TopicMatch(
            article.id, "frozen-assets", 0.5, (Evidence("euroclear", "body", 12),), "…Euroclear…"
        ),
        TopicMatch(
            article.id,
            "peace-talks",
            0.875,
            (Evidence("peace plan", "title", 3), Evidence("geneva", "lead", 0)),
            None,
        ),
    ]
    storage.save_matches(article.id, matches, NOW)
    assert storage.matches_for(article.id) == [matches[1], matches[0]]

    # Tagging again replaces the matches rather than adding to them.
    storage.save_matches(article.id, matches[1:], NOW)
    assert storage.matches_for(article.id) == matches[1:]

    counts = {c.slug: (c.articles, c.last_24h) for c in storage.topic_counts(NOW)}
    assert counts == {"peace-talks": (1, 1), "frozen-assets": (0, 0)}
    assert storage.topic_counts(NOW + timedelta(days=2))[1].last_24h == 0


def test_story_clusters(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    first, _ = storage.save_article(make_article(storage, "a"), NOW)
    second, _ = storage.save_article(make_article(storage, "b"), NOW)
    assert first.id is not None
    assert second.id is not None
    story = storage.create_story(first.id, NOW)
    assert story.article_ids == (first.id,)
    joined = storage.join_story(second.id, story.id, NOW + timedelta(minutes=5))
    assert joined.article_ids == (first.id, second.id)
    assert storage.get_story(story.id) == joined
    stored = storage.get_article(second.id)
    assert stored is not None
    assert stored.story_id == story.id


def test_digest_ledger_is_exactly_once(storage: Storage) -> None:
    storage.sync_feeds(FEEDS, NOW)
    ids = []
    for key in ("a", "b", "c"):
        article, _ = storage.save_article(make_article(storage, key), NOW)
        assert article.id is not None
        ids.append(article.id)
    deliveries = [Delivery("markdown", "/srv/digests"), Delivery("email", "a@example.org")]
    digest = storage.record_digest(
        "daily",
        period_start=None,
        period_end=NOW,
        items=[DigestItem(ids[0], "peace-talks", 1), DigestItem(ids[1], None, 2)],
        deliveries=deliveries,
        now=NOW,
        message_id="<1@newswatch>",
    )
    assert digest.status is DigestStatus.PENDING
    assert [i.article_id for i in digest.items] == ids[:2]
    assert [(d.kind, d.status) for d in digest.deliveries] == [
        ("markdown", DeliveryStatus.PENDING),
        ("email", DeliveryStatus.PENDING),
    ]
    assert storage.get_digest(digest.id) == digest
    assert storage.last_digest("daily") == digest
    assert storage.last_digest("weekly") is None

    # An article already delivered in this channel cannot enter a second digest of it…
    later = NOW + timedelta(days=1)
    with pytest.raises(LedgerConflict):
        storage.record_digest(
            "daily",
            period_start=NOW,
            period_end=later,
            items=[DigestItem(ids[2], None, 1), DigestItem(ids[0], None, 2)],
            deliveries=[],
            now=later,
        )
    # …and the failed attempt recorded nothing at all.
    assert storage.last_digest("daily") == digest
    # Another channel may carry the same article.
    weekly = storage.record_digest(
        "weekly",
        period_start=None,
        period_end=NOW,
        items=[DigestItem(ids[0], None, 1)],
        deliveries=[],
        now=NOW,
    )
    assert weekly.items[0].article_id == ids[0]
    # A period with nothing new is recorded as empty.
    empty = storage.record_digest(
        "daily", period_start=NOW, period_end=later, items=[], deliveries=[], now=later
    )
    assert empty.status is DigestStatus.EMPTY
    # One digest per channel and period end, whichever process gets there first.
    with pytest.raises(LedgerConflict):
        storage.record_digest(
            "daily", period_start=NOW, period_end=later, items=[], deliveries=[], now=later
        )
