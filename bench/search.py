"""Search benchmark: full-text queries over a million stored articles.

Run from the repository root::

    .venv/bin/python bench/search.py [--articles N] [--runs R] [--database PATH] [--reuse]
                                     [--postgres URL] [--no-export]

What is stored: ``--articles`` synthetic articles (1,000,000 by default) in 200 feeds, made by a
seeded generator: a title of about 9 words, a summary of about 20 and a text of about 70, drawn
from a Zipf-distributed vocabulary of 30,000 made-up words and 200 common English ones, so word
frequencies look like news text (a few words in most articles, most words in few). Planted in
some: the phrase "security guarantees" (0.5 %), "Euroclear" (0.1 %), "ceasefire" (2 %), words
starting "Ukrain" (5 %), a Ukrainian sentence with "гарантії безпеки" (3 %), "Zelenskyý" with
its accent (0.2 %). One article in ten matches a topic (the six default slugs) with a score.

How: the database is made by newswatch itself (``Storage.open`` runs the migrations, so the FTS5
index and its triggers are the real ones), feeds and topics through ``Storage``; the articles go
in with bulk ``INSERT``s on the same database (the triggers index them as they would any
insert), 20,000 per transaction. Then ``ANALYZE``.

What is measured: each query in ``QUERIES`` through ``Storage.search_articles`` (the code path of
``newswatch search``: parse, translate, rank, snippets, topics; 20 hits), ``--runs`` times (5 by
default) after one warm-up, the median and the range printed with the number of matching
articles; then ``articles list --topic`` (50 rows), and an export of everything as CSV to
``/dev/null`` through ``Storage.iter_articles`` with its rate and the process's peak memory
growth. With ``--postgres URL`` (a database newswatch may migrate) the same on PostgreSQL.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "src"))

from sqlalchemy import text  # noqa: E402

from newswatch.export import write_csv  # noqa: E402
from newswatch.model import FeedDeclaration, TopicDefinition  # noqa: E402
from newswatch.search import ArticleFilter, parse_search  # noqa: E402
from newswatch.storage import Storage, open_storage  # noqa: E402
from newswatch.storage.search import RANKED_MATCHES  # noqa: E402

FEEDS = 200
BATCH = 20_000
START = datetime(2025, 11, 26, tzinfo=UTC)
TOPICS = (
    "security-guarantees",
    "donbas-territory",
    "frozen-assets",
    "peace-talks",
    "nato-membership",
    "us-ukraine-relations",
)
COMMON = (
    "the of and to in a is that for on was with he it as at by from his an were are which this "
    "be has had not but they their have or one been also its new after who more first two year "
    "said would will can there all when up out about into than other over some could only time "
    "people most made may then people three them world state government minister president "
    "city country week month day report officials police court law party election vote plan "
    "deal talks war military forces troops army attack strike border region capital north "
    "south east west europe european union america american russia russian china chinese "
    "market markets prices oil gas energy bank money budget tax economy growth jobs company "
    "companies shares billion million percent record season game team win won match league "
    "club coach players fans film music art book show star health hospital doctors patients "
    "school students university research science climate weather storm rain heat water fire "
    "police arrested charged trial judge prison crime victims families children women men"
).split()
QUERIES = (
    ("common word", "talks", {}),
    ("very common word", "the", {}),
    ("rare word", "euroclear", {}),
    ("phrase", '"security guarantees"', {}),
    ("boolean", "ceasefire AND (talks OR plan) NOT gaza", {}),
    ("prefix", "ukrain*", {}),
    ("Cyrillic phrase", '"гарантії безпеки"', {}),
    ("accent folded", "zelenskyy", {}),
    ("title field", "title:ceasefire", {}),
    ("+ topic filter", "talks", {"topic": "peace-talks"}),
    ("+ date range", "talks", {"since": START + timedelta(days=100), "until": START + timedelta(days=130)}),
    ("no match", '"gibberish nonexistent"', {}),
)


def vocabulary(rng: random.Random, size: int) -> list[str]:
    syllables = [c + v for c in "bcdfghklmnprstvz" for v in "aeiou"] + ["ar", "en", "ol", "is"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


class Corpus:
    """A seeded generator of article texts."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        made = vocabulary(self.rng, 30_000)
        self.words = list(COMMON) + made
        weights = [1 / (rank + 1) ** 1.07 for rank in range(len(self.words))]
        total = 0.0
        self.cumulative = []
        for weight in weights:
            total += weight
            self.cumulative.append(total)

    def sentence(self, count: int) -> list[str]:
        return self.rng.choices(self.words, cum_weights=self.cumulative, k=count)

    def article(self, index: int) -> tuple[str, str, str, str]:
        rng = self.rng
        title = self.sentence(rng.randint(6, 12))
        summary = self.sentence(rng.randint(12, 28))
        body = self.sentence(rng.randint(40, 100))
        language = "en"
        roll = rng.random()
        if roll < 0.005:
            at = rng.randrange(len(body))
            body[at:at] = ["security", "guarantees"]
            if roll < 0.001:
                title[1:1] = ["security", "guarantees"]
        if rng.random() < 0.001:
            body.insert(rng.randrange(len(body)), "Euroclear")
        if rng.random() < 0.02:
            (title if rng.random() < 0.3 else body).insert(1, "ceasefire")
        if rng.random() < 0.05:
            body.insert(rng.randrange(len(body)), rng.choice(("Ukraine", "Ukrainian", "Ukraine's")))
        if rng.random() < 0.002:
            summary.insert(0, "Zelenskyý")
        if rng.random() < 0.03:
            language = "uk"
            body += "Президент наголосив, що гарантії безпеки мають бути юридичними".split()
        return (
            " ".join(title).capitalize(),
            " ".join(summary).capitalize() + ".",
            " ".join(body).capitalize() + ".",
            language,
        )


def fill(
    storage: Storage,
    count: int,
    seed: int,
    *,
    feeds: int = FEEDS,
    start: datetime = START,
    span: timedelta = timedelta(days=365),
    story_size: int = 0,
) -> None:
    """Store ``count`` articles in ``feeds`` feeds, ingested evenly over ``span`` from ``start``.

    Article ``n`` (ids from 1) is in the ``n % feeds``-th feed and was ingested (and published
    and tagged) at ``start + n * span / count``; one in ten matches one or two topics. With
    ``story_size``, each run of that many consecutive articles (so from as many feeds) is one
    story. Used by the other database benchmarks too (``bench/digest_status.py``).
    """
    storage.sync_feeds(
        [FeedDeclaration(f"https://feed{i}.example/rss", name=f"Outlet {i}") for i in range(feeds)],
        start,
    )
    storage.sync_topics(
        [TopicDefinition(slug, slug, "", slug.split("-")[0], 0.3) for slug in TOPICS], start
    )
    feed_ids = [feed.id for feed in storage.list_feeds()]
    topic_ids = dict(
        storage._engine.connect().execute(text("SELECT slug, id FROM topics")).all()  # noqa: SLF001
    )
    corpus = Corpus(seed)
    rng = random.Random(seed + 1)
    seconds = int(span.total_seconds())
    started = time.perf_counter()
    engine = storage._engine  # noqa: SLF001
    postgres = engine.dialect.name == "postgresql"
    insert = text(
        "INSERT INTO articles (id, feed_id, entry_key, url, canonical_url, title, summary, "
        "content_text, content_html, language, published_at, date_estimated, backlog, "
        "ingested_at, tagged_at, story_id) VALUES (:id, :feed_id, :entry_key, :url, :url, "
        ":title, :summary, :content_text, '', :language, :published_at, false, false, "
        ":ingested_at, :ingested_at, :story_id)"
    )
    story = text(
        "INSERT INTO stories (id, title, first_seen_at, last_seen_at) "
        "VALUES (:id, :title, :first_seen_at, :first_seen_at)"
    )
    match = text(
        "INSERT INTO article_topics (article_id, topic_id, score, evidence, topic_version, "
        "matched_at) VALUES (:article_id, :topic_id, :score, '[]', 1, :matched_at)"
    )
    for first in range(1, count + 1, BATCH):
        rows: list[dict[str, Any]] = []
        matches: list[dict[str, Any]] = []
        stories: list[dict[str, Any]] = []
        for ident in range(first, min(first + BATCH, count + 1)):
            title, summary, body, language = corpus.article(ident)
            when = start + timedelta(seconds=ident * seconds // count)
            stamp = when if postgres else when.replace(tzinfo=None)
            story_id = (ident + story_size - 1) // story_size if story_size else None
            if story_size and (ident - 1) % story_size == 0:
                stories.append({"id": story_id, "title": title, "first_seen_at": stamp})
            rows.append(
                {
                    "id": ident,
                    "feed_id": feed_ids[ident % len(feed_ids)],
                    "entry_key": f"entry-{ident}",
                    "url": f"https://news.example/{ident}",
                    "title": title,
                    "summary": summary,
                    "content_text": body,
                    "language": language,
                    "published_at": stamp,
                    "ingested_at": stamp,
                    "story_id": story_id,
                }
            )
            if rng.random() < 0.1:
                for slug in rng.sample(TOPICS, rng.randint(1, 2)):
                    matches.append(
                        {
                            "article_id": ident,
                            "topic_id": topic_ids[slug],
                            "score": round(rng.uniform(0.3, 1.0), 4),
                            "matched_at": stamp,
                        }
                    )
        with engine.begin() as connection:
            if stories:
                connection.execute(story, stories)
            connection.execute(insert, rows)
            connection.execute(match, matches)
        done = min(first + BATCH - 1, count)
        rate = done / (time.perf_counter() - started)
        print(f"\r  stored {done:,} articles ({rate:,.0f}/s)", end="", file=sys.stderr, flush=True)
    print(file=sys.stderr)
    if postgres:
        with engine.begin() as connection:
            connection.execute(text("SELECT setval('articles_id_seq', :n)"), {"n": count})
            if story_size:
                connection.execute(
                    text("SELECT setval('stories_id_seq', :n)"),
                    {"n": (count + story_size - 1) // story_size},
                )
    storage.optimize()


def timed(func: Callable[[], Any], runs: int) -> tuple[float, float, float, Any]:
    result = func()  # warm-up
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        result = func()
        times.append(time.perf_counter() - started)
    return statistics.median(times), min(times), max(times), result


def count_matches(storage: Storage, query: str) -> int:
    """How many articles the index has for ``query`` (PostgreSQL: in the simple configuration)."""
    parsed = parse_search(query)
    with storage._engine.connect() as connection:  # noqa: SLF001
        if storage.dialect == "sqlite":
            sql = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q"
            return int(connection.execute(text(sql), {"q": parsed.fts5}).scalar() or 0)
        sql = "SELECT count(*) FROM articles WHERE search_vector @@ to_tsquery('newswatch_simple', :q)"
        return int(connection.execute(text(sql), {"q": parsed.tsquery}).scalar() or 0)


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure(storage: Storage, runs: int, export: bool) -> None:
    articles = storage.count_articles()
    print(f"{storage.dialect}: {articles:,} articles (* ranked among the newest {RANKED_MATCHES:,})")
    print(f"  {'query':<18} {'median':>9} {'range':>19} {'matches':>9}  text")
    for name, query, filters in QUERIES:
        parsed = parse_search(query)
        article_filter = ArticleFilter(**filters)
        median, low, high, hits = timed(
            lambda p=parsed, f=article_filter: storage.search_articles(p, f, limit=20), runs
        )
        if len(hits) < 20:
            matches = f"{len(hits):,}"
        elif filters:
            matches = "-"
        else:
            total = count_matches(storage, query)
            # Marked: ranked among the newest RANKED_MATCHES matches only.
            matches = f"{total:,}" + ("*" if total > RANKED_MATCHES else "")
        print(
            f"  {name:<18} {median * 1000:>7.1f}ms {low * 1000:>8.1f}-{high * 1000:>7.1f}ms "
            f"{matches:>9}  {query}"
        )
    median, low, high, _ = timed(
        lambda: storage.list_articles(ArticleFilter(topic="frozen-assets"), limit=50), runs
    )
    print(f"  {'list --topic':<18} {median * 1000:>7.1f}ms {low * 1000:>8.1f}-{high * 1000:>7.1f}ms")
    if not export:
        return
    before = peak_rss_mb()
    started = time.perf_counter()
    with open(os.devnull, "w", encoding="utf-8", newline="") as sink:
        written = write_csv(storage.iter_articles(), sink)
    elapsed = time.perf_counter() - started
    print(
        f"  export csv: {written:,} articles in {elapsed:.1f}s ({written / elapsed:,.0f}/s), "
        f"peak RSS {peak_rss_mb():.0f} MB (was {before:.0f} MB before the export)"
    )


def database_size(path: Path) -> str:
    size = sum(p.stat().st_size for p in path.parent.glob(path.name + "*"))
    return f"{size / 1e9:.2f} GB"


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--articles", type=int, default=1_000_000, help="articles (1,000,000)")
    parser.add_argument("--runs", type=int, default=5, help="timed runs per query (5)")
    parser.add_argument("--seed", type=int, default=1, help="corpus seed (1)")
    parser.add_argument(
        "--database",
        type=Path,
        default=Path("/tmp/newswatch-search-bench.db"),
        help="SQLite file (replaced unless --reuse)",
    )
    parser.add_argument("--reuse", action="store_true", help="keep a database filled before")
    parser.add_argument("--postgres", help="also measure on this PostgreSQL database URL")
    parser.add_argument("--no-export", dest="export", action="store_false", help="skip export")
    parser.add_argument(
        "--no-sqlite", dest="sqlite", action="store_false", help="measure PostgreSQL only"
    )
    return parser.parse_args(argv)


def sqlite_storage(args: argparse.Namespace) -> Iterator[Storage]:
    path = args.database.resolve()
    fresh = not (args.reuse and path.exists())
    if fresh:
        for old in path.parent.glob(path.name + "*"):
            old.unlink()
    storage = open_storage(f"sqlite:///{path}")
    if fresh:
        started = time.perf_counter()
        fill(storage, args.articles, args.seed)
        print(f"filled SQLite in {time.perf_counter() - started:.0f}s, {database_size(path)}")
    yield storage
    storage.close()


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    print(f"SQLite {__import__('sqlite3').sqlite_version}, Python {sys.version.split()[0]}")
    if args.sqlite:
        for storage in sqlite_storage(args):
            measure(storage, args.runs, args.export)
    if args.postgres:
        storage = open_storage(args.postgres)
        if not (args.reuse and storage.count_articles()):
            started = time.perf_counter()
            fill(storage, args.articles, args.seed)
            print(f"filled PostgreSQL in {time.perf_counter() - started:.0f}s")
        measure(storage, args.runs, args.export)
        storage.close()


if __name__ == "__main__":
    main()
