"""A deterministic corpus of synthetic news feeds for the ingest benchmark.

``build_corpus(feeds, seed)`` always produces the same documents for the same arguments: every
random choice comes from ``random.Random`` instances seeded with strings derived from ``seed``
(string seeds are hashed with SHA-512, so they do not depend on ``PYTHONHASHSEED``).

What the feeds look like:

* sizes: 10 to 100 entries per feed, ``10 + 90 * Beta(2, 4)``, so about 40 on average;
* formats: about 70 % RSS 2.0 and 30 % Atom 1.0; a quarter of the feeds carry the full article
  (``content:encoded`` or Atom ``<content>``), the others a summary of a few paragraphs;
* HTML: paragraphs, inline links, images (some of them tracking pixels), figures, block
  quotes, lists, the odd script or iframe embed; named and numeric character references
  (``&mdash;``, ``&#8217;``, ``&nbsp;``, ``&amp;``); RSS descriptions are either CDATA
  sections or escaped markup, Atom content is ``type="html"`` or inline XHTML;
* text: sentences built from a vocabulary mixing the diplomacy of the war in Ukraine (peace
  talks, security guarantees, frozen assets, NATO, the Donbas) with unrelated news (sport,
  weather, technology, markets, culture, science, city politics);
* about 4 % of the feeds are malformed: undefined entities and bare ampersands, unclosed
  tags in inline XHTML, a document cut short, bytes that are not UTF-8. feedparser should
  still recover most of their entries;
* about 5 % of the distinct stories are carried by 2 to 5 feeds: either the same link with
  ``utm_*`` parameters added, or the outlet's own link and a lightly edited text (a wire slug
  or outlet name in the title, a word changed, boilerplate appended).

Every story has a number, written into each copy's GUID and link as ``story-<number>``, so a
benchmark can check how the stored articles were grouped.

Run ``python bench/corpus.py --feeds 200 --out DIR`` to write the documents (``DIR/base``),
the changed versions of 10 % of them (``DIR/changed``) and ``DIR/manifest.json``.
"""

from __future__ import annotations

import argparse
import json
import random
import re
import shutil
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta, timezone
from email.utils import format_datetime
from pathlib import Path
from xml.sax.saxutils import escape as xml_escape
from xml.sax.saxutils import quoteattr

#: Publication dates count back from here; a fixed date keeps the corpus the same every day.
ANCHOR = datetime(2025, 11, 24, 18, 0, tzinfo=UTC)
#: Share of the feeds that are Atom 1.0 (the rest is RSS 2.0).
ATOM_SHARE = 0.30
#: Share of the feeds that carry full articles rather than summaries.
FULL_CONTENT_SHARE = 0.25
MALFORMATIONS = ("bad-entity", "unclosed-tag", "truncated", "bad-bytes")
#: Share of the distinct stories that appear in several feeds.
SHARED_STORY_SHARE = 0.05
#: Share of the feeds given new entries by ``changed_feeds``.
CHANGED_SHARE = 0.10
STORY_TOKEN = re.compile(r"story-(\d+)")

# --------------------------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------------------------


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


FIRST_NAMES = _words(
    "Olena Andriy Maria Thomas Sarah Pierre Ingrid Dmytro Kateryna James Anna Lukas Sofia "
    "Marek Elena Julien Hannah Oleksandr Yulia Daniel Claire Piotr Laura Mykola Nadia "
    "Rafael Emma Taras Irena Henrik Chloé Zoë Björn Łukasz Agnès"
)
LAST_NAMES = _words(
    "Kovalenko Shevchenko Bondarenko Müller Dubois Nowak Rossi Petrenko Lindqvist Moreau "
    "Fischer Tkachenko Horvat Novak Schmidt Kravchenko Lefebvre Jensen Melnyk Costa O’Brien "
    "García Wiśniewski Hoffmann Marchenko Lambert Janssen Sørensen Nicolaï Ruiz"
)

UKRAINE_ACTORS = (
    "President Volodymyr Zelensky",
    "Zelensky",
    "Ukraine’s foreign minister",
    "the US special envoy",
    "Kremlin spokesman Dmitry Peskov",
    "NATO’s secretary general",
    "the European Commission",
    "Germany’s chancellor",
    "France’s president",
    "Britain’s prime minister",
    "Ukrainian negotiators",
    "Russian negotiators",
    "EU foreign ministers",
    "G7 finance ministers",
    "the Kremlin",
    "Kyiv",
    "Moscow",
    "Washington",
    "the coalition of the willing",
    "Poland’s defence minister",
)
UKRAINE_VERBS = (
    "rejected",
    "welcomed",
    "proposed",
    "warned against",
    "signalled support for",
    "discussed",
    "insisted on",
    "called for",
    "dismissed",
    "pushed back on",
    "raised doubts about",
    "outlined",
    "agreed in principle to",
    "set conditions for",
)
UKRAINE_OBJECTS = (
    "security guarantees for Ukraine",
    "an Article 5-style commitment",
    "the 20-point peace plan",
    "a ceasefire along the front line",
    "the use of frozen Russian assets",
    "a reparations loan backed by immobilised reserves",
    "Ukraine’s bid for NATO membership",
    "the proposed economic free zone in the Donbas",
    "territorial concessions in the east",
    "a prisoner exchange",
    "sanctions relief for Moscow",
    "new air defence deliveries",
    "the Euroclear-held reserves",
    "a European reassurance force",
    "a monitoring mission for the ceasefire line",
    "the withdrawal of troops from Donetsk",
    "a minerals agreement with the United States",
    "long-range missile supplies",
)
UKRAINE_PLACES = (
    "after talks in Geneva",
    "ahead of a summit in Brussels",
    "during a visit to Kyiv",
    "at a press conference in Washington",
    "after a call with the White House",
    "on the sidelines of the G20",
    "after overnight strikes on Kharkiv",
    "in Abu Dhabi",
    "at a meeting in Berlin",
    "following consultations in Istanbul",
)

OTHER_TOPICS: dict[str, tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]] = {
    "sport": (
        (
            "the club’s new coach",
            "the league’s top scorer",
            "the national team",
            "the home side",
            "the tennis champion",
            "the cycling federation",
            "the Olympic committee",
        ),
        (
            "secured",
            "lost",
            "celebrated",
            "appealed against",
            "confirmed",
            "postponed",
            "ruled out",
        ),
        (
            "a late winner in the derby",
            "a record transfer fee",
            "a place in the semi-finals",
            "a knee injury before the final",
            "the stadium renovation",
            "a three-match suspension",
            "the season opener",
        ),
    ),
    "weather": (
        (
            "forecasters",
            "the national weather service",
            "emergency crews",
            "coastal towns",
            "farmers in the south",
            "the flood authority",
        ),
        ("warned of", "reported", "prepared for", "cleared up after", "braced for", "recorded"),
        (
            "heavy snowfall across the north",
            "the wettest autumn in decades",
            "storm-force winds on the coast",
            "flooding along the river",
            "a late heatwave",
            "freezing fog on the motorways",
        ),
    ),
    "tech": (
        (
            "the chipmaker",
            "a start-up in Lisbon",
            "the smartphone maker",
            "regulators in Brussels",
            "the cloud provider",
            "open-source developers",
        ),
        ("unveiled", "delayed", "fined", "acquired", "tested", "patched"),
        (
            "a new AI model for translation",
            "a data centre powered by wind",
            "a security flaw in millions of routers",
            "a foldable phone with a longer battery",
            "a quantum computing prototype",
            "an app for booking train tickets",
        ),
    ),
    "markets": (
        (
            "the central bank",
            "bond investors",
            "the finance ministry",
            "retailers",
            "the statistics office",
            "carmakers",
        ),
        ("cut", "held", "forecast", "reported", "revised", "blamed"),
        (
            "interest rates by a quarter point",
            "inflation at its lowest in two years",
            "weaker retail sales in October",
            "a rise in mortgage approvals",
            "higher energy prices",
            "slower growth in the euro area",
        ),
    ),
    "culture": (
        (
            "the film festival",
            "the national museum",
            "a debut novelist",
            "the opera house",
            "the orchestra",
            "a street artist",
        ),
        ("announced", "opened", "won", "cancelled", "restored", "premiered"),
        (
            "a retrospective of postwar photography",
            "the prize for best first novel",
            "a new production of Carmen",
            "a mural in the old town",
            "free entry on Sundays",
            "a tour of Scandinavia",
        ),
    ),
    "science": (
        (
            "astronomers",
            "a team of biologists",
            "the space agency",
            "researchers at the university",
            "climate scientists",
        ),
        ("discovered", "launched", "published", "measured", "mapped"),
        (
            "a comet with an unusual orbit",
            "a vaccine trial for older patients",
            "the deepest ice core yet",
            "a new species of beetle",
            "methane leaks from old wells",
        ),
    ),
    "city": (
        (
            "the city council",
            "the mayor",
            "residents of the east side",
            "the transport authority",
            "school governors",
        ),
        ("approved", "opposed", "extended", "consulted on", "paused"),
        (
            "a new tram line",
            "higher parking charges",
            "a ban on cars near schools",
            "the redevelopment of the old port",
            "cheaper bus tickets for students",
        ),
    ),
}
UKRAINE_SHARE = 0.40

# Open-ended slots: people, places, roles and generic details, so that two stories on the same
# theme share about as few word pairs as two real ones do.
CITIES = _words(
    "Kyiv Lviv Odesa Kharkiv Dnipro Zaporizhzhia Poltava Sumy Warsaw Berlin Paris Brussels "
    "Vienna Geneva Rome Madrid Lisbon Prague Vilnius Riga Tallinn Helsinki Oslo Stockholm "
    "Copenhagen Amsterdam London Dublin Budapest Bratislava Bucharest Chisinau Ankara "
    "Istanbul Washington Toronto Tokyo Doha Riyadh Krakow Gdansk Hamburg Munich Lyon "
    "Marseille Milan Turin Porto Seville Rotterdam Antwerp Ghent Tartu Kaunas Brno Graz "
    "Salzburg Bergen"
)
ROLES = (
    "deputy foreign minister",
    "senior adviser",
    "spokeswoman",
    "spokesman",
    "chief negotiator",
    "defence analyst",
    "economist",
    "regional governor",
    "member of parliament",
    "committee chair",
    "former ambassador",
    "union leader",
    "chief executive",
    "professor of politics",
    "city councillor",
    "head of research",
    "senior fellow",
    "press secretary",
    "deputy mayor",
    "trade envoy",
)
ADJECTIVES = _words(
    "long-awaited fragile unexpected preliminary detailed revised controversial ambitious "
    "cautious final early joint broader tentative formal public confidential regional "
    "national local rapid gradual historic modest sweeping narrow temporary permanent "
    "costly delayed updated second third draft leaked disputed provisional annual quarterly "
    "emergency bilateral multilateral cross-border overnight weekend legal technical "
    "financial humanitarian logistical symbolic practical"
)
NOUNS = _words(
    "agreement proposal budget deadline statement timetable framework memo draft report "
    "survey inquiry review vote hearing committee audit forecast contract tender shipment "
    "pipeline bridge railway harbour crossing factory warehouse hospital school exhibition "
    "market network scheme programme package loan grant fund convoy corridor summit roadmap "
    "treaty mandate reform tariff subsidy levy census ruling verdict appeal petition "
    "referendum coalition alliance dialogue truce mission inspection"
)
OUTCOMES = (
    "would be signed before the end of the year",
    "could be delayed until spring",
    "was likely to go ahead despite objections",
    "would be reviewed by parliament next month",
    "would cost more than first expected",
    "had already been approved by the cabinet",
    "still needed the backing of all member states",
    "would be published in full on Friday",
    "might not survive a legal challenge",
    "would take at least two years to complete",
    "was discussed for more than six hours",
    "had been watered down after objections from partners",
)
PLURALS = _words(
    "officials volunteers engineers diplomats residents workers teachers farmers doctors "
    "students investors lawyers observers inspectors journalists soldiers pensioners "
    "drivers"
)
ACTIONS = (
    "signed a joint letter about",
    "gathered outside the ministry to discuss",
    "were briefed on",
    "asked for more details about",
    "raised concerns over",
    "have been waiting for news on",
    "voted in favour of",
    "were consulted about",
)

ATTRIBUTIONS = (
    "officials said",
    "according to two people familiar with the matter",
    "a spokesperson said in a statement",
    "the report said",
    "sources told reporters",
    "local media reported",
    "a senior diplomat said",
)
TIMES = (
    "on Monday",
    "on Tuesday",
    "on Wednesday",
    "on Thursday",
    "on Friday",
    "late on Sunday",
    "this week",
    "earlier this month",
    "overnight",
)
CONNECTORS = (
    "Meanwhile,",
    "At the same time,",
    "Separately,",
    "In a statement,",
    "Earlier,",
    "However,",
    "Critics said",
    "Analysts noted that",
)
QUOTES = (
    "“We are not going to accept a deal that rewards aggression,” {name} said.",
    "“This is a step forward, but the details still matter,” said {name}, an adviser.",
    "“Nobody expected an agreement this quickly,” {name} told reporters.",
    "“It’s too early to talk about a breakthrough,” {name} said — and added nothing more.",
    "“Our position has not changed,” {name} said in a televised address.",
    "“We need guarantees that work, not promises,” {name} wrote on social media.",
)
CYRILLIC = (
    "«Ми не віддамо жодного сантиметра», — сказав {name}.",
    "Переговори тривали понад шість годин, повідомив {name}.",
)
OUTLETS = (
    "Kyiv Ledger",
    "Daily Meridian",
    "Baltic Wire",
    "Northern Post",
    "Continental Review",
    "Harbour Times",
    "The Evening Standard-Bearer",
    "Danube Dispatch",
    "Atlantic Courier",
    "Capital Herald",
    "Plains Gazette",
    "Metro Observer",
)
TITLE_PREFIXES = ("UPDATE 1-", "UPDATE 2-", "Breaking: ", "EXCLUSIVE-", "Analysis: ")
BOILERPLATE = (
    "The post {title} appeared first on {outlet}.",
    "(Reporting by {name}; Editing by {other})",
    "© {outlet} 2025. All rights reserved.",
    "Read more at {outlet}.",
    "Join our Telegram channel to get the latest updates first.",
)
SWAPS = {
    "said": "stated",
    "talks": "negotiations",
    "officials": "diplomats",
    "new": "fresh",
    "warned": "cautioned",
    "plan": "proposal",
    "week": "weekend",
    "report": "document",
}

# --------------------------------------------------------------------------------------------
# Data
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Story:
    """One piece of news, before any outlet writes it up."""

    number: int
    topic: str
    title: str
    paragraphs: tuple[tuple[str, ...], ...]  # sentences, by paragraph
    published: datetime
    author: str
    wire_link: str


@dataclass(frozen=True)
class Entry:
    """One item of one feed: a story as this outlet carries it."""

    story: int
    guid: str | None
    link: str
    title: str
    paragraphs: tuple[tuple[str, ...], ...]
    published: datetime
    author: str | None
    categories: tuple[str, ...]
    copy: str  # "own", "utm" (same link with tracking parameters) or "edit" (edited text)


@dataclass
class Feed:
    """One feed document of the corpus."""

    index: int
    kind: str  # "rss" | "atom"
    outlet: str
    domain: str
    language: str
    full_content: bool
    style: str  # RSS: "cdata" | "escaped"; Atom: "html" | "xhtml"
    entities: str  # "named" | "numeric" | "raw"
    malformed: str | None
    entries: list[Entry] = field(default_factory=list)

    @property
    def filename(self) -> str:
        """The file name, and the last segment of the URL path."""
        return f"{self.index:04d}.{self.kind}"

    @property
    def path(self) -> str:
        """Where the benchmark server serves it."""
        return f"/feeds/{self.filename}"


@dataclass
class Corpus:
    """A set of feeds generated from one seed."""

    seed: int
    feeds: list[Feed]

    def documents(self) -> Iterator[tuple[Feed, bytes]]:
        """Every feed with its document."""
        for feed in self.feeds:
            yield feed, render(feed, self.seed)

    def write(self, folder: Path) -> int:
        """Write every document into ``folder``; return the bytes written."""
        folder.mkdir(parents=True, exist_ok=True)
        total = 0
        for feed, data in self.documents():
            (folder / feed.filename).write_bytes(data)
            total += len(data)
        return total

    def stats(self) -> dict[str, object]:
        """Counts that describe the corpus (as written in the manifest)."""
        entries = [len(f.entries) for f in self.feeds]
        copies = Counter(e.story for f in self.feeds for e in f.entries)
        shared = [n for n in copies.values() if n > 1]
        return {
            "seed": self.seed,
            "feeds": len(self.feeds),
            "rss": sum(f.kind == "rss" for f in self.feeds),
            "atom": sum(f.kind == "atom" for f in self.feeds),
            "full_content": sum(f.full_content for f in self.feeds),
            "malformed": dict(Counter(f.malformed for f in self.feeds if f.malformed)),
            "entries": sum(entries),
            "entries_min": min(entries, default=0),
            "entries_max": max(entries, default=0),
            "stories": len(copies),
            "shared_stories": len(shared),
            "shared_copies": sum(shared),
        }

    def manifest(self) -> dict[str, object]:
        """What a benchmark needs to check results: per feed, its path and entries."""
        return {
            **self.stats(),
            "feed_list": [
                {
                    "path": f.path,
                    "file": f.filename,
                    "kind": f.kind,
                    "malformed": f.malformed,
                    "entries": len(f.entries),
                    "stories": [e.story for e in f.entries],
                }
                for f in self.feeds
            ],
        }


# --------------------------------------------------------------------------------------------
# Generation
# --------------------------------------------------------------------------------------------


def _rng(seed: int, *parts: object) -> random.Random:
    return random.Random(":".join(str(p) for p in (seed, *parts)))


def _name(rng: random.Random) -> str:
    return f"{rng.choice(FIRST_NAMES)} {rng.choice(LAST_NAMES)}"


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


_PRESENT = {
    "held": "holds",
    "won": "wins",
    "lost": "loses",
    "cut": "cuts",
    "agreed": "agrees",
    "braced": "braces",
    "announced": "announces",
    "paused": "pauses",
    "proposed": "proposes",
    "welcomed": "welcomes",
    "dismissed": "dismisses",
    "pushed": "pushes",
    "outlined": "outlines",
    "raised": "raises",
    "secured": "secures",
    "celebrated": "celebrates",
    "ruled": "rules",
    "postponed": "postpones",
    "reported": "reports",
    "prepared": "prepares",
    "recorded": "records",
    "unveiled": "unveils",
    "delayed": "delays",
    "fined": "fines",
    "acquired": "acquires",
    "patched": "patches",
    "revised": "revises",
    "blamed": "blames",
    "opened": "opens",
    "cancelled": "cancels",
    "restored": "restores",
    "premiered": "premieres",
    "discovered": "discovers",
    "launched": "launches",
    "published": "publishes",
    "measured": "measures",
    "mapped": "maps",
    "approved": "approves",
    "opposed": "opposes",
    "extended": "extends",
    "consulted": "consults",
    "discussed": "discusses",
    "signalled": "signals",
    "insisted": "insists",
    "called": "calls",
    "rejected": "rejects",
    "warned": "warns",
    "set": "sets",
    "confirmed": "confirms",
    "appealed": "appeals",
    "cleared": "clears",
    "tested": "tests",
    "forecast": "forecasts",
}


def _present(verb: str, *, plural: bool = False) -> str:
    """'rejected' → 'rejects', 'warned against' → 'warns against', for headlines."""
    head, _, tail = verb.partition(" ")
    word = _PRESENT.get(head, head.removesuffix("ed") + "s")
    if plural:  # "carmakers cut", "farmers brace for"
        word = word[:-2] if word.endswith(("shes", "ches", "sses")) else word[:-1]
    return f"{word} {tail}".strip()


def _vocabulary(topic: str) -> tuple[Sequence[str], Sequence[str], Sequence[str]]:
    if topic == "ukraine":
        return UKRAINE_ACTORS, UKRAINE_VERBS, UKRAINE_OBJECTS
    return OTHER_TOPICS[topic]


def _person(rng: random.Random) -> str:
    role = rng.choice(ROLES)
    article = rng.choice(("an" if role[0] in "aeiou" else "a", "the"))
    return f"{_name(rng)}, {article} {role}"


def _sentence(rng: random.Random, topic: str) -> str:
    """One sentence of a story on ``topic``, in one of a few shapes news copy takes."""
    actors, verbs, objects = _vocabulary(topic)
    roll = rng.random()
    if roll < 0.10:
        return rng.choice(QUOTES).format(name=_name(rng))
    if roll < 0.12 and topic == "ukraine":
        return rng.choice(CYRILLIC).format(name=_name(rng))
    if roll < 0.30:
        return (
            f"{_person(rng)} in {rng.choice(CITIES)}, said the {rng.choice(ADJECTIVES)}"
            f" {rng.choice(NOUNS)} {rng.choice(OUTCOMES)}."
        )
    if roll < 0.42:
        return _capitalise(
            f"in {rng.choice(CITIES)}, {rng.randint(3, 400)} {rng.choice(PLURALS)}"
            f" {rng.choice(ACTIONS)} the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}"
            f" {rng.choice(TIMES)}."
        )
    subject = rng.choice(actors)
    if rng.random() < 0.3:
        subject = f"{_person(rng)},"
    parts = [subject, rng.choice(verbs), rng.choice(objects)]
    if rng.random() < 0.4:
        parts.append(f"and the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)}")
    if topic == "ukraine" and rng.random() < 0.4:
        parts.append(rng.choice(UKRAINE_PLACES))
    elif rng.random() < 0.4:
        parts.append(f"in {rng.choice(CITIES)}")
    if rng.random() < 0.5:
        parts.append(rng.choice(TIMES))
    sentence = " ".join(parts)
    if rng.random() < 0.4:
        sentence += ", " + rng.choice(ATTRIBUTIONS)
    if rng.random() < 0.2:
        sentence = rng.choice(CONNECTORS) + " " + sentence
    if rng.random() < 0.25:
        number = rng.choice(
            (
                f"{rng.randint(2, 95)} %",
                f"€{rng.randint(1, 300)}bn",
                f"{rng.randint(3, 900)} people",
                f"{rng.randint(2, 48)} hours",
            )
        )
        sentence += f", a figure of {number} by one estimate"
    return _capitalise(sentence) + "."


def _story(number: int, seed: int, full: bool) -> Story:
    """Story ``number``: full-length text, or only its summary paragraphs.

    The paragraphs are drawn from their own generator, one after the other, so a summary is
    always the opening of the full text: copies in feeds of either kind share their lede.
    """
    rng = _rng(seed, "story", number)
    topic = "ukraine" if rng.random() < UKRAINE_SHARE else rng.choice(sorted(OTHER_TOPICS))
    actors, verbs, objects = _vocabulary(topic)
    actor = rng.choice(actors)
    head = re.split(r" (?:in|at|of) ", actor)[0]  # "farmers in the south" → "farmers"
    verb = _present(rng.choice(verbs), plural=head.endswith("s") and not head.endswith("’s"))
    title = f"{_capitalise(actor)} {verb} {rng.choice(objects)}"
    tail = rng.random()
    if topic == "ukraine" and tail < 0.4:
        title += " " + rng.choice(UKRAINE_PLACES)
    elif tail < 0.6:
        title += f" in {rng.choice(CITIES)}"
    elif tail < 0.75:
        title += f" as the {rng.choice(ADJECTIVES)} {rng.choice(NOUNS)} looms"
    full_count, summary_count = rng.randint(6, 12), rng.randint(2, 4)
    published = ANCHOR - timedelta(minutes=rng.randint(0, 60 * 48))
    author = _name(rng)
    text_rng = _rng(seed, "text", number)
    paragraphs = tuple(
        tuple(_sentence(text_rng, topic) for _ in range(text_rng.randint(2, 5)))
        for _ in range(full_count if full else summary_count)
    )
    slug = "-".join(re.findall(r"[a-z0-9]+", title.lower())[:8])
    return Story(
        number=number,
        topic=topic,
        title=title,
        paragraphs=paragraphs,
        published=published,
        author=author,
        wire_link=f"https://wire.example.net/news/{slug}-story-{number}",
    )


def _own_entry(story: Story, feed: Feed, rng: random.Random) -> Entry:
    slug = story.wire_link.rsplit("/", 1)[1]
    section = "world" if story.topic == "ukraine" else story.topic
    link = f"https://{feed.domain}/{section}/{story.published:%Y/%m/%d}/{slug}"
    return Entry(
        story=story.number,
        guid=_guid(feed, story.number, rng),
        link=link,
        title=story.title,
        paragraphs=story.paragraphs,
        published=story.published,
        author=story.author if rng.random() < 0.7 else None,
        categories=_categories(story, rng),
        copy="own",
    )


def _guid(feed: Feed, number: int, rng: random.Random) -> str | None:
    if feed.kind == "rss" and rng.random() < 0.1:
        return None  # an RSS item without a GUID: its link identifies it
    if feed.kind == "atom":
        return f"tag:{feed.domain},2025:story-{number}"
    return f"https://{feed.domain}/?p=story-{number}"


def _categories(story: Story, rng: random.Random) -> tuple[str, ...]:
    pool = {
        "ukraine": ("Ukraine", "Russia", "Diplomacy", "Europe", "War in Ukraine", "NATO"),
    }.get(story.topic, (_capitalise(story.topic), "News", "Europe"))
    return tuple(rng.sample(pool, rng.randint(0, min(3, len(pool)))))


def _syndicated_entry(story: Story, feed: Feed, rng: random.Random) -> Entry:
    """A copy of a wire story as another outlet carries it."""
    base = _own_entry(story, feed, rng)
    if rng.random() < 0.5:
        link = (
            f"{story.wire_link}?utm_source={feed.domain.split('.')[0]}"
            f"&utm_medium=rss&utm_campaign=feed{feed.index}"
        )
        return replace(base, link=link, copy="utm")
    title = story.title
    paragraphs = [list(p) for p in story.paragraphs]
    edits = rng.sample(("prefix", "suffix", "swap", "boilerplate"), rng.randint(1, 2))
    if "prefix" in edits:
        title = rng.choice(TITLE_PREFIXES) + title
    if "suffix" in edits:
        title = f"{title} - {feed.outlet}"
    if "swap" in edits:
        first = paragraphs[0][0]
        for word, other in SWAPS.items():
            if f" {word} " in first:
                paragraphs[0][0] = first.replace(f" {word} ", f" {other} ", 1)
                break
        else:
            paragraphs[0][0] = first.replace(" the ", " this ", 1)
    if "boilerplate" in edits:
        line = rng.choice(BOILERPLATE).format(
            title=story.title, outlet=feed.outlet, name=_name(rng), other=_name(rng)
        )
        paragraphs.append([line])
    published = story.published + timedelta(minutes=rng.randint(5, 240))
    return replace(
        base,
        title=title,
        paragraphs=tuple(tuple(p) for p in paragraphs),
        published=min(published, ANCHOR),
        copy="edit",
    )


def _feed_shell(index: int, seed: int) -> Feed:
    rng = _rng(seed, "feed", index)
    kind = "atom" if rng.random() < ATOM_SHARE else "rss"
    outlet = f"{rng.choice(OUTLETS)} {rng.choice(('World', 'Europe', 'Politics', 'Live', ''))}"
    outlet = outlet.strip()
    domain = f"{re.sub(r'[^a-z]+', '', outlet.lower())}{index}.example.com"
    # Every 25th feed (4 %), taking the kinds of damage in turn.
    malformed = MALFORMATIONS[(index // 25) % len(MALFORMATIONS)] if index % 25 == 12 else None
    if malformed == "unclosed-tag" and kind == "rss":
        style = "raw"  # markup straight in the XML: an unclosed tag breaks the document
    elif kind == "rss":
        style = rng.choice(("cdata", "cdata", "escaped"))
    else:
        style = rng.choice(("html", "html", "xhtml"))
    if malformed == "unclosed-tag" and kind == "atom":
        style = "xhtml"
    return Feed(
        index=index,
        kind=kind,
        outlet=outlet,
        domain=domain,
        language=rng.choice(("en", "en", "en-gb", "en-us", "uk")),
        full_content=rng.random() < FULL_CONTENT_SHARE,
        style=style,
        # Raw markup in RSS gets numeric references: its damage is the unclosed tags alone.
        entities="numeric" if style == "raw" else rng.choice(("named", "numeric", "raw")),
        malformed=malformed,
    )


def build_corpus(feeds: int = 200, seed: int = 1) -> Corpus:
    """Generate ``feeds`` feeds (the same ones for the same arguments)."""
    rng = _rng(seed, "layout")
    shells = [_feed_shell(i, seed) for i in range(feeds)]
    sizes = [10 + round(90 * rng.betavariate(2, 4)) for _ in shells]
    slots: list[list[int | None]] = [[None] * n for n in sizes]  # story number, or own

    # Shared stories first: each takes one free slot in 2..5 different feeds.
    total = sum(sizes)
    number = 0
    carriers: dict[int, list[int]] = {}  # shared story -> the feeds carrying it, first = origin
    extra_copies = 0
    while len(carriers) < SHARED_STORY_SHARE * (total - extra_copies) and feeds > 1:
        placed = []
        for feed_index in rng.sample(range(feeds), min(rng.randint(2, 5), feeds)):
            slot = rng.randrange(sizes[feed_index])
            if slots[feed_index][slot] is None:
                slots[feed_index][slot] = number
                placed.append(feed_index)
        carriers[number] = placed
        extra_copies += max(0, len(placed) - 1)
        number += 1

    for feed, feed_slots in zip(shells, slots, strict=True):
        entry_rng = _rng(seed, "entries", feed.index)
        for story_number in feed_slots:
            if story_number is None:
                story = _story(number, seed, feed.full_content)
                number += 1
                feed.entries.append(_own_entry(story, feed, entry_rng))
            else:
                story = _story(story_number, seed, feed.full_content)
                if carriers[story_number][0] == feed.index:  # the first carrier has the original
                    feed.entries.append(_own_entry(story, feed, entry_rng))
                else:
                    feed.entries.append(_syndicated_entry(story, feed, entry_rng))
        feed.entries.sort(key=lambda e: e.published, reverse=True)
    return Corpus(seed=seed, feeds=shells)


def changed_feeds(corpus: Corpus, share: float = CHANGED_SHARE) -> list[tuple[Feed, int]]:
    """Later versions of ``share`` of the feeds: 2 to 6 new entries on top, as many old ones
    dropped (a feed keeps a window of its latest entries). Returns (new feed, new entries)."""
    rng = _rng(corpus.seed, "changed")
    # Malformed feeds are left out: their damage sits at fixed places in the document, so new
    # entries on top would move it onto other entries and change them.
    candidates = [f.index for f in corpus.feeds if not f.malformed]
    count = min(len(candidates), max(1, round(len(corpus.feeds) * share)))
    chosen = sorted(rng.sample(candidates, count))
    next_number = 1 + max((e.story for f in corpus.feeds for e in f.entries), default=0)
    result = []
    for index in chosen:
        feed = corpus.feeds[index]
        added = rng.randint(2, 6)
        entry_rng = _rng(corpus.seed, "changed-entries", index)
        fresh = []
        for offset in range(added):
            story = _story(next_number, corpus.seed, feed.full_content)
            story = replace(story, published=ANCHOR + timedelta(minutes=30 + 10 * offset))
            fresh.append(_own_entry(story, feed, entry_rng))
            next_number += 1
        fresh.sort(key=lambda e: e.published, reverse=True)
        kept = feed.entries[: max(0, len(feed.entries) - added)]
        result.append((replace(feed, entries=fresh + kept), added))
    return result


# --------------------------------------------------------------------------------------------
# Rendering
# --------------------------------------------------------------------------------------------

_NAMED = {"’": "&rsquo;", "‘": "&lsquo;", "—": "&mdash;", "“": "&ldquo;", "”": "&rdquo;"}
_NAMED.update({"é": "&eacute;", "ö": "&ouml;", "ü": "&uuml;", "€": "&euro;"})


def _html_text(text: str, entities: str) -> str:
    """Plain text as HTML source, with character references in the feed's style."""
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    if entities == "raw":
        return text
    text = text.replace(" %", "&nbsp;%") if entities == "named" else text.replace(" %", "&#160;%")
    out = []
    for char in text:
        if char in _NAMED and entities == "named":
            out.append(_NAMED[char])
        elif ord(char) > 127 and entities == "numeric":
            out.append(f"&#{ord(char)};")
        else:
            out.append(char)
    return "".join(out)


def _entry_html(entry: Entry, feed: Feed, rng: random.Random, *, summary: bool) -> str:
    """The entry's body as HTML: paragraphs with links, images and the odd embed."""
    entities = "numeric" if feed.style == "xhtml" and feed.entities == "named" else feed.entities
    paragraphs = entry.paragraphs[:2] if summary and feed.full_content else entry.paragraphs
    parts: list[str] = []
    image = rng.randint(1, 99999)
    if rng.random() < 0.5:
        parts.append(
            f'<figure><img src="https://cdn.{feed.domain}/img/{image}.jpg" alt="Photo {image}"'
            f' width="{rng.choice((640, 800, 1200))}" height="{rng.choice((360, 450, 675))}" />'
            f"<figcaption>{_html_text(_name(rng), entities)} / {feed.outlet}</figcaption>"
            "</figure>"
        )
    for number, sentences in enumerate(paragraphs):
        text = " ".join(_html_text(s, entities) for s in sentences)
        if rng.random() < 0.35:
            words = text.split(" ")
            at = rng.randrange(len(words))
            end = min(len(words), at + rng.randint(1, 4))
            anchor = " ".join(words[at:end])
            if "&" not in anchor and "<" not in anchor:
                href = f"https://{feed.domain}/tag/{rng.choice(('ukraine', 'europe', 'live'))}"
                if rng.random() < 0.3:
                    href = f"/related/{rng.randint(1, 5000)}"  # relative: resolved on ingest
                words[at:end] = [f'<a href="{href}">{anchor}</a>']
                text = " ".join(words)
        if rng.random() < 0.15:
            text = f"<strong>{text}</strong>" if number == 0 else f"<em>{text}</em>"
        if rng.random() < 0.06 and not summary:
            parts.append(f"<blockquote><p>{text}</p></blockquote>")
        else:
            parts.append(f"<p>{text}</p>")
        if number == 1 and not summary and rng.random() < 0.2:
            items = "".join(f"<li>{_html_text(s, entities)}</li>" for s in sentences[:3])
            parts.append(f"<ul>{items}</ul>")
    if not summary and rng.random() < 0.08:
        parts.append(
            f'<iframe src="https://video.example.org/embed/{image}" width="560" height="315">'
            "</iframe>"
        )
    if rng.random() < 0.05:
        parts.append("<script>window.analytics &amp;&amp; analytics.track('view');</script>")
    if rng.random() < 0.3:
        parts.append(
            f'<img src="https://pixel.{feed.domain}/t.gif?id={image}" width="1" height="1"'
            ' alt="" />'
        )
    if summary and feed.full_content:
        parts.append(f'<p><a href="{entry.link.replace("&", "&amp;")}">Continue reading…</a></p>')
    return "\n".join(parts)


def _rss_date(value: datetime, rng: random.Random) -> str:
    zone = rng.choice((0, 0, 0, 2, -5, 1))
    return format_datetime(value.astimezone(timezone(timedelta(hours=zone))), usegmt=zone == 0)


def _cdata(html: str) -> str:
    return "<![CDATA[" + html.replace("]]>", "]]]]><![CDATA[>") + "]]>"


def _rss_html(html: str, style: str) -> str:
    if style == "cdata":
        return _cdata(html)
    if style == "raw":
        return html
    return xml_escape(html)


def _rss_item(entry: Entry, feed: Feed, rng: random.Random) -> str:
    title = _html_text(entry.title, "raw")
    lines = ["<item>", f"<title>{title}</title>", f"<link>{xml_escape(entry.link)}</link>"]
    if entry.guid is not None:
        permalink = "true" if rng.random() < 0.2 else "false"
        lines.append(f'<guid isPermaLink="{permalink}">{xml_escape(entry.guid)}</guid>')
    lines.append(f"<pubDate>{_rss_date(entry.published, rng)}</pubDate>")
    if entry.author:
        lines.append(f"<dc:creator>{_cdata(entry.author)}</dc:creator>")
    lines.extend(f"<category>{xml_escape(c)}</category>" for c in entry.categories)
    summary = _entry_html(entry, feed, rng, summary=True)
    lines.append(f"<description>{_rss_html(summary, feed.style)}</description>")
    if feed.full_content:
        full = _entry_html(entry, feed, rng, summary=False)
        lines.append(f"<content:encoded>{_rss_html(full, feed.style)}</content:encoded>")
    if rng.random() < 0.2:
        lines.append(
            f'<media:content url="https://cdn.{feed.domain}/img/{rng.randint(1, 99999)}.jpg"'
            ' medium="image" width="1200" height="675" />'
        )
    lines.append("</item>")
    return "\n".join(lines)


def _render_rss(feed: Feed, seed: int) -> str:
    rng = _rng(seed, "channel", feed.index)
    build = feed.entries[0].published if feed.entries else ANCHOR
    head = [
        '<?xml version="1.0" encoding="UTF-8"?>',
        '<rss version="2.0" xmlns:content="http://purl.org/rss/1.0/modules/content/"'
        ' xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:atom="http://www.w3.org/2005/Atom"'
        ' xmlns:media="http://search.yahoo.com/mrss/">',
        "<channel>",
        f"<title>{xml_escape(feed.outlet)}</title>",
        f"<link>https://{feed.domain}/</link>",
        f'<atom:link href="https://{feed.domain}/feed/" rel="self" type="application/rss+xml"/>',
        f"<description>Latest news from {xml_escape(feed.outlet)}</description>",
        f"<language>{feed.language}</language>",
        f"<lastBuildDate>{format_datetime(build, usegmt=True)}</lastBuildDate>",
        "<generator>bench-corpus</generator>",
    ]
    if rng.random() < 0.3:
        head.append(f"<ttl>{rng.choice((5, 15, 30, 60))}</ttl>")
    if rng.random() < 0.5:
        head.append(
            f"<image><url>https://cdn.{feed.domain}/logo.png</url><title>"
            f"{xml_escape(feed.outlet)}</title><link>https://{feed.domain}/</link></image>"
        )
    items = [_rss_item(entry, feed, _entry_rng(seed, feed, entry)) for entry in feed.entries]
    return "\n".join([*head, *items, "</channel>", "</rss>", ""])


def _atom_entry(entry: Entry, feed: Feed, rng: random.Random) -> str:
    lines = [
        "<entry>",
        f'<title type="html">{xml_escape(_html_text(entry.title, "raw"))}</title>',
        f'<link rel="alternate" type="text/html" href={quoteattr(entry.link)}/>',
        f"<id>{xml_escape(entry.guid or entry.link)}</id>",
        f"<published>{entry.published.isoformat()}</published>",
        f"<updated>{entry.published.isoformat()}</updated>",
    ]
    if entry.author:
        lines.append(f"<author><name>{xml_escape(entry.author)}</name></author>")
    lines.extend(f"<category term={quoteattr(c)}/>" for c in entry.categories)
    summary = _entry_html(entry, feed, rng, summary=True)
    if feed.style == "xhtml":
        lines.append(
            '<summary type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
            f"{summary}</div></summary>"
        )
    else:
        lines.append(f'<summary type="html">{xml_escape(summary)}</summary>')
    if feed.full_content:
        full = _entry_html(entry, feed, rng, summary=False)
        if feed.style == "xhtml":
            lines.append(
                '<content type="xhtml"><div xmlns="http://www.w3.org/1999/xhtml">'
                f"{full}</div></content>"
            )
        else:
            lines.append(f'<content type="html">{xml_escape(full)}</content>')
    lines.append("</entry>")
    return "\n".join(lines)


def _render_atom(feed: Feed, seed: int) -> str:
    updated = feed.entries[0].published if feed.entries else ANCHOR
    head = [
        '<?xml version="1.0" encoding="utf-8"?>',
        f'<feed xmlns="http://www.w3.org/2005/Atom" xml:lang="{feed.language}">',
        f"<title>{xml_escape(feed.outlet)}</title>",
        f"<subtitle>Latest news from {xml_escape(feed.outlet)}</subtitle>",
        f'<link rel="alternate" type="text/html" href="https://{feed.domain}/"/>',
        f'<link rel="self" type="application/atom+xml" href="https://{feed.domain}/atom"/>',
        f"<id>tag:{feed.domain},2025:feed</id>",
        f"<updated>{updated.isoformat()}</updated>",
        '<generator uri="https://example.org/" version="1">bench-corpus</generator>',
    ]
    items = [_atom_entry(entry, feed, _entry_rng(seed, feed, entry)) for entry in feed.entries]
    return "\n".join([*head, *items, "</feed>", ""])


def _break(text: str, feed: Feed, rng: random.Random) -> bytes:
    """Apply the feed's malformation to its well-formed document."""
    if feed.malformed == "bad-entity":
        # HTML entities and a bare ampersand where XML allows neither.
        text = re.sub(r"(<title[^>]*>)", r"\1Live&nbsp;&mdash; ", text, count=4)
        text = text.replace("</title>", " at AT&T &amp; Co</title>", 3)
    elif feed.malformed == "unclosed-tag":
        # Inline markup (XHTML content, or RSS descriptions written raw) with open tags.
        text = text.replace("</p>", "", 6).replace("<p>", "<p><b>Update:<br>", 3)
    elif feed.malformed == "truncated":
        cut = int(len(text) * rng.uniform(0.55, 0.85))
        text = text[:cut]
    data = text.encode("utf-8")
    if feed.malformed == "bad-bytes":
        # Latin-1 bytes inside a document that says it is UTF-8.
        data = data.replace("é".encode(), b"\xe9").replace("ü".encode(), b"\xfc")
        if b"\xe9" not in data:
            data = data.replace(b"</title>", b" caf\xe9</title>", 3)
    return data


def _entry_rng(seed: int, feed: Feed, entry: Entry) -> random.Random:
    # Per entry, so an entry looks the same in every version of its feed.
    return _rng(seed, "entry", feed.index, entry.story)


def render(feed: Feed, seed: int) -> bytes:
    """The feed's document, as a server would send it."""
    text = _render_rss(feed, seed) if feed.kind == "rss" else _render_atom(feed, seed)
    if not feed.malformed:
        return text.encode("utf-8")
    return _break(text, feed, _rng(seed, "break", feed.index, len(feed.entries)))


def written_entries(feed: Feed, data: bytes) -> int:
    """How many entries are complete in the document (fewer than generated when truncated)."""
    closing = b"</item>" if feed.kind == "rss" else b"</entry>"
    return data.count(closing)


# --------------------------------------------------------------------------------------------
# Files
# --------------------------------------------------------------------------------------------


def write_corpus(folder: Path, feeds: int, seed: int) -> dict[str, object]:
    """Write ``base/`` (every feed), ``changed/`` (the changed feeds) and ``manifest.json``.

    Returns:
        The manifest; per feed it also has ``complete`` (entries whole in the document),
        and ``changed`` lists the changed files with their new entries.
    """
    corpus = build_corpus(feeds, seed)
    base = folder / "base"
    changed = folder / "changed"
    for sub in (base, changed):
        if sub.exists():
            shutil.rmtree(sub)
        sub.mkdir(parents=True)
    manifest = corpus.manifest()
    feed_list = manifest["feed_list"]
    assert isinstance(feed_list, list)
    total = 0
    for (feed, data), info in zip(corpus.documents(), feed_list, strict=True):
        (base / feed.filename).write_bytes(data)
        info["complete"] = written_entries(feed, data)
        info["bytes"] = len(data)
        total += len(data)
    updates = []
    for feed, added in changed_feeds(corpus):
        data = render(feed, corpus.seed)
        (changed / feed.filename).write_bytes(data)
        updates.append({"file": feed.filename, "path": feed.path, "new_entries": added})
    manifest["bytes"] = total
    manifest["changed"] = updates
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=1), encoding="utf-8")
    return manifest


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200, help="how many feeds (default 200)")
    parser.add_argument("--seed", type=int, default=1, help="random seed (default 1)")
    parser.add_argument("--out", type=Path, required=True, help="folder to write into")
    args = parser.parse_args(argv)
    manifest = write_corpus(args.out, args.feeds, args.seed)
    summary = {k: v for k, v in manifest.items() if k not in ("feed_list", "changed")}
    changed = manifest["changed"]
    assert isinstance(changed, list)
    summary["changed_feeds"] = len(changed)
    summary["changed_new_entries"] = sum(c["new_entries"] for c in changed)
    print(json.dumps(summary, indent=1))


if __name__ == "__main__":
    main()
