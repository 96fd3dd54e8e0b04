"""Parsing alone: feedparser against the fast path (``newswatch.fetching.xmlfeed``).

Builds the benchmark corpus (``corpus.py``: ``--feeds`` feeds, seed ``--seed``), parses every
document with ``parse_document`` twice (feedparser forced, then the fast path), checks that the
two results are equal, and prints µs per entry, entries per second and the share of documents
that took the fast path (the malformed ones must not). Medians of ``--runs`` passes.

``--fuzz SECONDS`` instead compares the two paths on random RSS and Atom documents
(``tests/test_xmlfeed_properties.py`` has the generator) for that long and stops at the first
difference, printing the document.

    .venv/bin/python bench/parse.py                 # 200 feeds, seed 1, 5 runs
    .venv/bin/python bench/parse.py --fuzz 600      # ten minutes of random documents
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

import feedparser
from corpus import build_corpus

from newswatch.fetching import parse, xmlfeed

URL = "https://bench.example/feed"
HEADERS = {"content-type": "application/rss+xml; charset=utf-8"}


def _parse(body: bytes, headers: dict[str, str], *, fast: bool) -> Any:
    parse._FAST_PATH = fast
    try:
        return parse.parse_document(body, url=URL, headers=dict(headers))
    except Exception as exc:  # feedparser itself raises KeyError on some documents
        return (type(exc).__name__, str(exc))
    finally:
        parse._FAST_PATH = True


def _timed(documents: Sequence[bytes], *, fast: bool) -> tuple[float, int]:
    """CPU seconds of ``parse_document`` over the documents, and the entries it found."""
    entries = 0
    start = time.process_time()
    for body in documents:
        result = _parse(body, HEADERS, fast=fast)
        entries += len(getattr(result, "entries", ()))
    return time.process_time() - start, entries


def _timed_parsers(documents: Sequence[bytes], *, fast: bool) -> float:
    """CPU seconds of the parser alone (``feedparser.parse`` or ``xmlfeed.parse_feed``)."""
    prepared = [_prepared(body, HEADERS) for body in documents]
    start = time.process_time()
    for body, headers in prepared:
        result = xmlfeed.parse_feed(body, headers) if fast else None
        if result is None:
            feedparser.parse(
                body, response_headers=headers, sanitize_html=False, resolve_relative_uris=False
            )
    return time.process_time() - start


def _fast_share(documents: Sequence[bytes]) -> int:
    taken = 0
    original: Callable[..., Any] = xmlfeed.parse_feed

    def counting(body: bytes, headers: Any) -> Any:
        nonlocal taken
        result = original(body, headers)
        taken += result is not None
        return result

    xmlfeed.parse_feed = counting
    try:
        for body in documents:
            _parse(body, HEADERS, fast=True)
    finally:
        xmlfeed.parse_feed = original
    return taken


def bench(feeds: int, seed: int, runs: int) -> None:
    corpus = build_corpus(feeds, seed)
    documents = [data for _feed, data in corpus.documents()]
    malformed = sum(1 for feed in corpus.feeds if feed.malformed)
    different = [
        i
        for i, body in enumerate(documents)
        if _parse(body, HEADERS, fast=False) != _parse(body, HEADERS, fast=True)
    ]
    taken = _fast_share(documents)
    print(f"corpus: {feeds} feeds (seed {seed}), {malformed} malformed, {runs} runs")
    print(f"fast path taken by {taken}/{len(documents)} documents ({taken / len(documents):.1%})")
    print(f"results equal: {len(documents) - len(different)}/{len(documents)}")
    rows = []
    for label, fast in (("feedparser", False), ("fast path", True)):
        times, parser_times = [], []
        for _ in range(runs):
            seconds, entries = _timed(documents, fast=fast)
            times.append(seconds)
            parser_times.append(_timed_parsers(documents, fast=fast))
        median = statistics.median(times)
        parser = statistics.median(parser_times)
        rows.append((label, median / entries * 1e6, entries / median, parser / entries * 1e6))
    print("CPU time, median of the runs; parse_document = parser + charset + ParsedEntry values")
    print(f"{'':12} {'µs/entry':>9} {'entries/s':>10} {'parser µs/entry':>16}")
    for label, per_entry, rate, parser_per_entry in rows:
        print(f"{label:12} {per_entry:9.1f} {rate:10,.0f} {parser_per_entry:16.1f}")
    print(
        f"speed-up: {rows[0][1] / rows[1][1]:.1f}x (parse_document), "
        f"{rows[0][3] / rows[1][3]:.1f}x (parser alone)"
    )
    if different:
        raise SystemExit(f"results differ for documents {different[:10]}")


def fuzz(seconds: float, seed: int) -> None:
    from test_xmlfeed_properties import random_document

    rng = random.Random(seed)
    deadline = time.monotonic() + seconds
    count = taken = 0
    original = xmlfeed.parse_feed
    while time.monotonic() < deadline:
        body, headers = random_document(rng)
        slow = _parse(body, headers, fast=False)
        result = original(*_prepared(body, headers))
        fast = _parse(body, headers, fast=True)
        count += 1
        taken += result is not None
        if slow != fast:
            print(body.decode("utf-8", "replace"))
            print("feedparser:", slow)
            print("fast path: ", fast)
            raise SystemExit(f"difference after {count} documents")
    print(f"{count} random documents, {taken} on the fast path, no difference")


def _prepared(body: bytes, headers: dict[str, str]) -> tuple[bytes, dict[str, str]]:
    """What ``_parse_xml`` hands to ``xmlfeed.parse_feed``."""
    headers = dict(headers)
    headers.pop("content-location", None)
    body, _problem = parse.settle_charset(body, headers)
    return parse._cap_author_fields(body), headers


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200, help="corpus size (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="corpus or fuzz seed (default 1)")
    parser.add_argument("--runs", type=int, default=5, help="timed passes (default 5)")
    parser.add_argument("--fuzz", type=float, metavar="SECONDS", help="fuzz instead of bench")
    args = parser.parse_args(argv)
    if args.fuzz:
        fuzz(args.fuzz, args.seed)
    else:
        bench(args.feeds, args.seed, args.runs)


if __name__ == "__main__":
    main()
