"""Full-text search and listings of the stored articles: queries, filters and results.

A search query is written in the topic query language (``newswatch.tagging.query``): words side
by side or joined by ``AND`` must all occur, ``OR`` takes either, ``NOT`` excludes, ``"…"`` is
a phrase, ``word*`` a prefix (3 letters at least), parentheses group, and ``title:``, ``lead:``
(the summary) and ``body:`` (the text) limit a part to one field. ``NEAR/N`` is for topics only;
weights (``^N``) and exact case (``=US``) are accepted and make no difference to a search.

The parsed query is translated here, without a database, into the two backends' own query
languages: an FTS5 ``MATCH`` expression (SQLite) and a ``tsquery`` text (PostgreSQL). Every word
goes into them quoted and escaped, exactly as written: the database then tokenises and folds it
(case, accents, stems) as it did the stored text, so the two always agree. Both expressions are
passed to the database as bound parameters, never spliced into SQL.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from newswatch.errors import UsageError
from newswatch.tagging.query import (
    And,
    Near,
    Node,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Term,
    Weighted,
    parse_query,
)

#: Query field → the stored column it searches.
FIELD_COLUMNS = {"title": "title", "lead": "summary", "body": "content_text"}
#: Query field → the PostgreSQL weight label its column's lexemes carry.
FIELD_WEIGHTS = {"title": "A", "lead": "B", "body": "C"}

_QUOTES = '"“”„«»'


@dataclass(frozen=True, slots=True)
class SearchQuery:
    """A parsed search query and its translations for each backend."""

    text: str  # as the user wrote it
    fts5: str  # an FTS5 MATCH expression
    tsquery: str  # a to_tsquery() input


@dataclass(frozen=True, slots=True)
class ArticleFilter:
    """Which stored articles a search, listing or export covers (all given conditions hold).

    ``since`` is inclusive and ``until`` exclusive; both apply to the article's date (its
    publication date, else when it was stored). ``min_score`` applies to the ``topic``'s score,
    or without a topic to the article's best topic score.
    """

    topic: str | None = None
    feed: str | None = None  # the declared or current URL of a feed
    since: datetime | None = None
    until: datetime | None = None
    min_score: float | None = None
    story_id: int | None = None


@dataclass(frozen=True, slots=True)
class TopicScore:
    """A topic an article matched, and how well."""

    slug: str
    score: float


@dataclass(frozen=True, slots=True)
class ArticleRecord:
    """A stored article as listings and exports show it."""

    id: int
    title: str
    outlet: str  # the feed's configured name, else its own title, else its URL
    feed_url: str
    url: str | None
    published_at: datetime | None
    ingested_at: datetime
    language: str | None
    story_id: int | None
    topics: tuple[TopicScore, ...]  # best score first
    summary: str

    @property
    def date(self) -> datetime:
        """The article's date: when it was published, else when it was stored."""
        return self.published_at or self.ingested_at


@dataclass(frozen=True, slots=True)
class SearchHit:
    """One search result: the article, its relevance and a passage with the matches marked."""

    article: ArticleRecord
    score: float  # higher is better; comparable only within one search
    snippet: str  # matched words between ``**``


def parse_search(query: str) -> SearchQuery:
    """Parse a search query and translate it for SQLite FTS5 and PostgreSQL.

    Raises:
        QuerySyntaxError: the query does not parse, or uses ``NEAR`` (one line naming the
            problem, then the query and a caret under the place).
    """
    # Undecodable bytes on a command line arrive as lone surrogates, which no database takes.
    broken = next((i for i, char in enumerate(query) if "\ud800" <= char <= "\udfff"), None)
    if broken is not None:
        raise QuerySyntaxError("not valid text (an undecodable byte)", query, broken)
    node = parse_query(query, normalize=_as_written)
    if _has_near(node):
        raise QuerySyntaxError(
            "NEAR/N works in topic queries only; search with a phrase or AND",
            query,
            _near_position(query),
        )
    return SearchQuery(query, fts5_expression(node), tsquery_text(node))


def _as_written(word: str) -> list[str]:
    # The parser still strips '*' and '=' and checks prefixes; the database does the rest.
    return [word] if any(char.isalnum() for char in word) else []


def _has_near(node: Node) -> bool:
    if isinstance(node, Near):
        return True
    if isinstance(node, Weighted | Not):
        return _has_near(node.part)
    if isinstance(node, And | Or):
        return any(_has_near(part) for part in node.parts)
    return False


def _near_position(query: str) -> int:
    quoted = False
    for index, char in enumerate(query):
        if char in _QUOTES:
            quoted = not quoted
        elif not quoted and query.startswith("NEAR", index):
            return index
    return 0


# -- SQLite FTS5 ----------------------------------------------------------------------------


def fts5_expression(node: Node) -> str:
    """The FTS5 ``MATCH`` expression for a parsed query (``NEAR`` excluded).

    Every word is an FTS5 string (double quotes, inner quotes doubled), so nothing a user types
    can be read as FTS5 syntax; a phrase is one string, a prefix a string followed by ``*``.
    """
    if isinstance(node, Term):
        return _fts5_column(node.field, _fts5_string(node.text, prefix=node.prefix))
    if isinstance(node, Phrase):
        words = " ".join(word.text for word in node.words)
        return _fts5_column(node.field, _fts5_string(words, prefix=node.words[-1].prefix))
    if isinstance(node, Weighted):
        return fts5_expression(node.part)
    if isinstance(node, Or):
        return "(" + " OR ".join(fts5_expression(part) for part in node.parts) + ")"
    if isinstance(node, And):
        positive = [fts5_expression(p) for p in node.parts if not isinstance(p, Not)]
        negative = [fts5_expression(p.part) for p in node.parts if isinstance(p, Not)]
        # The parser guarantees a positive part; FTS5's NOT is binary ("a NOT b").
        expression = "(" + " AND ".join(positive) + ")"
        for part in negative:
            expression = f"({expression} NOT {part})"
        return expression
    raise UsageError(f"search cannot use {type(node).__name__} here")


def _fts5_string(text: str, *, prefix: bool) -> str:
    quoted = '"' + text.replace('"', '""') + '"'
    return f"{quoted} *" if prefix else quoted


def _fts5_column(field: str | None, expression: str) -> str:
    return expression if field is None else f"{FIELD_COLUMNS[field]} : {expression}"


# -- PostgreSQL tsquery ---------------------------------------------------------------------


def tsquery_text(node: Node) -> str:
    """The ``to_tsquery()`` input for a parsed query (``NEAR`` excluded).

    Every word is a quoted lexeme (single quotes doubled, backslashes escaped); ``<->`` joins the
    words of a phrase, ``:*`` marks a prefix, and a field becomes the weight label its column's
    lexemes carry (title A, lead B, body C).
    """
    if isinstance(node, Term):
        return _lexeme(node.text, prefix=node.prefix, field=node.field)
    if isinstance(node, Phrase):
        words = [
            _lexeme(word.text, prefix=word.prefix, field=node.field or word.field)
            for word in node.words
        ]
        return "(" + " <-> ".join(words) + ")"
    if isinstance(node, Weighted):
        return tsquery_text(node.part)
    if isinstance(node, Or):
        return "(" + " | ".join(tsquery_text(part) for part in node.parts) + ")"
    if isinstance(node, And):
        parts = [
            f"!{tsquery_text(p.part)}" if isinstance(p, Not) else tsquery_text(p)
            for p in node.parts
        ]
        return "(" + " & ".join(parts) + ")"
    raise UsageError(f"search cannot use {type(node).__name__} here")


def _lexeme(text: str, *, prefix: bool, field: str | None) -> str:
    quoted = "'" + text.replace("\\", "\\\\").replace("'", "''") + "'"
    flags = ("*" if prefix else "") + (FIELD_WEIGHTS[field] if field else "")
    return f"{quoted}:{flags}" if flags else quoted


# -- filters --------------------------------------------------------------------------------


def parse_when(value: str, *, end: bool = False, option: str = "--since") -> datetime:
    """A ``--since``/``--until`` value as a UTC instant.

    An ISO date is a UTC day: its start, or with ``end`` the start of the next day (so that
    ``--until 2026-11-25`` includes the 25th). An ISO datetime without a zone is UTC.

    Raises:
        UsageError: the value is neither.
    """
    text = value.strip()
    try:
        day = date.fromisoformat(text)
    except ValueError:
        pass
    else:
        start = datetime.combine(day, time(), UTC)
        return start + timedelta(days=1) if end else start
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise UsageError(
            f"{option} {value!r}: write a date (2026-11-25) or a date and time "
            "(2026-11-25T14:30, UTC unless a zone is given)"
        ) from None
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)
