"""Properties of HTML handling (``newswatch.text.html_to_text`` and ``sanitize_html``).

``html_to_text`` runs on every ingested entry and ``sanitize_html`` on everything shown to a
person, both on markup written by strangers: neither may raise on any text. Text must come
out without markup, keeping the visible words and none of the script or style ones; sanitised
HTML must carry no active content (scripts, event handlers, ``javascript:`` URLs), checked by
parsing the output with another HTML parser rather than by searching its text.
"""

from __future__ import annotations

import html
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswatch.text import html_to_text, sanitize_html

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=200)

#: Markup fragments, whole and broken, mixed into arbitrary text.
_FRAGMENTS = [
    "<",
    ">",
    "</",
    "<p>",
    "</p>",
    "<br/>",
    "<!--",
    "-->",
    "<![CDATA[",
    "]]>",
    "<?xml version='1.0' encoding='latin-1'?>",
    "<!DOCTYPE html>",
    "<script>",
    "</script>",
    "<style>",
    "<pre>",
    "</pre>",
    "<table><tr><td>",
    "<embed>",
    "<svg><foreignObject>",
    "<math>",
    "<template>",
    "<a href='javascript:x'>",
    "&",
    "&amp;",
    "&lt;",
    "&#0;",
    "&#x110000;",
    "&#xd800;",
    "&nbsp;",
    "&bogus;",
    "\x00",
    "\x1b[31m",
    "\ud800",
    "\ufeff",
    "<p " + "a=1 " * 50 + ">",
]
MARKUP_SOUP = st.lists(st.one_of(st.sampled_from(_FRAGMENTS), ANY_TEXT), max_size=20).map("".join)
HTML_INPUT = st.one_of(ANY_TEXT, MARKUP_SOUP)

_CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")


@settings(max_examples=examples(500))
@given(text=HTML_INPUT)
def test_html_to_text_never_raises(text: str) -> None:
    result = html_to_text(text)

    assert isinstance(result, str)
    assert result == result.strip()
    assert not _CONTROLS.search(result), "control characters reach the reader"
    assert "\n\n\n" not in result


@settings(max_examples=examples(500))
@given(text=HTML_INPUT, base=st.sampled_from([None, "https://example.org/news/", "javascript:"]))
# A lone surrogate in markup (a JSON feed's "\ud800" decodes to one); html_to_text copes.
@example(text="<p>a\ud800b</p>", base=None)
# A second XML declaration (only the first is stripped) makes bs4 warn, and pytest runs with
# warnings as errors: a library's warning escaping is a failure here, as it is in CI.
@example(text="<?xml version='1.0'?><?xml version='1.0'?><p>x</p>", base=None)
def test_sanitize_html_never_raises(text: str, base: str | None) -> None:
    assert isinstance(sanitize_html(text, base), str)


# -- generated documents ----------------------------------------------------------------------

#: Elements whose text is read.
TEXT_TAGS = [
    "p",
    "div",
    "span",
    "b",
    "i",
    "em",
    "strong",
    "a",
    "h1",
    "h3",
    "blockquote",
    "section",
    "article",
    "ul",
    "ol",
    "li",
    "pre",
    "code",
    "figure",
    "figcaption",
    "abbr",
    "time",
    "font",
    "center",
    "x-widget",
]
#: Elements whose text is dropped, with everything in them.
DROPPED_TAGS = ["script", "style", "template", "noscript", "iframe", "object", "textarea"]
#: Elements with no content.
VOID_TAGS = ["br", "hr", "img", "wbr"]

#: Words of visible text ("vis…") and words placed only inside dropped elements ("hid…").
VISIBLE_WORD = st.text("abcdefxyz", min_size=1, max_size=5).map("vis{}".format)
HIDDEN_WORD = st.text("abcdefxyz", min_size=1, max_size=5).map("hid{}".format)
#: Text around words: anything but markup and entity characters, and no letters or digits;
#: at least one character, so words of neighbouring text nodes do not run together.
FILLER = st.text(st.sampled_from(" \t\n.,;:!?-—«»()'\"/>=%"), min_size=1, max_size=3)

ATTRIBUTE = st.sampled_from(
    [
        ' class="lead"',
        ' title="a &amp; b"',
        " hidden",
        ' data-x="1"',
        ' href="https://example.org/a"',
        ' style="color: red"',
    ]
)


@dataclass
class Fragment:
    """A piece of generated HTML and the words a reader should and should not see in it."""

    markup: str
    visible: list[str] = field(default_factory=list)
    hidden: list[str] = field(default_factory=list)
    tags: set[str] = field(default_factory=set)


@st.composite
def _text_node(draw: st.DrawFn) -> Fragment:
    words = draw(st.lists(VISIBLE_WORD, min_size=1, max_size=3))
    text = draw(FILLER) + " ".join(words) + draw(FILLER)
    return Fragment(html.escape(text, quote=False), visible=words)


def _element(children: st.SearchStrategy[list[Fragment]]) -> st.SearchStrategy[Fragment]:
    @st.composite
    def build(draw: st.DrawFn) -> Fragment:
        kind = draw(st.sampled_from(["text", "text", "text", "dropped", "void"]))
        attributes = "".join(draw(st.lists(ATTRIBUTE, max_size=2)))
        if kind == "void":
            name = draw(st.sampled_from(VOID_TAGS))
            return Fragment(f"<{name}{attributes}>", tags={name})
        if kind == "dropped":
            name = draw(st.sampled_from(DROPPED_TAGS))
            words = draw(st.lists(HIDDEN_WORD, min_size=1, max_size=3))
            return Fragment(
                f"<{name}{attributes}> {' '.join(words)} </{name}>", hidden=words, tags={name}
            )
        name = draw(st.sampled_from(TEXT_TAGS))
        if draw(st.booleans()):
            name = name.upper()
        inner = draw(children)
        return Fragment(
            f"<{name}{attributes}>{''.join(f.markup for f in inner)}</{name}>",
            visible=[w for f in inner for w in f.visible],
            hidden=[w for f in inner for w in f.hidden],
            tags={name.lower()}.union(*(f.tags for f in inner)),
        )

    return build()


def _concat(parts: list[Fragment]) -> Fragment:
    return Fragment(
        "".join(p.markup for p in parts),
        visible=[w for p in parts for w in p.visible],
        hidden=[w for p in parts for w in p.hidden],
        tags=set().union(*(p.tags for p in parts)),
    )


FRAGMENTS: st.SearchStrategy[Fragment] = st.recursive(
    _text_node(),
    lambda inner: _element(st.lists(inner, min_size=1, max_size=4)),
    max_leaves=12,
)
DOCUMENTS = st.lists(FRAGMENTS, min_size=1, max_size=3).map(_concat)


@st.composite
def wrapped_documents(draw: st.DrawFn) -> Fragment:
    """A generated fragment, bare or in a whole document with a head."""
    body = draw(DOCUMENTS)
    if draw(st.booleans()):
        return body
    return Fragment(
        "<!DOCTYPE html><html><head><title>hidtitle</title><meta charset='utf-8'>"
        f"<style>p {{ color: red }}</style></head><body>{body.markup}</body></html>",
        visible=body.visible,
        hidden=[*body.hidden, "hidtitle"],
        tags=body.tags,
    )


@settings(max_examples=examples(200))
@given(document=wrapped_documents())
def test_html_to_text_returns_the_visible_words_and_no_markup(document: Fragment) -> None:
    text = html_to_text(document.markup)

    # No markup: the generated text nodes hold no "<", so any "<" would be a tag let through.
    assert "<" not in text, text
    for name in document.tags:
        assert f"<{name}" not in text.lower()
    words = re.findall(r"[a-z]+", text)
    # Every visible word, in document order; no word of a script, style or other dropped part.
    assert words == document.visible
    assert not set(words) & set(document.hidden)


# -- sanitising -------------------------------------------------------------------------------

_JAVASCRIPT = st.sampled_from(
    [
        "javascript:alert(1)",
        "JaVaScRiPt:alert(1)",
        " javascript:alert(1)",
        "java\tscript:alert(1)",
        "java\nscript:alert(1)",
        "\x01javascript:alert(1)",
        "&#106;avascript:alert(1)",
        "&#x6A;avascript:alert(1)",
        "javascript&colon;alert(1)",
        "vbscript:msgbox(1)",
        "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
        "//evil.example/x.js",
        "/relative",
    ]
)
_HANDLER = st.sampled_from(["onclick", "onerror", "ONLOAD", "onmouseover", "onfocus", "OnBlur"])
_QUOTING = st.sampled_from(['"{}"', "'{}'", "{}"])


@st.composite
def _hostile(draw: st.DrawFn) -> str:
    url = draw(_JAVASCRIPT)
    quoted = draw(_QUOTING).format(url)
    handler = f"{draw(_HANDLER)}={draw(_QUOTING).format('alert(1)')}"
    tag = draw(st.sampled_from(["p", "a", "img", "div", "span", "td", "svg", "body", "x-y"]))
    return draw(
        st.sampled_from(
            [
                "<script>alert(1)</script>",
                "<SCRIPT SRC=//evil.example/x.js></SCRIPT>",
                "<scr<script>ipt>alert(1)</script>",
                "<script>/*",
                f"<a href={quoted}>link</a>",
                f"<img src={quoted}>",
                f"<img src=x {handler}>",
                f"<{tag} {handler}>text</{tag}>",
                f"<iframe src={quoted}></iframe>",
                f"<svg><a xlink:href={quoted}><text>x</text></a></svg>",
                f"<form action={quoted}><button formaction={quoted}>go</button></form>",
                "<style>body { background: url(javascript:alert(1)) }</style>",
                f"<p style={draw(_QUOTING).format('background:url(javascript:alert(1))')}>x</p>",
                f"<object data={quoted}></object>",
                f"<embed src={quoted}>",
                f"<meta http-equiv=refresh content='0;url={url}'>",
                f"<base href={quoted}>",
                f"<math><mtext><table><mglyph><style><img src=x {handler}>",
                "<noscript><p title='</noscript><img src=x onerror=alert(1)>'>",
                f"<a href={quoted} {handler}>both</a>",
                f"<!--<img src=x {handler}>-->",
            ]
        )
    )


SAFE_PIECES = st.one_of(
    FRAGMENTS.map(lambda fragment: fragment.markup),
    st.text(max_size=30).map(lambda text: html.escape(text, quote=False)),
)
HOSTILE_HTML = st.lists(st.one_of(_hostile(), SAFE_PIECES), min_size=1, max_size=8).map("".join)

_ACTIVE_TAGS = {
    "script",
    "style",
    "iframe",
    "frame",
    "object",
    "embed",
    "form",
    "button",
    "svg",
    "math",
    "meta",
    "base",
    "link",
    "noscript",
    "template",
}


class _Inspector(HTMLParser):
    """Collects every tag and attribute of sanitised output, as a browser would parse it."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attributes.extend((tag, name, value) for name, value in attrs)

    handle_startendtag = handle_starttag


@settings(max_examples=examples(300))
@given(markup=HOSTILE_HTML, base=st.sampled_from([None, "https://example.org/news/feed.xml"]))
def test_sanitized_html_has_no_active_content(markup: str, base: str | None) -> None:
    cleaned = sanitize_html(markup, base)
    inspector = _Inspector()
    inspector.feed(cleaned)
    inspector.close()

    assert not _ACTIVE_TAGS & set(inspector.tags), cleaned
    for tag, name, value in inspector.attributes:
        assert not name.startswith("on"), f"event handler {name} on <{tag}>: {cleaned}"
        assert name != "style", cleaned
        if name in ("href", "src"):
            assert value is not None
            assert re.match(r"https?://[^/?#\s]", value), f"{name}={value!r}: {cleaned}"
