"""Normalising benchmark: how long ``normalize_entries`` takes per entry, and where the time goes.

Run from the repository root::

    .venv/bin/python bench/normalize.py [--feeds 200] [--seed 1] [--runs 3] [--top 10]

It builds the ingest benchmark's corpus in memory (``bench/corpus.py``, the same documents
``bench/ingest.py`` serves), parses every document once with ``parse_document`` (not timed),
then times ``normalize_entries`` over all of them, ``--runs`` times: CPU seconds of this process
(``time.process_time``), the median printed as microseconds per entry. One more pass under
cProfile prints the top functions by own time and by cumulative time in newswatch's code.

Golden comparison (the output must not change when the code gets faster)::

    .venv/bin/python bench/normalize.py --save-entries /tmp/entries.pickle  # parse once
    git archive HEAD src | tar -x -C /tmp/old
    PYTHONPATH=/tmp/old/src .venv/bin/python bench/normalize.py \\
        --load-entries /tmp/entries.pickle --dump /tmp/old.jsonl --runs 0
    .venv/bin/python bench/normalize.py --load-entries /tmp/entries.pickle \\
        --dump /tmp/new.jsonl --runs 0
    cmp /tmp/old.jsonl /tmp/new.jsonl

``--save-entries`` stores the parsed entries (field by field) so both versions normalise the
very same input even while the feed parser changes; ``--files`` adds real feed documents (for
instance ``../shared/data/feeds/*`` and ``tests/data/feeds/*.xml``) to the corpus; ``--dump``
writes every Article as one JSON line.
"""

from __future__ import annotations

import argparse
import cProfile
import dataclasses
import importlib.util
import io
import json
import pickle
import pstats
import statistics
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
if str(BENCH) not in sys.path:
    sys.path.insert(0, str(BENCH))
if importlib.util.find_spec("newswatch") is None:
    sys.path.insert(0, str(ROOT / "src"))

from newswatch.fetching.errors import FeedParseError  # noqa: E402
from newswatch.fetching.parse import parse_document  # noqa: E402
from newswatch.fetching.parsed import ParsedEntry  # noqa: E402
from newswatch.normalize import normalize_entries  # noqa: E402

#: Where the corpus would be served from (links in the documents are resolved against it).
BASE_URL = "http://127.0.0.1:8080"
FETCHED_AT = datetime(2026, 2, 1, 12, 0, tzinfo=UTC)

#: (name, feed URL, feed language, entries as dicts of ParsedEntry fields)
Document = tuple[str, str, str | None, list[dict[str, Any]]]


def corpus_documents(feeds: int, seed: int) -> list[tuple[str, str, bytes]]:
    """(name, URL, body) of every document of the ingest benchmark's corpus."""
    from corpus import build_corpus

    corpus = build_corpus(feeds, seed)
    return [(feed.filename, BASE_URL + feed.path, data) for feed, data in corpus.documents()]


def file_documents(paths: Sequence[str]) -> list[tuple[str, str, bytes]]:
    """(name, URL, body) of real feed files, each as if served from the benchmark's host."""
    return [
        (Path(path).name, f"{BASE_URL}/files/{Path(path).name}", Path(path).read_bytes())
        for path in sorted(paths)
    ]


def parse_all(documents: Sequence[tuple[str, str, bytes]]) -> list[Document]:
    """Parse each document once; those that are not feeds are left out."""
    parsed: list[Document] = []
    for name, url, body in documents:
        try:
            feed = parse_document(body, url=url)
        except FeedParseError:
            continue
        entries = [
            {field.name: getattr(entry, field.name) for field in dataclasses.fields(entry)}
            for entry in feed.entries
        ]
        parsed.append((name, url, feed.language, entries))
    return parsed


def clear_caches() -> None:
    """Forget what an earlier pass memoised, so that every timed pass starts cold.

    Caches that pay off within one pass (feature hashes of frequent bigrams, feed base URLs,
    urllib's split URLs) stay in; a second pass over the same entries must not look faster
    than the first for having seen them before.
    """
    from urllib.parse import clear_cache  # type: ignore[attr-defined]

    from newswatch import dedup, text

    clear_cache()
    getattr(dedup, "_DIGESTS", {}).clear()
    clean_base = getattr(text, "_clean_base", None)
    if clean_base is not None:
        clean_base.cache_clear()


def normalize_all(documents: Sequence[Document], entries: Sequence[Sequence[ParsedEntry]]) -> int:
    """``normalize_entries`` over every document, as ingestion calls it; the articles made."""
    clear_caches()
    count = 0
    for (_name, url, language, _fields), parsed in zip(documents, entries, strict=True):
        count += len(
            normalize_entries(
                parsed, feed_id=1, feed_url=url, feed_language=language, fetched_at=FETCHED_AT
            )
        )
    return count


def dump(documents: Sequence[Document], entries: Sequence[Sequence[ParsedEntry]], out: Path) -> int:
    """Write every Article as one JSON line (document name first); the lines written."""
    lines = 0
    with out.open("w", encoding="utf-8") as stream:
        for (name, url, language, _fields), parsed in zip(documents, entries, strict=True):
            articles = normalize_entries(
                parsed, feed_id=1, feed_url=url, feed_language=language, fetched_at=FETCHED_AT
            )
            for article in articles:
                row = {"document": name, **dataclasses.asdict(article)}
                # Surrogates (from JSON feeds' escapes) must survive the round trip.
                stream.write(json.dumps(row, default=str, ensure_ascii=True) + "\n")
                lines += 1
    return lines


def print_profile(documents: Sequence[Document], entries: Any, top: int) -> None:
    profile = cProfile.Profile()
    profile.enable()
    normalize_all(documents, entries)
    profile.disable()
    for order, title in (("tottime", "own time"), ("cumulative", "cumulative time")):
        stream = io.StringIO()
        stats = pstats.Stats(profile, stream=stream).strip_dirs().sort_stats(order)
        stats.print_stats(top)
        body = stream.getvalue()
        table = body[body.index("   ncalls") :].rstrip()
        print(f"\ncProfile, top {top} by {title} (cProfile slows Python code: compare shares)")
        print(table)


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description="Normalising benchmark (normalize_entries).")
    parser.add_argument("--feeds", type=int, default=200, help="feeds in the corpus (200)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument("--files", nargs="*", default=[], help="real feed files to add")
    parser.add_argument("--runs", type=int, default=3, help="timed runs, median printed (3)")
    parser.add_argument("--top", type=int, default=10, help="profile rows (10; 0: no profile)")
    parser.add_argument("--save-entries", type=Path, help="store the parsed entries here")
    parser.add_argument("--load-entries", type=Path, help="normalise these instead of parsing")
    parser.add_argument("--dump", type=Path, help="write every Article as a JSON line here")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    if args.load_entries:
        documents: list[Document] = pickle.loads(args.load_entries.read_bytes())
    else:
        started = time.perf_counter()
        raw = (corpus_documents(args.feeds, args.seed) if args.feeds else []) + file_documents(
            args.files
        )
        documents = parse_all(raw)
        print(f"corpus: {len(raw)} documents parsed in {time.perf_counter() - started:.1f} s")
    if args.save_entries:
        args.save_entries.write_bytes(pickle.dumps(documents))
    entries = [[ParsedEntry(**fields) for fields in doc[3]] for doc in documents]
    total = sum(map(len, entries))
    print(f"{len(documents)} feeds, {total:,} entries")
    if args.dump:
        print(f"{dump(documents, entries, args.dump):,} articles written to {args.dump}")
    if args.runs > 0:
        normalize_all(documents, entries)  # warm-up: imports, caches, compiled patterns
        seconds = []
        for _ in range(args.runs):
            started = time.process_time()
            normalize_all(documents, entries)
            seconds.append(time.process_time() - started)
        median = statistics.median(seconds)
        runs = ", ".join(f"{s:.2f}" for s in seconds)
        per_entry = median * 1e6 / total
        print(f"normalize_entries: {per_entry:,.0f} µs/entry CPU (median; runs: {runs} s)")
    if args.top > 0:
        print_profile(documents, entries, args.top)


if __name__ == "__main__":
    main()
