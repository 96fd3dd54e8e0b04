"""A small corpus of articles for search and export tests, stored through ``Storage``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine, text

from newswatch.model import Article, FeedDeclaration, TopicDefinition, TopicMatch
from newswatch.search import ArticleFilter, SearchHit, parse_search
from newswatch.storage import Storage
from newswatch.storage.engine import make_engine

NOW = datetime(2026, 11, 26, 7, 0, tzinfo=UTC)
ONE = "https://one.example/rss"
TWO = "https://two.example/atom"
FEEDS = [FeedDeclaration(ONE, name="One"), FeedDeclaration(TWO, name="Two")]
TOPICS = [
    TopicDefinition("peace-talks", "Peace talks", "", '"peace plan" OR ceasefire', 0.3),
    TopicDefinition("frozen-assets", "Frozen assets", "", "Euroclear", 0.3),
]


@dataclass(frozen=True)
class Doc:
    feed: str
    title: str
    summary: str
    text: str
    language: str | None
    day: int  # published on this day of November 2026
    age_days: int = 0  # ingested this many days before NOW


CORPUS = {
    "title-hit": Doc(
        ONE,
        "Security guarantees for Ukraine take shape",
        "Leaders met at the Chancellery.",
        "The meeting in Berlin lasted hours and ended with a statement.",
        "en",
        20,
    ),
    "body-hit": Doc(
        ONE,
        "Berlin talks run late",
        "Leaders met again.",
        "Diplomats said the security guarantees would need a vote in parliament.",
        "en",
        21,
    ),
    "reversed": Doc(
        TWO,
        "Guarantees of security, not membership",
        "A different order of words.",
        "Officials prefer guarantees of security to a membership promise.",
        "en",
        21,
    ),
    "cyrillic": Doc(
        TWO,
        "Зеленський: гарантії безпеки мають бути юридичними",
        "",
        "Президент наголосив, що ГАРАНТІЇ БЕЗПЕКИ потрібні до перемир'я.",
        "uk",
        22,
    ),
    "accents": Doc(
        TWO,
        "Zelenskyý in Paris",
        "Un café avec Macron.",
        "Le président a bu un café crème avant la réunion.",
        "fr",
        23,
    ),
    "euroclear": Doc(
        ONE,
        "Euroclear holds frozen Russian assets",
        "",
        "The reparations loan depends on the Belgian depository.",
        "en",
        24,
    ),
    "oligarch": Doc(
        ONE,
        "Oligarch sues Euroclear",
        "",
        "An oligarch went to court in Brussels over his accounts.",
        "en",
        24,
        age_days=30,
    ),
    "ukrainian": Doc(
        TWO,
        "Ukrainian drones strike a refinery",
        "",
        "Ukrainian forces reported the strike overnight.",
        "en",
        25,
    ),
    "bakery": Doc(ONE, "Local bakery wins bread award", "", "Sourdough won in Leeds.", "en", 19),
    "football": Doc(ONE, "Football results", "", "The home side won two nil.", "en", 19),
    "weather": Doc(TWO, "Weather forecast", "", "Rain is expected in the north.", None, 18),
    "markets": Doc(TWO, "Markets close higher", "", "Shares rose on strong earnings.", "en", 18),
}
MATCHES = {
    "title-hit": [("peace-talks", 0.9)],
    "body-hit": [("peace-talks", 0.5)],
    "euroclear": [("frozen-assets", 0.8), ("peace-talks", 0.35)],
    "oligarch": [("frozen-assets", 0.4)],
}


@dataclass
class Corpus:
    storage: Storage
    engine: Engine
    ids: dict[str, int]

    def search(self, query: str, **filters: object) -> list[SearchHit]:
        return self.storage.search_articles(
            parse_search(query),
            ArticleFilter(**filters),  # type: ignore[arg-type]
            limit=50,
        )

    def keys(self, query: str, **filters: object) -> list[str]:
        by_id = {v: k for k, v in self.ids.items()}
        return [by_id[hit.article.id] for hit in self.search(query, **filters)]

    def indexed(self, word: str) -> int:
        """How many rows the index itself holds for ``word`` (no join, no tombstone filter)."""
        with self.engine.connect() as connection:
            if self.engine.dialect.name == "sqlite":
                query = "SELECT count(*) FROM articles_fts WHERE articles_fts MATCH :q"
                count = connection.execute(text(query), {"q": f'"{word}"'}).scalar()
            else:
                query = (
                    "SELECT count(*) FROM articles "
                    "WHERE search_vector @@ plainto_tsquery('newswatch_simple', :q)"
                )
                count = connection.execute(text(query), {"q": word}).scalar()
        return int(count or 0)

    def check_index(self) -> None:
        """SQLite: FTS5's own check that the index matches the articles table."""
        if self.engine.dialect.name != "sqlite":
            return
        with self.engine.begin() as connection:
            connection.execute(
                text("INSERT INTO articles_fts (articles_fts, rank) VALUES ('integrity-check', 1)")
            )


def article(storage: Storage, key: str, doc: Doc) -> Article:
    feed = storage.get_feed(doc.feed)
    assert feed is not None
    return Article(
        feed_id=feed.id,
        entry_key=key,
        title=doc.title,
        url=f"https://news.example/{key}",
        summary=doc.summary,
        content_text=doc.text,
        language=doc.language,
        published_at=datetime(2026, 11, doc.day, 12, 0, tzinfo=UTC),
        ingested_at=NOW - timedelta(days=doc.age_days),
    )


def fill(storage: Storage, database_url: str) -> Corpus:
    storage.sync_feeds(FEEDS, NOW)
    storage.sync_topics(TOPICS, NOW)
    ids: dict[str, int] = {}
    for key, doc in CORPUS.items():
        stored, _ = storage.save_article(article(storage, key, doc), NOW)
        assert stored.id is not None
        ids[key] = stored.id
    for key, matches in MATCHES.items():
        storage.save_matches(
            ids[key], [TopicMatch(ids[key], slug, score) for slug, score in matches], NOW
        )
    return Corpus(storage, make_engine(database_url), ids)


def marked(snippet: str) -> list[str]:
    """The words a snippet marks as matches (``**a b**`` and ``**a** **b**`` alike)."""
    return [w.lower() for part in re.findall(r"\*\*(.+?)\*\*", snippet) for w in part.split()]
