"""Matching and scoring: what fires, how strongly, and the evidence shown to readers."""

from __future__ import annotations

import pytest

from newswatch.model import Evidence
from newswatch.tagging.document import Document
from newswatch.tagging.matcher import Tagger, TopicRule

BODY = (
    "Leaders met in Paris on Tuesday. The coalition of the willing discussed a reassurance "
    "force for Ukraine. Officials said security guarantees were the main subject. "
)


def doc(
    title: str = "", body: str = "", summary: str = "", language: str | None = "en"
) -> Document:
    return Document.build(title, summary, body, language)


def score(query: str, document: Document, **kwargs: object) -> float | None:
    tagger = Tagger([TopicRule("t", query, 0.0, **kwargs)])  # type: ignore[arg-type]
    matches = tagger.match(document)
    return matches[0].score if matches else None


@pytest.mark.parametrize(
    ("query", "matches"),
    [
        ('"security guarantees"', True),
        ('"guarantees security"', False),  # a phrase keeps its order
        ('"reassurance force" AND Ukraine', True),
        ('"reassurance force" NOT Ukraine', False),
        ("Paris NEAR/3 leaders", True),  # either order
        ("Paris NEAR/3 Ukraine", False),
        ("reassur*", True),
        ("guarantee", True),  # English stem of "guarantees"
        ("title:guarantees", False),
        ("body:guarantees", True),
        ("lead:coalition", True),  # within the first 60 body tokens
        ("=Paris", True),
        ("=PARIS", False),  # exact case
        ("Kyiv OR Paris", True),
        ("(Kyiv OR Lviv) AND Paris", False),
    ],
)
def test_query_semantics(query: str, matches: bool) -> None:
    assert (score(query, doc("Allies meet", BODY)) is not None) is matches


def test_stemming_follows_the_article_language() -> None:
    russian = doc("Переговоры в Женеве", "Стороны обсудили гарантии безопасности.", language="ru")
    assert score("переговор", russian) is not None  # Russian stem
    assert score("гарантия", russian) is not None
    # Without a stemmer (Ukrainian), only exact words and prefixes match.
    ukrainian = doc("Переговори в Женеві", "Сторони обговорили гарантії безпеки.", language="uk")
    assert score("переговор", ukrainian) is None
    assert score("переговор*", ukrainian) is not None
    assert score("гарантії", ukrainian) is not None


def test_scores_grow_with_evidence_and_field() -> None:
    body_once = score(
        "Euroclear", doc("EU summit", "Leaders met. " * 80 + "Euroclear holds funds.")
    )
    lead_once = score("Euroclear", doc("EU summit", "Euroclear holds the funds."))
    title_once = score("Euroclear", doc("Euroclear under pressure", "Leaders met."))
    title_and_body = score(
        "Euroclear", doc("Euroclear under pressure", "Euroclear holds the funds.")
    )
    repeated = score(
        "Euroclear", doc("Euroclear under pressure", "Euroclear holds. Euroclear said. " * 3)
    )
    assert body_once is not None
    assert lead_once is not None
    assert title_once is not None
    assert title_and_body is not None
    assert repeated is not None
    assert 0 < body_once < lead_once < title_once < title_and_body < repeated < 1


@pytest.mark.parametrize("extra", ["Euroclear", "reparations loan", "Belgium objects"])
def test_more_evidence_never_lowers_a_score(extra: str) -> None:
    query = 'Euroclear OR "reparations loan" OR Belgium'
    base = doc("Frozen assets row", "The EU debated Euroclear.")
    more = doc("Frozen assets row", f"The EU debated Euroclear. {extra}.")
    before, after = score(query, base), score(query, more)
    assert before is not None
    assert after is not None
    assert after >= before


def test_elided_articles_do_not_hide_words() -> None:
    french = doc("L'Ukraine et l'OTAN", "Kyiv demande l'adhésion.", language="fr")
    assert score("Ukrain* AND OTAN AND adhesion", french) is not None


def test_one_word_counts_once_and_context_not_at_all() -> None:
    document = doc("", "Leaders met. " * 80 + "Ukraine joined the talks.")
    once = score("joined", document)
    assert score("join OR joined OR joining", document) == once
    assert score("joined AND Ukraine^0", document) == once
    assert score("joined AND (Ukraine OR joined)^0", document) == once


def test_weights_scale_evidence() -> None:
    document = doc("Talks on Ukraine", "Envoys met about the peace plan for Ukraine.")
    light = score('"peace plan" AND Ukraine^0.1', document)
    heavy = score('"peace plan" AND Ukraine', document)
    assert light is not None
    assert heavy is not None
    assert light < heavy


def test_exclusion_penalises() -> None:
    gaza = doc("Gaza 20-point plan", "The Board of Peace met on the 20-point plan for Gaza.")
    plain = score('"20-point plan"', gaza)
    excluded = score('"20-point plan"', gaza, exclude='Gaza OR "Board of Peace"')
    assert plain is not None
    assert excluded is not None
    assert excluded < plain / 5


def test_threshold_decides_and_failed_matches_can_be_shown() -> None:
    tagger = Tagger([TopicRule("t", "Euroclear", 0.9)])
    document = doc("EU summit", "Euroclear holds the funds.")
    assert tagger.match(document) == []
    (under,) = tagger.match(document, include_failed=True)
    assert not under.passed
    assert under.score < 0.9


def test_evidence_and_snippet() -> None:
    tagger = Tagger([TopicRule("sg", '"security guarantees" OR "coalition of the willing"', 0)])
    (match,) = tagger.match(doc("Allies meet", BODY))
    assert match.evidence == (
        Evidence("coalition of the willing", "lead", 7),
        Evidence("security guarantees", "lead", 19),
    )
    assert match.snippet == (
        "The **coalition of the willing** discussed a reassurance force for Ukraine."
    )


def test_only_candidate_topics_are_evaluated_but_all_are_found() -> None:
    rules = [TopicRule(f"user-{i}", f"word{i} OR pre{i}fix*", 0) for i in range(50)]
    rules.append(TopicRule("kyiv", "Kyiv", 0))
    rules.append(TopicRule("us", "=US", 0))
    tagger = Tagger(rules)
    found = tagger.match(doc("US and Kyiv", "word7 and pre12fixes"))
    assert {m.slug for m in found} == {"user-7", "user-12", "kyiv", "us"}
