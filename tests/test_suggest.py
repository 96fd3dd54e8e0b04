"""Drafting topics from a briefing: its themes found, queries that parse, YAML newswatch loads."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from newswatch.config import TopicsFile
from newswatch.errors import UsageError
from newswatch.tagging.document import Document
from newswatch.tagging.matcher import Tagger, TopicRule
from newswatch.tagging.query import Term, Weighted, parse_query, terms_of
from newswatch.tagging.suggest import SuggestedTopic, suggest_from_file, suggest_topics, to_yaml

BRIEFING = Path(__file__).resolve().parents[2] / "shared" / "seed" / "briefing.txt"

CLIMATE = """\
The European Union agreed on Tuesday to cut net greenhouse gas emissions by 90% by 2040, a
target that climate ministers said keeps the bloc on course for climate neutrality by 2050. The
deal lets member states count a limited share of international carbon credits towards the goal,
a concession won by Poland and Italy, while the carbon border adjustment mechanism will start
charging importers of steel, cement and fertiliser for their emissions next year. Environmental
groups said the carbon credits loophole weakens the emissions target, and warned that the new
emissions trading system for heating and road transport, delayed to 2028, leaves households
exposed to volatile fuel prices. Coal power plants in Germany and Poland face faster closure
under the plan, with a social climate fund meant to cushion the cost for poorer households.
"""

CHIPS = """\
# Briefing: semiconductor export controls

## Summary

The United States has tightened **export controls** on advanced chips and chipmaking tools bound
for China. The Netherlands and Japan have aligned their rules on [lithography machines](
https://example.org/asml), and ASML says sales of its deep ultraviolet (DUV) systems to Chinese
customers will fall.

## Export controls on advanced chips

The Commerce Department published new rules that cap the performance of AI accelerators that
Nvidia may sell to China. The export controls also cover high-bandwidth memory and require
licences for chipmaking tools sold to Chinese fabs.

```
zzyzxcode = fetch("never-a-topic")
```

## Lithography and the Netherlands

ASML, the Dutch maker of lithography machines, can no longer ship its most advanced DUV systems
to China without a licence. Analysts expect ASML's China revenue to fall as the lithography
restrictions bite.

## China's response: gallium and germanium

China restricted exports of gallium and germanium and later added antimony. Prices of gallium in
Europe doubled within weeks. Chinese officials described the restrictions on critical minerals
as a response to export controls on chips.

## What to watch

- Further export controls on high-bandwidth memory and AI chips
- Whether Japan and the Netherlands extend servicing bans on lithography machines
- New Chinese restrictions on critical minerals such as gallium and germanium
"""

#: Each theme of the seed briefing, and words one of which a query for it must contain.
BRIEFING_THEMES = {
    "security guarantees": ("guarantee",),
    "Donbas and territory": ("donbas", "territor", "economic-free zone"),
    "frozen Russian assets": ("frozen", "assets", "euroclear"),
    "peace talks and plan": ("peace", "ceasefire"),
    "NATO membership": ("nato",),
    "US-Ukraine relations": ("minerals", "aid", "united states", "us-ukraine"),
}


@pytest.fixture(scope="module")
def briefing_text() -> str:
    if not BRIEFING.is_file():
        pytest.skip(reason=f"the seed briefing is not there: {BRIEFING}")
    return BRIEFING.read_text(encoding="utf-8")


@pytest.fixture(scope="module")
def briefing_topics(briefing_text: str) -> list[SuggestedTopic]:
    return suggest_topics(briefing_text)


def _check_loadable(topics: list[SuggestedTopic]) -> TopicsFile:
    """The YAML parses, the topics file schema accepts it, and it says the topics are drafts."""
    text = to_yaml(topics)
    assert text.startswith("# ")
    assert "draft" in text.splitlines()[0].lower()
    parsed = TopicsFile.model_validate(yaml.safe_load(text))
    assert [t.slug for t in parsed.topics] == [t.slug for t in topics]
    assert [t.query for t in parsed.topics] == [t.query for t in topics]
    assert [t.description for t in parsed.topics] == [t.description for t in topics]
    return parsed


# -- the seed briefing --------------------------------------------------------------------


@pytest.mark.parametrize("theme", list(BRIEFING_THEMES))
def test_briefing_themes_are_suggested(briefing_topics: list[SuggestedTopic], theme: str) -> None:
    words = BRIEFING_THEMES[theme]
    queries = [t.query.lower() for t in briefing_topics]
    assert any(word in query for query in queries for word in words), (
        f"no suggested query covers {theme!r} (looked for {words}):\n" + "\n".join(queries)
    )


def test_briefing_topics_are_distinct_and_well_formed(
    briefing_topics: list[SuggestedTopic],
) -> None:
    assert 6 <= len(briefing_topics) <= 8
    slugs = [t.slug for t in briefing_topics]
    assert len(set(slugs)) == len(slugs)
    assert len({t.query for t in briefing_topics}) == len(briefing_topics)
    for topic in briefing_topics:
        assert topic.name
        assert topic.description
        assert topic.phrases
        assert 0 < topic.threshold <= 1
        assert "\n" not in topic.description


def test_briefing_queries_parse_and_carry_the_context(
    briefing_topics: list[SuggestedTopic],
) -> None:
    for topic in briefing_topics:
        tree = parse_query(topic.query, topic=topic.slug)
        # Ukraine is in nearly every paragraph: the setting, ANDed in with a low weight.
        context = [
            part
            for part in getattr(tree, "parts", ())
            if isinstance(part, Weighted) and part.weight == pytest.approx(0.2)
        ]
        assert context, topic.query
        assert Term("ukrain", prefix=True) in terms_of(context[0])
    assert "Ukrain*" in briefing_topics[0].context


def test_briefing_yaml_loads_as_a_topics_file(briefing_topics: list[SuggestedTopic]) -> None:
    parsed = _check_loadable(briefing_topics)
    assert all(t.threshold == 0.5 for t in parsed.topics)


def test_briefing_queries_match_the_briefing(
    briefing_text: str, briefing_topics: list[SuggestedTopic]
) -> None:
    """The drafts hold in newswatch's own matcher, on the text they were drafted from."""
    tagger = Tagger([TopicRule(t.slug, t.query, 0.0) for t in briefing_topics])
    document = Document.build("", "", briefing_text, "en")
    matched = {m.slug for m in tagger.match(document)}
    assert matched == {t.slug for t in briefing_topics}


def test_fewer_topics_are_the_first_ones(
    briefing_text: str, briefing_topics: list[SuggestedTopic]
) -> None:
    assert suggest_topics(briefing_text, max_topics=3) == briefing_topics[:3]
    assert len(suggest_topics(briefing_text, max_topics=1)) == 1


def test_suggestions_do_not_depend_on_hash_seeds() -> None:
    script = (
        "from newswatch.tagging.suggest import suggest_topics, to_yaml\n"
        f"print(to_yaml(suggest_topics({CHIPS!r})))"
    )
    outputs = set()
    for seed in ("1", "2"):
        env = {**os.environ, "PYTHONHASHSEED": seed}
        done = subprocess.run(
            [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
        )
        outputs.add(done.stdout)
    assert len(outputs) == 1


# -- other documents: nothing about Ukraine is built in -------------------------------------


def test_a_climate_paragraph_gets_climate_topics() -> None:
    topics = suggest_topics(CLIMATE)
    assert topics
    _check_loadable(topics)
    queries = " ".join(t.query.lower() for t in topics)
    assert "carbon" in queries
    assert "emissions" in queries
    assert "ukrain" not in queries
    assert "nato" not in queries
    # One paragraph has no "most of the document" to speak of: no context clause.
    assert all("^" not in t.query for t in topics)
    for topic in topics:
        parse_query(topic.query)
        assert topic.description in CLIMATE.replace("\n", " ")


def test_a_markdown_briefing_is_read_as_markdown() -> None:
    topics = suggest_topics(CHIPS, max_topics=5)
    _check_loadable(topics)
    text = to_yaml(topics)
    for markup in ("**", "](", "https://", "```", "zzyzx", "## "):
        assert markup not in text.split("topics:", 1)[1], markup
    queries = [t.query for t in topics]
    assert "export controls" in queries[0]
    assert any("lithography" in q for q in queries)
    assert any("gallium" in q for q in queries)
    # China (and Chinese) is in most paragraphs: the context, as a prefix.
    assert all(q.endswith("AND Chin*^0.2") for q in queries), queries


def test_acronyms_that_are_words_match_exactly_and_inflections_get_a_prefix() -> None:
    paragraphs = [
        "The US raised its steel tariffs again on Monday, and Canada answered in kind.",
        "A US steel tariff of 50% now applies to most imports from Canada and Mexico.",
        "Canadian mills say the US steel tariffs cost them orders; the US says it protects jobs.",
        "Mexico asked the US for a quota instead, as it had before; talks with us went nowhere.",
    ]
    topics = suggest_topics("\n\n".join(paragraphs))
    queries = [t.query for t in topics]
    assert any('"steel tariff*"' in q for q in queries), queries
    # "US" is in every paragraph: the context, spelled exact-case so "us" does not count.
    assert all(q.endswith("=US^0.2") for q in queries), queries
    for query in queries:
        parse_query(query)


def test_a_two_word_name_is_the_context_and_part_of_a_name_is_not() -> None:
    paragraphs = [
        "The United States raised its steel tariffs again, and Canada answered with tariffs.",
        "A United States steel tariff of 50% now applies to most imports, including cars.",
        "Canadian mills say the United States steel tariffs cost them orders, the Canada\n"
        "Steel Producers Association said; the World Trade Organization was asked to rule.",
        "Mexico asked the United States for a quota instead, and the World Trade Organization\n"
        "said a panel would look at the steel tariffs.",
    ]
    topics = suggest_topics("\n\n".join(paragraphs))
    assert topics
    # "Trade" and "World" are only ever part of a longer name, never the setting on their own.
    assert all(t.context == ('"United States"',) for t in topics), [t.context for t in topics]
    assert all(t.query.endswith('AND "United States"^0.2') for t in topics)


def test_hard_wrapped_plain_text_with_title_lines() -> None:
    text = """\
VACCINATION BRIEFING

Measles outbreaks have spread across several European countries this
year, with the largest numbers in Romania and Austria. Health officials
blame falling vaccination rates after the pandemic.

Vaccine hesitancy

Surveys show that vaccine hesitancy grew during the pandemic, fed by
misinformation on social media. Several governments are considering
mandatory vaccination for school entry.

Mandatory vaccination is already in force in France and Italy, where
coverage rose after the laws took effect. Critics say mandatory
vaccination can harden vaccine hesitancy among some parents.
"""
    topics = suggest_topics(text)
    assert topics[0].name in ("Vaccine hesitancy", "Mandatory vaccination")
    assert '"vaccine hesitancy"' in topics[0].query
    assert '"mandatory vaccination"' in topics[0].query
    # A wrapped line is not a heading, and a heading is not a description.
    assert all(t.description != "Vaccine hesitancy" for t in topics)
    assert "year, with" not in " ".join(t.name for t in topics)
    _check_loadable(topics)


# -- errors -----------------------------------------------------------------------------------


@pytest.mark.parametrize("text", ["", "   \n\n\t", "# \n\n---\n\n", "… !!! ??? 123 — 456"])
def test_an_empty_document_is_a_usage_error(text: str) -> None:
    with pytest.raises(UsageError, match="empty") as caught:
        suggest_topics(text)
    assert "\n" not in str(caught.value)


def test_max_topics_must_be_positive() -> None:
    with pytest.raises(UsageError, match="at least 1"):
        suggest_topics(CLIMATE, max_topics=0)


def test_file_errors_name_the_file(tmp_path: Path) -> None:
    missing = tmp_path / "missing.md"
    with pytest.raises(UsageError, match=r"missing\.md: no such file"):
        suggest_from_file(missing)
    latin1 = tmp_path / "latin1.txt"
    latin1.write_bytes("Caf\xe9 cr\xe8me".encode("latin-1"))
    with pytest.raises(UsageError, match=r"latin1\.txt: not UTF-8"):
        suggest_from_file(latin1)
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n", encoding="utf-8")
    with pytest.raises(UsageError, match=r"empty\.txt: the document is empty") as caught:
        suggest_from_file(empty)
    assert "\n" not in str(caught.value)


def test_a_file_is_read_as_utf8(tmp_path: Path) -> None:
    path = tmp_path / "climate.md"
    path.write_bytes(CLIMATE.encode("utf-8"))
    assert suggest_from_file(path, max_topics=2) == suggest_topics(CLIMATE, max_topics=2)


def test_no_topics_is_still_a_topics_file() -> None:
    assert TopicsFile.model_validate(yaml.safe_load(to_yaml([]))).topics == []
