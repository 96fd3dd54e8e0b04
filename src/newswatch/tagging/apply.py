"""Applying the topics to stored articles: the tagging pass of ``fetch`` and ``tag``."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime

from newswatch.model import Article, TagSummary, TopicDefinition, TopicMatch
from newswatch.storage import Storage
from newswatch.tagging.document import Document
from newswatch.tagging.matcher import Tagger, TopicRule

log = logging.getLogger(__name__)

BATCH = 500


def make_tagger(topics: Sequence[TopicDefinition]) -> Tagger:
    """Compile stored topic definitions (raises QuerySyntaxError for a bad query)."""
    return Tagger([TopicRule(t.slug, t.query, t.threshold, t.exclude, t.version) for t in topics])


def document_of(article: Article) -> Document:
    """An article's fields, ready for matching."""
    return Document.build(article.title, article.summary, article.content_text, article.language)


def topic_matches(
    tagger: Tagger, article: Article, article_id: int, versions: Mapping[str, int]
) -> list[TopicMatch]:
    """The topics ``article`` matches (``versions``: each topic's version, by slug)."""
    return [
        TopicMatch(
            article_id=article_id,
            topic_slug=m.slug,
            score=m.score,
            evidence=m.evidence,
            snippet=m.snippet,
            topic_version=versions[m.slug],
        )
        for m in tagger.match(document_of(article))
    ]


def tag_stored(
    storage: Storage,
    tagger: Tagger,
    *,
    clock: Callable[[], datetime],
    everything: bool = False,
    progress: Callable[[int], None] | None = None,
) -> TagSummary:
    """Tag stored articles: the untagged ones, or (``everything``) all of them again.

    Work is committed in batches, so an interrupted pass keeps what it did and the next one
    continues where it stopped.
    """
    versions = {rule.slug: rule.version for rule in tagger.rules}
    done = 0
    matched = 0
    by_topic: dict[str, int] = {}
    after = 0
    while True:
        batch = storage.articles_to_tag(after_id=after, limit=BATCH, everything=everything)
        if not batch:
            break
        results: list[tuple[int, list[TopicMatch]]] = []
        for article in batch:
            assert article.id is not None
            matches = topic_matches(tagger, article, article.id, versions)
            for match in matches:
                by_topic[match.topic_slug] = by_topic.get(match.topic_slug, 0) + 1
            matched += len(matches)
            results.append((article.id, matches))
        storage.save_tagging(results, clock())
        done += len(batch)
        after = batch[-1].id or after
        if progress is not None:
            progress(done)
    if done:
        log.info("tagging done: articles=%d matches=%d", done, matched)
    return TagSummary(done, matched, by_topic)
