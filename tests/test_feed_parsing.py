"""Data-driven parser cases: each feed in tests/data/feeds beside its expected articles.

Set NEWSWATCH_REGENERATE=1 to rewrite the ``.expected.json`` files after a deliberate change,
then read the diff before committing it.
"""

from __future__ import annotations

import json
import os
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from newswatch.fetching.parse import parse_document
from newswatch.normalize import normalize_entries
from newswatch.reporting import iso

CASES = Path(__file__).parent / "data" / "feeds"
FETCHED_AT = datetime(2026, 11, 26, 6, 0, tzinfo=UTC)


def summarise(path: Path) -> dict[str, Any]:
    body = path.read_bytes()
    parsed = parse_document(body, url=f"https://feeds.example/{path.name}", headers={})
    articles = normalize_entries(
        parsed.entries,
        feed_id=1,
        feed_url=f"https://feeds.example/{path.name}",
        feed_language=parsed.language,
        fetched_at=FETCHED_AT,
    )
    return {
        "format": parsed.format,
        "title": parsed.title,
        "language": parsed.language,
        "ttl_seconds": parsed.ttl_seconds,
        "problems": bool(parsed.problems),
        "articles": [
            {
                "entry_key": a.entry_key,
                "title": a.title,
                "url": a.url,
                "canonical_url": a.canonical_url,
                "published_at": iso(a.published_at),
                "date_estimated": a.date_estimated,
                "language": a.language,
                "summary": a.summary,
                "content_text": a.content_text,
                "content_html": a.content_html,
            }
            for a in articles
        ],
    }


@pytest.mark.parametrize("path", sorted(CASES.glob("*.xml")), ids=lambda p: p.stem)
def test_feed_case(path: Path) -> None:
    expected_path = path.with_suffix(".expected.json")
    got = summarise(path)
    if os.environ.get("NEWSWATCH_REGENERATE"):
        expected_path.write_text(json.dumps(got, indent=2, ensure_ascii=False) + "\n")
    expected = json.loads(expected_path.read_text(encoding="utf-8"))
    assert got == expected
