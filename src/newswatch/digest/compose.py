"""From ledger candidates to what a reader sees: stories grouped by topic, ranked, explained.

Everything here is pure: it takes plain objects (candidates, story members, feed state, topic
activity) and returns a ``DigestView`` plus the ledger items, so it is tested without a
database. Templates read the view; they never compute.

Rules:

- Articles of one story cluster collapse into one story, shown once per digest under its best
  topic (the topic with the highest score among the channel's topics; ties go to the topic
  listed first). Its other topics are named beside it.
- Stories rank by score, then coverage (how many outlets carry the cluster) and recency:
  ``score + 0.15·log2(outlets) + 0.1·recency`` where recency runs from 0 (start of period) to
  1 (end).
- Every candidate article gets a ledger item, including cluster members and stories beyond
  ``max_per_topic`` (those are listed compactly): nothing owed is silently dropped.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from newswatch.model import (
    Article,
    DigestCandidate,
    DigestItem,
    Feed,
    FeedActivity,
    FeedStatus,
    StoryMember,
    TopicMatch,
)

SPARK_BARS = "▁▂▃▄▅▆▇█"
TREND_DAYS = 7
SUMMARY_LIMIT = 280
MAX_EVIDENCE = 6
#: A feed is "silent" when it published nothing for this long at least …
SILENT_FLOOR = timedelta(days=3)
#: … and for this many times its usual gap between articles (over the last 30 days).
SILENT_FACTOR = 4
ACTIVITY_WINDOW = timedelta(days=30)


@dataclass(frozen=True, slots=True)
class Outlet:
    """Another outlet carrying the same story."""

    name: str
    url: str | None


@dataclass(frozen=True, slots=True)
class StoryView:
    """One story as the digest shows it."""

    title: str
    url: str | None
    outlet: str
    when: datetime
    summary: str
    topic: str
    score: float
    coverage: int
    rank_score: float
    evidence: tuple[str, ...] = ()
    other_topics: tuple[str, ...] = ()
    also: tuple[Outlet, ...] = ()
    article_ids: tuple[int, ...] = ()


@dataclass(frozen=True, slots=True)
class TopicSection:
    """One topic's stories, its trend, and the stories beyond the channel's limit."""

    slug: str
    name: str
    stories: tuple[StoryView, ...]
    more: tuple[StoryView, ...]
    articles: int
    trend: tuple[int, ...]  # matches per day: the previous seven days, then the last 24 h
    sparkline: str

    @property
    def story_count(self) -> int:
        """Stories in this section, listed in full or compactly."""
        return len(self.stories) + len(self.more)

    @property
    def average(self) -> float:
        """Daily matches over the seven days before the last 24 h."""
        previous = self.trend[:-1]
        return sum(previous) / len(previous) if previous else 0.0


@dataclass(frozen=True, slots=True)
class FeedProblem:
    """A feed the reader should know about: failing, disabled or silent."""

    name: str
    url: str
    kind: str  # "failing" | "disabled" | "silent"
    detail: str


@dataclass(frozen=True, slots=True)
class DigestView:
    """Everything a template needs, already decided."""

    channel: str
    config_name: str
    timezone: str
    period_start: datetime | None
    period_end: datetime
    sections: tuple[TopicSection, ...]
    top_stories: tuple[StoryView, ...]
    articles: int
    feed_problems: tuple[FeedProblem, ...]
    version: str
    outlets: int = 0
    alert: bool = False  # an immediate topic alert: stories only, no overview
    counts: tuple[tuple[str, int, int], ...] = field(default=())  # (topic name, stories, articles)

    @property
    def empty(self) -> bool:
        """Nothing new in the period."""
        return not self.sections

    @property
    def stories(self) -> int:
        """Stories in the whole digest."""
        return sum(section.story_count for section in self.sections)


@dataclass(frozen=True, slots=True)
class Composition:
    """A composed digest: the view to render and the ledger items to record."""

    view: DigestView
    items: tuple[DigestItem, ...]


@dataclass(slots=True)
class _Story:
    key: str
    articles: list[DigestCandidate]
    scores: dict[str, float]
    best: DigestCandidate
    topic: str = ""


def compose(
    *,
    channel: str,
    config_name: str,
    timezone: str,
    topics: Sequence[tuple[str, str]],
    candidates: Sequence[DigestCandidate],
    members: Sequence[StoryMember],
    feeds: Sequence[Feed],
    activity: Sequence[FeedActivity],
    topic_activity: Sequence[tuple[str, datetime]] = (),
    trends: Mapping[str, Sequence[int]] | None = None,
    period_start: datetime | None,
    period_end: datetime,
    max_per_topic: int | None,
    version: str,
    alert: bool = False,
) -> Composition:
    """Group, rank and explain ``candidates`` for one channel.

    Args:
        topics: the channel's topics as ``(slug, name)``, in the order sections appear.
        candidates: the articles owed to the channel (``Storage.digest_candidates``).
        members: every article of the candidates' story clusters (``Storage.story_members``).
        feeds: all feeds, for outlet names and the health section.
        activity: recent output per feed, to spot silent feeds.
        topic_activity: ``(slug, ingested_at)`` of matches over the trend window, unless
            ``trends`` is given.
        trends: matches per topic and day over the trend window, as
            ``Storage.topic_trends(period_end, TREND_DAYS + 1)`` counts them (the same counts
            as ``topic_activity`` gives, without a row per match).
    """
    names = dict(topics)
    order = {slug: index for index, (slug, _) in enumerate(topics)}
    stories = _group(candidates, order)
    by_story: dict[int, list[StoryMember]] = defaultdict(list)
    for member in members:
        by_story[member.story_id].append(member)

    start = period_start or min(
        (c.article.ingested_at for c in candidates if c.article.ingested_at), default=period_end
    )
    views: dict[str, list[StoryView]] = defaultdict(list)
    for story in stories:
        views[story.topic].append(_story_view(story, names, by_story, start=start, end=period_end))

    trend = _trends(topic_activity, period_end) if trends is None else trends
    sections: list[TopicSection] = []
    items: list[DigestItem] = []
    for slug, name in topics:
        ranked = sorted(views.get(slug, ()), key=lambda s: (-s.rank_score, s.article_ids[0]))
        if not ranked:
            continue
        shown = ranked[:max_per_topic] if max_per_topic else ranked
        more = ranked[len(shown) :]
        counts = tuple(trend.get(slug, (0,) * (TREND_DAYS + 1)))
        sections.append(
            TopicSection(
                slug=slug,
                name=name,
                stories=tuple(shown),
                more=tuple(more),
                articles=sum(len(s.article_ids) for s in ranked),
                trend=counts,
                sparkline=sparkline(counts),
            )
        )
        for ranked_story in ranked:
            for article_id in ranked_story.article_ids:
                items.append(DigestItem(article_id, slug, len(items) + 1))

    shown_views = [story for section in sections for story in section.stories]
    top = sorted(shown_views, key=lambda s: (-s.rank_score, s.article_ids[0]))[:3]
    outlets = {c.outlet for c in candidates}
    view = DigestView(
        channel=channel,
        config_name=config_name,
        timezone=timezone,
        period_start=period_start,
        period_end=period_end,
        sections=tuple(sections),
        top_stories=tuple(top),
        articles=len(items),
        feed_problems=tuple(feed_problems(feeds, activity, period_end)),
        version=version,
        outlets=len(outlets),
        alert=alert,
        counts=tuple((s.name, s.story_count, s.articles) for s in sections),
    )
    return Composition(view=view, items=tuple(items))


def _group(candidates: Sequence[DigestCandidate], order: Mapping[str, int]) -> list[_Story]:
    """Collapse candidates into stories and pick each story's best topic and lead article."""
    grouped: dict[str, list[DigestCandidate]] = defaultdict(list)
    for candidate in candidates:
        if not candidate.matches:
            continue
        article = candidate.article
        key = f"s{article.story_id}" if article.story_id is not None else f"a{article.id}"
        grouped[key].append(candidate)
    stories: list[_Story] = []
    for key, articles in grouped.items():
        scores: dict[str, float] = {}
        for candidate in articles:
            for match in candidate.matches:
                if match.topic_slug in order:
                    scores[match.topic_slug] = max(scores.get(match.topic_slug, 0.0), match.score)
        if not scores:
            continue
        topic = min(scores, key=lambda slug: (-scores[slug], order[slug]))
        best = max(articles, key=lambda c: (_score_for(c, topic), -(c.article.id or 0)))
        stories.append(_Story(key, articles, scores, best, topic))
    return stories


def _score_for(candidate: DigestCandidate, topic: str) -> float:
    return max((m.score for m in candidate.matches if m.topic_slug == topic), default=0.0)


def _story_view(
    story: _Story,
    names: Mapping[str, str],
    by_story: Mapping[int, Sequence[StoryMember]],
    *,
    start: datetime,
    end: datetime,
) -> StoryView:
    lead = story.best
    article = lead.article
    cluster = by_story.get(article.story_id, ()) if article.story_id is not None else ()
    also: list[Outlet] = []
    seen = {lead.outlet}
    for member in cluster:
        if member.outlet not in seen:
            seen.add(member.outlet)
            also.append(Outlet(member.outlet, member.url))
    for candidate in story.articles:  # members the cluster query may not have returned
        if candidate.outlet not in seen:
            seen.add(candidate.outlet)
            also.append(Outlet(candidate.outlet, candidate.article.url))
    coverage = len(seen)
    score = story.scores[story.topic]
    when = _shown_time(article)
    span = (end - start).total_seconds()
    ingested = article.ingested_at or end
    recency = 1.0 if span <= 0 else max(0.0, min(1.0, (ingested - start).total_seconds() / span))
    others = sorted(
        (slug for slug in story.scores if slug != story.topic),
        key=lambda slug: -story.scores[slug],
    )
    match = next((m for m in lead.matches if m.topic_slug == story.topic), None)
    return StoryView(
        title=article.title or "(untitled)",
        url=article.url,
        outlet=lead.outlet,
        when=when,
        summary=summarize(article),
        topic=story.topic,
        score=round(score, 3),
        coverage=coverage,
        rank_score=score + 0.15 * math.log2(coverage) + 0.1 * recency,
        evidence=evidence_terms(match),
        other_topics=tuple(names[slug] for slug in others),
        also=tuple(also),
        article_ids=tuple(sorted(c.article.id for c in story.articles if c.article.id)),
    )


def _shown_time(article: Article) -> datetime:
    """The publication time when the feed gave a believable one, else when it was stored."""
    stored = article.ingested_at
    published = article.published_at
    if published is None or article.date_estimated:
        return stored or published or datetime.min
    if stored is not None and published > stored:
        return stored  # a date in the future is a feed's mistake
    return published


_SENTENCE_END = re.compile(r"(?<=[.!?…])\s+(?=[\"'«“(\[]?[A-ZА-ЯЁЇІЄҐ0-9])")


def summarize(article: Article, limit: int = SUMMARY_LIMIT) -> str:
    """One or two sentences from the summary (or the text), at most ``limit`` characters."""
    source = article.summary.strip() or article.content_text.strip()
    source = " ".join(source.split())
    if not source or source.casefold() == article.title.strip().casefold():
        return ""
    sentences = _SENTENCE_END.split(source)
    text = sentences[0]
    if len(sentences) > 1 and len(text) + 1 + len(sentences[1]) <= limit:
        text = f"{text} {sentences[1]}"
    if len(text) > limit:
        cut = text[: limit - 1].rsplit(" ", 1)[0].rstrip(",;:—–- ")
        text = f"{cut}…"
    return text


def evidence_terms(match: TopicMatch | None) -> tuple[str, ...]:
    """The distinct terms that made the match, title terms first, at most a handful."""
    if match is None:
        return ()
    field_rank = {"title": 0, "lead": 1, "body": 2}
    ordered = sorted(match.evidence, key=lambda e: (field_rank.get(e.field, 3), e.position))
    terms: list[str] = []
    for evidence in ordered:
        term = evidence.term.strip().rstrip("*").strip()
        if term and term.casefold() not in {t.casefold() for t in terms}:
            terms.append(term)
        if len(terms) == MAX_EVIDENCE:
            break
    return tuple(terms)


def sparkline(values: Sequence[int]) -> str:
    """A row of Unicode bars, one per value, scaled to the largest."""
    top = max(values, default=0)
    if top <= 0:
        return SPARK_BARS[0] * len(values)
    last = len(SPARK_BARS) - 1
    return "".join(SPARK_BARS[round(value / top * last)] for value in values)


def _trends(activity: Sequence[tuple[str, datetime]], end: datetime) -> dict[str, tuple[int, ...]]:
    """Matches per topic per 24 h window: the seven before the last 24 h, then the last."""
    days = TREND_DAYS + 1
    counts: dict[str, list[int]] = defaultdict(lambda: [0] * days)
    for slug, when in activity:
        age = end - when
        if age.total_seconds() < 0:
            continue
        index = days - 1 - int(age / timedelta(days=1))
        if 0 <= index < days:
            counts[slug][index] += 1
    return {slug: tuple(values) for slug, values in counts.items()}


def feed_problems(
    feeds: Sequence[Feed], activity: Sequence[FeedActivity], now: datetime
) -> list[FeedProblem]:
    """Failing and disabled feeds, and feeds silent for much longer than usual."""
    recent = {a.feed_id: a for a in activity}
    problems: list[FeedProblem] = []
    for feed in feeds:
        if not feed.active:
            continue
        name = feed.display_name
        if feed.status is FeedStatus.FAILING:
            since = f" after {feed.consecutive_failures} failed fetches"
            problems.append(
                FeedProblem(name, feed.url, "failing", (feed.last_error or "failing") + since)
            )
        elif feed.status is FeedStatus.DISABLED:
            problems.append(FeedProblem(name, feed.url, "disabled", feed.last_error or "disabled"))
        elif feed.status is FeedStatus.OK:
            silence = _silence(feed, recent.get(feed.id), now)
            if silence is not None:
                problems.append(FeedProblem(name, feed.url, "silent", silence))
    order = {"failing": 0, "disabled": 1, "silent": 2}
    problems.sort(key=lambda p: (order[p.kind], p.name.casefold()))
    return problems


def _silence(feed: Feed, activity: FeedActivity | None, now: datetime) -> str | None:
    """Why a working feed looks silent, or ``None`` if its quiet is normal for it."""
    if now - feed.created_at < SILENT_FLOOR:
        return None
    last = activity.last_article_at if activity else None
    if last is None:
        return "has never published an article"
    quiet = now - last
    recent = activity.recent_articles if activity else 0
    usual_gap = ACTIVITY_WINDOW / recent if recent else ACTIVITY_WINDOW
    if quiet < max(SILENT_FLOOR, SILENT_FACTOR * usual_gap):
        return None
    return f"no new articles for {quiet.days} days"
