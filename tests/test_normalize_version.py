"""A change to what normalisation makes of an entry must come with a new
``NORMALIZATION_VERSION``.

Entries a feed sends again unchanged are known by their source hash and not normalised again
(``normalize.source_hash``); the version is part of the hash. If normalisation changed its
output and the version stayed, stored articles would keep the old output for as long as their
entries stay in their feeds. This test normalises fixed entries and compares a digest of the
result with the one recorded for the current version.
"""

from __future__ import annotations

import hashlib
import json
from datetime import UTC, datetime

from newswatch.fetching.parsed import ParsedEntry
from newswatch.normalize import NORMALIZATION_VERSION, normalize_entries

#: The digest of ``_normalised()`` for each version. After a deliberate change to
#: normalisation, raise ``NORMALIZATION_VERSION`` and record the new digest here.
RECORDED = {1: "f245b0c7f922b0ad"}

FETCHED = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
ENTRIES = (
    ParsedEntry(
        guid="tag:news.example,2026:1",
        link="/world/talks?utm_source=rss&id=7#top",
        title="Talks &amp; <b>progress</b> in Geneva",
        summary_html="<p>Envoys met.</p>",
        content_html=(
            '<p>Envoys met on <a href="/day">Tuesday</a>.</p><script>alert(1)</script>'
            '<img src="https://t.example/pixel.gif" width="1" height="1"><p>More&nbsp;text.</p>'
        ),
        published=datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
    ),
    ParsedEntry(
        link="https://news.example/a2",
        title="",
        summary_html="Kyiv wants “Article 5-like” guarantees — before any ceasefire…",
        published=datetime(2036, 1, 1, tzinfo=UTC),  # in the future: not believed
    ),
    ParsedEntry(
        title="Гарантії безпеки: Київ і Вашингтон",
        content_text="Переговори тривають <не HTML>.\n\nДругий абзац.",
        language="uk",
        updated=datetime(2026, 11, 24, tzinfo=UTC),
    ),
    ParsedEntry(
        guid="x",
        link="javascript:alert(1)",
        title="Ünïcödé ﬁnance ½ ΟΔΟΣ",
        content_html="<div><h2>Heading</h2><ul><li>one</li><li>two</li></ul></div>",
        base_url="https://base.example/dir/",
    ),
)


def _normalised() -> str:
    articles = normalize_entries(
        ENTRIES,
        feed_id=1,
        feed_url="https://news.example/feed.xml",
        feed_language="en",
        fetched_at=FETCHED,
    )
    fields = [
        {
            name: value.isoformat() if isinstance(value, datetime) else value
            for name, value in vars_of(article).items()
            if name not in ("source_hash", "ingested_at")
        }
        for article in articles
    ]
    return hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]


def vars_of(article: object) -> dict[str, object]:
    return {name: getattr(article, name) for name in article.__dataclass_fields__}  # type: ignore[attr-defined]


def test_normalisation_output_matches_its_version() -> None:
    digest = _normalised()
    recorded = RECORDED.get(NORMALIZATION_VERSION)
    assert digest == recorded, (
        f"normalisation now gives digest {digest!r} (recorded for version "
        f"{NORMALIZATION_VERSION}: {recorded!r}). If the change is deliberate, raise "
        "normalize.NORMALIZATION_VERSION (stored entries are then normalised again) and record "
        "the new digest in RECORDED."
    )
