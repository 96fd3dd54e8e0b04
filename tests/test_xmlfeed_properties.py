"""Property: on random RSS and Atom documents the fast path gives what feedparser gives.

``random_document`` builds documents from the pieces that make feedparser's behaviour odd:
elements of every kind it handles and some it does not, known and unknown namespaces,
``xml:base`` and ``xml:lang`` anywhere, ``type``/``rel``/``isPermaLink`` attributes, text with
character references, CDATA, C1 controls and UTF-8 read as Latin-1, markup escaped, raw or as
XHTML (with and without the wrapping ``<div>``), dates in many formats, author forms, repeated
elements, and now and then a malformation or a DOCTYPE (which must fall back). ``bench/parse.py
--fuzz SECONDS`` runs the same generator for as long as you like.
"""

from __future__ import annotations

import random
import sys
from pathlib import Path
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from newswatch.fetching import parse

sys.path.insert(0, str(Path(__file__).parent / "properties"))
from budget import examples

NAMESPACES = {
    "atom": "http://www.w3.org/2005/Atom",
    "dc": "http://purl.org/dc/elements/1.1/",
    "dcterms": "http://purl.org/dc/terms/",
    "content": "http://purl.org/rss/1.0/modules/content/",
    "media": "http://search.yahoo.com/mrss/",
    "itunes": "http://www.itunes.com/dtds/podcast-1.0.dtd",
    "x": "urn:example:unknown",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "slash": "http://purl.org/rss/1.0/modules/slash/",
    "xhtml": "http://www.w3.org/1999/xhtml",
    "georss": "http://www.georss.org/georss",
}
DATES = (
    "Mon, 24 Nov 2025 18:00:00 GMT",
    "Mon, 24 Nov 2025 18:00:00 +0200",
    "24 Nov 2025 18:00 -0500",
    "Tue, 31 Feb 2025 10:00:00 GMT",
    "Mon, 24 Nov 25 18:00:00 EST",
    "2025-11-24T18:00:00Z",
    "2025-11-24T18:00:00+02:00",
    "2025-11-24T18:00:00.123456-07:30",
    "2025-11-24",
    "2025-11",
    "20251124T180000Z",
    "Mon Nov 24 18:00:00 2025",
    "2025/11/24 18:00:00",
    "yesterday",
    "",
    "  2025-11-24T18:00:00Z  ",
    "Sun, 06 Nov 1994 08:49:37 PST",
    "1994-11-06T08:49:37.5+00:00",
)
WORDS = (
    "Kyiv",
    "talks",
    "AT&amp;T",
    "&lt;b&gt;bold&lt;/b&gt;",
    "&#233;t&#xE9;",
    "&#8212;",
    "&#150;",
    "\u0080\u0093",
    "Ã©",
    "caf\u00e9",
    "\u00a0",
    "  ",
    "\n",
    "<![CDATA[<p>cdata & <b>html</b></p>]]>",
    "<![CDATA[plain]]>",
    "a&amp;b=c&amp;d",
    "x&amp;copy;y",
    "story-7",
    "http://example.org/a?x=1&amp;y=2",
    "/relative/path",
    "mailto:me@example.org",
    "jane@example.org (Jane Doe)",
    "Jane Doe (jane@example.org)",
    "Jane Doe",
    "&lt;/p&gt;",
    "&amp;nbsp;",
)
INLINE = ("p", "b", "a", "img", "br", "span", "em", "strong", "script", "ul", "li", "figure")
ODD_INLINE = ("div", "title", "source", "svg", "body")


def _text(rng: random.Random, words: int = 4) -> str:
    return "".join(rng.choice(WORDS) + rng.choice(("", " ")) for _ in range(rng.randint(0, words)))


PLAIN_VALUES = (
    "http://example.org/base/",
    "sub/",
    "",
    "en",
    "uk_UA",
    "html",
    "text",
    "xhtml",
    "TEXT/HTML",
    "true",
    "false",
    "alternate",
    "self",
    "enclosure",
)
ODD_VALUES = ("image/png", "base64", "escaped", "application/xml")


TYPES = ("html", "text", "xhtml", "TEXT/HTML", "text/plain", "application/xhtml+xml")


def _attrs(rng: random.Random, names: tuple[str, ...]) -> str:
    out = []
    for name in names:
        if rng.random() < 0.3:
            odd = rng.random() < 0.05
            plain = TYPES if name.lower() == "type" else PLAIN_VALUES
            value = rng.choice(ODD_VALUES if odd else plain)
            out.append(f' {name}="{value}"')
    return "".join(out)


def _markup(rng: random.Random, depth: int = 0) -> str:
    parts = []
    for _ in range(rng.randint(0, 3)):
        roll = rng.random()
        if roll < 0.5 or depth > 2:
            text = _text(rng, 3)
            parts.append("" if "CDATA" in text else text)
        else:
            tag = rng.choice(ODD_INLINE if rng.random() < 0.05 else INLINE)
            attrs = _attrs(rng, ("href", "class", "xml:base", "xml:lang", "TYPE"))
            if rng.random() < 0.2:
                parts.append(f"<{tag}{attrs}/>")
            else:
                parts.append(f"<{tag}{attrs}>{_markup(rng, depth + 1)}</{tag}>")
        if rng.random() < 0.1:
            parts.append("<!-- comment -->")
    return "".join(parts)


def _value(rng: random.Random, name: str) -> str:
    if name in ("pubDate", "published", "updated", "dc:date", "lastBuildDate", "dcterms:modified"):
        return rng.choice(DATES)
    roll = rng.random()
    if roll < 0.5:
        return _text(rng)
    if roll < 0.85 or name not in ("content", "summary", "x:thing"):
        return _markup(rng)
    if roll < 0.9 or name != "content":
        return '<div xmlns="http://www.w3.org/1999/xhtml">' + _markup(rng) + "</div>"
    return (
        " \n "
        + '<xhtml:div xmlns:xhtml="http://www.w3.org/1999/xhtml">'
        + _text(rng)
        + "</xhtml:div> "
    )


ITEM_ELEMENTS = (
    "title",
    "link",
    "description",
    "guid",
    "pubDate",
    "author",
    "dc:creator",
    "dc:date",
    "dc:language",
    "dc:subject",
    "content:encoded",
    "category",
    "comments",
    "enclosure",
    "source",
    "media:title",
    "media:description",
    "media:content",
    "media:thumbnail",
    "media:group",
    "x:title",
    "x:thing",
    "summary",
    "content",
    "id",
    "published",
    "updated",
    "atom:link",
    "image",
    "slash:comments",
    "name",
    "ttl",
)
ATOM_ELEMENTS = (
    "title",
    "link",
    "summary",
    "content",
    "id",
    "published",
    "updated",
    "author",
    "category",
    "source",
    "rights",
    "dc:creator",
    "media:thumbnail",
    "x:thing",
    "description",
    "generator",
)
FEED_ELEMENTS = (
    "title",
    "link",
    "description",
    "language",
    "ttl",
    "image",
    "generator",
    "webMaster",
    "managingEditor",
    "copyright",
    "lastBuildDate",
    "atom:link",
    "dc:language",
    "subtitle",
    "id",
    "updated",
    "x:thing",
)


def _element(rng: random.Random, name: str, depth: int = 0) -> str:
    attrs = _attrs(rng, ("xml:base", "xml:lang", "type", "rel", "href", "isPermaLink", "mode"))
    if name in ("link", "atom:link") and rng.random() < 0.5 and " href=" not in attrs:
        href = rng.choice(("http://example.org/x", "rel/x", "", "http://example.org/?a=1&amp;b=2"))
        return f'<{name}{attrs} href="{href}"/>'
    if name in ("author", "source", "image", "media:group") and rng.random() < 0.6 and depth < 2:
        children = rng.sample(("name", "email", "uri", "url", "title", "link", "width"), 2)
        inner = "".join(_element(rng, child, depth + 1) for child in children)
        return f"<{name}{attrs}>{inner}</{name}>"
    if rng.random() < 0.1:
        return f"<{name}{attrs}/>"
    return f"<{name}{attrs}>{_value(rng, name)}</{name}>"


def _declarations(rng: random.Random) -> str:
    names = [n for n in NAMESPACES if rng.random() < 0.98]
    return "".join(f' xmlns:{n}="{NAMESPACES[n]}"' for n in names)


def random_document(rng: random.Random) -> tuple[bytes, dict[str, str]]:
    """A random RSS 2.0, RSS 1.0 or Atom document and the response headers it comes with."""
    kind = rng.choice(("rss", "rss", "atom", "rdf"))
    declarations = _declarations(rng)
    feed_pool = (*FEED_ELEMENTS, "textInput") if rng.random() < 0.05 else FEED_ELEMENTS
    feed_parts = [_element(rng, rng.choice(feed_pool)) for _ in range(rng.randint(0, 6))]
    pool = ATOM_ELEMENTS if kind == "atom" else ITEM_ELEMENTS
    if rng.random() < 0.05:
        pool = (*pool, "itunes:author", "contributor", "georss:point")
    items = []
    for _ in range(rng.randint(0, 4)):
        inner = "".join(_element(rng, rng.choice(pool)) for _ in range(rng.randint(0, 9)))
        tag = "entry" if kind == "atom" else "item"
        about = ' rdf:about="http://example.org/about"' if kind == "rdf" else ""
        items.append(f"<{tag}{about}{_attrs(rng, ('xml:base', 'xml:lang'))}>{inner}</{tag}>")
    root_attrs = _attrs(rng, ("xml:base", "xml:lang"))
    if kind == "rss":
        version = rng.choice(("2.0", "0.91", "0.92", "", "2.01"))
        body = (
            f'<rss version="{version}"{declarations}{root_attrs}><channel>'
            + "".join(feed_parts + items)
            + "</channel></rss>"
        )
    elif kind == "rdf":
        body = (
            '<rdf:RDF xmlns="http://purl.org/rss/1.0/"'
            + declarations.replace(" xmlns:rdf=", " xmlns:r0=")
            + f' xmlns:rdf="{NAMESPACES["rdf"]}"{root_attrs}><channel>'
            + "".join(feed_parts)
            + "</channel>"
            + "".join(items)
            + "</rdf:RDF>"
        )
    else:
        body = (
            f'<feed xmlns="http://www.w3.org/2005/Atom"{declarations}{root_attrs}>'
            + "".join(feed_parts + items)
            + "</feed>"
        )
    head = rng.choice(('<?xml version="1.0" encoding="utf-8"?>\n', "", "  \n", "<!-- c -->"))
    if rng.random() < 0.03:
        head += '<!DOCTYPE rss [<!ENTITY e "x">]>'
    if rng.random() < 0.05:
        body = body.replace("</", "<", 1)
    if rng.random() < 0.03:
        body = body.replace("&amp;", "&", 1)
    data = (head + body).encode("utf-8")
    if rng.random() < 0.05:
        data = data.replace("é".encode(), b"\xe9")
    headers = rng.choice(
        (
            {},
            {"content-type": "application/rss+xml"},
            {"content-type": "application/xml"},
            {"content-type": "application/atom+xml; charset=utf-8", "content-language": "de_DE"},
        )
    )
    if rng.random() < 0.05:
        headers = rng.choice(({"content-type": "text/html"}, {"content-type": "text/xml"}))
    return data, dict(headers)


def outcome(body: bytes, headers: dict[str, str], *, fast: bool) -> Any:
    """parse_document's result or exception, with the fast path allowed or not."""
    parse._FAST_PATH = fast
    try:
        return parse.parse_document(body, url="https://feeds.example/f", headers=dict(headers))
    except Exception as exc:  # feedparser itself raises KeyError on some documents
        return (type(exc).__name__, str(exc))
    finally:
        parse._FAST_PATH = True


@settings(max_examples=examples(300), deadline=None)  # timings on a shared machine are noise
@given(st.randoms(use_true_random=False))
def test_fast_path_equals_feedparser_on_random_documents(rng: random.Random) -> None:
    body, headers = random_document(rng)
    assert outcome(body, headers, fast=True) == outcome(body, headers, fast=False)
