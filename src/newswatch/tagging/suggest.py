"""Draft topic definitions from a briefing document (``newswatch topics suggest``).

A briefing names the themes a reader wants to follow; this module proposes one topic per theme,
in the schema of the topics file, for a person to edit. It is a pure function of the text: no
model, no network, no data files, no new dependency (the Snowball stemmer and PyYAML are
newswatch's own). English word lists; other languages get poorer drafts. The steps:

1. **Layout.** The text (plain or Markdown) becomes paragraphs grouped into sections. Markdown
   headings, setext underlines and short title-like lines start sections; list items and
   table rows are paragraphs of their own; a short question joins the answer below it (FAQs);
   code blocks, link targets, emphasis and HTML tags are dropped.
2. **Words.** Sentences are split into words that keep their case. A word is *proper* when the
   document mostly writes it capitalised away from the start of a sentence (``Donbas``), or in
   capitals (``NATO``, ``US``).
3. **Candidate phrases.** Runs of words between stopwords, punctuation and verb-like words
   (a word after "to" or a modal, a word before an article, an adverb in -ly, a participle in
   -ed) give n-grams of up to four words; generic words ("ongoing", "efforts") may sit inside
   a phrase but not at its edges. Inflected forms share one key, the Snowball stems.
4. **Context entities.** Names (grouped with their variants: Ukraine, Ukrainian) that stand on
   their own in most paragraphs are the document's setting rather than a theme: they are
   taken off the edges of phrases and become the low-weight context clause of every query.
5. **Scores.** A phrase counts its occurrences not inside a longer frequent phrase (so
   "security" does not steal the credit of "security guarantees"), more in headings and list
   items, more for longer phrases and names, less when it is spread over the whole document.
   A single common word must recur on its own to count, and words too broad to be a query
   term alone ("support", "economic") never do.
6. **Themes.** A phrase joins the best shorter phrase inside it ("Eastern Donbas dispute" goes
   with "Donbas"); those units are clustered (average linkage) by normalised PMI of the
   paragraphs they share (a heading shares the first paragraphs under it) and by shared words.
   PMI keeps the document's subject, present everywhere, from gluing every theme into one.
   Each cluster is a topic, ranked by its phrases' scores: name and slug from its best phrase,
   description from the sentence holding most of its phrases, query from its best phrases
   (ORed, quoted, a prefix where the document inflects the last word, none inside another)
   AND the context clause weighted ``^0.2``.

Every query is checked with :func:`newswatch.tagging.query.parse_query` before it is returned.
"""

from __future__ import annotations

import functools
import math
import re
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import Stemmer
import yaml

from newswatch.errors import UsageError
from newswatch.tagging.query import QuerySyntaxError, parse_query
from newswatch.text import tokens

__all__ = ["SuggestedTopic", "suggest_from_file", "suggest_topics", "to_yaml"]

#: The threshold of every drafted topic: the topics file's usual value.
DEFAULT_THRESHOLD: Final = 0.5
#: The weight of the context clause: it must hold, but it says little about the theme.
CONTEXT_WEIGHT: Final = 0.2
#: At most this many phrases go into one draft query.
MAX_QUERY_TERMS: Final = 8


@dataclass(frozen=True, slots=True)
class SuggestedTopic:
    """One drafted topic, in the shape of a topics-file entry, with the phrases behind it.

    Attributes:
        slug: a unique slug made from the best phrase.
        name: a short human name (the best phrase).
        description: the document's sentence that best states the theme.
        query: the draft query; it parses.
        threshold: the score at which the topic fires.
        phrases: the key phrases of the theme, best first (what the query is made of).
        context: the document's dominant entities, ANDed into the query at a low weight.
        score: how prominent the theme is in the document (topics come best first).
    """

    slug: str
    name: str
    description: str
    query: str
    threshold: float = DEFAULT_THRESHOLD
    phrases: tuple[str, ...] = ()
    context: tuple[str, ...] = ()
    score: float = 0.0

    def as_config(self) -> dict[str, object]:
        """The entry as a topics file holds it: slug, name, description, query, threshold."""
        return {
            "slug": self.slug,
            "name": self.name,
            "description": self.description,
            "query": self.query,
            "threshold": self.threshold,
        }

    def as_json(self) -> dict[str, object]:
        """The entry and what it was drafted from, for ``topics suggest --json``."""
        return {
            **self.as_config(),
            "phrases": list(self.phrases),
            "context": list(self.context),
            "score": self.score,
        }


# --------------------------------------------------------------------------------------------
# Public API
# --------------------------------------------------------------------------------------------


def suggest_topics(text: str, *, max_topics: int = 8) -> list[SuggestedTopic]:
    """Propose topics for the themes of a briefing document.

    Args:
        text: the document, plain text or Markdown.
        max_topics: the most topics to propose (at least 1).

    Returns:
        Up to ``max_topics`` topics, the most prominent theme first; every query parses.

    Raises:
        UsageError: ``max_topics`` is below 1, or the document has no words to work with.
    """
    if max_topics < 1:
        raise UsageError(f"the number of topics must be at least 1, not {max_topics}")
    paragraphs = _layout(text)
    sentences = [s for p in paragraphs for s in p.sentences]
    if not any(any(c.isalpha() for c in w.norm) for s in sentences for w in s.words):
        raise UsageError("the document is empty: there are no words to suggest topics from")
    lexicon = _Lexicon.of(sentences)
    context = _context_entities(paragraphs, lexicon)
    # Phrases that occur in the same place belong together: the same paragraph, or in a
    # document of a few paragraphs, the same sentence.
    by_sentence = len(paragraphs) < _MIN_PARAGRAPHS
    candidates = _candidates(
        paragraphs, lexicon, {w for group in context for w in group.norms}, by_sentence
    )
    places = len(sentences) if by_sentence else len(paragraphs)
    ranked = _rank(candidates, places, sum(len(s.words) for s in sentences))
    if not ranked:
        raise UsageError("the document has no key phrases to suggest topics from")
    clusters = _cluster(ranked[: max(_POOL, 6 * max_topics)], places)
    return _draft(clusters, sentences, context, max_topics)


#: Below this many paragraphs, co-occurrence is counted by sentence.
_MIN_PARAGRAPHS: Final = 6
#: How many of the best phrases are clustered into themes (more when more topics are asked
#: for; a fixed pool otherwise, so that --max 3 gives the first three topics of --max 8).
_POOL: Final = 48


def suggest_from_file(path: Path, *, max_topics: int = 8) -> list[SuggestedTopic]:
    """Read a briefing (UTF-8) and propose topics for it; see :func:`suggest_topics`.

    Raises:
        UsageError: the file cannot be read, is not UTF-8, or has nothing to suggest from.
    """
    try:
        text = path.read_text(encoding="utf-8-sig")  # UTF-8, without a byte order mark
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, not a document") from None
    except UnicodeDecodeError as exc:
        raise UsageError(f"{path}: not UTF-8 text ({exc.reason})") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    try:
        return suggest_topics(text, max_topics=max_topics)
    except UsageError as exc:
        raise UsageError(f"{path}: {exc}") from None


_YAML_HEADER: Final = """\
# Draft topics suggested by `newswatch topics suggest` from a briefing document.
# They are drafts: read every query, widen or narrow it, rename the slugs you keep (slugs are
# stable identifiers once in use), add translations and an `exclude:` where needed, then
# copy the topics into your topics file and check them with `newswatch topics test QUERY`.
"""


def to_yaml(topics: Sequence[SuggestedTopic]) -> str:
    """Render topics as a topics file, with a header comment saying that they are drafts.

    Args:
        topics: the topics to render.

    Returns:
        YAML text that :class:`newswatch.config.TopicsFile` accepts.
    """
    body = yaml.dump(
        {"topics": [t.as_config() for t in topics]},
        Dumper=_Dumper,
        sort_keys=False,
        allow_unicode=True,
        width=96,
        indent=2,
    )
    return _YAML_HEADER + body


class _Dumper(yaml.SafeDumper):
    """Block lists indented under their key, long strings folded, as in config/topics.yaml."""

    def increase_indent(self, flow: bool = False, indentless: bool = False) -> None:
        super().increase_indent(flow, False)


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = ">" if len(value) > 60 and "\n" not in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


# --------------------------------------------------------------------------------------------
# Word lists (English). Kept here, small and reviewable, rather than pulled from a corpus.
# --------------------------------------------------------------------------------------------


def _word_set(text: str) -> frozenset[str]:
    return frozenset(text.split())


#: Function words and common verbs: they end a phrase and never start or join one.
_STOP: Final = _word_set(
    """
a about above across after again against ago all almost along already also although always am
amid amidst among amongst an and another any anyone anything are around as at away be because
been before being below beside besides between beyond both but by can cannot could did do does
doing done down due during each either else enough especially etc even ever every few for from
further had has have having he hence her here hers herself him himself his how however i if in
instead into is it its itself just least less like likely many may maybe me meanwhile might mine
more moreover most much must my myself near nearly neither never nevertheless no none nor not
now of off often on once one only onto or other others otherwise ought our ours ourselves out
over own per perhaps please quite rather really regarding same several shall she should since so
some such than that the their theirs them themselves then there thereby therefore these they
this those though through throughout thus to too toward towards under unless unlike until up
upon us very via was we well were what whatever when whenever where whereas whether which while
who whoever whom whose why will with within without would yet you your yours yourself yourselves
according additionally also furthermore ie eg e.g i.e vs
say says said saying tell tells told ask asks asked seem seems seemed appear appears appeared
become becomes became remain remains remained get gets got getting give gives gave given go goes
went gone going come comes came coming make makes made making take takes took taken taking keep
keeps kept put puts see sees saw seen know knows knew known show shows showed shown think thinks
thought want wants wanted need needs needed let lets use uses using used find finds found call
calls called try tries tried help helps helped include includes including included provide
provides providing provided offer offers offering ensure ensures ensuring allow allows allowing
require requires requiring continue continues continuing seek seeks seeking aim aims aiming
hope hopes hoping look looks looking mean means meant create creates creating build builds
building lead leads leading led play plays playing face faces facing address addresses
addressing establish establishes establishing achieve achieves achieving involve involves
involving reflect reflects reflecting indicate indicates indicating highlight highlights
highlighting emphasize emphasizes emphasise emphasises underscore underscores underline
underlines consider considers considering regard regards pose poses raise raises raising
remain hold holds held set sets bring brings brought work works run runs
"""
)

#: Generic words: fine inside a phrase ("peace efforts" stays whole), never at its edges.
_WEAK: Final = _word_set(
    """
new old current recent ongoing potential possible significant crucial key important main major
minor vital essential critical central clear strong robust broad broader wide wider various
certain particular specific general overall further future past present long-term short-term
immediate unique practical comprehensive substantial durable lasting firm solid formal complex
challenging pressing urgent earnest meaningful favorable favourable unfavorable unfavourable
productive real true full whole entire large larger small smaller high higher low lower good
better best great greater little big first second third last next previous early late own
different similar same mere such other additional greater stark severe global international
national regional local public private official officials
issue issues situation context aspect aspects way ways time times thing things part parts
effort efforts discussion discussions role roles impact impacts approach approaches concern
concerns challenge challenges implication implications framework frameworks dynamics landscape
environment term terms measure measures need needs level levels area areas point points matter
matters form forms type types kind kinds number numbers lot lots light case cases fact facts
question questions stance state states view views prospect prospects notion concept concepts
opportunity opportunities chapter focus goal goals basis side sides sense nature scope path
pathway pathways step steps specifics moment phase period month months year years week weeks
day days today tomorrow yesterday development developments importance necessity urgency
attention success result results consequence consequences effect effects element elements
aspect principle principles idea ideas position positions people country countries world
region government governments leader leaders group groups member members summary
introduction background conclusion conclusions overview outlook takeaways highlights faq
answers notes appendix contents references sources briefing
"""
)

#: Titles and dates: never at a phrase's edge, even where written capitalised like names.
_TITLES_AND_DATES: Final = _word_set(
    """
president minister prime chancellor secretary senator governor spokesman spokeswoman
spokesperson mr mrs ms dr sir monday tuesday wednesday thursday friday saturday sunday january
february april june july august september october november december
"""
)

#: Words too broad to be a query term on their own, though fine in a phrase ("military aid").
_NOT_ALONE: Final = _word_set(
    """
support conflict war crisis aggression stability stable commitment commitments response
initiative initiatives proposal proposals assistance protection protective agreement agreements
deal deals talks relations cooperation dialogue tension tensions threat threats security defense
defence economic economy military political policy policies financial strategic diplomatic
humanitarian integrity resilience recovery progress pressure power control interest interests
partner partners partnership partnerships ally allies administration leadership authorities
sovereignty capability capabilities strategy strategies action actions decision decisions
program programme programs programmes system systems service services plan plans deal
funding investment investments growth market markets trade industry sector sectors
restriction restrictions rule rules regulation regulations law laws bill bills fund funds
tool tools measure measures target targets report reports
change changes risk risks benefit benefits cost costs value values resource resources
eastern western northern southern east west north south central european american african
asian arab percent per cent
"""
)

#: Words after which the next word is a verb (to, modals, subject pronouns).
_BEFORE_VERB: Final = _word_set(
    """
to will would can could may might must shall should does did do not also he she it they we
i you who which that
"""
)

#: Words before which the previous word is a verb or preposition (articles, possessives).
_AFTER_VERB: Final = _word_set("a an the its their his her our your these this those")

#: Words before which an -ing word is a noun ("the fighting", "for peacekeeping").
_DETERMINERS: Final = _word_set(
    "a an the its their his her our your these this those any no more some of for"
)

#: Words in -ed that are not past participles (a short list of the common ones).
_NOT_PARTICIPLES: Final = _word_set(
    """
armed advanced united limited unmanned enriched hundred sacred naked wicked kindred red bed need
speed seed feed breed greed shed steed embed
"""
)

#: Abbreviations after which a full stop does not end a sentence.
_ABBREVIATIONS: Final = _word_set(
    "mr mrs ms dr prof st sen rep gen col lt sgt gov pres jr sr vs etc inc ltd co corp no fig"
)


# --------------------------------------------------------------------------------------------
# Layout: paragraphs and sections
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Word:
    """A word of the document as written, with its matching forms."""

    surface: str  # as written, a trailing possessive 's removed
    norm: str  # normalised (newswatch.text.tokens)
    stem: str
    capitalised: bool
    acronym: bool
    sentence_start: bool
    possessive: bool = False  # "Zelensky's": a phrase ends here
    joined: bool = True  # only spaces since the previous word (no comma, colon, bracket…)


@dataclass(slots=True)
class _Sentence:
    text: str
    words: list[_Word]
    paragraph: int
    section: int
    heading: bool
    weight: float  # headings and list items state themes: they count more


@dataclass(slots=True)
class _Paragraph:
    index: int
    section: int
    kind: str  # "heading", "item" or "text"
    text: str
    sentences: list[_Sentence] = field(default_factory=list)


_FENCE_RE: Final = re.compile(r"^\s*(```|~~~)")
_ATX_RE: Final = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)(?:\s+#+)?\s*$")
_SETEXT_RE: Final = re.compile(r"^\s{0,3}(=+|-+)\s*$")
_RULE_RE: Final = re.compile(r"^\s{0,3}([-*_])(\s*\1){2,}\s*$")
_TABLE_SEPARATOR_RE: Final = re.compile(r"^\s*\|?\s*:?-{2,}:?\s*(\|\s*:?-{2,}:?\s*)*\|?\s*$")
_ITEM_RE: Final = re.compile(r"^\s*(?:[-*+•]|\d{1,3}[.)])\s+(.*)$")
_QUOTE_RE: Final = re.compile(r"^\s*>\s?")
_IMAGE_RE: Final = re.compile(r"!\[([^\]]*)\]\([^)]*\)")
_LINK_RE: Final = re.compile(r"\[([^\]]+)\]\([^)]*\)|\[([^\]]+)\]\[[^\]]*\]")
_URL_RE: Final = re.compile(r"<?\bhttps?://\S+>?")
_TAG_RE: Final = re.compile(r"</?[A-Za-z][^>]*>")
_EMPHASIS_RE: Final = re.compile(r"(\*{1,3}|_{2,3}|`+|~~)(?=\S)(.+?)(?<=\S)\1")
_SENTENCE_END: Final = (".", "!", "?", "…", ":", ";")
_CLOSERS: Final = "\"'”’»)]*_"


def _layout(text: str) -> list[_Paragraph]:
    """Split a document into paragraphs, each knowing its section."""
    paragraphs: list[_Paragraph] = []
    section = 0
    for kind, block in _join_questions(_blocks(text)):
        clean = _inline_text(block)
        if not clean:
            continue
        if kind == "heading" and paragraphs:
            section += 1
        paragraph = _Paragraph(len(paragraphs), section, kind, clean)
        weight = {"heading": 2.0, "item": 1.5}.get(kind, 1.0)
        for sentence in _split_sentences(clean):
            words = _words(sentence, title_case=kind == "heading")
            if words:
                paragraph.sentences.append(
                    _Sentence(sentence, words, paragraph.index, section, kind == "heading", weight)
                )
        if paragraph.sentences:
            paragraphs.append(paragraph)
    return paragraphs


def _blocks(text: str) -> list[tuple[str, str]]:
    """The document's blocks as (kind, text): "heading", "item" (list, table row) or "text"."""
    blocks: list[tuple[str, str]] = []
    pending: list[str] = []  # lines of the paragraph being read
    in_fence = False

    def flush() -> None:
        if pending:
            blocks.append(("text", " ".join(pending)))
            pending.clear()

    lines = [_QUOTE_RE.sub("", line).strip() for line in text.splitlines()]
    for number, line in enumerate(lines):
        if _FENCE_RE.match(line):
            in_fence = not in_fence
        if in_fence or _FENCE_RE.match(line) or not line or _RULE_RE.match(line):
            flush()
            continue
        following = lines[number + 1] if number + 1 < len(lines) else ""
        block = None if pending else _special_line(line, following)
        if block is None and pending and _looks_like_structure(line):
            flush()
            block = _special_line(line, following)
        if block is not None:
            if block[1]:  # table separators and setext underlines hold no text
                blocks.append(block)
            continue
        pending.append(line)
        # One line per paragraph (long unwrapped lines): each line ends its paragraph.
        if len(line) > 100 and line.rstrip(_CLOSERS).endswith(_SENTENCE_END):
            flush()
    flush()
    return blocks


def _looks_like_structure(line: str) -> bool:
    """A line that starts a block even right after a paragraph's line (no blank between)."""
    return bool(
        _ATX_RE.match(line)
        or _ITEM_RE.match(line)
        or _TABLE_SEPARATOR_RE.match(line)
        or (line.startswith("|") and line.endswith("|"))
    )


def _special_line(line: str, following: str) -> tuple[str, str] | None:
    """A heading, list item or table row (or one of Markdown's text-less lines), else None."""
    if heading := _ATX_RE.match(line):
        return ("heading", heading.group(1))
    if _TABLE_SEPARATOR_RE.match(line) or _SETEXT_RE.match(line):
        return ("rule", "")
    if _SETEXT_RE.match(following):
        return ("heading", line)
    if line.startswith("|") and line.endswith("|") and len(line) > 1:
        cells = [c.strip() for c in line.strip("|").split("|")]
        return ("item", ". ".join(c for c in cells if c))
    if item := _ITEM_RE.match(line):
        return ("item", item.group(1))
    if _looks_like_heading(line, following):
        return ("heading", line)
    return None


def _join_questions(blocks: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """A short question before a paragraph (a FAQ) belongs to its answer."""
    joined: list[tuple[str, str]] = []
    for kind, block in blocks:
        if (
            kind == "text"
            and joined
            and joined[-1][0] == "text"
            and joined[-1][1].rstrip(_CLOSERS).endswith("?")
            and len(joined[-1][1]) < 200
        ):
            joined[-1] = ("text", f"{joined[-1][1]} {block}")
        else:
            joined.append((kind, block))
    return joined


def _looks_like_heading(line: str, following: str) -> bool:
    """A short capitalised line without final punctuation, alone or above a one-line paragraph.

    Hard-wrapped text has short lines too, but the line after them is not a whole paragraph
    (a long line, or a question: the first of a FAQ).
    """
    if len(line) > 90 or not line[0].isupper() or not 1 <= len(line.split()) <= 12:
        return False
    if line.rstrip(_CLOSERS).endswith((*_SENTENCE_END, ",")):
        return False
    return not following or len(following) > 100 or following.rstrip(_CLOSERS).endswith("?")


def _inline_text(text: str) -> str:
    text = _IMAGE_RE.sub(r"\1", text)
    text = _LINK_RE.sub(lambda m: m.group(1) or m.group(2), text)
    text = _URL_RE.sub(" ", text)
    text = _TAG_RE.sub(" ", text)
    for _ in range(2):  # nested emphasis: ***a*** or **a _b_**
        text = _EMPHASIS_RE.sub(r"\2", text)
    return " ".join(text.split())


_SENTENCE_SPLIT_RE: Final = re.compile(r"(?<=[.!?…])[\"'”’»)\]]*\s+(?=[\"'“‘«(\[]?[^\W_a-z])")


def _split_sentences(text: str) -> list[str]:
    sentences: list[str] = []
    start = 0
    for match in _SENTENCE_SPLIT_RE.finditer(text):
        before = text[start : match.start()].rstrip(_CLOSERS + ".!?…")
        last = before.rsplit(None, 1)[-1].lower() if before.strip() else ""
        # "Mr. Smith", "U.S. officials", "No. 5": a stop that ends an abbreviation.
        if last in _ABBREVIATIONS or re.fullmatch(r"(?:[^\W\d_]\.)*[^\W\d_]", last):
            continue
        sentences.append(text[start : match.start()].strip())
        start = match.end()
    sentences.append(text[start:].strip())
    return [s for s in sentences if s]


_WORD_RE: Final = re.compile(r"[^\W_]+(?:['’‐‑-][^\W_]+)*")
_POSSESSIVE_RE: Final = re.compile(r"['’][sS]$")
_STEMMER: Final = Stemmer.Stemmer("english")


@functools.lru_cache(maxsize=65_536)
def _forms(surface: str) -> tuple[str, str]:
    """A word's normalised form (as the matcher sees it) and its English stem."""
    normalised = tokens(surface)
    norm = "-".join(normalised)
    return norm, _STEMMER.stemWord(norm) if norm else ""


def _words(sentence: str, *, title_case: bool) -> list[_Word]:
    words: list[_Word] = []
    previous_end = 0
    for index, match in enumerate(_WORD_RE.finditer(sentence)):
        joined = not sentence[previous_end : match.start()].strip()
        previous_end = match.end()
        surface = _POSSESSIVE_RE.sub("", match.group())
        possessive = surface != match.group()
        norm, stem = _forms(surface)
        if not norm:
            continue
        letters = [c for c in surface if c.isalpha()]
        acronym = len(letters) >= 2 and all(c.isupper() for c in letters) and not title_case
        words.append(
            _Word(
                surface=surface,
                norm=norm,
                stem=stem,
                capitalised=surface[:1].isupper() and not title_case,
                acronym=acronym,
                sentence_start=index == 0 or title_case,
                possessive=possessive,
                joined=joined,
            )
        )
    return words


# --------------------------------------------------------------------------------------------
# Proper words and the document's context entities
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Lexicon:
    """What the document says about its words: which are proper names."""

    proper: frozenset[str]  # norms written capitalised (or in capitals) in running text
    acronyms: frozenset[str]  # norms written in capitals

    @classmethod
    def of(cls, sentences: Iterable[_Sentence]) -> _Lexicon:
        capitalised: Counter[str] = Counter()
        lower: Counter[str] = Counter()
        capitals: Counter[str] = Counter()
        for sentence in sentences:
            for word in sentence.words:
                if word.acronym:
                    capitals[word.norm] += 1
                if word.sentence_start:
                    continue
                if word.capitalised:
                    capitalised[word.norm] += 1
                elif word.surface[:1].isalpha():
                    lower[word.norm] += 1
        proper = {n for n, c in capitalised.items() if c >= 2 * lower[n] and c > 0}
        # "US" is an acronym, "us" a pronoun: in capitals it is a name whatever the stoplist says.
        acronyms = {n for n, c in capitals.items() if c >= lower[n]}
        proper = {n for n in proper if n not in _STOP or n in acronyms}
        return cls(frozenset(proper | acronyms), frozenset(acronyms))

    def is_content(self, word: _Word) -> bool:
        """Whether a word can be part of a key phrase (not a stopword, number or verb form)."""
        if word.norm in self.acronyms and word.acronym:
            return True
        if word.norm in _STOP or not any(c.isalpha() for c in word.norm):
            return False
        if word.norm in self.proper:
            return True
        if len(word.norm) > 4 and word.norm.endswith("ly") and "-" not in word.norm:
            return False  # adverbs
        return not (
            len(word.norm) > 4
            and word.norm.endswith("ed")
            and "-" not in word.norm
            and word.norm not in _NOT_PARTICIPLES
        )

    def display(self, word: _Word) -> str:
        """How a word is written in a query: proper names as the document has them."""
        return word.surface if word.norm in self.proper else word.surface.lower()


@dataclass(frozen=True, slots=True)
class _Entity:
    """A proper word with its variants (Ukraine, Ukrainian), as a query term."""

    term: str  # "Ukrain*", "NATO", "=US"
    norms: frozenset[str]
    paragraphs: int


def _context_entities(paragraphs: Sequence[_Paragraph], lexicon: _Lexicon) -> list[_Entity]:
    """The names present in most paragraphs: the setting of every theme, not a theme.

    A word counts where it stands as a name of its own ("Ukraine", not the "Health" of "World
    Health Organization"); a two-word name nearly always written whole ("United States")
    counts as one.
    """
    body = [p for p in paragraphs if p.kind != "heading"]
    if len(body) < 3:
        return []

    def is_name(word: _Word) -> bool:
        return word.norm in lexicon.proper and "-" not in word.norm

    def one_name(first: _Word | None, second: _Word | None) -> bool:
        """Whether two neighbours are parts of one name ("United States")."""
        if first is None or second is None or not second.joined or first.possessive:
            return False
        return is_name(first) and is_name(second)

    everywhere: defaultdict[str, set[int]] = defaultdict(set)
    alone: defaultdict[str, set[int]] = defaultdict(set)
    surfaces: defaultdict[str, Counter[str]] = defaultdict(Counter)
    followers: defaultdict[str, Counter[tuple[str, str]]] = defaultdict(Counter)
    for paragraph in body:
        for sentence in paragraph.sentences:
            words = sentence.words
            for index, word in enumerate(words):
                if not is_name(word) or word.norm in _TITLES_AND_DATES:
                    continue
                before = words[index - 1] if index else None
                after = words[index + 1] if index + 1 < len(words) else None
                everywhere[word.norm].add(paragraph.index)
                surfaces[word.norm][word.surface] += 1
                if after is not None and one_name(word, after):
                    followers[word.norm][after.norm, after.surface] += 1
                elif not one_name(before, word):
                    alone[word.norm].add(paragraph.index)
    pairs: dict[str, tuple[str, str]] = {}
    for norm, following in followers.items():
        (second, written), count = following.most_common(1)[0]
        if count >= 0.8 * surfaces[norm].total():
            pairs[norm] = (second, written)
    seconds = {second for second, _ in pairs.values()}
    entities: list[_Entity] = []
    for group in _variant_groups(sorted(everywhere, key=lambda n: (-len(everywhere[n]), n))):
        if seconds.intersection(group):
            continue  # the second word of a name ("States"): its first word stands for it
        forms = Counter({s: c for n in group for s, c in surfaces[n].items()})
        if len(group) == 1 and group[0] in pairs:
            second, written = pairs[group[0]]
            term = f'"{forms.most_common(1)[0][0]} {written}"'
            norms, covered = {group[0], second}, everywhere[group[0]]
        else:
            term = _entity_term(group, forms, lexicon)
            norms, covered = set(group), set().union(*(alone[n] for n in group))
        if len(covered) * 2 > len(body):
            entities.append(_Entity(term, frozenset(norms), len(covered)))
    entities.sort(key=lambda e: -e.paragraphs)
    return entities[:3]


def _variant_groups(norms: Sequence[str]) -> list[list[str]]:
    """Group words that are forms of one name: a long shared prefix (Russia, Russian)."""
    groups: list[list[str]] = []
    for norm in norms:
        for group in groups:
            if _shares_stem(group[0], norm):
                group.append(norm)
                break
        else:
            groups.append([norm])
    return groups


def _shares_stem(a: str, b: str) -> bool:
    common = len(_common_prefix([a, b]))
    return common >= 4 and common >= min(len(a), len(b)) - 2


def _common_prefix(words: Sequence[str]) -> str:
    first, last = min(words), max(words)
    size = 0
    while size < min(len(first), len(last)) and first[size] == last[size]:
        size += 1
    return first[:size]


def _entity_term(group: Sequence[str], forms: Counter[str], lexicon: _Lexicon) -> str:
    surface = forms.most_common(1)[0][0]
    if len(group) == 1:
        return _single_term(surface, acronym=group[0] in lexicon.acronyms)
    prefix = _common_prefix(list(group))
    written = surface[: len(prefix)] if surface.lower().startswith(prefix) else prefix
    return f"{written}*"


def _single_term(surface: str, *, acronym: bool) -> str:
    """One word as a query term: =WORD for short acronyms, which are often also words (US)."""
    if acronym and (surface.lower() in _STOP or len(surface) <= 2):
        return f"={surface.upper()}"
    if surface in ("AND", "OR", "NOT") or surface.startswith("NEAR"):
        return f'"{surface}"'
    return surface


# --------------------------------------------------------------------------------------------
# Candidate phrases
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Candidate:
    """A key phrase: its stems (the key), how it is written, and where it occurs."""

    key: tuple[str, ...]
    forms: Counter[str] = field(default_factory=Counter)  # display forms
    last_words: Counter[str] = field(default_factory=Counter)  # normalised last words
    spans: list[tuple[int, int, int]] = field(default_factory=list)  # sentence, start, end
    weight: float = 0.0  # occurrences, headings and items counting more
    #: Where it occurs: paragraphs (sentences in a short document).
    places: set[int] = field(default_factory=set)
    #: The places it speaks for: where it occurs, and all of a section it is a heading of.
    linked: set[int] = field(default_factory=set)
    proper: bool = False
    score: float = 0.0
    free: float = 0.0  # occurrences not inside a longer frequent phrase

    @property
    def frequency(self) -> int:
        return len(self.spans)

    @property
    def text(self) -> str:
        return self.forms.most_common(1)[0][0]


_MAX_WORDS: Final = 4
#: A heading speaks for itself and this many places (paragraphs or sentences) after it.
_HEADING_REACH: Final = 4


def _candidates(
    paragraphs: Sequence[_Paragraph],
    lexicon: _Lexicon,
    context: set[str],
    by_sentence: bool,
) -> dict[tuple[str, ...], _Candidate]:
    """Every n-gram that may be a key phrase, with its occurrences."""
    sentences = [s for p in paragraphs for s in p.sentences]
    # The places a heading speaks for: the first few of its section (long sections drift).
    sections: defaultdict[int, list[int]] = defaultdict(list)
    for number, sentence in enumerate(sentences):
        place = number if by_sentence else sentence.paragraph
        if place not in sections[sentence.section]:
            sections[sentence.section].append(place)
    found: dict[tuple[str, ...], _Candidate] = {}
    for number, sentence in enumerate(sentences):
        place = number if by_sentence else sentence.paragraph
        for start, end in _runs(sentence.words, lexicon):
            run = sentence.words[start:end]
            for i in range(len(run)):
                for j in range(i + 1, min(len(run), i + _MAX_WORDS) + 1):
                    gram = run[i:j]
                    if not _good_edges(gram, lexicon, context):
                        continue
                    key = tuple(w.stem for w in gram)
                    candidate = found.get(key)
                    if candidate is None:
                        candidate = found[key] = _Candidate(key)
                    candidate.forms[" ".join(lexicon.display(w) for w in gram)] += 1
                    candidate.last_words[gram[-1].norm] += 1
                    candidate.spans.append((number, start + i, start + j))
                    candidate.weight += sentence.weight
                    candidate.places.add(place)
                    candidate.linked.add(place)
                    if sentence.heading:
                        candidate.linked.update(sections[sentence.section][:_HEADING_REACH])
                    candidate.proper = candidate.proper or any(
                        w.norm in lexicon.proper for w in gram
                    )
    return found


def _runs(words: Sequence[_Word], lexicon: _Lexicon) -> Iterable[tuple[int, int]]:
    """Spans of words that may form phrases: no stopwords, numbers or verb forms inside."""
    content = [lexicon.is_content(w) for w in words]
    for index, word in enumerate(words):
        before = words[index - 1].norm if index else ""
        after = words[index + 1].norm if index + 1 < len(words) else ""
        if word.norm.isdigit():
            # "Article 5", "Resolution 2231": a number that completes a name (not a year).
            content[index] = (
                index > 0
                and words[index - 1].norm in lexicon.proper
                and not words[index - 1].sentence_start
                and not re.fullmatch(r"(1[89]|20)\d\d", word.norm)
                and len(word.norm) <= 4
            )
            continue
        if not content[index] or word.norm in lexicon.proper:
            continue
        if before in _BEFORE_VERB or after in _AFTER_VERB:
            content[index] = False  # "to utilize", "navigates the"
        elif word.norm.endswith("ing") and len(word.norm) > 5:
            # An -ing word is a noun after a determiner or inside a compound, else a verb.
            content[index] = before in _DETERMINERS or (index > 0 and content[index - 1])
    start = None
    for index, is_content in enumerate([*content, False]):
        if start is not None and (not is_content or not words[index].joined):
            yield start, index  # a stopword or punctuation ends the run
            start = None
        if is_content and start is None:
            start = index
        # A possessive ends a phrase: "Zelensky's NATO aspirations" is two.
        if is_content and start is not None and words[index].possessive:
            yield start, index + 1
            start = None


def _good_edges(gram: Sequence[_Word], lexicon: _Lexicon, context: set[str]) -> bool:
    for edge in (gram[0].norm, gram[-1].norm):
        # A generic word in a name is part of the name: "United States", "Key Biscayne".
        if edge in _TITLES_AND_DATES or (edge in _WEAK and edge not in lexicon.proper):
            return False
    first, last = gram[0], gram[-1]
    if first.norm in context or last.norm in context or first.norm.isdigit():
        return False
    # A phrase may not start with a verb-like -ing word ("securing support").
    return not (len(gram) > 1 and first.norm.endswith("ing") and len(first.norm) > 5)


# --------------------------------------------------------------------------------------------
# Scores
# --------------------------------------------------------------------------------------------


def _rank(
    candidates: dict[tuple[str, ...], _Candidate], places: int, words: int
) -> list[_Candidate]:
    """Score the candidates and return those that can stand for a theme, best first."""
    # A theme recurs; only in a document too short to repeat itself may it be said once.
    repeated = {k for k, c in candidates.items() if c.weight >= 2}
    named = [k for k in repeated if len(k) > 1 or candidates[k].proper]
    frequent = repeated if len(named) >= _ENOUGH_REPEATED else set(candidates)
    # Which occurrences sit inside a longer frequent phrase (so belong to it).
    covered: defaultdict[int, list[tuple[int, int]]] = defaultdict(list)
    for key in frequent:
        if len(key) > 1:
            for sentence, start, end in candidates[key].spans:
                covered[sentence].append((start, end))
    for key in frequent:
        candidate = candidates[key]
        free = 0.0
        for sentence, start, end in candidate.spans:
            inside = any(
                s <= start and end <= e and (s, e) != (start, end) for s, e in covered[sentence]
            )
            free += 0.25 if inside else 1.0
        candidate.free = free
        share = free / candidate.frequency
        size = len(candidate.key)
        # Spread over most of the document, a phrase is the document's subject, not a theme.
        spread = len(candidate.places) / max(places, 1)
        focus = 1.0 if spread < 0.3 else 1.0 - 0.8 * (spread - 0.3)
        candidate.score = (
            candidate.weight
            * share
            * (1.0 + 0.6 * (size - 1))
            * (1.3 if candidate.proper else 1.0)
            * focus
        )
    ranked = [
        candidates[k]
        for k in frequent
        if candidates[k].score > 0 and _specific(candidates[k], places, words)
    ]
    ranked.sort(key=lambda c: (-c.score, c.text))
    return ranked


#: With this many repeated phrases or names, the phrases said once are left out.
_ENOUGH_REPEATED: Final = 8

#: A single word in more than this share of the paragraphs (or sentences) is the beat, not a theme.
_BROAD_SHARE: Final = 0.25


def _specific(candidate: _Candidate, places: int, words: int) -> bool:
    """Whether a phrase can be a query term: many single words are too broad for that."""
    if len(candidate.key) > 1:
        return True
    norm = candidate.last_words.most_common(1)[0][0]
    if norm in _NOT_ALONE:
        return False
    if places >= 8 and len(candidate.places) > _BROAD_SHARE * places:
        return False
    if candidate.proper or "-" in norm:
        return True
    # A common word is a theme when it recurs on its own, not as part of longer phrases.
    recurs = candidate.frequency >= (4 if words >= 1000 else 2)
    return recurs and candidate.score >= 0.6 * candidate.weight


# --------------------------------------------------------------------------------------------
# Themes: clusters of phrases that occur together
# --------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Unit:
    """A phrase with the longer phrases built on it ("donbas": "eastern donbas dispute")."""

    head: _Candidate
    variants: list[_Candidate] = field(default_factory=list)
    places: set[int] = field(default_factory=set)
    linked: set[int] = field(default_factory=set)

    @property
    def members(self) -> list[_Candidate]:
        return [self.head, *self.variants]


@dataclass(slots=True)
class _Cluster:
    units: list[_Unit]

    @property
    def members(self) -> list[_Candidate]:
        found = [m for u in self.units for m in u.members]
        return sorted(found, key=lambda c: (-c.score, c.text))

    @property
    def score(self) -> float:
        scores = sorted((m.score for m in self.members), reverse=True)
        # Diminishing returns: a theme is as strong as its best phrases, not its longest list.
        return sum(s / (1 + 0.5 * i) for i, s in enumerate(scores))


#: Clusters whose average similarity reaches this are one theme.
_MERGE_AT: Final = 0.35
#: Co-occurrences counted this much less, so that one chance meeting of two rare phrases
#: does not make them a theme.
_DISCOUNT: Final = 0.5


def _units(ranked: Sequence[_Candidate]) -> list[_Unit]:
    """Fold every phrase into the best shorter phrase it contains, if any."""
    units: dict[tuple[str, ...], _Unit] = {}
    root: dict[tuple[str, ...], tuple[str, ...]] = {}
    for candidate in sorted(ranked, key=lambda c: (len(c.key), -c.score)):
        inside = [c for c in ranked if _contains(candidate.key, c.key) and c.key in root]
        if inside:
            best = max(inside, key=lambda c: c.score)
            root[candidate.key] = root[best.key]
            units[root[best.key]].variants.append(candidate)
        else:
            root[candidate.key] = candidate.key
            units[candidate.key] = _Unit(candidate)
    for unit in units.values():
        for member in unit.members:
            unit.places |= member.places
            unit.linked |= member.linked
    return list(units.values())


def _cluster(ranked: Sequence[_Candidate], units_of_text: int) -> list[_Cluster]:
    """Average-linkage clustering of phrases by how they occur together."""
    units = _units(ranked)
    pair = {
        (i, j): _similarity(a, b, units_of_text)
        for i, a in enumerate(units)
        for j, b in enumerate(units)
        if i < j
    }
    weight = [sum(m.score for m in u.members) for u in units]
    groups: list[list[int]] = [[i] for i in range(len(units))]
    while len(groups) > 1:
        best, best_pair = 0.0, (0, 0)
        for x in range(len(groups)):
            for y in range(x + 1, len(groups)):
                # Average linkage weighted by the phrases' scores: how the main phrases of two
                # themes relate matters more than how their stragglers do.
                total = mass = 0.0
                for i in groups[x]:
                    for j in groups[y]:
                        total += weight[i] * weight[j] * pair[min(i, j), max(i, j)]
                        mass += weight[i] * weight[j]
                link = total / mass
                if link > best:
                    best, best_pair = link, (x, y)
        if best < _MERGE_AT:
            break
        x, y = best_pair
        groups[x].extend(groups[y])
        del groups[y]
    clusters = [_Cluster([units[i] for i in group]) for group in groups]
    clusters.sort(key=lambda c: -c.score)
    return clusters


def _similarity(a: _Unit, b: _Unit, size: int) -> float:
    """How likely two units are one theme, 0 to 1: by co-occurrence or by shared words."""
    by_words = max(_shared_words(x.key, y.key) for x in a.members for y in b.members)
    return 1 - (1 - _cooccurrence(a, b, size)) * (1 - by_words)


def _shared_words(a: tuple[str, ...], b: tuple[str, ...]) -> float:
    """Jaccard similarity of two phrases' stems ("ceasefire talks", "ceasefire agreement")."""
    return len(set(a) & set(b)) / len(set(a) | set(b))


def _cooccurrence(a: _Unit, b: _Unit, size: int) -> float:
    """Normalised PMI of two units' places, 0 to 1 (negative association counts 0).

    PMI rewards phrases that occur together more than chance would have them, so phrases
    found everywhere (the document's subject) do not pull every theme into one.
    """
    # A heading speaks for its section: its phrases meet the section's phrases there (but two
    # phrases of one heading meet only once, in the heading).
    met = len((a.linked & b.places) | (a.places & b.linked)) - _DISCOUNT
    if met <= 0:
        return 0.0
    together = met / size
    chance = len(a.places) * len(b.places) / size**2
    if together >= 1:
        return 0.0
    return max(0.0, math.log(together / chance) / -math.log(together))


def _contains(longer: tuple[str, ...], shorter: tuple[str, ...]) -> bool:
    size = len(shorter)
    return size < len(longer) and any(
        longer[i : i + size] == shorter for i in range(len(longer) - size + 1)
    )


# --------------------------------------------------------------------------------------------
# Drafting topics from clusters
# --------------------------------------------------------------------------------------------


def _draft(
    clusters: Sequence[_Cluster],
    sentences: Sequence[_Sentence],
    context: Sequence[_Entity],
    max_topics: int,
) -> list[SuggestedTopic]:
    topics: list[SuggestedTopic] = []
    slugs: set[str] = set()
    described: set[int] = set()
    context_clause = _context_clause(context)
    for cluster in clusters:
        if len(topics) >= max_topics:
            break
        if not _worth_a_topic(cluster):
            continue
        # Each term parses alone (a guard: the extractor's words always should), so the
        # query composed of them in parentheses parses too; parse_query below proves it.
        terms = [t for t in _query_terms(cluster.members) if _parses(t)]
        if not terms:
            continue
        query = " OR ".join(terms)
        if context_clause:
            query = (
                f"({query}) AND {context_clause}"
                if len(terms) > 1
                else f"{query} AND {context_clause}"
            )
        parse_query(query)
        head = _title_phrase(cluster)
        slug = _unique(_slugify(head.text), slugs)
        slugs.add(slug)
        sentence = _description(cluster, sentences, described)
        described.add(sentence)
        topics.append(
            SuggestedTopic(
                slug=slug,
                name=head.text[:1].upper() + head.text[1:],
                description=_clip(sentences[sentence].text, 300),
                query=query,
                phrases=tuple(m.text for m in cluster.members),
                context=tuple(e.term for e in context),
                score=round(cluster.score, 2),
            )
        )
    return topics


def _worth_a_topic(cluster: _Cluster) -> bool:
    """A theme has a phrase, a name or a word said often; one common word said twice is not one."""
    return any(
        len(m.key) > 1 or m.proper or "-" in m.key[0] or m.frequency >= 4 for m in cluster.members
    )


def _title_phrase(cluster: _Cluster) -> _Candidate:
    """The phrase that names a theme: its best, or a nearly as good phrase of several words."""
    members = cluster.members
    if len(members[0].key) == 1:
        for member in members[1:]:
            if member.score < 0.6 * members[0].score:
                break
            if len(member.key) > 1:
                return member
    return members[0]


def _context_clause(context: Sequence[_Entity]) -> str:
    if not context:
        return ""
    terms = " OR ".join(e.term for e in context)
    group = f"({terms})" if len(context) > 1 else terms
    return f"{group}^{CONTEXT_WEIGHT:g}"


def _query_terms(members: Sequence[_Candidate]) -> list[str]:
    """The ORed terms of a query: the best phrases, none inside or around another one."""
    chosen: list[_Candidate] = []
    for member in members:
        if len(chosen) >= MAX_QUERY_TERMS:
            break
        longer = [c for c in chosen if _contains(c.key, member.key)]
        if longer:
            # A name that also stands alone is the better term: "Donbas" matches every
            # "Eastern Donbas dispute"; a fragment ("Article" of "Article 5") is not.
            if (member.proper or "-" in member.key[0]) and member.free >= 2:
                chosen = [c for c in chosen if c not in longer]
                chosen.append(member)
            continue
        # "NATO-like security guarantees" adds nothing to "security guarantees".
        if not any(_contains(member.key, c.key) for c in chosen):
            chosen.append(member)
    return [_term(c) for c in chosen]


def _term(candidate: _Candidate) -> str:
    words = candidate.text.split()
    last_forms = list(candidate.last_words)
    prefix = _common_prefix(last_forms) if len(last_forms) > 1 else ""
    # Several forms of the last word in the document ("guarantee", "guarantees"): a prefix.
    if len(prefix) >= 5 and words[-1].lower().startswith(prefix):
        words[-1] = words[-1][: len(prefix)] + "*"
    if len(words) == 1:
        word = words[0]
        return word if word.endswith("*") else _single_term(word, acronym=word.isupper())
    return '"' + " ".join(words) + '"'


def _parses(term: str) -> bool:
    try:
        parse_query(term)
    except QuerySyntaxError:
        return False
    return True


def _slugify(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_text.lower()).strip("-")
    if not slug:
        slug = "topic"
    return slug[:48].rstrip("-")


def _unique(slug: str, taken: set[str]) -> str:
    if slug not in taken:
        return slug
    number = 2
    while f"{slug}-{number}" in taken:
        number += 1
    return f"{slug}-{number}"


def _description(cluster: _Cluster, sentences: Sequence[_Sentence], taken: set[int]) -> int:
    """The sentence that best states a theme: the one holding most of its phrases.

    Each unit of the theme counts once per sentence, by its best phrase's score, and a little
    more for each further phrase of it there; so a sentence naming three parts of a theme
    beats one repeating a single phrase in several forms. A sentence that describes an
    earlier topic is taken only when nothing else is left.
    """
    weights: defaultdict[int, float] = defaultdict(float)
    for unit in cluster.units:
        weight = max(m.score for m in unit.members)
        present: defaultdict[int, int] = defaultdict(int)
        for member in unit.members:
            for number in {number for number, _, _ in member.spans}:
                present[number] += 1
        for number, count in present.items():
            weights[number] += weight * (1 + 0.1 * (count - 1))
    best, best_value = -1, 0.0
    for number, weight in weights.items():
        size = len(sentences[number].words)
        sentence = sentences[number]
        if size < 6 or sentence.heading or sentence.text.endswith("?"):
            continue  # a heading or a question names a theme but does not describe it
        value = weight / (1 + max(0, size - 35) / 20)  # long sentences make poor descriptions
        if number in taken:
            value /= 10
        if value > best_value:
            best, best_value = number, value
    return best if best >= 0 else max(weights, key=lambda n: weights[n])


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1].rsplit(" ", 1)[0] + "…"
