"""``search``, ``articles list`` and ``export`` as a user runs them, and export round-trips."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterator
from dataclasses import replace
from datetime import datetime
from pathlib import Path

import pytest
from click.testing import Result

from builders import BRIEFING_NEWS, rss_document
from feedserver import FeedServer
from newswatch.export import COLUMNS, record_json, write_export
from newswatch.search import ArticleFilter, ArticleRecord
from newswatch.storage import Storage
from searchcorpus import CORPUS, NOW, Corpus, fill, marked

REPO = Path(__file__).resolve().parent.parent
TOPICS_FILE = REPO / "config" / "topics.yaml"

RunCli = Callable[..., Result]


@pytest.fixture
def corpus(storage: Storage, database_url: str) -> Iterator[Corpus]:
    filled = fill(storage, database_url)
    yield filled
    filled.engine.dispose()


def expected_csv_row(record: ArticleRecord) -> dict[str, str]:
    """What a CSV row should hold, written out independently of the exporter."""

    def when(value: datetime | None) -> str:
        return "" if value is None else value.strftime("%Y-%m-%dT%H:%M:%SZ")

    return {
        "id": str(record.id),
        "title": record.title,
        "outlet": record.outlet,
        "feed_url": record.feed_url,
        "url": record.url or "",
        "published_at": when(record.published_at),
        "ingested_at": when(record.ingested_at),
        "language": record.language or "",
        "story_id": "" if record.story_id is None else str(record.story_id),
        "topics": ";".join(f"{t.slug}:{round(t.score, 4)}" for t in record.topics),
        "summary": record.summary,
    }


def marked_words(output: str) -> str:
    """The words an output marks as matches, in order, one space apart."""
    return " ".join(marked(output))


# -- export round-trips ---------------------------------------------------------------------


def test_csv_export_reads_back_as_the_stored_rows(corpus: Corpus) -> None:
    storage = corpus.storage
    # Awkward text: separators, quotes, line breaks, non-Latin scripts.
    article = storage.get_article(corpus.ids["markets"])
    assert article is not None
    summary = 'Shares rose, "sharply";\nbonds fell.\r\nЗеленський: ok'
    storage.save_article(replace(article, summary=summary), NOW)
    records = list(storage.iter_articles())
    assert len(records) == len(CORPUS)
    buffer = io.StringIO(newline="")
    assert write_export(storage.iter_articles(batch=3), buffer, "csv") == len(CORPUS)

    reader = csv.DictReader(io.StringIO(buffer.getvalue(), newline=""))
    assert tuple(reader.fieldnames or ()) == COLUMNS
    rows = list(reader)
    assert rows == [expected_csv_row(record) for record in records]
    markets = next(row for row in rows if row["id"] == str(corpus.ids["markets"]))
    assert markets["summary"] == summary
    euroclear = next(row for row in rows if row["id"] == str(corpus.ids["euroclear"]))
    assert euroclear["topics"] == "frozen-assets:0.8;peace-talks:0.35"


def test_jsonl_and_markdown_exports(corpus: Corpus) -> None:
    storage = corpus.storage
    records = list(storage.iter_articles(ArticleFilter(topic="peace-talks")))
    assert {r.id for r in records} == {
        corpus.ids[k] for k in ("title-hit", "body-hit", "euroclear")
    }
    buffer = io.StringIO()
    write_export(storage.iter_articles(ArticleFilter(topic="peace-talks")), buffer, "jsonl")
    lines = buffer.getvalue().splitlines()
    assert [json.loads(line) for line in lines] == [record_json(r) for r in records]
    first = json.loads(lines[0])
    assert list(first) == list(COLUMNS)
    assert first["topics"] == [{"slug": "peace-talks", "score": 0.9}]
    assert first["published_at"] == "2026-11-20T12:00:00Z"

    buffer = io.StringIO()
    write_export(
        storage.iter_articles(ArticleFilter(feed="https://two.example/atom")), buffer, "markdown"
    )
    document = buffer.getvalue()
    assert document.startswith("# newswatch export\n")
    assert "## [Zelenskyý in Paris](https://news.example/accents)" in document
    assert "Two · 2026-11-23 12:00 UTC" in document
    assert "Guarantees of security, not membership" in document
    assert "Security guarantees for Ukraine" not in document  # feed One's


def test_exports_read_in_batches_in_id_order(corpus: Corpus) -> None:
    storage = corpus.storage
    everything = list(storage.iter_articles(batch=1000))
    assert [r.id for r in everything] == sorted(corpus.ids.values())
    assert list(storage.iter_articles(batch=1)) == everything
    assert list(storage.iter_articles(batch=5)) == everything

    # Lazy: the first batch comes before the rest is read, and later rows are read later.
    stream = storage.iter_articles(batch=2)
    next(stream)
    weather = storage.get_article(corpus.ids["weather"])
    assert weather is not None
    late, _ = storage.save_article(replace(weather, entry_key="late-arrival", id=None), NOW)
    assert late.id in {r.id for r in stream}


def test_listing_filters(corpus: Corpus) -> None:
    storage = corpus.storage
    ids = corpus.ids
    newest = storage.list_articles(limit=3)
    assert [r.id for r in newest] == sorted(ids.values(), reverse=True)[:3]
    by_topic = storage.list_articles(ArticleFilter(topic="frozen-assets"))
    assert [r.id for r in by_topic] == [ids["oligarch"], ids["euroclear"]]
    strong = storage.list_articles(ArticleFilter(topic="frozen-assets", min_score=0.5))
    assert [r.id for r in strong] == [ids["euroclear"]]
    any_strong = storage.list_articles(ArticleFilter(min_score=0.85))
    assert [r.id for r in any_strong] == [ids["title-hit"]]
    story = storage.create_story(ids["bakery"], NOW)
    storage.join_story(ids["football"], story.id, NOW)
    in_story = storage.list_articles(ArticleFilter(story_id=story.id))
    assert {r.id for r in in_story} == {ids["bakery"], ids["football"]}
    assert all(r.story_id == story.id for r in in_story)


# -- the command line -----------------------------------------------------------------------


def write_cli_config(
    write_config: Callable[..., Path], database_url: str, feeds: list[dict[str, str]]
) -> Path:
    return write_config(
        {
            "database": {"url": database_url},
            "fetch": {"timeout": "3s", "default_interval": "30m"},
            "feeds": feeds,
            "topics_file": str(TOPICS_FILE),
        }
    )


def briefing_feed(feed_server: FeedServer) -> str:
    items = [
        (f"brief-{key}", title, f"https://briefing.example/{key}", body)
        for key, (title, body) in BRIEFING_NEWS.items()
    ]
    return feed_server.route(
        "/briefing.xml",
        body=rss_document(items, title="Briefing Wire"),
        headers={"Content-Type": "application/rss+xml"},
    )


@pytest.fixture
def briefed(
    feed_server: FeedServer,
    write_config: Callable[..., Path],
    database_url: str,
    run_cli: RunCli,
) -> Path:
    """A config over the briefing feed, fetched and tagged once."""
    path = write_cli_config(
        write_config, database_url, [{"url": briefing_feed(feed_server), "name": "Briefing"}]
    )
    result = run_cli("--config", str(path), "fetch", "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["new_articles"] == len(BRIEFING_NEWS)
    return path


def test_search_command(briefed: Path, run_cli: RunCli) -> None:
    config = ("--config", str(briefed))
    result = run_cli(*config, "search", '"security guarantees"')
    assert result.exit_code == 0, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith("1. ")
    assert "Briefing · " in lines[1]
    assert "security-guarantees" in result.output
    assert "security guarantees" in marked_words(result.output)

    result = run_cli(*config, "search", "Zelensky", "--json", "--limit", "2")
    hits = json.loads(result.output)
    assert len(hits) == 2
    assert set(hits[0]) >= {*COLUMNS, "date", "score", "snippet"}
    assert hits[0]["score"] >= hits[1]["score"]

    result = run_cli(*config, "search", "sourdough", "--topic", "peace-talks", "--json")
    assert json.loads(result.output) == []
    assert run_cli(*config, "search", "nothing-like-this").output == "no match\n"


def test_search_errors_are_one_line(briefed: Path, run_cli: RunCli) -> None:
    config = ("--config", str(briefed))
    result = run_cli(*config, "search", '"security guarantees')
    assert result.exit_code == 2
    assert result.stderr.splitlines() == [
        "newswatch: error: query syntax error at column 1: unclosed quote",
        '    "security guarantees',
        "    ^",
    ]
    result = run_cli(*config, "search", "talks", "--topic", "no-such-topic")
    assert result.exit_code == 2
    assert result.stderr == (
        "newswatch: error: unknown topic 'no-such-topic' (see 'newswatch topics list')\n"
    )
    result = run_cli(*config, "search", "talks", "--since", "last week")
    assert result.exit_code == 2
    assert result.stderr.startswith("newswatch: error: --since 'last week': write a date")
    result = run_cli(*config, "search", "talks", "--feed", "https://nowhere.example/rss")
    assert result.exit_code == 2
    assert "is not a configured feed" in result.stderr
    result = run_cli(*config, "articles", "list", "--since", "2026-11-25", "--until", "2026-11-24")
    assert result.exit_code == 2
    assert "is not before --until" in result.stderr


def test_articles_list_command(briefed: Path, run_cli: RunCli) -> None:
    config = ("--config", str(briefed))
    result = run_cli(*config, "articles", "list", "--topic", "frozen-assets")
    assert result.exit_code == 0, result.output
    header, _rule, *rows = result.output.splitlines()
    assert header.split() == ["id", "date", "outlet", "topics", "title"]
    assert len(rows) == 1
    assert "frozen-assets" in rows[0]
    assert BRIEFING_NEWS["assets"][0][:40] in rows[0]

    listed = json.loads(run_cli(*config, "articles", "list", "--json").output)
    assert len(listed) == len(BRIEFING_NEWS)
    assert [a["id"] for a in listed] == sorted((a["id"] for a in listed), reverse=True)
    limited = json.loads(run_cli(*config, "articles", "list", "--json", "--limit", "2").output)
    assert limited == listed[:2]
    none = run_cli(*config, "articles", "list", "--until", "2001-01-01")
    assert none.output == "no articles\n"


def test_export_command(briefed: Path, run_cli: RunCli, tmp_path: Path) -> None:
    config = ("--config", str(briefed))
    listed = json.loads(run_cli(*config, "articles", "list", "--json").output)

    out = tmp_path / "exports" / "all.csv"
    result = run_cli(*config, "export", "--output", str(out))
    assert result.exit_code == 0, result.output
    assert result.stderr == f"wrote {len(BRIEFING_NEWS)} articles to {out}\n"
    with out.open(encoding="utf-8", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert [int(row["id"]) for row in rows] == sorted(a["id"] for a in listed)
    assert not list(out.parent.glob(".all.csv.*"))  # no temporary file left behind

    result = run_cli(*config, "export", "--format", "jsonl", "--min-score", "0.5")
    lines = [json.loads(line) for line in result.output.splitlines()]
    assert lines
    assert all(max(t["score"] for t in line["topics"]) >= 0.5 for line in lines)
    assert len(lines) < len(BRIEFING_NEWS)  # the bakery matched nothing

    result = run_cli(*config, "export", "--format", "markdown", "--topic", "donbas-territory")
    assert result.output.startswith("# newswatch export\n")
    assert BRIEFING_NEWS["donbas"][0] in result.output

    result = run_cli(*config, "export", "--format", "xml")
    assert result.exit_code == 2


def test_done_when_real_feeds_then_search_and_export(
    feed_server: FeedServer,
    shared_feeds: Path,
    write_config: Callable[..., Path],
    database_url: str,
    run_cli: RunCli,
) -> None:
    """As a new user would: ingest the real feeds (plus a briefing wire), search, export."""
    with (shared_feeds / "MANIFEST.tsv").open(encoding="utf-8") as handle:
        files = [row["file"] for row in csv.DictReader(handle, delimiter="\t")]
    feeds = [{"url": feed_server.serve_file(f"/{name}", shared_feeds / name)} for name in files]
    feeds.append({"url": briefing_feed(feed_server), "name": "Briefing"})
    path = write_cli_config(write_config, database_url, feeds)
    config = ("--config", str(path))
    fetched = json.loads(run_cli(*config, "fetch", "--json").output)
    assert fetched["new_articles"] > 500

    result = run_cli(*config, "search", '"security guarantees"', "--json")
    assert result.exit_code == 0, result.output
    hits = json.loads(result.output)
    titles = [hit["title"] for hit in hits]
    assert BRIEFING_NEWS["guarantees"][0] in titles
    assert all(hit["outlet"] == "Briefing" for hit in hits)
    assert all("security-guarantees" in {t["slug"] for t in hit["topics"]} for hit in hits)

    # What the real feeds hold: English, German (accents folded), Russian.
    union = json.loads(run_cli(*config, "search", '"State of the Union"', "--json").output)
    assert len(union) >= 2
    assert all("**" in hit["snippet"] or "union" in hit["title"].lower() for hit in union)
    german = json.loads(run_cli(*config, "search", "kunstliche intelligenz", "--json").output)
    assert any("Künstliche Intelligenz" in hit["title"] for hit in german)
    russian = json.loads(run_cli(*config, "search", "Сноуден*", "--json").output)
    assert any("Сноудена" in hit["title"] for hit in russian)

    result = run_cli(*config, "export", "--topic", "peace-talks", "--format", "csv")
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.output, newline="")))
    assert rows
    assert all("peace-talks:" in row["topics"] for row in rows)
    assert {row["outlet"] for row in rows} == {"Briefing"}
    everything = list(csv.DictReader(io.StringIO(run_cli(*config, "export").output)))
    assert len(everything) == fetched["new_articles"]
