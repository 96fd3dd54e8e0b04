"""Measure the SimHash distance threshold for story clustering (``dedup.NEAR_DUPLICATE_BITS``).

Reads the real articles of ``shared/data/articles-dev.jsonl`` and builds two kinds of pairs:

* syndicated copies: each article against copies of itself with the small edits an outlet
  carrying a wire story makes (boilerplate appended, a wire slug or outlet name on the title,
  a word changed or added, two words changed, another quote and punctuation style, only the
  lede, a shorter cut, and most of that at once). Some of the boilerplate and title forms
  are ones ``story_text`` knows how to strip, some are not;
* merely related pairs: two different articles of the set that share a topic label (the same
  theme, different reporting). Pairs that are in fact the same story in the data (a Google
  News cluster listed twice, in another order) are set aside and shown.

For thresholds 0..20 bits it prints the share of copies detected (recall), the share of
related and of unrelated pairs merged, and the chance that two unrelated texts fall within
the threshold by accident, P(Binomial(64, 1/2) <= k), with what that means at a given load.

Run: ``.venv/bin/python bench/cluster_threshold.py [--limit-words N] [--seed S] [--rounds R]``.
"""

from __future__ import annotations

import argparse
import inspect
import itertools
import json
import random
import re
import sys
from collections.abc import Callable, Iterator
from math import comb
from pathlib import Path
from typing import Any

from newswatch.dedup import NEAR_DUPLICATE_BITS, hamming, simhash, story_text
from newswatch.text import tokens

DATA = Path(__file__).resolve().parents[2] / "shared" / "data" / "articles-dev.jsonl"
MAX_BITS = 20

# Outlet tails. The first four are forms story_text strips; the others it does not know.
BOILERPLATE = [
    "Read more at Kyiv Post.",
    "© Reuters 2025. All rights reserved.",
    "The post {title} appeared first on Euromaidan Press.",
    "(Reporting by Tom Balmforth in Kyiv; Editing by Alex Richardson)",
    "We rely on readers like you. Support independent journalism from Ukraine today.",
    "Got a news tip? Email our newsroom at tips@example.org.",
    "Join our Telegram channel to get the latest updates first.",
]
TITLE_PREFIXES = ["UPDATE 1-", "UPDATE 2-", "EXCLUSIVE-", "Breaking: ", "Ukraine war: "]
TITLE_SUFFIXES = [
    " - Kyiv Post",
    " | Reuters",
    " \u2013 The Guardian",
    " - The New York Times",
    " | Ukrainska Pravda",
]
INSERTIONS = ["evening", "also", "reportedly", "now", "again", "formally", "late", "still"]
REPLACEMENTS = ["reportedly", "officials", "Tuesday", "says", "new", "major", "latest", "also"]


def load(path: Path) -> list[dict[str, Any]]:
    """The articles that have some text, as dicts."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line]
    return [row for row in rows if body(row)]


def body(row: dict[str, Any]) -> str:
    """An article's text as the pipeline would have it: content, else summary."""
    return str(row.get("content") or row.get("summary") or "")


def change_words(text: str, rng: random.Random, count: int) -> str:
    """Replace ``count`` random words (a copy editor's touch)."""
    words = text.split()
    if len(words) < 4:
        return text
    for _ in range(count):
        words[rng.randrange(len(words))] = rng.choice(REPLACEMENTS)
    return " ".join(words)


def add_words(text: str, rng: random.Random, count: int) -> str:
    """Insert ``count`` words at random places ("on Sunday" -> "on Sunday evening")."""
    words = text.split()
    for _ in range(count):
        words.insert(rng.randrange(len(words) + 1), rng.choice(INSERTIONS))
    return " ".join(words)


def restyle(text: str) -> str:
    """Straight quotes, spaced hyphens for dashes, doubled spaces, other line breaks."""
    for old, new in (("\u2019", "'"), ("\u2018", "'"), ("\u201c", '"'), ("\u201d", '"')):
        text = text.replace(old, new)
    text = text.replace("\u2014", " - ").replace("\u2013", "-").replace("\xa0", " ")
    return re.sub(r"([.,;]) ", r"\1  ", text).replace("\n", "\n\n")


def lede(text: str) -> str:
    """Only the first real paragraph, or the first two sentences of a one-paragraph text."""
    paragraphs = [p for p in re.split(r"\n+", text) if p.strip()]
    for paragraph in paragraphs:
        if len(paragraph.split()) >= 20:
            if paragraph != text.strip():
                return paragraph
            break
    sentences = re.split(r"(?<=[.!?])\s+", text.strip())
    return " ".join(sentences[:2]) if len(sentences) > 2 else text


def cut_short(text: str) -> str:
    """The first half of the words, as a feed that truncates its descriptions would."""
    words = text.split()
    return " ".join(words[: max(len(words) // 2, 1)]) + " \u2026"


def copies(row: dict[str, Any], rng: random.Random) -> dict[str, tuple[str, str]]:
    """Syndicated copies of one article, as (title, text) by kind of edit."""
    title, text = str(row["title"]), body(row)

    def tail() -> str:
        return rng.choice(BOILERPLATE).format(title=title)

    def decorated(base: str) -> str:
        return rng.choice(TITLE_PREFIXES) + base + rng.choice(TITLE_SUFFIXES)

    return {
        "boilerplate": (title, f"{text}\n\n{tail()}"),
        "title prefix": (rng.choice(TITLE_PREFIXES) + title, text),
        "title suffix": (title + rng.choice(TITLE_SUFFIXES), text),
        "one word": (title, change_words(text, rng, 1)),
        "added word": (title, add_words(text, rng, 1)),
        "two words": (change_words(title, rng, 1), change_words(text, rng, 1)),
        "punctuation": (restyle(title), restyle(text)),
        "lede only": (title, lede(text)),
        "cut short": (title, cut_short(text)),
        "combined": (
            decorated(restyle(title)),
            change_words(restyle(text), rng, 1) + "\n\n" + tail(),
        ),
    }


def signature(title: str, text: str, limit_words: int) -> int:
    return simhash(story_text(title, text, limit_words))


def jaccard(a: str, b: str) -> float:
    left, right = set(tokens(a)), set(tokens(b))
    return len(left & right) / max(len(left | right), 1)


def random_match(bits: int) -> float:
    """Chance that two unrelated 64-bit signatures differ in at most ``bits`` bits."""
    return sum(comb(64, i) for i in range(bits + 1)) / 2**64


def share(distances: list[int], bits: int) -> float:
    return sum(d <= bits for d in distances) / len(distances) if distances else 0.0


def pairs(
    rows: list[dict[str, Any]], keep: Callable[[dict[str, Any], dict[str, Any]], bool]
) -> Iterator[tuple[dict[str, Any], dict[str, Any]]]:
    return ((a, b) for a, b in itertools.combinations(rows, 2) if keep(a, b))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--limit-words", type=int, default=None, help="story_text word cap")
    parser.add_argument("--seed", type=int, default=2025, help="seed for the random edits")
    parser.add_argument("--rounds", type=int, default=4, help="copies per article and edit")
    parser.add_argument("--new-per-day", type=int, default=10_000, help="articles per day")
    parser.add_argument("--window", type=int, default=30_000, help="articles compared with")
    args = parser.parse_args()
    if not DATA.is_file():
        print(f"cluster_threshold: no data set at {DATA}; it ships in shared/data", file=sys.stderr)
        return 1
    limit: int = args.limit_words or inspect.signature(story_text).parameters["limit_words"].default
    rng = random.Random(args.seed)
    rows = load(DATA)
    base = {row["id"]: signature(row["title"], body(row), limit) for row in rows}
    stories = {row["id"]: story_text(row["title"], body(row), limit) for row in rows}

    by_edit: dict[str, list[int]] = {}
    for row in itertools.chain.from_iterable(itertools.repeat(rows, args.rounds)):
        for edit, (title, text) in copies(row, rng).items():
            if (title, text) == (row["title"], body(row)):
                continue  # the edit did not apply (a lede-only copy of a one-sentence text)
            by_edit.setdefault(edit, []).append(
                hamming(base[row["id"]], signature(title, text, limit))
            )
    syndicated = [d for distances in by_edit.values() for d in distances]

    related: list[int] = []
    same_story: list[tuple[int, str, str]] = []
    for a, b in pairs(rows, lambda a, b: bool(set(a["labels"]) & set(b["labels"]))):
        distance = hamming(base[a["id"]], base[b["id"]])
        if jaccard(stories[a["id"]], stories[b["id"]]) >= 0.6:
            same_story.append((distance, a["title"], b["title"]))
        else:
            related.append(distance)
    unrelated = [
        hamming(base[a["id"]], base[b["id"]])
        for a, b in pairs(rows, lambda a, b: not set(a["labels"]) & set(b["labels"]))
    ]
    comparisons = args.new_per_day * args.window

    print(
        f"{len(rows)} articles, story_text limit {limit} words, "
        f"seed {args.seed}, {args.rounds} rounds of copies"
    )
    print(
        f"{len(syndicated)} syndicated copies, {len(related)} related pairs (shared topic), "
        f"{len(unrelated)} unrelated pairs"
    )
    for distance, left, right in same_story:
        print(
            f"set aside, same story in the data ({distance} bits): {left[:50]!r} / {right[:50]!r}"
        )
    print(f"closest related pairs: {sorted(related)[:5]} bits; unrelated: {sorted(unrelated)[:5]}")
    print()
    print(
        f"{'bits':>4}  {'recall':>6}  {'related merged':>16}  {'unrelated':>9}  "
        f"{'P(random)':>9}  {'random merges/day':>17}"
    )
    merged_related = {}
    for bits in range(MAX_BITS + 1):
        hits = sum(d <= bits for d in related)
        merged_related[bits] = hits / len(related)
        print(
            f"{bits:>4}  {share(syndicated, bits):>6.1%}  "
            f"{hits:>5} ({hits / len(related):>6.2%})  {share(unrelated, bits):>9.3%}  "
            f"{random_match(bits):>9.1e}  {random_match(bits) * comparisons:>17.2f}"
        )
    print(
        f"(random merges/day: {args.new_per_day:,} new articles a day, each compared with "
        f"{args.window:,} known ones)"
    )
    print()
    shown = [6, 8, 9, 10, 12, 14]
    print(f"{'recall by edit':<15}{'copies':>6}" + "".join(f"{b:>7}" for b in shown))
    for edit, distances in by_edit.items():
        print(
            f"{edit:<15}{len(distances):>6}"
            + "".join(f"{share(distances, b):>7.0%}" for b in shown)
        )
    print()

    # The pick: the most recall among thresholds that merge (almost) no related pair here and
    # less than one unrelated pair a day by chance at the stated load.
    candidates = [
        bits
        for bits in range(MAX_BITS + 1)
        if merged_related[bits] <= 0.001 and random_match(bits) * comparisons < 1.0
    ]
    pick = max(candidates, key=lambda b: (share(syndicated, b), -b))
    print(
        f"pick: {pick} bits (recall {share(syndicated, pick):.1%}, related merged "
        f"{merged_related[pick]:.2%}); dedup.NEAR_DUPLICATE_BITS is {NEAR_DUPLICATE_BITS}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
