"""Plain, frozen dataclasses shared by every layer.

These are the currency between fetching, tagging, storage, digests and the CLI. Storage returns
them and takes them; ORM rows never leave ``newswatch.storage``. Every datetime is timezone-aware
UTC; conversion to local time happens only when something is rendered for a person.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any


class FeedStatus(StrEnum):
    """Health of a feed, as ``feeds list`` and ``status`` show it."""

    NEW = "new"  # declared, never fetched yet
    OK = "ok"  # the last fetch worked
    FAILING = "failing"  # several fetches in a row failed; still retried with backoff
    DISABLED = "disabled"  # gone for good (410) or turned off; not fetched


class DigestStatus(StrEnum):
    """Where a digest is in its life."""

    PENDING = "pending"  # built and recorded, deliveries not all done yet
    SENT = "sent"  # every delivery succeeded
    EMPTY = "empty"  # the period had nothing new
    FAILED = "failed"  # a delivery failed permanently


class DeliveryStatus(StrEnum):
    """State of one delivery (one file, one email) of a digest."""

    PENDING = "pending"
    DONE = "done"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class FeedDeclaration:
    """A feed as the configuration declares it; storage mirrors these."""

    url: str
    name: str | None = None
    interval_seconds: int | None = None
    full_text: bool = False
    backfill: bool = False


@dataclass(frozen=True, slots=True)
class Feed:
    """A feed with its fetch state."""

    id: int
    declared_url: str  # the URL in the config; the key that ties the row to the config
    url: str  # the URL fetched now (differs after a permanent redirect)
    name: str | None
    title: str | None  # the title the feed itself gives
    site_url: str | None
    status: FeedStatus
    active: bool  # still declared in the config
    interval_seconds: int | None
    full_text: bool
    backfill: bool
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    redirect_url: str | None  # a permanent redirect seen, not yet adopted
    redirect_count: int  # consecutive fetches that showed ``redirect_url``
    consecutive_failures: int
    last_error: str | None
    last_problem: str | None  # recoverable trouble with the last document (malformed XML…)
    last_fetched_at: datetime | None
    last_success_at: datetime | None
    next_fetch_at: datetime | None
    created_at: datetime
    articles: int = 0  # stored articles, tombstones excluded
    ttl_seconds: int | None = None  # the feed's RSS <ttl>, a floor for its interval

    @property
    def display_name(self) -> str:
        """The name to show a person: configured name, else the feed's title, else the URL."""
        return self.name or self.title or self.url


@dataclass(frozen=True, slots=True)
class Article:
    """A clean article made from one feed entry.

    ``entry_key`` is the entry's identity inside its feed (GUID, else canonical link, else a
    content hash); a feed never holds two articles with the same key. ``id`` is ``None`` until
    the article is stored; stored ids grow in ingestion order.
    """

    feed_id: int
    entry_key: str
    title: str
    url: str | None = None
    canonical_url: str | None = None
    guid: str | None = None
    summary: str = ""
    content_text: str = ""
    content_html: str = ""
    author: str | None = None
    language: str | None = None
    published_at: datetime | None = None
    updated_at: datetime | None = None
    date_estimated: bool = False  # the feed gave no usable date; fetch time stands in
    fingerprint: str | None = None  # hash of the normalised title and text
    simhash: int | None = None  # near-duplicate signature for story clustering
    #: Hash of the feed entry the article was made from (``normalize.source_hash``): an entry
    #: seen again with the same hash is the same article, and is not normalised again.
    source_hash: str | None = None
    backlog: bool = False  # present at the feed's first fetch: stored, kept out of digests
    ingested_at: datetime | None = None
    story_id: int | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class TopicDefinition:
    """A topic as storage records it: its definition and the version of that definition."""

    slug: str
    name: str
    description: str
    query: str
    threshold: float
    exclude: str | None = None
    version: int = 1
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Evidence:
    """A matched term or phrase and where it was found (field, token position in the field)."""

    term: str
    field: str  # "title" | "lead" | "body"
    position: int

    def as_dict(self) -> dict[str, str | int]:
        """The JSON form used in ``topics match`` output and in storage."""
        return {"term": self.term, "field": self.field, "position": self.position}


@dataclass(frozen=True, slots=True)
class TopicMatch:
    """Why an article belongs to a topic: its score and the evidence that fired."""

    article_id: int
    topic_slug: str
    score: float
    evidence: tuple[Evidence, ...] = ()
    snippet: str | None = None
    topic_version: int = 1


@dataclass(frozen=True, slots=True)
class Story:
    """A story cluster: the same news carried by one or more articles (usually outlets)."""

    id: int
    title: str
    first_seen_at: datetime
    article_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class DigestItem:
    """One article placed in a digest, under one topic, at one rank."""

    article_id: int
    topic_slug: str | None
    rank: int


@dataclass(frozen=True, slots=True)
class Delivery:
    """One way a digest is delivered (a Markdown file, an email) and how that went."""

    kind: str  # "markdown" | "email"
    target: str  # the file written, or the recipients
    status: DeliveryStatus = DeliveryStatus.PENDING
    attempts: int = 0
    last_error: str | None = None
    delivered_at: datetime | None = None
    next_attempt_at: datetime | None = None
    id: int | None = None


@dataclass(frozen=True, slots=True)
class Digest:
    """A digest of one channel for one period, as recorded in the ledger."""

    id: int
    channel: str
    period_start: datetime | None
    period_end: datetime
    status: DigestStatus
    created_at: datetime
    message_id: str | None = None
    items: tuple[DigestItem, ...] = ()
    deliveries: tuple[Delivery, ...] = ()
    subject: str | None = None
    article_count: int = 0
    story_count: int = 0
    completed_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestBody:
    """What a digest looked like when it was built; every delivery sends exactly this."""

    subject: str
    markdown: str
    text: str
    html: str


@dataclass(frozen=True, slots=True)
class DigestCandidate:
    """An article that may enter a channel's next digest, with its matches and its outlet."""

    article: Article
    outlet: str
    matches: tuple[TopicMatch, ...]


@dataclass(frozen=True, slots=True)
class StoryMember:
    """One article of a story cluster, as "also reported by" shows it."""

    story_id: int
    article_id: int
    feed_id: int
    outlet: str
    title: str
    url: str | None


@dataclass(frozen=True, slots=True)
class FeedActivity:
    """How much a feed published recently, to tell a quiet feed from a silent one."""

    feed_id: int
    recent_articles: int  # stored in the window asked for
    last_article_at: datetime | None  # the newest stored article, any age


@dataclass(frozen=True, slots=True)
class TopicCount:
    """How many stored articles a topic matched, overall and recently."""

    slug: str
    name: str
    articles: int
    last_24h: int
    last_7d: int = 0


@dataclass(frozen=True, slots=True)
class StatusReport:
    """What ``newswatch status`` shows: feed health, topic counts, digests."""

    feeds: tuple[Feed, ...]
    topics: tuple[TopicCount, ...]
    articles: int
    last_digests: dict[str, Digest | None] = field(default_factory=dict)
    daemons: tuple[DaemonStatus, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class FeedUpdate:
    """A feed's fetch state after one fetch, as the scheduling policy decided it."""

    url: str
    status: FeedStatus
    etag: str | None
    last_modified: str | None
    body_hash: str | None
    redirect_url: str | None
    redirect_count: int
    consecutive_failures: int
    last_error: str | None
    last_fetched_at: datetime
    last_success_at: datetime | None
    next_fetch_at: datetime | None
    title: str | None = None
    site_url: str | None = None
    last_problem: str | None = None
    ttl_seconds: int | None = None


@dataclass(frozen=True, slots=True)
class StorySignature:
    """What story clustering needs to know of one article."""

    article_id: int
    feed_id: int
    story_id: int | None
    simhash: int | None
    canonical_url: str | None


@dataclass(frozen=True, slots=True)
class StoryGroup:
    """Articles that clustering put together: into an existing story, or a new one."""

    article_ids: tuple[int, ...]
    story_id: int | None = None  # None: start a new story led by the first article


@dataclass(frozen=True, slots=True)
class IngestResult:
    """What storing one fetched feed document changed."""

    new_ids: tuple[int, ...] = ()
    updated_ids: tuple[int, ...] = ()
    unchanged: int = 0


@dataclass(frozen=True, slots=True)
class TagSummary:
    """What a tagging pass did."""

    articles: int
    matches: int
    by_topic: dict[str, int]


@dataclass(frozen=True, slots=True)
class DaemonStatus:
    """A daemon as ``status`` reports it: its record and whether it looks alive."""

    info: DaemonInfo
    running: bool


@dataclass(frozen=True, slots=True)
class DaemonInfo:
    """A ``newswatch run`` process as its heartbeat row records it."""

    id: str
    hostname: str
    pid: int
    version: str
    started_at: datetime
    heartbeat_at: datetime
    stopped_at: datetime | None = None
