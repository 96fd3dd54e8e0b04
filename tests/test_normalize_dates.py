"""Review: dates invented or misplaced by normalize.py."""

from __future__ import annotations

from datetime import UTC, datetime

from newswatch.fetching.parsed import ParsedEntry
from newswatch.model import Article
from newswatch.normalize import normalize_entry

FETCHED = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)
PUBLISHED = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)


def _normalize(entry: ParsedEntry) -> Article:
    return normalize_entry(
        entry, feed_id=1, feed_url="https://a.example/f", feed_language=None, fetched_at=FETCHED
    )


def test_an_entry_without_an_updated_date_gets_none() -> None:
    """Bug: normalize.py:105 ``_believable(entry.updated, ...)`` turns a missing <updated> into
    the fetch time, and line 119 keeps it because it differs from the published date, so every
    article without an update date claims to have been updated when it was fetched."""
    article = _normalize(ParsedEntry(guid="g", title="t", published=PUBLISHED))
    assert article.published_at == PUBLISHED
    assert article.updated_at is None


def test_an_absurd_updated_date_is_dropped_not_replaced_by_fetch_time() -> None:
    """Bug: same lines; a year-2099 <updated> becomes updated_at = fetch time."""
    entry = ParsedEntry(
        guid="g", title="t", published=PUBLISHED, updated=datetime(2099, 1, 1, tzinfo=UTC)
    )
    assert _normalize(entry).updated_at is None


def test_an_absurd_published_date_falls_back_to_a_sane_updated_date() -> None:
    """Bug: normalize.py:104 picks ``entry.published or entry.updated``; a 1970 published date
    is non-None, gets rejected, and the believable updated date is never tried."""
    updated = datetime(2026, 11, 20, tzinfo=UTC)
    entry = ParsedEntry(
        guid="g", title="t", published=datetime(1970, 1, 1, tzinfo=UTC), updated=updated
    )
    article = _normalize(entry)
    assert (article.published_at, article.date_estimated) == (updated, False)
