"""Golden output of the tagger: record every match result once, check later that none changed.

Run from the repository root::

    .venv/bin/python bench/tagging_golden.py --record /tmp/tagging-golden.jsonl
    .venv/bin/python bench/tagging_golden.py --check /tmp/tagging-golden.jsonl

For speed work on ``tagging/`` and ``text.py``: the output must stay identical. What is
written, one JSON line per article and corpus:

* every match, failed ones included (``include_failed=True``): topic slug, score rounded to
  6 places, whether it passed its threshold, the evidence list and the snippet;
* a digest of ``tokens()`` and ``token_spans()`` of the title, summary and content (dedup and
  ``suggest`` use ``tokens`` too, so it must not change either).

The topics are those of ``config/newswatch.yaml`` plus the 50 generated user topics of
``bench/tagging.py`` (seed 1). The corpora:

* ``dev``: ``../shared/data/articles-dev.jsonl`` (real articles), with their own language, and
  again with no language and as English, so each goes through the other stemmer paths;
* ``feeds``: every entry of the real feed documents in ``../shared/data/feeds`` (HTML turned
  into text by newswatch's own normalisation);
* ``bench-N``: ``--articles`` generated articles of ``bench/tagging.py`` for each seed in
  ``--seeds``;
* ``edge``: hand-written texts on the tokeniser's edge cases (CJK, combining marks, elision,
  possessives, typographic punctuation, exact-case words, very long bodies).
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import importlib.util
import json
import sys
from collections.abc import Iterator, Sequence
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT.parent / "shared" / "data"
if importlib.util.find_spec("newswatch") is None:
    sys.path.insert(0, str(ROOT / "src"))

from newswatch.tagging.document import Document  # noqa: E402
from newswatch.tagging.matcher import Tagger  # noqa: E402
from newswatch.text import token_spans, tokens, tokens_and_layout  # noqa: E402

# (corpus, id, title, summary, content, language)
Item = tuple[str, str, str, str, str, str | None]


def _bench_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("bench_tagging", ROOT / "bench" / "tagging.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["bench_tagging"] = module
    spec.loader.exec_module(module)
    return module


def dev_items(path: Path) -> Iterator[Item]:
    from newswatch.tagging.records import Record, read_records

    with path.open(encoding="utf-8") as stream:
        records = [r for r in read_records(stream) if isinstance(r, Record)]
    for variant, language in (("dev", None), ("dev-nolang", ""), ("dev-en", "en")):
        for r in records:
            lang = r.language if language is None else (language or None)
            yield variant, r.id, r.title, r.summary, r.content, lang


def feed_items(folder: Path) -> Iterator[Item]:
    from newswatch.errors import NewswatchError
    from newswatch.fetching.parse import parse_document
    from newswatch.normalize import normalize_entry

    fetched = datetime(2026, 1, 1, tzinfo=UTC)
    for path in sorted(folder.glob("*")):
        if path.suffix not in (".xml", ".rss", ".atom", ".json", ".rdf"):
            continue
        url = f"https://example.org/{path.name}"
        try:
            feed = parse_document(path.read_bytes(), url=url)
        except NewswatchError:
            continue
        for index, entry in enumerate(feed.entries):
            article = normalize_entry(
                entry, feed_id=1, feed_url=url, feed_language=feed.language, fetched_at=fetched
            )
            yield (
                "feeds",
                f"{path.name}#{index}",
                article.title,
                article.summary,
                article.content_text,
                article.language,
            )


EDGE_TEXTS = (
    "Zelensky’s envoy met the allies’ negotiators — again — in Kyiv’s centre.",
    "L’Ukraine et l’OTAN : d’adhésion, jusqu’à dell’Ucraina, qu’il soit.",
    "東京で会談、平和計画について。ウクライナ 安全保障",
    "हिन्दी समाचार: शांति वार्ता और सुरक्षा गारंटी",
    "Zéro-day exploit in Ørsted’s grid; Świątek won; naïve café; Straße; ﬁnance ligature",
    "co\u00adoperation soft\u00adhyphen, zero\u200bwidth, word\u2011break, minus \u2212 5",
    "US =US U.S. us; NATO’s NATO-led anti-NATO; e-mail e‐mail; O'Brien o’brien's",
    "under_score snake_case __init__ 3.5% 1,000,000 $5bn 2026-11-26",
    "Article 5-style guarantees. Article-5 style. \"security guarantees\" «гарантії безпеки»",
    "Переговори в Женеві: сторони обговорили гарантії безпеки. П’ять пунктів, п'ять.",
    "Переговоры в Женеве. Стороны обсудили гарантии безопасности. Ёлка, йод.",
    "Rozmowy pokojowe: gwarancje bezpieczeństwa dla Ukrainy. Łódź, źdźbło.",
    "Friedensgespräche über Sicherheitsgarantien; Gebietsabtretungen im Donbas.",
    "ʼapostrophe letter ‘quoted’ `tick´ acute′ prime‛ reversed",
    "   \n\n  \t ",
    "!!!...???",
    "a\u0301 e\u0308 combining accents on Latin; ß ẞ; İstanbul ı",
)


def edge_items() -> Iterator[Item]:
    long_body = " ".join(EDGE_TEXTS[:13]) * 400  # well past the 5,000-token body cap
    for index, text in enumerate(EDGE_TEXTS):
        for language in ("en", "fr", "ru", "uk", None):
            yield "edge", f"{index}-{language}", text, "", text, language
            yield "edge", f"{index}-{language}-sum", "", text, text + " " + text, language
    for language in ("en", None):
        yield "edge", f"long-{language}", EDGE_TEXTS[0], EDGE_TEXTS[8], long_body, language


def bench_items(module: ModuleType, seeds: Sequence[int], count: int) -> Iterator[Item]:
    for seed in seeds:
        for index, a in enumerate(module.make_articles(count, seed)):
            yield f"bench-{seed}", str(index), a.title, a.summary, a.content, a.language


def _digest(values: object) -> str:
    return hashlib.sha256(json.dumps(values, ensure_ascii=False).encode()).hexdigest()[:16]


def golden_lines(tagger: Tagger, items: Iterator[Item]) -> Iterator[str]:
    for corpus, ident, title, summary, content, language in items:
        document = Document.build(title, summary, content, language)
        matches = [
            {
                "slug": m.slug,
                "score": round(m.score, 6),
                "passed": m.passed,
                "evidence": [[e.term, e.field, e.position] for e in m.evidence],
                "snippet": m.snippet,
            }
            for m in tagger.match(document, include_failed=True)
        ]
        texts = (title, summary, content, document.body)
        line = {
            "corpus": corpus,
            "id": ident,
            "matches": matches,
            "tokens": _digest([tokens(t) for t in texts]),
            "spans": _digest([token_spans(t) for t in texts]),
        }
        yield json.dumps(line, ensure_ascii=False, sort_keys=True)


def all_lines(args: argparse.Namespace) -> list[str]:
    module = _bench_module()
    rules = [*module.load_default_rules(module.DEFAULT_CONFIG), *module.make_user_topics(50, 1)]
    tagger = Tagger(rules)
    lines: list[str] = []
    for items in (
        dev_items(DATA / "articles-dev.jsonl"),
        feed_items(DATA / "feeds"),
        edge_items(),
        bench_items(module, args.seeds, args.articles),
    ):
        lines.extend(golden_lines(tagger, items))
    return lines


# -- differential check of the tokeniser ---------------------------------------------------


def reference_normalize(text: str) -> str:
    """``normalize_text`` as first written (every step, whatever the text)."""
    import unicodedata

    from newswatch import text as t

    folded = unicodedata.normalize("NFKC", text.translate(t._FOLD_PUNCTUATION)).casefold()
    folded = unicodedata.normalize(
        "NFC", t._DIACRITICS.sub("", unicodedata.normalize("NFD", folded))
    )
    return " ".join(folded.translate(t._FOLD_PUNCTUATION).split())


def reference_tokens(text: str) -> list[str]:
    """``tokens`` as first written: the token pattern over the normalised text."""
    from newswatch import text as t

    folded = reference_normalize(text)
    pattern = t._token_pattern() if t._needs_full_pattern().search(folded) else t._SIMPLE_TOKEN
    result = pattern.findall(folded)
    for index, token in enumerate(result):
        if "'" in token:
            word = token[:-2] if token.endswith("'s") and len(token) > 2 else token
            result[index] = t._ELISION.sub("", word)
    return result


def reference_spans(text: str) -> list[tuple[int, int]]:
    """``token_spans`` as first written."""
    from newswatch import text as t

    keeping_offsets = {code: value or "a" for code, value in t._FOLD_PUNCTUATION.items()}
    folded = text.translate(keeping_offsets)
    pattern = t._token_pattern() if t._needs_full_pattern().search(folded) else t._SIMPLE_TOKEN
    return [match.span() for match in pattern.finditer(folded)]


#: What random texts are made of: letters, digits and the characters the fast paths treat
#: specially (joiners, folded punctuation, separators they replace, CJK, combining marks,
#: spaces of several kinds, characters NFKC or casefold change).
FUZZ_ALPHABET = (
    "aeiostlnAESTLz09_ '-`.,;:!?()[]\"/\n\t"
    "éüßİıłąжЖйёїґ’‘ʼ´′‛‐‑‒–—―−\u00ad\u200b\u200c\u200d\u2060\ufeff"
    "“”„«»‹›‚\u00a0…•·€£°§№©®™\u2009\u202f\u2007¿¡"
    "東京かナ\u0301\u0308\u093f\u094dक\u2028\u3000ﬁ½²Ⅷ①ｆＡ\u1fef\u1ffd\ufe58\U0001f3ac"
    "\ud800\udfff\x00\x1f\x85"
)
#: Mostly ASCII with the typographic punctuation news is full of: the texts with a layout.
FUZZ_LATIN = "aeiostlnAESTLz09_ '-`.,;:!?()\"/\n’‘–—´′\u00ad"
FUZZ_WORDS = ("l'", "d'", "qu'", "dell'", "'s", "s'", "'s'", "--", "-'", "''", "o'brien", "'")


def layout_spans(layout: str | None, text: str) -> list[tuple[int, int]]:
    """The spans a token layout stands for (the reference's when there is no layout)."""
    import re

    if layout is None:
        return reference_spans(text)
    if len(layout) != len(text):
        return [(-1, -1)]
    return [m.span() for m in re.finditer(r"[^ ]+", layout)]


def fuzz(count: int, seed: int) -> int:
    """Compare tokens, token_spans and normalize_text with the reference on random texts."""
    import random

    from newswatch.text import normalize_text

    rng = random.Random(seed)
    failures = laid_out = 0
    for _ in range(count):
        pieces = []
        alphabet = rng.choice((FUZZ_ALPHABET, FUZZ_LATIN))
        for _ in range(rng.randint(0, 30)):
            if rng.random() < 0.15:
                pieces.append(rng.choice(FUZZ_WORDS))
            else:
                pieces.append(rng.choice(alphabet))
        text = "".join(pieces)
        layout = tokens_and_layout(text)[1]
        laid_out += layout is not None
        checks = (
            ("tokens", tokens(text), reference_tokens(text)),
            ("layout", layout_spans(layout, text), reference_spans(text)),
            ("token_spans", token_spans(text), reference_spans(text)),
            ("normalize_text", normalize_text(text), reference_normalize(text)),
        )
        for name, got, want in checks:
            if got != want:
                failures += 1
                if failures <= 10:
                    print(f"{name}({text!r}):\n  got  {got!r}\n  want {want!r}")
    print(
        f"fuzz: {count} random texts ({laid_out} with a token layout), "
        f"{failures} differences from the reference"
    )
    return failures


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    action = parser.add_mutually_exclusive_group(required=True)
    action.add_argument("--record", type=Path, metavar="FILE", help="write the golden output")
    action.add_argument("--check", type=Path, metavar="FILE", help="compare with FILE")
    action.add_argument(
        "--fuzz", type=int, metavar="N", help="compare the tokeniser with its reference only"
    )
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--articles", type=int, default=2_000, help="per bench seed")
    args = parser.parse_args(argv)
    if args.fuzz:
        return 1 if fuzz(args.fuzz, args.seeds[0]) else 0
    lines = all_lines(args)
    matches = sum(len(json.loads(line)["matches"]) for line in lines)
    if args.record:
        args.record.write_text("\n".join(lines) + "\n", encoding="utf-8")
        print(f"recorded {len(lines)} articles, {matches} matches to {args.record}")
        return 0
    expected = args.check.read_text(encoding="utf-8").splitlines()
    if expected == lines:
        print(f"identical: {len(lines)} articles, {matches} matches ({args.check})")
        return 0
    differing = sum(1 for a, b in zip(expected, lines, strict=False) if a != b)
    differing += abs(len(expected) - len(lines))
    print(f"DIFFERENT: {differing} of {len(expected)} articles differ ({args.check})")
    diff = difflib.unified_diff(expected, lines, "golden", "now", n=0, lineterm="")
    for number, row in enumerate(diff):
        if number >= 40:
            print("…")
            break
        print(row)
    return 1


if __name__ == "__main__":
    sys.exit(main())
