"""Measuring topics against labelled articles: precision, recall and F1 per topic."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from newswatch.tagging.document import Document
from newswatch.tagging.matcher import Match, Tagger
from newswatch.tagging.records import Record


@dataclass(frozen=True, slots=True)
class TopicScore:
    """One topic's confusion counts and the measures from them."""

    slug: str
    true_positives: int
    false_positives: int
    false_negatives: int

    @property
    def precision(self) -> float:
        found = self.true_positives + self.false_positives
        return self.true_positives / found if found else 0.0

    @property
    def recall(self) -> float:
        wanted = self.true_positives + self.false_negatives
        return self.true_positives / wanted if wanted else 0.0

    @property
    def f1(self) -> float:
        p, r = self.precision, self.recall
        return 2 * p * r / (p + r) if p + r else 0.0


@dataclass(frozen=True, slots=True)
class Mistake:
    """An article the topics got wrong for one topic."""

    record: Record
    slug: str
    kind: str  # "false_positive" | "false_negative"
    match: Match | None  # what the engine saw (for a false negative: a match under threshold)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """Scores for every topic, their macro averages, and the mistakes."""

    topics: tuple[TopicScore, ...]
    articles: int
    mistakes: tuple[Mistake, ...] = field(default=())

    @property
    def macro_precision(self) -> float:
        return _mean(t.precision for t in self.topics)

    @property
    def macro_recall(self) -> float:
        return _mean(t.recall for t in self.topics)

    @property
    def macro_f1(self) -> float:
        return _mean(t.f1 for t in self.topics)


def evaluate(tagger: Tagger, records: Iterable[Record], slugs: Sequence[str]) -> Evaluation:
    """Tag labelled records and compare with their labels.

    Records without ``labels`` are skipped; labels naming no configured topic are ignored.
    """
    counts = {slug: [0, 0, 0] for slug in slugs}
    mistakes: list[Mistake] = []
    articles = 0
    for record in records:
        if record.labels is None:
            continue
        articles += 1
        document = Document.build(record.title, record.summary, record.content, record.language)
        seen = {m.slug: m for m in tagger.match(document, include_failed=True)}
        wanted = set(record.labels)
        for slug in slugs:
            match = seen.get(slug)
            fired = match is not None and match.passed
            if fired and slug in wanted:
                counts[slug][0] += 1
            elif fired:
                counts[slug][1] += 1
                mistakes.append(Mistake(record, slug, "false_positive", match))
            elif slug in wanted:
                counts[slug][2] += 1
                mistakes.append(Mistake(record, slug, "false_negative", match))
    return Evaluation(
        topics=tuple(TopicScore(slug, *counts[slug]) for slug in slugs),
        articles=articles,
        mistakes=tuple(mistakes),
    )


def _mean(values: Iterable[float]) -> float:
    items = list(values)
    return sum(items) / len(items) if items else 0.0
