"""Matching articles against compiled topics: does the query hold, how strongly, and why.

``Tagger`` compiles every topic's query once, twice over: into closures that collect the
evidence, and into a generated presence check (could the query hold, given which terms occur?).
For each article (a ``Document``: its tokens) it looks up which topic terms each word satisfies
(exactly, by prefix, by stem; remembered per word), takes the topics that share a term with the
article, drops those whose presence check fails (most), evaluates the rest and scores them.

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
import operator
import re
from collections import defaultdict, deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from itertools import chain, compress, repeat
from typing import cast

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
_LEAD_END = BODY_START + LEAD_TOKENS


# Evidence: groups of hits (a term or phrase matched at a position) with one label, weight and
# length, at ascending positions. Read group after group, position after position, they are
# the hits in the order the query found them (that order breaks ties in scores and evidence).
# One group per matched term instead of one object per hit keeps evaluation cheap.
_Group = tuple[str, float, int, list[int]]  # label, weight, length, positions
# None: the node does not match. A list (possibly empty, for NOT): it matches, with this evidence.
Result = list[_Group] | None


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


# A compiled query: evaluates against one document's context.
_Fn = Callable[["_Context"], Result]
# A compiled presence check: could the query hold, given the ids of the terms present?
_Check = Callable[[dict[int, list[int]]], bool]


class _CheckWriter:
    """Writes a query's presence check as one Python expression.

    The check is a necessary condition for the query to hold, from the terms present alone
    (``present``: term id → positions; ``keys``: its keys): an OR needs one of its parts, AND
    and NEAR all of theirs (NOT parts are left to the full evaluation), a phrase all its
    words. Sets of term ids become named constants. One generated function per topic runs
    several times faster than the same test as a tree of closures, and most candidate
    topics fail it.
    """

    def __init__(self, presence_id: Callable[[Term], int]) -> None:
        self.presence_id = presence_id
        self.constants: dict[str, frozenset[int]] = {}

    def any_present(self, ids: frozenset[int]) -> str:
        if len(ids) == 1:
            return f"{next(iter(ids))} in present"
        name = f"ids{len(self.constants)}"
        self.constants[name] = ids
        return f"not keys.isdisjoint({name})"

    def plain(self, node: Node) -> frozenset[int] | None:
        """The ids of which the node needs any one, if that is all it needs."""
        if isinstance(node, Term):
            return frozenset({self.presence_id(node)})
        if isinstance(node, Weighted):
            return self.plain(node.part)
        if isinstance(node, Or):
            sets = [self.plain(part) for part in node.parts]
            if all(ids is not None for ids in sets):
                return frozenset().union(*(ids for ids in sets if ids is not None))
        return None

    def expression(self, node: Node) -> str:
        ids = self.plain(node)
        if ids is not None:
            return self.any_present(ids)
        if isinstance(node, Weighted):
            return self.expression(node.part)
        if isinstance(node, Phrase):
            words = sorted({self.presence_id(word) for word in node.words})
            return "(" + " and ".join(f"{number} in present" for number in words) + ")"
        if isinstance(node, Near):
            return f"({self.expression(node.left)} and {self.expression(node.right)})"
        if isinstance(node, And):
            parts = [self.expression(part) for part in node.parts if not isinstance(part, Not)]
            return "(" + " and ".join(parts) + ")" if parts else "True"
        if isinstance(node, Or):
            plain = [ids for part in node.parts if (ids := self.plain(part)) is not None]
            alternatives = [self.any_present(frozenset().union(*plain))] if plain else []
            alternatives += [
                self.expression(part) for part in node.parts if self.plain(part) is None
            ]
            # No part can hold without a term of its own: when none of the OR's terms is
            # present, the alternatives are not looked at.
            anywhere = frozenset(self.presence_id(term) for term in terms_of(node))
            return f"({self.any_present(anywhere)} and ({' or '.join(alternatives)}))"
        return "True"  # NOT: decided by the full evaluation


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
        # Per stemmer ("" for none): the terms each word seen satisfies (mostly none); see
        # _terms_for_word.
        self._vocabularies: dict[str, dict[str, tuple[int, ...]]] = {}
        self._topics_of: defaultdict[int, set[int]] = defaultdict(set)
        self._fields: dict[int, str] = {}  # term id → field, for the terms limited to one
        for index, rule in enumerate(self.rules):
            query = parse_query(rule.query, topic=rule.slug)
            try:
                exclude = parse_query(rule.exclude) if rule.exclude else None
            except QuerySyntaxError as exc:
                raise exc.for_topic(rule.slug, "exclude") from None
            for term in terms_of(query):
                self._topics_of[self._presence_id(term)].add(index)
            compiled_exclude = self._compile(exclude) if exclude is not None else None
            check = self._compile_check(query, rule.slug)
            self._compiled.append((rule, self._compile(query), compiled_exclude, check))

    def _id(self, term: Term) -> int:
        number = self._ids.get(term)
        if number is None:
            number = self._ids[term] = len(self._terms)
            self._terms.append(term)
            if term.field is not None:
                self._fields[number] = term.field
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

    def _presence_ids(self, node: Node) -> frozenset[int]:
        """The ids of which at least one must be present for the node to hold."""
        return frozenset(self._presence_id(term) for term in terms_of(node))

    def _compile_check(self, node: Node, name: str) -> _Check:
        """The query's presence check as one generated Python function (see _CheckWriter).

        A query nested too deeply for Python's compiler gets the same check as nested
        closures instead.
        """
        writer = _CheckWriter(self._presence_id)
        try:
            source = (
                "def check(present):\n"
                "    keys = present.keys()\n"
                f"    return {writer.expression(node)}\n"
            )
            namespace: dict[str, object] = dict(writer.constants)
            exec(compile(source, f"<presence check of {name}>", "exec"), namespace)
        except (RecursionError, SyntaxError, MemoryError):
            return self._check(node)
        return cast(_Check, namespace["check"])

    def _part_check(self, node: Node) -> _Check:
        """A presence check for part of a query: a set test where one will do."""
        writer = _CheckWriter(self._presence_id)
        plain = writer.plain(node)
        if plain is not None:
            return lambda present: not present.keys().isdisjoint(plain)
        if isinstance(node, Phrase):
            needed = frozenset(self._presence_id(w) for w in node.words)
            return lambda present: present.keys() >= needed
        return self._compile_check(node, "part of a query")

    def _check(self, node: Node) -> _Check:
        """The presence check as nested closures: what _CheckWriter writes out, unrolled."""
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
            plain = frozenset(self._presence_id(p) for p in node.parts if isinstance(p, Term))
            others = [self._check(p) for p in node.parts if not isinstance(p, Term)]
            return lambda present: not present.keys().isdisjoint(plain) or any(
                part(present) for part in others
            )
        if isinstance(node, And):
            parts = [self._check(p) for p in node.parts if not isinstance(p, Not)]
            return lambda present: all(part(present) for part in parts)
        return lambda present: True  # NOT: decided by the full evaluation

    def _compile(self, node: Node, weight: float = 1.0) -> _Fn:
        """The query as nested closures, each weight multiplied in where the query sets it."""
        if isinstance(node, Term):
            number, label = self._id(node), _label(node)
            if node.case_sensitive:
                term = node

                def exact_case(ctx: _Context) -> Result:
                    found = ctx.case_sensitive(number, term)
                    return [(label, weight, 1, found)] if found else None

                return exact_case

            def single(ctx: _Context) -> Result:
                found = ctx.present.get(number)
                return [(label, weight, 1, found)] if found else None

            return single
        if isinstance(node, Or):
            return self._compile_or(node, weight)
        if isinstance(node, And):
            parts = [self._compile(p, weight) for p in node.parts]

            def all_of(ctx: _Context) -> Result:
                groups: list[_Group] = []
                for part in parts:
                    result = part(ctx)
                    if result is None:
                        return None
                    groups += result
                return groups

            return all_of
        if isinstance(node, Not):
            inner = self._compile(node.part, weight)

            def none_of(ctx: _Context) -> Result:
                return [] if inner(ctx) is None else None

            return none_of
        if isinstance(node, Weighted):
            return self._compile(node.part, weight * node.weight)
        if isinstance(node, Phrase):
            return self._compile_phrase(node, weight)
        return self._compile_near(node, weight)

    def _compile_or(self, node: Or, weight: float) -> _Fn:
        # The plain terms: which are present is one set intersection; their evidence comes
        # in the order the query lists them (a term listed twice gives its evidence twice).
        listed: defaultdict[int, list[tuple[int, int, str]]] = defaultdict(list)
        for index, part in enumerate(node.parts):
            if isinstance(part, Term) and not part.case_sensitive:
                number = self._id(part)
                listed[number].append((index, number, _label(part)))
        simple_ids = frozenset(listed)
        # Then the other parts, in order. A weighted term ("Witkoff*^0.6") is looked up
        # right here; anything else is evaluated only if its presence check passes (exact-case
        # terms are searched for in the raw text whatever the folded words: None, always).
        others: list[tuple[int, str, float, _Fn | None, _Check | None]] = []
        for part in node.parts:
            if isinstance(part, Term) and not part.case_sensitive:
                continue
            term, term_weight = _weighted_term(part, weight)
            if term is not None:
                others.append((self._id(term), _label(term), term_weight, None, None))
            else:
                check = None if _has_exact_case(part) else self._part_check(part)
                others.append((-1, "", weight, self._compile(part, weight), check))

        def any_of(ctx: _Context) -> Result:
            present = ctx.present
            found = present.keys() & simple_ids
            groups: list[_Group] = []
            if found:
                if len(found) == 1:
                    entries = listed[found.pop()]
                else:
                    entries = sorted(entry for number in found for entry in listed[number])
                groups = [(label, weight, 1, present[number]) for _, number, label in entries]
            matched = bool(groups)
            for number, label, term_weight, part, check in others:
                if part is None:
                    spots = present.get(number)
                    if spots:
                        groups.append((label, term_weight, 1, spots))
                        matched = True
                    continue
                if check is not None and not check(present):
                    continue
                result = part(ctx)
                if result is not None:
                    matched = True
                    groups += result
            return groups if matched else None

        return any_of

    def _compile_phrase(self, node: Phrase, weight: float) -> _Fn:
        words = [(self._id(w), w) for w in node.words]
        label = " ".join(_label(w) for w in node.words)
        field_name = node.field
        size = len(words)

        def phrase(ctx: _Context) -> Result:
            starts = ctx.positions(*words[0])
            for offset, (number, word) in enumerate(words[1:], start=1):
                if not starts:
                    return None
                following = set(ctx.positions(number, word))
                starts = [p for p in starts if p + offset in following]
            starts = _in_field(starts, field_name)
            return [(label, weight, size, starts)] if starts else None

        return phrase

    def _compile_near(self, node: Near, weight: float) -> _Fn:
        left, right = self._compile(node.left, weight), self._compile(node.right, weight)
        distance = node.distance

        def near(ctx: _Context) -> Result:
            a_groups = left(ctx)
            if not a_groups:
                return None
            b_groups = right(ctx)
            if not b_groups:
                return None
            kept_a = _within(a_groups, b_groups, distance)
            if not kept_a:
                return None
            return kept_a + _within(b_groups, kept_a, distance)

        return near

    def match(self, document: Document, *, include_failed: bool = False) -> list[Match]:
        """The topics the document matches, best score first.

        Args:
            document: the analysed article.
            include_failed: also return topics whose query holds but whose score is under the
                threshold (for ``topics eval --errors`` and ``topics test``).
        """
        present = self._present_terms(document)
        if not present:
            return []
        context = _Context(document, present)
        topics_of = self._topics_of
        candidates = set().union(*map(topics_of.__getitem__, present.keys() & topics_of.keys()))
        results = []
        for index in sorted(candidates):
            rule, query, exclude, check = self._compiled[index]
            if not check(present):
                continue
            found = query(context)
            if not found:
                continue
            score = _score(found)
            if exclude is not None:
                excluded = exclude(context)
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
        """The positions of every indexed term that occurs in the document.

        Each word's terms are looked up, and the positions of the few words that have some
        are gathered, by iterators that run in C.
        """
        stemmer = document.stemmer
        known = self._vocabularies.setdefault(stemmer.algorithm if stemmer else "", {})
        if len(known) > _WORD_CACHE_LIMIT:
            known.clear()
        title, body = document.title_words, document.body_words
        words = title + body
        numbers = list(map(known.get, words))
        if None in numbers:  # words never seen before
            for word in set(compress(words, map(operator.is_, numbers, repeat(None)))):
                known[word] = self._terms_for_word(word, stemmer)
            numbers = list(map(known.get, words))
        matching = list(compress(words, numbers))
        if not matching:
            return {}
        # Each matching word's positions, appended in C (there can be hundreds).
        spots: dict[str, list[int]] = {word: [] for word in set(matching)}
        positions = chain(range(len(title)), range(BODY_START, BODY_START + len(body)))
        lists = map(spots.__getitem__, matching)
        deque(map(list.append, lists, compress(positions, numbers)), maxlen=0)
        present: dict[int, list[int]] = {}
        for word, found in spots.items():
            for number in known[word]:
                if number in present:
                    # Several words satisfy this term (a prefix, a stem): never at one position.
                    present[number] = sorted(present[number] + found)
                else:
                    present[number] = found  # shared between terms: read, never changed
        fields = self._fields
        for number in fields.keys() & present.keys():
            kept = _in_field(present[number], fields[number])
            if kept:
                present[number] = kept
            else:
                del present[number]
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
        return tuple(sorted(numbers))

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
                for start in _exact_word_starts(term.text, self.document.raw(name)):
                    spots.append(self.document.position_of_offset(name, start))
            found = self.present[number] = _in_field(spots, term.field)
        return found


def _exact_word_starts(word: str, text: str) -> list[int]:
    """Where ``word`` occurs in ``text`` as a whole word, exactly as written.

    The same matches as ``_exact_word(word).finditer(text)``; ``str.find`` locates the
    candidates, which the pattern (a look-behind first, so ``re`` cannot skip ahead by
    itself) then only confirms.
    """
    starts: list[int] = []
    start = text.find(word)
    if start < 0:
        return starts
    pattern = _exact_word(word)
    while start >= 0:
        found = pattern.match(text, start)
        if found is None:
            start = text.find(word, start + 1)
        else:
            starts.append(start)
            start = text.find(word, max(found.end(), start + 1))
    return starts


@functools.cache
def _exact_word(text: str) -> re.Pattern[str]:
    return re.compile(rf"(?<![\w-]){re.escape(text)}(?![\w-])")


def _weighted_term(node: Node, weight: float) -> tuple[Term | None, float]:
    """A term under one or more weights, and its weight (each factor applied in turn, as
    evaluating the nested weights would); None if the node is something else."""
    while isinstance(node, Weighted):
        weight *= node.weight
        node = node.part
    if isinstance(node, Term) and not node.case_sensitive:
        return node, weight
    return None, weight


def _has_exact_case(node: Node) -> bool:
    return any(term.case_sensitive for term in terms_of(node))


def _within(groups: list[_Group], others: list[_Group], distance: int) -> list[_Group]:
    """The hits of ``groups`` at most ``distance`` words from some hit of ``others``.

    Two hits are that close when the gap between the end of the first and the start of the
    second (whichever comes first) is at most ``distance``; overlapping hits always are.
    """
    spans = sorted((p, p + length - 1) for _, _, length, positions in others for p in positions)
    starts = [start for start, _ in spans]
    longest = max(end - start for start, end in spans)
    kept: list[_Group] = []
    for label, weight, length, positions in groups:
        near = []
        for position in positions:
            end = position + length - 1
            # Only hits starting in this window can be close enough; each is checked.
            index = bisect.bisect_left(starts, position - distance - longest)
            for other_start, other_end in spans[index:]:
                if other_start > end + distance:
                    break
                if position <= other_start:
                    if other_start - end <= distance:
                        near.append(position)
                        break
                elif position - other_end <= distance:
                    near.append(position)
                    break
        if near:
            kept.append((label, weight, length, near))
    return kept


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


_TITLE_WEIGHT, _LEAD_WEIGHT, _BODY_WEIGHT = (FIELD_WEIGHTS[f] for f in ("title", "lead", "body"))


def _field_weight(position: int) -> float:
    """``FIELD_WEIGHTS[field_of(position)]``, without building the field's name."""
    if position < BODY_START:
        return _TITLE_WEIGHT
    return _LEAD_WEIGHT if position < _LEAD_END else _BODY_WEIGHT


def _evidence_sum(groups: Sequence[_Group]) -> float:
    # Each word of the article is evidence once, at the best weight any query term gives it:
    # alternatives that find the same word ("join OR joined", a phrase and its first word)
    # must not count it twice. Zero-weight hits (context) count for nothing, not even repeats.
    by_position: dict[int, tuple[str, float, float]] = {}  # label, weight, weight × length
    for label, weight, length, positions in groups:
        if weight <= 0:
            continue
        strength = weight * length
        for position in positions:
            seen = by_position.get(position)
            if seen is None or strength > seen[2]:
                by_position[position] = (label, weight, strength)
    best: dict[str, float] = {}
    counts: dict[str, int] = defaultdict(int)
    for position, (label, weight, _) in by_position.items():
        value = _field_weight(position) * weight
        if value > best.get(label, -1.0):
            best[label] = value
        counts[label] += 1
    return sum(best[label] * (1 + math.log(counts[label])) for label in best)


def _score(groups: Sequence[_Group]) -> float:
    return 1 - math.exp(-_evidence_sum(groups) / SCORE_SCALE)


def _evidence(groups: Sequence[_Group]) -> tuple[Evidence, ...]:
    # Hits in position order; at one position, in the order found (the sort is stable).
    ordered = sorted(
        ((position, label) for label, weight, _, positions in groups if weight != 0
         for position in positions),
        key=_first,
    )
    seen: set[tuple[str, str]] = set()
    found = []
    for position, label in ordered:
        field = field_of(position)
        key = (label, "body" if field == "lead" else field)
        if key in seen:
            continue
        seen.add(key)
        offset = position if field == "title" else position - BODY_START
        found.append(Evidence(label, field, offset))
    return tuple(found)


def _first(item: tuple[int, str]) -> int:
    return item[0]


_SENTENCE_RE = re.compile(r"(?<=[.!?…])\s+|\n+")
_WORD_RE = re.compile(r"\w[\w'’-]*")


def snippet(document: Document, evidence: Sequence[_Group]) -> str:
    """The sentence that shows the most evidence, matched terms in **bold** (Markdown)."""
    scoring = [group for group in evidence if group[1] > 0] or list(evidence)
    fast = _snippet_from_positions(document, scoring)
    return fast if fast is not None else _snippet_by_search(document, evidence)


def _snippet_from_positions(document: Document, evidence: Sequence[_Group]) -> str | None:
    """The snippet from the hits' own positions; None when token offsets are not known."""
    by_sentence: dict[tuple[str, int], list[tuple[str, int, int]]] = defaultdict(list)
    for label, _, length, positions in evidence:
        for position in positions:
            name = "title" if position < BODY_START else "body"
            sentences = document.sentences(name)
            if sentences is None:
                return None
            index = position if name == "title" else position - BODY_START
            if index + length > sentences.tokens:
                return None
            by_sentence[(name, sentences.of(index))].append((label, index, length))
    if not by_sentence:
        return None
    # The sentence with the most different terms; the earliest among equals (title first).
    (name, sentence), chosen = max(
        by_sentence.items(),
        key=lambda item: (len({hit[0] for hit in item[1]}), item[0][0] == "title", -item[0][1]),
    )
    sentences = document.sentences(name)
    assert sentences is not None
    start, end = sentences.bounds(sentence)
    marks = [
        (sentences.span(index)[0] - start, sentences.span(index + length - 1)[1] - start)
        for _, index, length in chosen
    ]
    piece = document.raw(name)[start:end]
    stripped = piece.lstrip()
    shift = len(piece) - len(stripped)
    marks = [(a - shift, b - shift) for a, b in marks]
    return _highlight(stripped.rstrip(), marks)


def _snippet_by_search(document: Document, evidence: Sequence[_Group]) -> str:
    """The snippet found by searching the text for the matched words (the slow way)."""
    labels = {g[0] for g in evidence if g[1] > 0} or {g[0] for g in evidence}
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
