"""Review: ``Fetcher.fetch`` promises ``FetchError`` for any failed exchange, but leaks others."""

from __future__ import annotations

import asyncio

import pytest

from newswatch.fetching.http import Fetcher, FetchError


def test_an_unencodable_host_is_a_fetch_error_for_article_links() -> None:
    """Bug: with ``allow_private=False`` (full-text article links), http.py:314
    ``getaddrinfo`` raises UnicodeError for a host label over 63 characters ("label empty or
    too long"); ``_refuse_private`` only catches OSError, so the full_text task fails,
    ``asyncio.gather(*pages)`` in ingest.py re-raises it and the pass ends with an exception
    after every feed was stored (no summary, no clustering, no tagging). No DNS query is made:
    the IDNA encoding fails first."""

    async def fetch() -> None:
        async with Fetcher(timeout=2) as fetcher:
            await fetcher.fetch(f"http://{'a' * 64}.example/x", allow_private=False)

    with pytest.raises(FetchError):
        asyncio.run(fetch())
