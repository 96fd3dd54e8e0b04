"""Full-text search: query translation, and the index on SQLite (FTS5) and PostgreSQL."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import inspect, text

from newswatch.search import ArticleFilter, parse_search, parse_when
from newswatch.storage import Storage, migrations, open_storage
from newswatch.storage import search as storage_search
from newswatch.storage.engine import make_engine
from newswatch.tagging.query import QuerySyntaxError
from searchcorpus import CORPUS, FEEDS, NOW, ONE, TWO, Corpus, article, fill, marked


@pytest.fixture
def corpus(storage: Storage, database_url: str) -> Iterator[Corpus]:
    filled = fill(storage, database_url)
    yield filled
    filled.engine.dispose()


# -- query translation (no database) --------------------------------------------------------


def test_queries_translate_to_fts5_and_tsquery() -> None:
    query = parse_search('"security guarantees" OR ukrain* NOT title:weather')
    assert query.fts5 == '("security guarantees" OR (("ukrain" *) NOT title : "weather"))'
    assert query.tsquery == "(('security' <-> 'guarantees') | ('ukrain':* & !'weather':A))"

    query = parse_search('lead:(Euroclear OR "reparations loan*") body:Зеленськ*')
    assert query.fts5 == (
        '((summary : "Euroclear" OR summary : "reparations loan" *) '
        'AND content_text : "Зеленськ" *)'
    )
    assert query.tsquery == ("(('Euroclear':B | ('reparations':B <-> 'loan':*B)) & 'Зеленськ':*C)")


def test_words_go_to_the_database_quoted_as_written() -> None:
    # Nothing a user types becomes query syntax: quotes and backslashes are escaped.
    query = parse_search("O'Brien's back\\slash AND:colon")
    assert query.fts5 == '("O\'Brien\'s" AND "back\\slash" AND "AND:colon")'
    assert query.tsquery == "('O''Brien''s' & 'back\\\\slash' & 'AND:colon')"
    # Weights and exact case change nothing in a search.
    assert parse_search("=US^2 Kyiv").fts5 == '("US" AND "Kyiv")'


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ('"security guarantees', "unclosed quote", 1),
        ("", "the query is empty", 1),
        ("NOT weather", "a query needs something to match, not only NOT", 1),
        ("gu*", "a prefix needs at least 3 letters before '*'", 1),
        ("talks (ceasefire", "missing ')'", 7),
        ("ceasefire NEAR/5 talks", "NEAR/N works in topic queries only", 11),
        ('"a NEAR/5 b" NEAR/3 c', "NEAR/N works in topic queries only", 14),
        ("a OR", "the query ends where a term was expected", 5),
        ("---", "'---' has no letters or digits to match", 1),
        ("Kyiv \udcff", "not valid text (an undecodable byte)", 6),
    ],
)
def test_query_errors_name_the_problem_and_the_place(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_search(query)
    first, *rest = str(caught.value).splitlines()
    assert first.startswith(f"query syntax error at column {column}: {message}")
    assert rest == [f"    {query}", f"    {' ' * (column - 1)}^"]


def test_dates_are_utc_days_or_instants() -> None:
    assert parse_when("2026-11-25") == datetime(2026, 11, 25, tzinfo=UTC)
    assert parse_when("2026-11-25", end=True) == datetime(2026, 11, 26, tzinfo=UTC)
    assert parse_when("2026-11-25T14:30") == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    assert parse_when("2026-11-25T14:30+02:00") == datetime(2026, 11, 25, 12, 30, tzinfo=UTC)
    assert parse_when("2026-11-25T14:30Z", end=True) == datetime(2026, 11, 25, 14, 30, tzinfo=UTC)
    with pytest.raises(ValueError, match=r"--until 'yesterday': write a date \(2026-11-25\)"):
        parse_when("yesterday", end=True, option="--until")


# -- search on both databases ---------------------------------------------------------------


def test_a_title_hit_ranks_above_a_body_hit(corpus: Corpus) -> None:
    hits = corpus.search("guarantees")
    keys = corpus.keys("guarantees")
    assert keys[0] in ("title-hit", "reversed")  # both have the word in the title
    assert keys.index("title-hit") < keys.index("body-hit")
    assert set(keys) == {"title-hit", "body-hit", "reversed"}
    assert hits[0].score > hits[-1].score


def test_phrases_keep_their_words_in_order(corpus: Corpus) -> None:
    assert set(corpus.keys('"security guarantees"')) == {"title-hit", "body-hit"}
    assert set(corpus.keys("security guarantees")) == {"title-hit", "body-hit", "reversed"}
    assert corpus.keys('"guarantees of security"') == ["reversed"]


def test_boolean_queries(corpus: Corpus) -> None:
    assert set(corpus.keys("euroclear")) == {"euroclear", "oligarch"}
    assert corpus.keys("euroclear NOT oligarch") == ["euroclear"]
    assert corpus.keys("euroclear AND NOT oligarch") == ["euroclear"]
    assert set(corpus.keys("bakery OR football")) == {"bakery", "football"}
    assert corpus.keys("(bakery OR football) AND sourdough") == ["bakery"]
    assert corpus.keys("bakery football") == []  # side by side: both must occur


def test_prefixes(corpus: Corpus) -> None:
    assert set(corpus.keys("ukrain*")) == {"title-hit", "ukrainian"}
    assert set(corpus.keys("Ukrainian")) == {"ukrainian"}
    assert corpus.keys('"security guar*"') != []


def test_fields(corpus: Corpus) -> None:
    assert set(corpus.keys("berlin")) == {"title-hit", "body-hit"}
    assert corpus.keys("title:berlin") == ["body-hit"]
    assert corpus.keys("body:berlin") == ["title-hit"]
    assert corpus.keys("lead:chancellery") == ["title-hit"]
    assert set(corpus.keys("body:guarantees")) == {"body-hit", "reversed"}


def test_cyrillic_words_phrases_and_case(corpus: Corpus) -> None:
    assert corpus.keys('"гарантії безпеки"') == ["cyrillic"]
    assert corpus.keys("ГАРАНТІЇ") == ["cyrillic"]
    assert corpus.keys("Зеленськ*") == ["cyrillic"]
    assert corpus.keys("юридичними NOT безпеки") == []
    (hit,) = corpus.search('"гарантії безпеки"')
    assert marked(hit.snippet) == ["гарантії", "безпеки"]


def test_accents_and_case_are_folded(corpus: Corpus) -> None:
    assert corpus.keys("Zelenskyy") == ["accents"]
    assert corpus.keys("zelenskyý") == ["accents"]
    assert corpus.keys("cafe") == ["accents"]
    assert corpus.keys("CAFÉ") == ["accents"]
    assert corpus.keys("president") == ["accents"]  # "président"
    (hit,) = corpus.search("cafe")
    assert marked(hit.snippet) == ["café"]


def test_hits_carry_outlet_date_topics_and_a_highlighted_snippet(corpus: Corpus) -> None:
    hits = {hit.article.id: hit for hit in corpus.search('"security guarantees"')}
    body = hits[corpus.ids["body-hit"]]
    assert marked(body.snippet) == ["security", "guarantees"]
    assert "would need a vote" in body.snippet
    assert body.article.title == "Berlin talks run late"
    assert body.article.outlet == "One"
    assert body.article.feed_url == ONE
    assert body.article.url == "https://news.example/body-hit"
    assert body.article.date == datetime(2026, 11, 21, 12, 0, tzinfo=UTC)
    assert [(t.slug, t.score) for t in body.article.topics] == [("peace-talks", 0.5)]
    # Matched in the title only: the snippet is the start of the text, unmarked.
    title = hits[corpus.ids["title-hit"]]
    assert title.snippet.startswith("The meeting in Berlin")
    assert "**" not in title.snippet
    # A match in the summary only is shown from the summary.
    (lead,) = corpus.search("chancellery")
    assert marked(lead.snippet) == ["chancellery"]
    assert lead.snippet.startswith("Leaders met at")


def test_filters_topic_feed_dates(corpus: Corpus) -> None:
    everything = {"title-hit", "body-hit", "reversed"}
    assert set(corpus.keys("guarantees")) == everything
    assert set(corpus.keys("guarantees", topic="peace-talks")) == {"title-hit", "body-hit"}
    assert corpus.keys("guarantees", topic="frozen-assets") == []
    assert corpus.keys("guarantees", topic="no-such-topic") == []
    assert corpus.keys("guarantees", feed=TWO) == ["reversed"]
    since, until = parse_when("2026-11-21"), parse_when("2026-11-21", end=True)
    assert set(corpus.keys("guarantees", since=since)) == {"body-hit", "reversed"}
    assert corpus.keys("guarantees", until=since) == ["title-hit"]
    assert set(corpus.keys("guarantees", since=since, until=until)) == {"body-hit", "reversed"}
    assert corpus.keys("euroclear", topic="frozen-assets", min_score=0.5) == ["euroclear"]


def test_limit(corpus: Corpus) -> None:
    query = parse_search("guarantees OR euroclear OR bakery")
    assert len(corpus.storage.search_articles(query, limit=2)) == 2
    assert len(corpus.storage.search_articles(query, limit=20)) == 6


def test_a_very_broad_query_is_ranked_among_its_newest_matches(
    corpus: Corpus, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(storage_search, "RANKED_MATCHES", 2)
    # Three articles match: the oldest (title-hit) is outside the window of the newest two.
    assert set(corpus.keys("guarantees")) == {"body-hit", "reversed"}
    # The window counts the matches that pass the filters: both peace-talks articles.
    assert set(corpus.keys("guarantees", topic="peace-talks")) == {"title-hit", "body-hit"}
    assert corpus.keys("guarantees", feed=TWO) == ["reversed"]
    # At most as many matches as the window: all ranked.
    assert set(corpus.keys("euroclear")) == {"euroclear", "oligarch"}


def test_edited_articles_are_found_by_their_new_words_only(corpus: Corpus) -> None:
    key, doc = "body-hit", CORPUS["body-hit"]
    assert corpus.indexed("parliament") == 1
    edited = replace(
        article(corpus.storage, key, doc),
        title="Berlin talks end with a ceasefire",
        content_text="Diplomats said the truce would need a referendum.",
    )
    stored, new = corpus.storage.save_article(edited, NOW + timedelta(hours=1))
    assert not new
    assert stored.id == corpus.ids[key]

    assert corpus.keys('"security guarantees"') == ["title-hit"]
    assert corpus.keys("parliament") == []
    assert corpus.indexed("parliament") == 0
    assert corpus.keys("referendum") == [key]
    assert corpus.keys("title:ceasefire") == [key]
    assert corpus.keys("late") == []
    # The page's full text replacing the feed's.
    corpus.storage.replace_article_text(corpus.ids[key], "Negotiators left at dawn.", "")
    assert corpus.keys("referendum") == []
    assert corpus.keys("negotiators") == [key]
    # Tagging and clustering touch other columns; the index stays as it is.
    corpus.storage.save_matches(corpus.ids[key], [], NOW)
    corpus.storage.create_story(corpus.ids[key], NOW)
    assert corpus.keys("negotiators") == [key]
    assert corpus.indexed("negotiators") == 1
    corpus.check_index()


def test_tombstones_and_deleted_articles_leave_the_index(corpus: Corpus) -> None:
    assert corpus.keys("oligarch") == ["oligarch"]
    pruned = corpus.storage.prune_articles(NOW - timedelta(days=10), NOW)
    assert pruned == 1
    assert corpus.keys("oligarch") == []
    assert corpus.indexed("oligarch") == 0
    assert corpus.indexed("brussels") == 0
    assert corpus.keys("euroclear") == ["euroclear"]
    assert corpus.storage.list_articles(ArticleFilter(topic="frozen-assets")) != []
    listed = {record.id for record in corpus.storage.iter_articles()}
    assert corpus.ids["oligarch"] not in listed
    assert len(listed) == len(CORPUS) - 1
    assert corpus.keys("earnings") == ["markets"]
    corpus.check_index()

    # Marked removed with its text still there: it leaves the index all the same.
    with corpus.engine.begin() as connection:
        mark = text("UPDATE articles SET removed_at = ingested_at WHERE id = :id")
        connection.execute(mark, {"id": corpus.ids["markets"]})
    assert corpus.keys("earnings") == []
    assert corpus.indexed("earnings") == 0
    corpus.check_index()

    # A row deleted outright (a feed's articles going with it) leaves the index too.
    with corpus.engine.begin() as connection:
        connection.execute(
            text("DELETE FROM articles WHERE id = :id"), {"id": corpus.ids["bakery"]}
        )
    assert corpus.keys("sourdough") == []
    assert corpus.indexed("sourdough") == 0
    corpus.check_index()


def test_existing_articles_are_indexed_by_the_migration(database_url: str) -> None:
    engine = make_engine(database_url)
    try:
        # An article stored, then the schema taken back to before the index (today's code
        # cannot write to the old schema, which lacks later columns).
        migrations.upgrade(engine)
        storage = Storage(engine, database_url)
        storage.sync_feeds(FEEDS, NOW)
        doc = CORPUS["cyrillic"]
        storage.save_article(article(storage, "before", doc), NOW)
        migrations.downgrade(engine, "0003")
        assert "articles_fts" not in set(inspect(engine).get_table_names())

        migrations.upgrade(engine)
        assert [hit.article.title for hit in storage.search_articles(parse_search("безпеки"))] == [
            doc.title
        ]
        # Down and up again: the index goes with the migration and is rebuilt.
        migrations.downgrade(engine, "0003")
        names = set(inspect(engine).get_table_names())
        assert "articles_fts" not in names
        assert "search_vector" not in {c["name"] for c in inspect(engine).get_columns("articles")}
        migrations.upgrade(engine)
        assert len(storage.search_articles(parse_search('"гарантії безпеки"'))) == 1
    finally:
        engine.dispose()


def test_a_reopened_database_keeps_its_index(database_url: str) -> None:
    with open_storage(database_url) as storage:
        fill(storage, database_url).engine.dispose()
    with open_storage(database_url) as storage:
        hits = storage.search_articles(parse_search("sourdough"))
        assert [hit.article.title for hit in hits] == ["Local bakery wins bread award"]


def test_searching_waits_for_no_writer(tmp_path: Path) -> None:
    # A search or an export reads only: on SQLite it must neither wait for the daemon's write
    # transaction nor hold up the daemon while it reads.
    url = f"sqlite:///{tmp_path}/search.db"
    with open_storage(url) as storage:
        fill(storage, url)
        writer = sqlite3.connect(tmp_path / "search.db", isolation_level=None, timeout=0)
        try:
            writer.execute("BEGIN IMMEDIATE")
            hits = storage.search_articles(parse_search("sourdough"))
            assert [hit.article.title for hit in hits] == ["Local bakery wins bread award"]
            assert len(list(storage.iter_articles())) == len(CORPUS)
        finally:
            writer.execute("ROLLBACK")
            writer.close()
