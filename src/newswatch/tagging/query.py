"""The topic query language: grammar, parser and syntax tree.

A query says which words must occur in an article, and where. Grammar (informal EBNF; keywords
are upper case and case-sensitive, everything else is a search term)::

    query    = or ;
    or       = and { "OR" and } ;
    and      = not { ["AND"] not } ;             (juxtaposition means AND)
    not      = "NOT" not | near ;
    near     = unit { "NEAR/" N unit } ;         (N: at most N words apart, either order)
    unit     = [field ":"] atom [ "^" weight ] ;  (weight: how much its evidence counts, 0-10)
    atom     = "(" or ")" | phrase | term ;
    phrase   = '"' word { word } '"' ;           (the words in this order, adjacent)
    term     = word | word "*" | "=" word ;     (word*: prefix; =WORD: exact case, e.g. =US)
    field    = "title" | "lead" | "body" ;       (lead: the summary and first sentences)

Examples::

    "security guarantees" OR "Article 5" NEAR/10 Ukrain*
    title:(Euroclear OR "reparations loan") NOT oligarch*
    (Zelensk* OR Зеленськ* OR Selenskyj) AND =US
    ("peace plan" OR ceasefire) AND (Ukrain* OR Kyiv)^0.2

The weight does not change what matches, only the score: a topic's core terms keep weight 1
while context words every article of the beat contains (Ukraine, Kyiv) get a small one.

Terms match the normalised text (case, accents, apostrophe and dash variants folded) and, for
languages with a Snowball stemmer, each other's stems: ``guarantee`` also matches
``guarantees`` in an English article. A phrase matches its words in order with nothing between.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from newswatch.errors import ConfigError

FIELDS = ("title", "lead", "body")
MAX_NEAR = 100


#: Groups, NOTs and field prefixes may nest this deep (far beyond any real query).
MAX_DEPTH = 50


class QuerySyntaxError(ConfigError):
    """A topic query does not parse; the message shows where, with a caret."""

    def __init__(self, message: str, query: str, position: int, *, topic: str | None = None):
        self.query = query
        self.position = position
        self.topic = topic
        self.reason = message
        where = f"topic {topic!r}: " if topic else ""
        super().__init__(
            f"{where}query syntax error at column {position + 1}: {message}\n"
            f"    {query}\n    {' ' * position}^"
        )

    def for_topic(self, topic: str, field: str = "query") -> QuerySyntaxError:
        """The same error, naming the topic (and which of its queries) that holds it."""
        name = topic if field == "query" else f"{topic}.{field}"
        return QuerySyntaxError(self.reason, self.query, self.position, topic=name)


# -- syntax tree --------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Term:
    """One word: exact (after normalisation), a prefix (``word*``), or exact-case (``=WORD``)."""

    text: str  # normalised, or as written for case-sensitive terms
    prefix: bool = False
    case_sensitive: bool = False
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Phrase:
    """Words in order, adjacent."""

    words: tuple[Term, ...]
    field: str | None = None


@dataclass(frozen=True, slots=True)
class Near:
    """Two sides within ``distance`` words of each other, in either order."""

    left: Node
    right: Node
    distance: int


@dataclass(frozen=True, slots=True)
class Weighted:
    """A part whose evidence counts ``weight`` times as much in the score."""

    part: Node
    weight: float


@dataclass(frozen=True, slots=True)
class And:
    """Every part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Or:
    """At least one part matches."""

    parts: tuple[Node, ...]


@dataclass(frozen=True, slots=True)
class Not:
    """The part does not match."""

    part: Node


Node = Term | Phrase | Near | Weighted | And | Or | Not


# -- lexer --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # WORD PHRASE LPAREN RPAREN AND OR NOT NEAR FIELD WEIGHT END
    text: str
    position: int
    value: float = 0  # NEAR distance, weight


_NEAR_RE = re.compile(r"NEAR/(\d+)")
_WORD_CHARS = re.compile(r"""[^\s()"^“”„«»]+""")
_WEIGHT_RE = re.compile(r"\^(\d+(?:\.\d+)?)?")
_QUOTES = '"“”„«»'


def _lex(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(query):
        char = query[position]
        if char.isspace():
            position += 1
        elif char == "(":
            tokens.append(_Token("LPAREN", char, position))
            position += 1
        elif char == ")":
            tokens.append(_Token("RPAREN", char, position))
            position += 1
        elif char in _QUOTES:
            closing = next((i for i in range(position + 1, len(query)) if query[i] in _QUOTES), -1)
            if closing == -1:
                raise QuerySyntaxError("unclosed quote", query, position)
            tokens.append(_Token("PHRASE", query[position + 1 : closing], position))
            position = closing + 1
        elif char == "^":
            weight = _WEIGHT_RE.match(query, position)
            assert weight is not None
            if weight.group(1) is None or not 0 <= float(weight.group(1)) <= 10:
                raise QuerySyntaxError("write a weight as ^N with N from 0 to 10", query, position)
            tokens.append(_Token("WEIGHT", weight.group(), position, float(weight.group(1))))
            position = weight.end()
        else:
            match = _WORD_CHARS.match(query, position)
            assert match is not None
            word = match.group()
            near = _NEAR_RE.fullmatch(word)
            if word in ("AND", "OR", "NOT"):
                tokens.append(_Token(word, word, position))
            elif near:
                digits = near.group(1).lstrip("0") or "0"
                distance = int(digits) if len(digits) <= len(str(MAX_NEAR)) else MAX_NEAR + 1
                if not 1 <= distance <= MAX_NEAR:
                    raise QuerySyntaxError(
                        f"NEAR distance must be 1 to {MAX_NEAR}", query, position
                    )
                tokens.append(_Token("NEAR", word, position, distance))
            elif word.startswith("NEAR"):
                raise QuerySyntaxError("write proximity as NEAR/N, e.g. NEAR/5", query, position)
            else:
                start = position
                # "title:lead:word" is two field prefixes, each its own token.
                while ":" in word and word.split(":", 1)[0].lower() in FIELDS:
                    name, word = word.split(":", 1)
                    tokens.append(_Token("FIELD", name.lower(), start))
                    start += len(name) + 1
                if word:
                    tokens.append(_Token("WORD", word, start))
            position = match.end()
    tokens.append(_Token("END", "", len(query)))
    return tokens


# -- parser -------------------------------------------------------------------------------


class _Parser:
    def __init__(self, query: str, normalize: Callable[[str], list[str]]) -> None:
        self.query = query
        self.tokens = _lex(query)
        self.index = 0
        self.normalize = normalize
        self.depth = 0

    def nest(self, token: _Token) -> None:
        """Go one level deeper (a group, a NOT, a field); refuse absurd depths politely."""
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self.error(f"the query is nested more than {MAX_DEPTH} levels deep", token)

    @property
    def current(self) -> _Token:
        return self.tokens[self.index]

    def take(self) -> _Token:
        token = self.tokens[self.index]
        self.index += 1
        return token

    def error(self, message: str, token: _Token | None = None) -> QuerySyntaxError:
        return QuerySyntaxError(message, self.query, (token or self.current).position)

    def parse(self) -> Node:
        if self.current.kind == "END":
            raise self.error("the query is empty")
        node = self.parse_or()
        if self.current.kind == "RPAREN":
            raise self.error("')' without a matching '('")
        if self.current.kind != "END":
            raise self.error(f"unexpected {self.current.text!r}")
        return node

    def parse_or(self) -> Node:
        parts = [self.parse_and()]
        while self.current.kind == "OR":
            self.take()
            parts.append(self.parse_and())
        return parts[0] if len(parts) == 1 else Or(tuple(parts))

    def parse_and(self) -> Node:
        parts = [self.parse_not()]
        while self.current.kind in ("AND", "NOT", "WORD", "PHRASE", "LPAREN", "FIELD"):
            if self.current.kind == "AND":
                self.take()
            parts.append(self.parse_not())
        if all(isinstance(part, Not) for part in parts):
            raise self.error("a query needs something to match, not only NOT", self.tokens[0])
        return parts[0] if len(parts) == 1 else And(tuple(parts))

    def parse_not(self) -> Node:
        if self.current.kind == "NOT":
            self.nest(self.take())
            node = Not(self.parse_not())
            self.depth -= 1
            return node
        return self.parse_near()

    def parse_near(self) -> Node:
        node = self.parse_unit(None)
        while self.current.kind == "NEAR":
            distance = int(self.take().value)
            node = Near(node, self.parse_unit(None), distance)
        return node

    def parse_unit(self, field: str | None) -> Node:
        node = self.parse_atom(field)
        if self.current.kind == "WEIGHT":
            node = Weighted(node, self.take().value)
        return node

    def parse_atom(self, field: str | None) -> Node:
        token = self.current
        if token.kind == "FIELD":
            self.nest(self.take())
            if field is not None and field != token.text:
                raise self.error(f"{token.text}: inside {field}: can never match", token)
            inner_atom = self.parse_atom(token.text)
            self.depth -= 1
            return inner_atom
        if token.kind == "LPAREN":
            self.nest(self.take())
            if self.current.kind == "RPAREN":
                raise self.error("empty parentheses", token)
            inner = self.parse_or()
            if self.current.kind != "RPAREN":
                raise self.error("missing ')'", token)
            self.take()
            self.depth -= 1
            return _with_field(inner, field) if field else inner
        if token.kind == "PHRASE":
            self.take()
            words = [term for w in token.text.split() for term in self.term(w, token)]
            if not words:
                raise self.error("empty phrase", token)
            if any(w.prefix for w in words[:-1]):
                raise self.error("only the last word of a phrase may end in *", token)
            if len(words) == 1:
                return _with_field(words[0], field)
            return Phrase(tuple(words), field)
        if token.kind == "WORD":
            self.take()
            parts = self.term(token.text, token)
            if not parts:
                raise self.error(f"{token.text!r} has no letters or digits to match", token)
            node: Node = parts[0] if len(parts) == 1 else Phrase(tuple(parts))
            return _with_field(node, field)
        if token.kind == "WEIGHT":
            raise self.error("a weight (^N) follows a term, a phrase or a group")
        if token.kind == "END":
            raise self.error("the query ends where a term was expected")
        if token.kind == "RPAREN":
            raise self.error("')' where a term was expected")
        raise self.error(f"{token.text} where a term was expected")

    def term(self, word: str, token: _Token) -> list[Term]:
        """One written word as terms (a hyphenated word may be several)."""
        case_sensitive = word.startswith("=")
        if case_sensitive:
            word = word[1:]
        prefix = word.endswith("*")
        if prefix:
            word = word.rstrip("*")
        if "*" in word:
            raise self.error("'*' is allowed only at the end of a word", token)
        if case_sensitive:
            if prefix or not word:
                raise self.error("=WORD takes one whole word, without '*'", token)
            return [Term(word, case_sensitive=True)]
        pieces = self.normalize(word)
        if prefix and pieces and len(pieces[-1]) < 3:
            raise self.error("a prefix needs at least 3 letters before '*'", token)
        return [
            Term(piece, prefix=prefix and i == len(pieces) - 1) for i, piece in enumerate(pieces)
        ]


def _with_field(node: Node, field: str | None) -> Node:
    if field is None:
        return node
    if isinstance(node, Term):
        return Term(node.text, node.prefix, node.case_sensitive, field)
    if isinstance(node, Phrase):
        return Phrase(node.words, field)
    if isinstance(node, Near):
        return Near(_with_field(node.left, field), _with_field(node.right, field), node.distance)
    if isinstance(node, And):
        return And(tuple(_with_field(p, field) for p in node.parts))
    if isinstance(node, Or):
        return Or(tuple(_with_field(p, field) for p in node.parts))
    if isinstance(node, Weighted):
        return Weighted(_with_field(node.part, field), node.weight)
    return Not(_with_field(node.part, field))


def parse_query(
    query: str,
    *,
    topic: str | None = None,
    normalize: Callable[[str], list[str]] | None = None,
) -> Node:
    """Parse a topic query into its syntax tree.

    Args:
        query: the query text.
        topic: the topic's slug, named in errors.
        normalize: turns one written word into the term texts it stands for (default:
            ``newswatch.text.tokens``, the matcher's folding); an empty list means the word has
            nothing to match. Full-text search passes words through as written, so that the
            database folds them exactly as it folded the stored text.

    Returns:
        The root node.

    Raises:
        QuerySyntaxError: the query does not parse; the message points at the position.
    """
    from newswatch.text import tokens

    try:
        return _Parser(query, normalize or tokens).parse()
    except QuerySyntaxError as exc:
        raise exc.for_topic(topic) if topic else exc from None


def terms_of(node: Node) -> list[Term]:
    """Every term in the tree that can make it match (terms under NOT excluded)."""
    if isinstance(node, Term):
        return [node]
    if isinstance(node, Phrase):
        return list(node.words)
    if isinstance(node, Near):
        return terms_of(node.left) + terms_of(node.right)
    if isinstance(node, Weighted):
        return terms_of(node.part)
    if isinstance(node, And | Or):
        return [t for part in node.parts for t in terms_of(part)]
    return []
