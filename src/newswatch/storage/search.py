"""Full-text search, listings and exports of the stored articles (a part of ``Storage``).

The index is the database's own, made by migration 0004 and kept in step by the database:

- SQLite: the FTS5 table ``articles_fts`` (external content: the text stays in ``articles``,
  read through the view ``articles_fts_source`` of the articles that are not tombstones), kept
  in step by triggers; a tombstone leaves it. Ranked by BM25 with the title weighted highest.
  ``INSERT INTO articles_fts (articles_fts) VALUES ('rebuild')`` rebuilds it from the view.
- PostgreSQL: the generated column ``articles.search_vector`` (title A, summary B, text C; every
  word under ``newswatch_simple``, plus stems under ``newswatch_<language>`` where the article's
  language has a stemmer) and its GIN index. A query is tried in the simple configuration on
  every article and in each stemming configuration on the articles of that language. Ranked by
  ``ts_rank_cd`` with the weights below.

Listings and exports read in batches by article id (keyset pagination), so an export of a
million articles holds one batch in memory, never the whole result.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager
from typing import TYPE_CHECKING, Any

from sqlalchemy import (
    ColumnElement,
    Engine,
    Float,
    Integer,
    String,
    and_,
    bindparam,
    case,
    column,
    exists,
    func,
    literal_column,
    or_,
    select,
    table,
    text,
)
from sqlalchemy.orm import Session

from newswatch.search import (
    ArticleFilter,
    ArticleRecord,
    SearchHit,
    SearchQuery,
    TopicScore,
)
from newswatch.storage.tables import ArticleRow, ArticleTopicRow, FeedRow, TopicRow

if TYPE_CHECKING:
    from alembic.runtime.environment import NameFilterParentNames, NameFilterType

#: The search objects migration 0004 creates, which no model describes.
SEARCH_TABLE = "articles_fts"
SEARCH_COLUMN = "search_vector"
SEARCH_INDEX = "ix_articles_search_vector"

#: SQLite: BM25 weights of title, summary and text. One title hit outweighs a few in the text.
BM25_WEIGHTS = (10.0, 4.0, 1.0)
#: PostgreSQL: ts_rank_cd weights of labels D, C (text), B (summary), A (title).
TS_RANK_WEIGHTS = "{0.1, 0.2, 0.4, 1.0}"
#: A query matching more articles than this is ranked among the newest this many of them
#: (that pass the filters): ranking costs a few microseconds per match, so a word found in every
#: one of a million articles would otherwise take seconds. Fewer matches are all ranked.
RANKED_MATCHES = 100_000
#: How long a snippet is, in words, with the matched words between MARK.
SNIPPET_WORDS = 24
MARK = "**"
#: Language code → PostgreSQL stemming configuration (as migration 0004 created them).
STEMMED_LANGUAGES = {
    "en": "english",
    "ru": "russian",
    "de": "german",
    "fr": "french",
    "es": "spanish",
    "it": "italian",
    "pt": "portuguese",
    "nl": "dutch",
}

_fts = table(SEARCH_TABLE, column("rowid", Integer), column("rank", Float))
_HEADLINE_OPTIONS = (
    f"StartSel={MARK}, StopSel={MARK}, MaxWords={SNIPPET_WORDS}, "
    f"MinWords={SNIPPET_WORDS // 2}, ShortWord=2"
)


def include_name(
    name: str | None, type_: NameFilterType, parent_names: NameFilterParentNames
) -> bool:
    """Alembic's name filter: leave the search objects out of model comparisons."""
    if type_ == "table":
        return name != SEARCH_TABLE and not (name or "").startswith(f"{SEARCH_TABLE}_")
    if type_ == "column":
        return not (name == SEARCH_COLUMN and parent_names.get("table_name") == "articles")
    if type_ == "index":
        return name != SEARCH_INDEX
    return True


class ArticleSearch:
    """Search, listing and export methods of ``Storage`` (which provides the rest)."""

    _engine: Engine

    def _reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def search_articles(
        self, query: SearchQuery, filters: ArticleFilter | None = None, *, limit: int = 20
    ) -> list[SearchHit]:
        """The ``limit`` stored articles that best match ``query``, best first.

        Tombstones never match. Each hit carries a snippet of the text (else the summary)
        around the matched words, which are marked ``**like this**``. When more than
        ``RANKED_MATCHES`` articles match, the best are taken from the newest that many.
        """
        conditions = _conditions(filters or ArticleFilter())
        with self._reading() as session:
            if self._engine.dialect.name == "sqlite":
                rows = _search_sqlite(session, query, conditions, limit)
            else:
                rows = _search_postgresql(session, query, conditions, limit)
            topics = _topics_for(session, [row.id for row in rows])
            return [
                SearchHit(
                    article=_record(row, topics),
                    score=float(row.score),
                    snippet=_snippet(row.text_snippet, row.summary_snippet),
                )
                for row in rows
            ]

    def list_articles(
        self, filters: ArticleFilter | None = None, *, limit: int = 50
    ) -> list[ArticleRecord]:
        """The newest ``limit`` stored articles (by ingestion) that pass ``filters``."""
        query = (
            _records_query(filters or ArticleFilter()).order_by(ArticleRow.id.desc()).limit(limit)
        )
        with self._reading() as session:
            rows = session.execute(query).all()
            topics = _topics_for(session, [row.id for row in rows])
            return [_record(row, topics) for row in rows]

    def iter_articles(
        self, filters: ArticleFilter | None = None, *, batch: int = 1000
    ) -> Iterator[ArticleRecord]:
        """Every stored article that passes ``filters``, oldest first, read ``batch`` at a time.

        Each batch is its own short transaction (keyset pagination by id): memory stays flat
        however many articles there are, and no lock is held while the caller works.
        """
        base = _records_query(filters or ArticleFilter()).order_by(ArticleRow.id).limit(batch)
        after = 0
        while True:
            with self._reading() as session:
                rows = session.execute(base.where(ArticleRow.id > after)).all()
                topics = _topics_for(session, [row.id for row in rows])
                records = [_record(row, topics) for row in rows]
            if not records:
                return
            yield from records
            after = records[-1].id

    def topic_known(self, slug: str) -> bool:
        """Whether a topic with ``slug`` was ever recorded (configured now or before)."""
        with self._reading() as session:
            return session.scalar(select(TopicRow.id).where(TopicRow.slug == slug)) is not None


# -- queries --------------------------------------------------------------------------------


def _record_columns() -> tuple[Any, ...]:
    return (
        ArticleRow.id,
        ArticleRow.title,
        ArticleRow.url,
        ArticleRow.canonical_url,
        ArticleRow.published_at,
        ArticleRow.ingested_at,
        ArticleRow.language,
        ArticleRow.story_id,
        ArticleRow.summary,
        FeedRow.name.label("feed_name"),
        FeedRow.title.label("feed_title"),
        FeedRow.url.label("feed_url"),
    )


def _records_query(filters: ArticleFilter) -> Any:
    return (
        select(*_record_columns())
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(*_conditions(filters))
    )


def _conditions(filters: ArticleFilter) -> list[ColumnElement[bool]]:
    conditions: list[ColumnElement[bool]] = [ArticleRow.removed_at.is_(None)]
    if filters.feed is not None:
        feed_ids = select(FeedRow.id).where(
            or_(FeedRow.declared_url == filters.feed, FeedRow.url == filters.feed)
        )
        conditions.append(ArticleRow.feed_id.in_(feed_ids))
    when = func.coalesce(ArticleRow.published_at, ArticleRow.ingested_at)
    if filters.since is not None:
        conditions.append(when >= filters.since)
    if filters.until is not None:
        conditions.append(when < filters.until)
    if filters.story_id is not None:
        conditions.append(ArticleRow.story_id == filters.story_id)
    if filters.topic is not None or filters.min_score is not None:
        matched = exists().where(ArticleTopicRow.article_id == ArticleRow.id)
        if filters.topic is not None:
            matched = matched.where(
                ArticleTopicRow.topic_id == TopicRow.id, TopicRow.slug == filters.topic
            )
        if filters.min_score is not None:
            matched = matched.where(ArticleTopicRow.score >= filters.min_score)
        conditions.append(matched)
    return conditions


def _search_sqlite(
    session: Session, query: SearchQuery, conditions: Sequence[ColumnElement[bool]], limit: int
) -> Sequence[Any]:
    weights = ", ".join(f"{weight:g}" for weight in BM25_WEIGHTS)
    match = text(f"{SEARCH_TABLE} MATCH :match").bindparams(match=query.fts5)
    window = list(conditions)
    # Counting matches is cheap (no ranking); only a very broad query needs a window.
    if (session.scalar(select(func.count()).select_from(_fts).where(match)) or 0) > RANKED_MATCHES:
        oldest_ranked = session.scalar(
            select(_fts.c.rowid)
            .select_from(_fts)
            .join(ArticleRow, ArticleRow.id == _fts.c.rowid)
            .where(match, *conditions)
            .order_by(_fts.c.rowid.desc())
            .offset(RANKED_MATCHES - 1)
            .limit(1)
        )
        if oldest_ranked is not None:
            window.append(_fts.c.rowid >= oldest_ranked)

    def snippet(column_index: int) -> Any:
        return literal_column(
            f"snippet({SEARCH_TABLE}, {column_index}, '{MARK}', '{MARK}', '…', {SNIPPET_WORDS})"
        )

    statement = (
        select(
            *_record_columns(),
            snippet(2).label("text_snippet"),
            snippet(1).label("summary_snippet"),
            (-_fts.c.rank).label("score"),
        )
        .select_from(_fts)
        .join(ArticleRow, ArticleRow.id == _fts.c.rowid)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .where(
            match,
            # FTS5 sorts by its own rank (here: weighted BM25), reading only the best rows.
            text(f"{SEARCH_TABLE}.rank MATCH 'bm25({weights})'"),
            *window,
        )
        .order_by(_fts.c.rank)
        .limit(limit)
    )
    return session.execute(statement).all()


def _search_postgresql(
    session: Session, query: SearchQuery, conditions: Sequence[ColumnElement[bool]], limit: int
) -> Sequence[Any]:
    vector: ColumnElement[Any] = literal_column(f"articles.{SEARCH_COLUMN}")
    text_query = bindparam("tsquery", query.tsquery, type_=String)
    language = func.split_part(func.lower(func.coalesce(ArticleRow.language, "")), "-", 1)

    def config(name: str) -> Any:
        return literal_column(f"'newswatch_{name}'::regconfig")

    def tsquery(name: str) -> Any:
        return func.to_tsquery(config(name), text_query)

    simple = tsquery("simple")
    any_language = simple
    for name in STEMMED_LANGUAGES.values():
        any_language = any_language.op("||")(tsquery(name))
    matches = and_(
        # One condition the GIN index answers (the query in every configuration)...
        vector.op("@@")(any_language),
        # ...then each article held to its own: its stems must not satisfy another language's
        # form of the query (that would let "NOT x" pass on a word stemmed differently).
        or_(
            vector.op("@@")(simple),
            *(
                and_(language == code, vector.op("@@")(tsquery(name)))
                for code, name in STEMMED_LANGUAGES.items()
            ),
        ),
    )
    # An article is ranked and highlighted with the query in its own language's terms too.
    own_query = case(
        *(
            (language == code, simple.op("||")(tsquery(name)))
            for code, name in STEMMED_LANGUAGES.items()
        ),
        else_=simple,
    )
    own_config = case(
        *((language == code, config(name)) for code, name in STEMMED_LANGUAGES.items()),
        else_=config("simple"),
    )
    rank = func.ts_rank_cd(
        literal_column(f"'{TS_RANK_WEIGHTS}'::float4[]"), vector, own_query
    ).label("score")
    newest = (
        select(ArticleRow.id.label("article_id"))
        .where(matches, *conditions)
        .order_by(ArticleRow.id.desc())
        .limit(RANKED_MATCHES)
        .subquery()
    )
    best = (
        select(ArticleRow.id.label("article_id"), rank)
        .select_from(newest)
        .join(ArticleRow, ArticleRow.id == newest.c.article_id)
        .order_by(rank.desc(), ArticleRow.id)
        .limit(limit)
        .subquery()
    )

    def headline(source: Any) -> Any:
        return func.ts_headline(own_config, source, own_query, _HEADLINE_OPTIONS)

    statement = (
        select(
            *_record_columns(),
            headline(ArticleRow.content_text).label("text_snippet"),
            headline(ArticleRow.summary).label("summary_snippet"),
            best.c.score,
        )
        .select_from(best)
        .join(ArticleRow, ArticleRow.id == best.c.article_id)
        .join(FeedRow, FeedRow.id == ArticleRow.feed_id)
        .order_by(best.c.score.desc(), ArticleRow.id)
    )
    return session.execute(statement).all()


def _topics_for(session: Session, ids: Sequence[int]) -> dict[int, tuple[TopicScore, ...]]:
    if not ids:
        return {}
    found: dict[int, list[TopicScore]] = {}
    rows = session.execute(
        select(ArticleTopicRow.article_id, TopicRow.slug, ArticleTopicRow.score)
        .join(TopicRow, TopicRow.id == ArticleTopicRow.topic_id)
        .where(ArticleTopicRow.article_id.in_(ids))
        .order_by(ArticleTopicRow.article_id, ArticleTopicRow.score.desc(), TopicRow.slug)
    )
    for article_id, slug, score in rows:
        found.setdefault(article_id, []).append(TopicScore(slug, float(score)))
    return {article_id: tuple(scores) for article_id, scores in found.items()}


def _record(row: Any, topics: dict[int, tuple[TopicScore, ...]]) -> ArticleRecord:
    return ArticleRecord(
        id=row.id,
        title=row.title,
        outlet=row.feed_name or row.feed_title or row.feed_url,
        feed_url=row.feed_url,
        url=row.url or row.canonical_url,
        published_at=row.published_at,
        ingested_at=row.ingested_at,
        language=row.language,
        story_id=row.story_id,
        topics=topics.get(row.id, ()),
        summary=row.summary,
    )


def _snippet(text_snippet: str | None, summary_snippet: str | None) -> str:
    """The text's passage if the query matched there, else the summary's, else the text's start."""
    candidates = [" ".join((s or "").split()) for s in (text_snippet, summary_snippet)]
    for candidate in candidates:
        if MARK in candidate:
            return candidate
    return next((c for c in candidates if c), "")
