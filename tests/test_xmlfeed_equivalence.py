"""The fast path gives exactly what feedparser gives, and is taken by the well-formed feeds.

Documents: the real feeds of ../shared/data/feeds, the feed files under tests/, every feed
document written as a literal in the tests, and a generated benchmark corpus (bench/corpus.py).
Each is parsed with ``parse_document`` twice, feedparser forced and fast path allowed, and the
results (or the exceptions) must be equal. The fast path must have been taken for every
document feedparser read with its strict XML parser and no complaint, so the test fails if
``xmlfeed`` quietly falls back for everything.
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path
from typing import Any

import feedparser
import pytest

from builders import rss_document
from newswatch.fetching import parse, xmlfeed

TESTS = Path(__file__).parent
BENCH = TESTS.parent / "bench"
# ../shared beside the repository (as conftest.SHARED; importing conftest by name would find
# tests/properties/conftest.py when the whole suite runs).
SHARED_FEEDS = TESTS.parent.parent / "shared" / "data" / "feeds"
URL = "https://feeds.example/feed"


def _literal_documents() -> list[tuple[str, bytes]]:
    """Feed documents written as string or bytes literals in the test modules."""
    found: dict[bytes, str] = {}
    for path in sorted(TESTS.rglob("*.py")):
        if path.name.startswith("test_xmlfeed"):
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str | bytes):
                value = (
                    node.value.encode("utf-8", "surrogatepass")
                    if isinstance(node.value, str)
                    else node.value
                )
                if any(root in value for root in (b"<rss", b"<feed", b"<rdf:RDF")):
                    found.setdefault(value, f"{path.relative_to(TESTS)}:{node.lineno}")
    return [(name, value) for value, name in found.items()]


def _corpus_documents() -> list[tuple[str, bytes]]:
    sys.path.insert(0, str(BENCH))
    try:
        from corpus import build_corpus
    finally:
        sys.path.remove(str(BENCH))
    corpus = build_corpus(40, 1)
    return [(f"corpus/{feed.filename}", data) for feed, data in corpus.documents()]


def _documents() -> list[Any]:
    files = sorted(TESTS.joinpath("data", "feeds").glob("*.xml"))
    documents = [pytest.param(path.read_bytes(), id=f"tests/{path.name}") for path in files]
    documents += [pytest.param(body, id=name) for name, body in _literal_documents()]
    documents.append(
        pytest.param(
            rss_document([("Talks resume", "https://x.example/1", "Body &amp; more", "")]),
            id="builders.rss_document",
        )
    )
    documents += [pytest.param(body, id=name) for name, body in _corpus_documents()]
    if SHARED_FEEDS.is_dir():
        shared = sorted(p for p in SHARED_FEEDS.iterdir() if p.suffix != ".tsv")
        documents += [pytest.param(p.read_bytes(), id=f"shared/{p.name}") for p in shared]
    else:
        documents.append(
            pytest.param(
                b"",
                id="shared",
                marks=pytest.mark.skip(reason=f"no shared feeds at {SHARED_FEEDS}"),
            )
        )
    return documents


def outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> Any:
    """parse_document's result or exception, with the fast path allowed or not."""
    parse._FAST_PATH = fast
    try:
        return parse.parse_document(body, url=URL, headers=dict(headers))
    except Exception as exc:  # the exception itself is part of what must be equal
        return (type(exc).__name__, str(exc))
    finally:
        parse._FAST_PATH = True


def _strictly_read_by_feedparser(body: bytes, headers: dict[str, str]) -> bool:
    """Did feedparser read this document with its strict parser and no complaint?"""
    headers = dict(headers)
    body, _problem = parse.settle_charset(body, headers)
    result = feedparser.parse(
        parse._cap_author_fields(body),
        response_headers=headers,
        sanitize_html=False,
        resolve_relative_uris=False,
    )
    exc = result.get("bozo_exception")
    return bool(result.get("version")) and (
        not result.get("bozo") or isinstance(exc, feedparser.NonXMLContentType)
    )


@pytest.mark.parametrize(
    "headers", [{}, {"content-type": "application/rss+xml"}], ids=["bare", "ct"]
)
@pytest.mark.parametrize("body", _documents())
def test_fast_path_equals_feedparser(
    body: bytes, headers: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    taken: list[bool] = []
    original = xmlfeed.parse_feed

    def recording(data: bytes, response_headers: Any) -> Any:
        result = original(data, response_headers)
        taken.append(result is not None)
        return result

    monkeypatch.setattr(xmlfeed, "parse_feed", recording)
    assert outcome(body, headers, fast=True) == outcome(body, headers, fast=False)
    if body.lstrip().startswith((b"{", b"<!DOCTYPE html", b"<html")) or not body.strip():
        return  # JSON Feed, web pages and empty bodies never reach the XML parsers
    if _strictly_read_by_feedparser(body, headers) and b"<!DOCTYPE" not in body[:1024]:
        assert taken == [True], "a plain feed fell back to feedparser"


def test_malformed_corpus_feeds_fall_back() -> None:
    sys.path.insert(0, str(BENCH))
    try:
        from corpus import build_corpus
    finally:
        sys.path.remove(str(BENCH))
    broken = [data for feed, data in build_corpus(60, 1).documents() if feed.malformed]
    assert broken, "the corpus has no malformed feed to check"
    headers = {"content-type": "application/rss+xml"}
    for data in broken:
        body, _problem = parse.settle_charset(data, dict(headers))
        assert xmlfeed.parse_feed(parse._cap_author_fields(body), headers) is None


@pytest.mark.parametrize(
    "document",
    [
        b'<?xml version="1.0"?><!DOCTYPE rss [<!ENTITY x "boom">]><rss version="2.0">'
        b"<channel><item><title>&x;</title></item></channel></rss>",
        b'<rss version="2.0"><channel><item><title>Live&nbsp;now</title></item></channel></rss>',
        b'<html><body><rss version="2.0"></rss></body></html>',
        b'<rss version="2.0"><channel><item><title>cut short',
    ],
    ids=["entities", "undefined-entity", "not-a-feed-root", "truncated"],
)
def test_hostile_or_broken_documents_fall_back(document: bytes) -> None:
    assert xmlfeed.parse_feed(document, {}) is None
