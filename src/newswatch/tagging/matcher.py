"""Matching articles against compiled topics: does the query hold, how strongly, and why.

``Tagger`` compiles every topic's query once. For each article it builds a ``Document``, finds
the topics any of whose terms occur (an inverted index over all topics' terms, so an article is
evaluated only against topics it can match), evaluates those queries, and scores them.

Scoring (0..1). Each piece of evidence is a matched term or phrase at a position. A term's
weight is its field's — title 3, lead 2, rest of the body 1 — times any ``^weight`` the query
gives it; repeats of one term add with diminishing returns (1 + ln n). The sum ``s`` becomes
``1 - exp(-s / 3)``: one title hit gives 0.63, one passing mention deep in the body 0.28, and
every further hit raises the score (never lowers it). A topic's ``exclude`` query, when it
matches, multiplies the score by ``exp(-e)`` where ``e`` is its own evidence sum. A topic fires
when its query holds and the score reaches its threshold.
"""

from __future__ import annotations

import math
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from newswatch.model import Evidence
from newswatch.tagging.document import BODY_START, LEAD_TOKENS, Document, field_of
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
    terms_of,
)
from newswatch.text import tokens

FIELD_WEIGHTS = {"title": 3.0, "lead": 2.0, "body": 1.0}
SCORE_SCALE = 3.0
SNIPPET_CHARS = 240


@dataclass(frozen=True, slots=True)
class Hit:
    """One piece of evidence: a term or phrase matched at a position."""

    label: str
    position: int
    length: int = 1
    weight: float = 1.0


# None: the node does not match. A list (possibly empty, for NOT): it matches, with this evidence.
Result = list[Hit] | None


@dataclass(frozen=True, slots=True)
class Match:
    """A topic an article matched: the score, the evidence, and a snippet showing it."""

    slug: str
    score: float
    evidence: tuple[Evidence, ...]
    snippet: str
    passed: bool  # the score reached the topic's threshold


@dataclass(frozen=True, slots=True)
class TopicRule:
    """A topic as the tagger needs it."""

    slug: str
    query: str
    threshold: float
    exclude: str | None = None
    version: int = 1


@dataclass(frozen=True, slots=True)
class _Compiled:
    rule: TopicRule
    query: Node
    exclude: Node | None


class Tagger:
    """Topics compiled for fast matching."""

    def __init__(self, rules: Sequence[TopicRule]) -> None:
        """Compile every topic's query.

        Raises:
            QuerySyntaxError: a query does not parse; the message names the topic.
        """
        self.rules = tuple(rules)
        self._compiled: list[_Compiled] = []
        self._by_token: defaultdict[str, set[int]] = defaultdict(set)
        self._by_start: defaultdict[str, set[int]] = defaultdict(set)
        self._always: set[int] = set()
        for index, rule in enumerate(self.rules):
            query = parse_query(rule.query, topic=rule.slug)
            try:
                exclude = parse_query(rule.exclude) if rule.exclude else None
            except QuerySyntaxError as exc:
                raise exc.for_topic(rule.slug, "exclude") from None
            self._compiled.append(_Compiled(rule, query, exclude))
            for term in terms_of(query):
                if term.case_sensitive:
                    self._always.add(index)
                elif term.prefix:
                    self._by_start[term.text[:3]].add(index)
                else:
                    self._by_token[term.text].add(index)
                    self._by_start[term.text[:3]].add(index)  # its stem may differ

    def match(self, document: Document, *, include_failed: bool = False) -> list[Match]:
        """The topics the document matches, best score first.

        Args:
            document: the analysed article.
            include_failed: also return topics whose query holds but whose score is under the
                threshold (for ``topics eval --errors`` and ``topics test``).
        """
        results = []
        for index in sorted(self._candidates(document)):
            compiled = self._compiled[index]
            found = _Evaluator(document).run(compiled.query)
            if not found:
                continue
            score = _score(found)
            if compiled.exclude is not None:
                excluded = _Evaluator(document).run(compiled.exclude)
                if excluded:
                    score *= math.exp(-_evidence_sum(excluded))
            score = round(score, 4)
            passed = score >= compiled.rule.threshold
            if passed or include_failed:
                results.append(
                    Match(
                        slug=compiled.rule.slug,
                        score=score,
                        evidence=_evidence(found),
                        snippet=snippet(document, found),
                        passed=passed,
                    )
                )
        results.sort(key=lambda m: (-m.score, m.slug))
        return results

    def _candidates(self, document: Document) -> set[int]:
        found = set(self._always)
        by_token = self._by_token
        for token in document.tokens:
            hit = by_token.get(token)
            if hit:
                found |= hit
        for start in document.by_start:
            hit = self._by_start.get(start)
            if hit:
                found |= hit
        return found


class _Evaluator:
    """Evaluates one query tree against one document."""

    def __init__(self, document: Document) -> None:
        self.document = document

    def run(self, node: Node) -> Result:
        return self.eval(node, 1.0)

    def eval(self, node: Node, weight: float) -> Result:
        if isinstance(node, Term):
            positions = self.positions(node)
            return [Hit(_label(node), p, 1, weight) for p in positions] if positions else None
        if isinstance(node, Phrase):
            return self.phrase(node, weight)
        if isinstance(node, Weighted):
            return self.eval(node.part, weight * node.weight)
        if isinstance(node, Or):
            hits: list[Hit] = []
            matched = False
            for part in node.parts:
                found = self.eval(part, weight)
                if found is not None:
                    matched = True
                    hits.extend(found)
            return hits if matched else None
        if isinstance(node, And):
            hits = []
            # Cheap NOT-free parts first would be an optimisation; order kept for clarity.
            for part in node.parts:
                found = self.eval(part, weight)
                if found is None:
                    return None
                hits.extend(found)
            return hits
        if isinstance(node, Not):
            return [] if self.eval(node.part, weight) is None else None
        return self.near(node, weight)

    def positions(self, term: Term) -> list[int]:
        document = self.document
        if term.case_sensitive:
            found = self.case_sensitive(term)
        elif term.prefix:
            found = []
            for token in document.by_start.get(term.text[:3], ()):
                if token.startswith(term.text):
                    found.extend(document.tokens[token])
        else:
            found = list(document.tokens.get(term.text, ()))
            if document.stems is not None and document.stemmer is not None:
                stemmed = document.stems.get(document.stemmer.stem(term.text), ())
                if stemmed:
                    found = sorted(set(found).union(stemmed))
        return _in_field(found, term.field)

    def case_sensitive(self, term: Term) -> list[int]:
        pattern = re.compile(rf"(?<![\w-]){re.escape(term.text)}(?![\w-])")
        positions = []
        for name in ("title", "body"):
            for match in pattern.finditer(self.document.raw(name)):
                positions.append(self.document.position_of_offset(name, match.start()))
        return positions

    def phrase(self, node: Phrase, weight: float) -> Result:
        first, *rest = node.words
        starts = self.positions(first)
        if not starts:
            return None
        for offset, word in enumerate(rest, start=1):
            following = set(self.positions(word))
            starts = [p for p in starts if p + offset in following]
            if not starts:
                return None
        starts = _in_field(starts, node.field)
        label = " ".join(_label(w) for w in node.words)
        return [Hit(label, p, len(node.words), weight) for p in starts] or None

    def near(self, node: Near, weight: float) -> Result:
        left = self.eval(node.left, weight)
        right = self.eval(node.right, weight)
        if not left or not right:
            return None
        kept_left = [a for a in left if any(_gap(a, b) <= node.distance for b in right)]
        if not kept_left:
            return None
        kept_right = [b for b in right if any(_gap(a, b) <= node.distance for a in kept_left)]
        return kept_left + kept_right


def _gap(a: Hit, b: Hit) -> int:
    if a.position <= b.position:
        return b.position - (a.position + a.length - 1)
    return a.position - (b.position + b.length - 1)


def _in_field(positions: Iterable[int], field: str | None) -> list[int]:
    if field is None:
        return list(positions)
    if field == "title":
        return [p for p in positions if p < BODY_START]
    if field == "lead":
        return [p for p in positions if BODY_START <= p < BODY_START + LEAD_TOKENS]
    return [p for p in positions if p >= BODY_START]


def _label(term: Term) -> str:
    return f"{term.text}*" if term.prefix else term.text


def _evidence_sum(hits: Sequence[Hit]) -> float:
    best: dict[str, float] = {}
    counts: dict[str, int] = defaultdict(int)
    for hit in hits:
        value = FIELD_WEIGHTS[field_of(hit.position)] * hit.weight
        if value > best.get(hit.label, -1.0):
            best[hit.label] = value
        counts[hit.label] += 1
    return sum(best[label] * (1 + math.log(counts[label])) for label in best)


def _score(hits: Sequence[Hit]) -> float:
    return 1 - math.exp(-_evidence_sum(hits) / SCORE_SCALE)


def _evidence(hits: Sequence[Hit]) -> tuple[Evidence, ...]:
    seen: set[tuple[str, str]] = set()
    found = []
    for hit in sorted(hits, key=lambda h: h.position):
        field = field_of(hit.position)
        key = (hit.label, "body" if field == "lead" else field)
        if key in seen or hit.weight == 0:
            continue
        seen.add(key)
        offset = hit.position if field == "title" else hit.position - BODY_START
        found.append(Evidence(hit.label, field, offset))
    return tuple(found)


_SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD_RE = re.compile(r"\w[\w'’-]*")


def snippet(document: Document, hits: Sequence[Hit]) -> str:
    """The sentence that shows the most evidence, matched terms in **bold** (Markdown)."""
    labels = {h.label for h in hits if h.weight > 0} or {h.label for h in hits}
    patterns = [label.split() for label in sorted(labels)]
    stemmer = document.stemmer

    def same(token: str, pattern: str) -> bool:
        if pattern.endswith("*"):
            return token.startswith(pattern[:-1])
        if token == pattern:
            return True
        return stemmer is not None and stemmer.stem(token) == stemmer.stem(pattern)

    best: tuple[int, str, list[tuple[int, int]]] = (-1, "", [])
    for source in (document.title, document.body):
        for piece in _SENTENCE_RE.split(source):
            sentence = piece.strip()
            if not sentence:
                continue
            words = [
                (m.start(), m.end(), (tokens(m.group()) or [""])[0])
                for m in _WORD_RE.finditer(sentence)
            ]
            spans: list[tuple[int, int]] = []
            found: set[int] = set()
            for index, pattern in enumerate(patterns):
                size = len(pattern)
                for i in range(len(words) - size + 1):
                    if all(same(words[i + j][2], pattern[j]) for j in range(size)):
                        spans.append((words[i][0], words[i + size - 1][1]))
                        found.add(index)
            if len(found) > best[0]:
                best = (len(found), sentence, spans)
    return _highlight(best[1], best[2])


def _highlight(sentence: str, spans: list[tuple[int, int]]) -> str:
    # Overlapping or touching spans become one bold run.
    merged: list[list[int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], end)
        else:
            merged.append([start, end])
    window_start = 0
    if len(sentence) > SNIPPET_CHARS:
        first = merged[0][0] if merged else 0
        window_start = max(0, first - 60)
    window_end = window_start + SNIPPET_CHARS
    parts = []
    cursor = window_start
    for start, end in merged:
        if start < window_start or end > window_end:
            continue
        parts.append(sentence[cursor:start])
        parts.append(f"**{sentence[start:end]}**")
        cursor = end
    parts.append(sentence[cursor:window_end])
    text = "".join(parts)
    prefix = "…" if window_start else ""
    suffix = "…" if window_end < len(sentence) else ""
    return prefix + text + suffix
