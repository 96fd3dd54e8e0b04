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

import bisect
import functools
import math
import re
from collections import defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

from newswatch.model import Evidence
from newswatch.tagging.document import (
    BODY_START,
    LEAD_TOKENS,
    CachedStemmer,
    Document,
    field_of,
)
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
from newswatch.text import normalize_text, tokens

FIELD_WEIGHTS = {"title": 3.0, "lead": 2.0, "body": 1.0}
SCORE_SCALE = 3.0
SNIPPET_CHARS = 240
#: Distinct words remembered per stemmer before the cache starts over.
_WORD_CACHE_LIMIT = 500_000
#: Sentences of one field looked at for the snippet (the evidence is usually early).
MAX_SNIPPET_SENTENCES = 60


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


# A compiled query: evaluates against one document's context, with the weight in force.
_Fn = Callable[["_Context", float], Result]
# A compiled presence check: could the query hold, given the ids of the terms present?
_Check = Callable[[dict[int, list[int]]], bool]


class Tagger:
    """Topics compiled for fast matching."""

    def __init__(self, rules: Sequence[TopicRule]) -> None:
        """Compile every topic's query.

        Raises:
            QuerySyntaxError: a query does not parse; the message names the topic.
        """
        self.rules = tuple(rules)
        self._compiled: list[tuple[TopicRule, _Fn, _Fn | None, _Check]] = []
        # Every term of every topic gets a number. The terms are indexed three ways (exact
        # word, first three letters of a prefix, stem), so a document's words find the terms
        # they satisfy, instead of each term searching the document.
        self._ids: dict[Term, int] = {}
        self._terms: list[Term] = []
        self._exact: defaultdict[str, list[int]] = defaultdict(list)
        self._prefixes: defaultdict[str, list[int]] = defaultdict(list)
        self._stem_index: dict[str, dict[str, list[int]]] = {}
        # word → the term ids it satisfies, per stemmer ("" for none): see _terms_for_word.
        self._word_terms: dict[str, dict[str, tuple[int, ...]]] = {}
        self._topics_of: defaultdict[int, set[int]] = defaultdict(set)
        for index, rule in enumerate(self.rules):
            query = parse_query(rule.query, topic=rule.slug)
            try:
                exclude = parse_query(rule.exclude) if rule.exclude else None
            except QuerySyntaxError as exc:
                raise exc.for_topic(rule.slug, "exclude") from None
            for term in terms_of(query):
                self._topics_of[self._presence_id(term)].add(index)
            compiled_exclude = self._compile(exclude) if exclude is not None else None
            self._compiled.append(
                (rule, self._compile(query), compiled_exclude, self._check(query))
            )

    def _id(self, term: Term) -> int:
        number = self._ids.get(term)
        if number is None:
            number = self._ids[term] = len(self._terms)
            self._terms.append(term)
            if term.prefix:
                self._prefixes[term.text[:3]].append(number)
            elif not term.case_sensitive:
                self._exact[term.text].append(number)
        return number

    def _presence_id(self, term: Term) -> int:
        """The id whose presence a term needs: an exact-case term needs its folded form."""
        if term.case_sensitive:
            folded = tokens(term.text)
            if len(folded) == 1:
                return self._id(Term(folded[0], field=term.field))
        return self._id(term)

    def _check(self, node: Node) -> _Check:
        """A cheap necessary condition for the query to hold: its terms are present at all.

        Most candidate topics fail here, before any evidence is collected.
        """
        if isinstance(node, Term):
            number = self._presence_id(node)
            return lambda present: number in present
        if isinstance(node, Phrase):
            needed = frozenset(self._presence_id(w) for w in node.words)
            return lambda present: present.keys() >= needed
        if isinstance(node, Weighted):
            return self._check(node.part)
        if isinstance(node, Near):
            left, right = self._check(node.left), self._check(node.right)
            return lambda present: left(present) and right(present)
        if isinstance(node, Or):
            # Plain terms of an OR (its aliases) are one set test; other parts are checked one
            # by one only when none of the plain terms is there.
            plain = frozenset(self._presence_id(p) for p in node.parts if isinstance(p, Term))
            others = [self._check(p) for p in node.parts if not isinstance(p, Term)]
            if not others:
                return lambda present: not present.keys().isdisjoint(plain)
            return lambda present: (
                not present.keys().isdisjoint(plain) or any(part(present) for part in others)
            )
        if isinstance(node, And):
            parts = [self._check(p) for p in node.parts if not isinstance(p, Not)]
            return lambda present: all(part(present) for part in parts)
        return lambda present: True  # NOT: decided by the full evaluation

    def _compile(self, node: Node) -> _Fn:
        if isinstance(node, Term):
            number, label = self._id(node), _label(node)
            if node.case_sensitive:
                term = node

                def exact_case(ctx: _Context, weight: float) -> Result:
                    found = ctx.case_sensitive(number, term)
                    return [Hit(label, p, 1, weight) for p in found] if found else None

                return exact_case

            def single(ctx: _Context, weight: float) -> Result:
                found = ctx.present.get(number)
                return [Hit(label, p, 1, weight) for p in found] if found else None

            return single
        if isinstance(node, Or):
            return self._compile_or(node)
        if isinstance(node, And):
            parts = [self._compile(p) for p in node.parts]

            def all_of(ctx: _Context, weight: float) -> Result:
                hits: list[Hit] = []
                for part in parts:
                    result = part(ctx, weight)
                    if result is None:
                        return None
                    hits.extend(result)
                return hits

            return all_of
        if isinstance(node, Not):
            inner = self._compile(node.part)

            def none_of(ctx: _Context, weight: float) -> Result:
                return [] if inner(ctx, weight) is None else None

            return none_of
        if isinstance(node, Weighted):
            part, factor = self._compile(node.part), node.weight

            def weighted(ctx: _Context, weight: float) -> Result:
                return part(ctx, weight * factor)

            return weighted
        if isinstance(node, Phrase):
            return self._compile_phrase(node)
        return self._compile_near(node)

    def _compile_or(self, node: Or) -> _Fn:
        simple = [
            (self._id(p), _label(p))
            for p in node.parts
            if isinstance(p, Term) and not p.case_sensitive
        ]
        others = [
            self._compile(p)
            for p in node.parts
            if not (isinstance(p, Term) and not p.case_sensitive)
        ]

        def any_of(ctx: _Context, weight: float) -> Result:
            hits: list[Hit] = []
            matched = False
            present = ctx.present
            for number, label in simple:
                found = present.get(number)
                if found:
                    matched = True
                    hits.extend(Hit(label, p, 1, weight) for p in found)
            for part in others:
                result = part(ctx, weight)
                if result is not None:
                    matched = True
                    hits.extend(result)
            return hits if matched else None

        return any_of

    def _compile_phrase(self, node: Phrase) -> _Fn:
        words = [(self._id(w), w) for w in node.words]
        label = " ".join(_label(w) for w in node.words)
        field_name = node.field

        def phrase(ctx: _Context, weight: float) -> Result:
            starts = ctx.positions(*words[0])
            for offset, (number, word) in enumerate(words[1:], start=1):
                if not starts:
                    return None
                following = set(ctx.positions(number, word))
                starts = [p for p in starts if p + offset in following]
            starts = _in_field(starts, field_name)
            return [Hit(label, p, len(words), weight) for p in starts] or None

        return phrase

    def _compile_near(self, node: Near) -> _Fn:
        left, right, distance = self._compile(node.left), self._compile(node.right), node.distance

        def near(ctx: _Context, weight: float) -> Result:
            a_hits = left(ctx, weight)
            if not a_hits:
                return None
            b_hits = right(ctx, weight)
            if not b_hits:
                return None
            kept_a = [a for a in a_hits if any(_gap(a, b) <= distance for b in b_hits)]
            if not kept_a:
                return None
            kept_b = [b for b in b_hits if any(_gap(a, b) <= distance for a in kept_a)]
            return kept_a + kept_b

        return near

    def match(self, document: Document, *, include_failed: bool = False) -> list[Match]:
        """The topics the document matches, best score first.

        Args:
            document: the analysed article.
            include_failed: also return topics whose query holds but whose score is under the
                threshold (for ``topics eval --errors`` and ``topics test``).
        """
        context = _Context(document, self._present_terms(document))
        candidates: set[int] = set()
        topics_of = self._topics_of
        present = context.present
        for number in present:
            topics = topics_of.get(number)
            if topics:
                candidates |= topics
        results = []
        for index in sorted(candidates):
            rule, query, exclude, check = self._compiled[index]
            if not check(present):
                continue
            found = query(context, 1.0)
            if not found:
                continue
            score = _score(found)
            if exclude is not None:
                excluded = exclude(context, 1.0)
                if excluded:
                    score *= math.exp(-_evidence_sum(excluded))
            score = round(score, 4)
            passed = score >= rule.threshold
            if passed or include_failed:
                results.append(
                    Match(
                        slug=rule.slug,
                        score=score,
                        evidence=_evidence(found),
                        snippet=snippet(document, found),
                        passed=passed,
                    )
                )
        results.sort(key=lambda m: (-m.score, m.slug))
        return results

    def _present_terms(self, document: Document) -> dict[int, list[int]]:
        """The positions of every indexed term that occurs in the document."""
        stemmer = document.stemmer
        cache = self._word_terms.setdefault(stemmer.algorithm if stemmer else "", {})
        if len(cache) > _WORD_CACHE_LIMIT:
            cache.clear()
        found: defaultdict[int, list[int]] = defaultdict(list)
        for token, positions in document.tokens.items():
            numbers = cache.get(token)
            if numbers is None:
                numbers = cache[token] = self._terms_for_word(token, stemmer)
            for number in numbers:
                found[number].extend(positions)
        terms = self._terms
        present = {}
        for number, spots in found.items():
            kept = _in_field(sorted(set(spots)), terms[number].field)
            if kept:
                present[number] = kept
        return present

    def _terms_for_word(self, word: str, stemmer: CachedStemmer | None) -> tuple[int, ...]:
        """Every indexed term a word of an article satisfies: exactly, by prefix, by stem.

        News vocabulary repeats, so the answer is remembered per word (and stemmer).
        """
        numbers = set(self._exact.get(word, ()))
        terms = self._terms
        for number in self._prefixes.get(word[:3], ()):
            if word.startswith(terms[number].text):
                numbers.add(number)
        if stemmer is not None:
            numbers.update(self._stems(stemmer).get(stemmer.stem(word), ()))
        return tuple(numbers)

    def _stems(self, stemmer: CachedStemmer) -> dict[str, list[int]]:
        index = self._stem_index.get(stemmer.algorithm)
        if index is None:
            index = {}
            for text, numbers in self._exact.items():
                index.setdefault(stemmer.stem(text), []).extend(numbers)
            self._stem_index[stemmer.algorithm] = index
        return index


class _Context:
    """One document being matched: its present terms, and exact-case terms found so far."""

    def __init__(self, document: Document, present: dict[int, list[int]]) -> None:
        self.document = document
        self.present = present

    def positions(self, number: int, term: Term) -> list[int]:
        if term.case_sensitive:
            return self.case_sensitive(number, term)
        return self.present.get(number, [])

    def case_sensitive(self, number: int, term: Term) -> list[int]:
        found = self.present.get(number)
        if found is None:
            spots = []
            for name in ("title", "body"):
                for match in _exact_word(term.text).finditer(self.document.raw(name)):
                    spots.append(self.document.position_of_offset(name, match.start()))
            found = self.present[number] = _in_field(spots, term.field)
        return found


@functools.cache
def _exact_word(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])")


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


@functools.cache
def _label(term: Term) -> str:
    return f"{term.text}*" if term.prefix else term.text


def _evidence_sum(hits: Sequence[Hit]) -> float:
    # Each word of the article is evidence once, at the best weight any query term gives it:
    # alternatives that find the same word ("join OR joined", a phrase and its first word)
    # must not count it twice. Zero-weight hits (context) count for nothing, not even repeats.
    by_position: dict[int, Hit] = {}
    for hit in hits:
        if hit.weight <= 0:
            continue
        seen = by_position.get(hit.position)
        if seen is None or hit.weight * hit.length > seen.weight * seen.length:
            by_position[hit.position] = hit
    best: dict[str, float] = {}
    counts: dict[str, int] = defaultdict(int)
    for position, hit in by_position.items():
        value = FIELD_WEIGHTS[field_of(position)] * hit.weight
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
    scoring = [h for h in hits if h.weight > 0] or list(hits)
    fast = _snippet_from_positions(document, scoring)
    return fast if fast is not None else _snippet_by_search(document, hits)


_SENTENCE_END_RE = re.compile(r"[.!?…](?=\s)|\n")


def _snippet_from_positions(document: Document, hits: Sequence[Hit]) -> str | None:
    """The snippet from the hits' own positions; None when token offsets are not known."""
    by_sentence: dict[tuple[str, int], list[Hit]] = defaultdict(list)
    bounds: dict[str, list[int]] = {}
    for hit in hits:
        name = "title" if hit.position < BODY_START else "body"
        spans = document.spans(name)
        if spans is None:
            return None
        index = hit.position if name == "title" else hit.position - BODY_START
        if index + hit.length > len(spans):
            return None
        if name not in bounds:
            bounds[name] = [m.end() for m in _SENTENCE_END_RE.finditer(document.raw(name))]
        sentence = bisect.bisect_right(bounds[name], spans[index][0])
        by_sentence[(name, sentence)].append(hit)
    if not by_sentence:
        return None
    # The sentence with the most different terms; the earliest among equals (title first).
    (name, sentence), chosen = max(
        by_sentence.items(),
        key=lambda item: (len({h.label for h in item[1]}), item[0][0] == "title", -item[0][1]),
    )
    text = document.raw(name)
    ends = bounds[name]
    start = ends[sentence - 1] if sentence > 0 else 0
    end = ends[sentence] if sentence < len(ends) else len(text)
    spans = document.spans(name)
    assert spans is not None
    offset = 0 if name == "title" else BODY_START
    marks = [
        (
            spans[h.position - offset][0] - start,
            spans[h.position - offset + h.length - 1][1] - start,
        )
        for h in chosen
    ]
    piece = text[start:end]
    stripped = piece.lstrip()
    shift = len(piece) - len(stripped)
    marks = [(a - shift, b - shift) for a, b in marks]
    return _highlight(stripped.rstrip(), marks)


def _snippet_by_search(document: Document, hits: Sequence[Hit]) -> str:
    """The snippet found by searching the text for the matched words (the slow way)."""
    labels = {h.label for h in hits if h.weight > 0} or {h.label for h in hits}
    patterns = [label.split() for label in sorted(labels)]
    stemmer = document.stemmer

    def same(token: str, pattern: str) -> bool:
        if pattern.endswith("*"):
            return token.startswith(pattern[:-1])
        if token == pattern:
            return True
        return stemmer is not None and stemmer.stem(token) == stemmer.stem(pattern)

    # Only patterns whose first word's opening letters occur in a sentence are tried on it: a
    # substring test on the folded sentence rules most out before any word is compared.
    keyed = [(p[0].rstrip("*")[:4], index, p) for index, p in enumerate(patterns)]
    best: tuple[int, str, list[tuple[int, int]]] = (-1, "", [])
    for source in (document.title, document.body):
        for piece in _SENTENCE_RE.split(source)[:MAX_SNIPPET_SENTENCES]:
            sentence = piece.strip()
            if not sentence:
                continue
            folded = normalize_text(sentence)
            trying = [(index, p) for start, index, p in keyed if start in folded]
            if not trying:
                if best[0] < 0:
                    best = (0, sentence, [])
                continue
            words = [
                (m.start(), m.end(), _fold_word(m.group())) for m in _WORD_RE.finditer(sentence)
            ]
            spans: list[tuple[int, int]] = []
            found: set[int] = set()
            for index, pattern in trying:
                size = len(pattern)
                for i in range(len(words) - size + 1):
                    if all(same(words[i + j][2], pattern[j]) for j in range(size)):
                        spans.append((words[i][0], words[i + size - 1][1]))
                        found.add(index)
            if len(found) > best[0]:
                best = (len(found), sentence, spans)
    return _highlight(best[1], best[2])


def _fold_word(word: str) -> str:
    if word.isascii():  # the common case, without the Unicode folding machinery
        folded = word.lower()
        return folded[:-2] if folded.endswith("'s") and len(folded) > 2 else folded
    return (tokens(word) or [""])[0]


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
