"""Properties of the topic query parser (``newswatch.tagging.query.parse_query``).

Two promises. Any text either parses or raises ``QuerySyntaxError`` whose position lies in the
query and points at something written there, never at a space (the message draws a caret
under it); nothing else ever escapes. And a query written in the documented grammar parses to
exactly the tree it spells: trees are generated, printed as query text by a printer here (the
module has none), and parsed back.
"""

from __future__ import annotations

import sys

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswatch.errors import ConfigError
from newswatch.tagging.query import (
    MAX_NEAR,
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
)

# -- any text ---------------------------------------------------------------------------------

#: Pieces of the query language, right and wrong, for text that gets past the lexer.
_PIECES = [
    "(",
    ")",
    "()",
    '"',
    '""',
    "“",
    "”",
    "«",
    "»",
    "AND",
    "OR",
    "NOT",
    "and",
    "NEAR/1",
    "NEAR/5",
    f"NEAR/{MAX_NEAR}",
    f"NEAR/{MAX_NEAR + 1}",
    "NEAR/0",
    "NEAR/",
    "NEAR/x",
    "NEAR",
    "NEARBY",
    "NEAR/٣",
    "title:",
    "lead:",
    "body:",
    "Title:",
    "title:lead:",
    "other:",
    ":",
    "^",
    "^0",
    "^0.5",
    "^10",
    "^10.5",
    "^11",
    "^1e3",
    "^٣",
    "*",
    "**",
    "=",
    "=US",
    "=us*",
    "ab*",
    "abc*",
    "Ukrain*",
    "a*b",
    "-",
    "'",
    "’s",
    "ceasefire",
    "Зеленськ*",
    "日本",
    "_",
    "\u00ad",
    "\u200b",
    "\x00",
    "\ud800",
]
_SEPARATORS = st.sampled_from([" ", " ", "", "\t", "\n", "\u3000", "\xa0"])
ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=40)
#: Long runs: deep nesting, long chains, huge numbers.
RUNS = st.tuples(
    st.sampled_from(["(", ")", "NOT ", "title:", "a NEAR/1 ", "9", "^", "*"]),
    st.integers(min_value=1, max_value=2000),
).map(lambda piece_count: piece_count[0] * piece_count[1])
TOKEN_SOUP = st.lists(
    st.tuples(st.one_of(st.sampled_from(_PIECES), RUNS, ANY_TEXT.filter(bool)), _SEPARATORS),
    max_size=14,
).map(lambda pairs: "".join(piece + separator for piece, separator in pairs))
QUERIES = st.one_of(TOKEN_SOUP, ANY_TEXT)


def _check_parse(query: str, topic: str | None = None) -> None:
    try:
        node = parse_query(query, topic=topic)
    except QuerySyntaxError as exc:
        error = exc
    else:
        assert isinstance(node, Term | Phrase | Near | Weighted | And | Or | Not)
        return
    assert isinstance(error, ConfigError)
    assert 0 <= error.position <= len(query), (error.position, len(query))
    # The caret points at a token (or just past the end), never into blank space.
    assert error.position == len(query) or not query[error.position].isspace(), error.position
    assert error.query == query
    assert error.reason
    assert error.topic == topic
    message = str(error)
    assert f"column {error.position + 1}: {error.reason}" in message
    if topic is not None:
        assert message.startswith(f"topic {topic!r}: ")
    if "\n" not in query:
        # The query is shown with a caret under the position (a multi-line query cannot be
        # drawn that way; its position is still right).
        assert message.endswith(f"\n    {query}\n    {' ' * error.position}^")


# Recursion grows ~6 frames per "(": deep enough nesting must be an error, not a crash.
_DEEP = sys.getrecursionlimit()


@settings(max_examples=examples(800))
@given(query=QUERIES, topic=st.sampled_from([None, "peace-talks"]))
# A NEAR distance past Python's int-from-text limit (4300 digits).
@example(query="a NEAR/" + "9" * 5000 + " b", topic=None)
# Nesting past the interpreter's recursion limit.
@example(query="(" * _DEEP + "a" + ")" * _DEEP, topic=None)
@example(query="NOT " * _DEEP + "a b", topic=None)
@example(query="title:" * _DEEP + "a", topic=None)
def test_any_text_parses_or_raises_a_positioned_syntax_error(query: str, topic: str | None) -> None:
    _check_parse(query, topic)


# -- valid queries parse to the tree they spell -----------------------------------------------

WORD = st.from_regex(r"[a-z][a-z0-9]{0,7}", fullmatch=True)
PREFIX_WORD = st.from_regex(r"[a-z]{3,8}", fullmatch=True)
CASE_WORD = st.from_regex(r"[A-Za-z][A-Za-z0-9]{0,5}", fullmatch=True)
FIELD = st.sampled_from([None, "title", "lead", "body"])
#: Weights as written (two decimals at most) and as parsed.
WEIGHT = st.integers(min_value=0, max_value=1000).map(lambda n: n / 100)


def _term() -> st.SearchStrategy[Term]:
    plain = st.builds(Term, WORD, field=FIELD)
    prefix = st.builds(lambda w, f: Term(w, prefix=True, field=f), PREFIX_WORD, FIELD)
    exact = st.builds(lambda w, f: Term(w, case_sensitive=True, field=f), CASE_WORD, FIELD)
    return st.one_of(plain, prefix, exact)


@st.composite
def _phrase(draw: st.DrawFn) -> Phrase:
    words = [Term(w) for w in draw(st.lists(WORD, min_size=2, max_size=4))]
    if draw(st.booleans()):
        words[-1] = Term(draw(PREFIX_WORD), prefix=True)
    return Phrase(tuple(words), draw(FIELD))


LEAVES: st.SearchStrategy[Node] = st.one_of(_term(), _phrase())


def _compound(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    # NOT is only valid as a part of an AND that also has something to match.
    and_part = st.one_of(children, children.map(Not))
    conjunction = st.tuples(children, st.lists(and_part, min_size=1, max_size=3)).map(
        lambda first_rest: And((first_rest[0], *first_rest[1])),
    )
    return st.one_of(
        conjunction.flatmap(lambda node: st.permutations(node.parts).map(_conjunction)),
        st.lists(children, min_size=2, max_size=3).map(lambda parts: Or(tuple(parts))),
        st.builds(Near, children, children, st.integers(min_value=1, max_value=MAX_NEAR)),
        st.builds(Weighted, children, WEIGHT),
    )


def _conjunction(parts: list[Node]) -> Node:
    return And(tuple(parts))


TREES: st.SearchStrategy[Node] = st.recursive(LEAVES, _compound, max_leaves=12)


def _word(term: Term) -> str:
    text = f"={term.text}" if term.case_sensitive else term.text
    return text + "*" if term.prefix else text


def _field(field: str | None) -> str:
    return f"{field}:" if field else ""


def _grouped(node: Node, draw: st.DrawFn) -> str:
    """``node`` as an atom: parenthesised unless it is one already."""
    text = _print(node, draw)
    return text if isinstance(node, Term | Phrase) else f"({text})"


def _print(node: Node, draw: st.DrawFn) -> str:
    """Write ``node`` in the query language, choosing among equivalent spellings."""
    if isinstance(node, Term):
        return _field(node.field) + _word(node)
    if isinstance(node, Phrase):
        quote_open, quote_close = draw(st.sampled_from(['""', "“”", "«»", "„“"]))
        words = " ".join(_word(word) for word in node.words)
        return f"{_field(node.field)}{quote_open}{words}{quote_close}"
    if isinstance(node, Weighted):
        return f"{_grouped(node.part, draw)}^{node.weight:g}"
    if isinstance(node, Near):
        left, right = _grouped(node.left, draw), _grouped(node.right, draw)
        return f"{left} NEAR/{node.distance} {right}"
    if isinstance(node, Not):
        return "NOT " + _grouped(node.part, draw)
    if isinstance(node, And):
        parts = [_print(p, draw) if isinstance(p, Not) else _grouped(p, draw) for p in node.parts]
        text = parts[0]
        for part in parts[1:]:
            text += draw(st.sampled_from([" ", " AND ", "  ", "\tAND\n"])) + part
        return text
    assert isinstance(node, Or)
    return " OR ".join(_grouped(part, draw) for part in node.parts)


@st.composite
def written_queries(draw: st.DrawFn) -> tuple[Node, str]:
    tree = draw(TREES)
    return tree, _print(tree, draw)


@settings(max_examples=examples(200))
@given(case=written_queries())
def test_a_query_in_the_grammar_parses_to_the_tree_it_spells(case: tuple[Node, str]) -> None:
    tree, query = case

    assert parse_query(query) == tree, query
