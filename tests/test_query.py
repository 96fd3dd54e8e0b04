"""The topic query language: parsing, precedence, and errors that point at the problem."""

from __future__ import annotations

import pytest

from newswatch.tagging.query import (
    And,
    Near,
    Not,
    Or,
    Phrase,
    QuerySyntaxError,
    Term,
    Weighted,
    parse_query,
)


def t(text: str, **kwargs: object) -> Term:
    return Term(text, **kwargs)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("Ukraine", t("ukraine")),
        ("a b", And((t("a"), t("b")))),
        ("a AND b", And((t("a"), t("b")))),
        # AND binds tighter than OR; NEAR tighter than AND; NOT applies to one unit.
        ("a OR b c", Or((t("a"), And((t("b"), t("c")))))),
        ("a b OR c", Or((And((t("a"), t("b"))), t("c")))),
        ("(a OR b) c", And((Or((t("a"), t("b"))), t("c")))),
        ("a NEAR/5 b OR c", Or((Near(t("a"), t("b"), 5), t("c")))),
        ("a NOT b c", And((t("a"), Not(t("b")), t("c")))),
        ("NOT NOT a b", And((Not(Not(t("a"))), t("b")))),
        ('"security guarantees"', Phrase((t("security"), t("guarantees")))),
        ('"peace plan*"', Phrase((t("peace"), t("plan", prefix=True)))),
        ("guarantee*", t("guarantee", prefix=True)),
        ("title:Euroclear", t("euroclear", field="title")),
        ("lead:(a OR b)", Or((t("a", field="lead"), t("b", field="lead")))),
        ('title:"frozen assets"', Phrase((t("frozen"), t("assets")), field="title")),
        ("=US", t("US", case_sensitive=True)),
        ("Kyiv^0.2", Weighted(t("kyiv"), 0.2)),
        ("(Ukrain* OR Kyiv)^0.5", Weighted(Or((t("ukrain", prefix=True), t("kyiv"))), 0.5)),
        # Folding: case, accents, apostrophes; Cyrillic like any script.
        ("Négociations", t("negociations")),
        ("Зеленський", t("зеленськии")),
        ("Донбас*", t("донбас", prefix=True)),
        ("Zelensky’s", t("zelensky")),
        ("20-point", t("20-point")),
        ("l'OTAN", t("otan")),  # elided articles are not part of the word
        ("«мирний план»", Phrase((t("мирнии"), t("план")))),
    ],
)
def test_parse(query: str, tree: object) -> None:
    assert parse_query(query) == tree


@pytest.mark.parametrize(
    ("query", "message", "column"),
    [
        ("", "the query is empty", 1),
        ("a AND", "the query ends where a term was expected", 6),
        ("(a OR b", "missing ')'", 1),
        ("a OR b)", "')' without a matching '('", 7),
        ('"security guarantees', "unclosed quote", 1),
        ("a NEAR/0 b", "NEAR distance must be 1 to 100", 3),
        ("a NEAR b", "write proximity as NEAR/N", 3),
        ("gu*", "a prefix needs at least 3 letters", 1),
        ("gua*rd", "'*' is allowed only at the end", 1),
        ("NOT a", "not only NOT", 1),
        ("a ()", "empty parentheses", 3),
        ("title:body:a", "body: inside title: can never match", 7),
        ("a^20", "weight as ^N with N from 0 to 10", 2),
        ("^2", "a weight (^N) follows a term", 1),
        ("a OR OR b", "OR where a term was expected", 6),
        ("=US*", "=WORD takes one whole word", 1),
        ("...", "has no letters or digits", 1),
    ],
)
def test_errors_point_at_the_position(query: str, message: str, column: int) -> None:
    with pytest.raises(QuerySyntaxError) as caught:
        parse_query(query, topic="peace-talks")
    error = caught.value
    first, shown, caret = str(error).splitlines()
    assert first.startswith(f"topic 'peace-talks': query syntax error at column {column}: ")
    assert message in first
    assert shown == f"    {query}"
    assert caret == "    " + " " * (column - 1) + "^"
    assert error.exit_code == 2
