"""``sanitize_html`` gives exactly what its first, BeautifulSoup-based version gave, and
``text_and_safe_html`` exactly what ``html_to_text`` and ``sanitize_html`` give.

The reference is kept in ``sanitize_reference.py``. Inputs: the generated documents, hostile
markup and markup soup of ``test_html_properties.py``, and markup aimed at the rules (allowed
tags with the attributes they keep or lose, links and images with every kind of URL, tracking
pixels, whitespace between tags, ``pre``, content libxml2 nests inside void elements).
"""

from __future__ import annotations

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from sanitize_reference import reference_sanitize_html
from test_html_properties import HOSTILE_HTML, HTML_INPUT, wrapped_documents

from newswatch.text import html_to_text, sanitize_html, text_and_safe_html

BASES = st.sampled_from([None, "https://example.org/news/feed.xml", "http://h.example", "x:"])

_TAGS = [
    "p",
    "a",
    "img",
    "br",
    "hr",
    "td",
    "th",
    "tr",
    "table",
    "abbr",
    "time",
    "pre",
    "textarea",
    "span",
    "div",
    "embed",
    "wbr",
    "source",
    "input",
    "font",
    "script",
    "style",
    "svg",
    "head",
    "body",
    "html",
    "o:p",
    "x-y",
]
_NAMES = [
    "href",
    "src",
    "title",
    "alt",
    "width",
    "height",
    "colspan",
    "rowspan",
    "datetime",
    "style",
    "class",
    "rel",
    "onclick",
    "HREF",
]
_VALUES = [
    "",
    " 1 ",
    "2",
    "3px",
    "640",
    "007",
    "1.5",
    "auto",
    "display:none",
    "width: 1px",
    "/a b.png",
    "pics/a.jpg",
    "//cdn.example/x?y=1&z=2",
    "https://example.org/pixel.gif",
    "https://feeds.feedburner.com/~r/x/~4/y",
    "https://ok.example/a?x=<b>&y='q'",
    'say "hi"',
    "it's",
    "both ' and \"",
    "javascript:alert(1)",
    "java\tscript:x",
    "mailto:a@b.c",
    "Київ & co",
    "\u00a0padded\u00a0",
]
_TEXT = st.sampled_from(
    [
        "",
        " ",
        "\n",
        "  \n\t ",
        "\r\n",
        "\u00a0",
        "word",
        " two words ",
        "a & b < c > d",
        "&amp; &lt;x&gt; &nbsp; &#8217; &bogus;",
        "<!-- c -->",
        "<!---->",
        "<?php x ?>",
        "<!DOCTYPE html>",
        "<![CDATA[x]]>",
        "\x00\x1b",
        "\ufeff",
    ]
)


@st.composite
def _attributes(draw: st.DrawFn) -> str:
    pairs = draw(st.lists(st.tuples(st.sampled_from(_NAMES), st.sampled_from(_VALUES)), max_size=4))
    quoting = draw(st.sampled_from(["'", '"']))
    rendered = []
    for name, value in pairs:
        escaped = value.replace(quoting, "&quot;" if quoting == '"' else "&#39;")
        rendered.append(f" {name}={quoting}{escaped}{quoting}")
    if draw(st.booleans()):
        rendered.append(" " + draw(st.sampled_from(_NAMES)))  # no value
    return "".join(rendered)


def _markup(children: st.SearchStrategy[list[str]]) -> st.SearchStrategy[str]:
    @st.composite
    def build(draw: st.DrawFn) -> str:
        name = draw(st.sampled_from(_TAGS))
        inner = "".join(draw(children))
        close = draw(st.sampled_from([f"</{name}>", f"</{name}>", ""]))
        return f"<{name}{draw(_attributes())}>{inner}{close}"

    return build()


RULE_MARKUP = st.recursive(
    _TEXT, lambda inner: _markup(st.lists(inner, max_size=4)), max_leaves=16
).map(str)
RULE_DOCUMENTS = st.lists(st.one_of(RULE_MARKUP, _TEXT), min_size=1, max_size=5).map("".join)


def _same(markup: str, base: str | None) -> None:
    assert sanitize_html(markup, base) == reference_sanitize_html(markup, base)


@settings(max_examples=examples(400))
@given(markup=RULE_DOCUMENTS, base=BASES)
@example(markup="<p>a</p>\n  <p>b</p><pre>\n  x\n</pre>", base=None)
@example(markup="<embed src=x><p>in</p><img src='https://e.example/a.png'>t", base=None)
@example(markup='<img src="https://e.example/a.png" alt=\'say "hi"\' width=" 1 ">', base=None)
@example(markup="<div>" * 1200 + "deep" + "</div>" * 1200 + "<p>after</p>", base=None)
def test_rules_match_the_reference(markup: str, base: str | None) -> None:
    _same(markup, base)


@settings(max_examples=examples(200))
@given(markup=HOSTILE_HTML, base=BASES)
def test_hostile_markup_matches_the_reference(markup: str, base: str | None) -> None:
    _same(markup, base)


@settings(max_examples=examples(200))
@given(markup=HTML_INPUT, base=BASES)
def test_markup_soup_matches_the_reference(markup: str, base: str | None) -> None:
    _same(markup, base)


@settings(max_examples=examples(100))
@given(document=wrapped_documents(), base=BASES)
def test_documents_match_the_reference(document: object, base: str | None) -> None:
    _same(document.markup, base)  # type: ignore[attr-defined]


ANY_MARKUP = st.one_of(
    RULE_DOCUMENTS, HOSTILE_HTML, HTML_INPUT, wrapped_documents().map(lambda d: d.markup)
)


@settings(max_examples=examples(400))
@given(markup=ANY_MARKUP, base=BASES)
@example(markup="<pre>a\n  b<!-- c -->\n d</pre><p> x\n\n</p>", base=None)
@example(markup="<p>\ud800</p>", base=None)
@example(markup="\ufeff<p>bom</p>", base=None)
@example(markup="<?xml version='1.0'?><p>a</p><?xml version='1.0'?><p>b</p>", base=None)
@example(markup="<div>" * 1200 + "deep" + "</div>" * 1200 + "<p>after</p>", base=None)
def test_text_and_safe_html_is_both_functions(markup: str, base: str | None) -> None:
    assert text_and_safe_html(markup, base) == (html_to_text(markup), sanitize_html(markup, base))
