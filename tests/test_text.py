"""HTML to text, sanitising, URLs, normalisation and tokens (newswatch.text)."""

from __future__ import annotations

import hashlib

import pytest
from bs4 import BeautifulSoup, Tag

from newswatch.text import (
    absolute_url,
    canonical_url,
    content_fingerprint,
    html_to_text,
    normalize_text,
    sanitize_html,
    tokens,
)

BASE = "https://example.org/news/feed.xml"
REL = 'rel="noopener noreferrer nofollow"'

# --------------------------------------------------------------------------------------------
# html_to_text
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<p>Hello <b>world</b></p><p>Second</p>", "Hello world\n\nSecond", id="paras"),
        pytest.param("<b>in</b><i>line</i> <span>words</span>", "inline words", id="inline"),
        pytest.param("<p>  a \n\t b  </p>", "a b", id="collapse"),
        pytest.param("one<br>two<br/>three", "one\ntwo\nthree", id="br"),
        pytest.param(
            "<p>Intro</p><ul><li>one</li><li>two</li></ul>", "Intro\n\none\ntwo", id="list"
        ),
        pytest.param(
            "<div><p>a</p></div>\n\n<div><div><section><p>b</p></section></div></div>",
            "a\n\nb",
            id="one-blank-line",
        ),
        pytest.param("<h1>Title</h1>Body text", "Title\n\nBody text", id="heading"),
        pytest.param(
            "<table><tr><td>a</td><td>b</td></tr><tr><td>c</td></tr></table>",
            "a b\nc",
            id="table",
        ),
        pytest.param("<pre>line 1\n  line 2</pre>after", "line 1\nline 2\n\nafter", id="pre"),
        pytest.param(
            "<p>Caf&eacute; &amp; &#8220;quotes&#8221;&nbsp;x &lt;b&gt;</p>",
            "Caf\u00e9 & \u201cquotes\u201d x <b>",
            id="entities",
        ),
        pytest.param("<p>Зеленський &mdash; Київ</p>", "Зеленський \u2014 Київ", id="cyrillic"),
        pytest.param(
            "<script>alert(1)</script><style>p {color: red}</style><p>kept</p>",
            "kept",
            id="script-style",
        ),
        pytest.param(
            "<p>a</p><iframe src='x'>frame</iframe><noscript>enable js</noscript>"
            "<object>obj</object><embed><svg><text>vector</text></svg><template>t</template>"
            "<form>Subscribe <input name=e><button>Go</button></form><p>b</p>",
            "a\n\nb",
            id="dropped-elements",
        ),
        pytest.param(
            "<html><head><title>Page</title><meta charset=utf-8></head>"
            "<body><p>x</p></body></html>",
            "x",
            id="head",
        ),
        pytest.param("<video>Your browser cannot play this</video><p>ok</p>", "ok", id="video"),
        # libxml2 does not know <embed> is void and nests what follows inside it.
        pytest.param("<p>a</p><embed src='x.swf'><p>b</p>", "a\n\nb", id="embed"),
        pytest.param("<p>a<!-- hidden --> b</p>", "a b", id="comment"),
        pytest.param(
            "<?xml version='1.0' encoding='latin-1'?><p>\u00e9</p>", "\u00e9", id="xml-decl"
        ),
        pytest.param("  plain   text \n\n\n\n next\nline ", "plain text\n\nnext\nline", id="plain"),
        pytest.param("AT&amp;T &lt;3", "AT&T <3", id="plain-entities"),
        pytest.param("a < b and c > d", "a < b and c > d", id="stray-angle"),
        pytest.param("<p>unclosed <b>bold", "unclosed bold", id="truncated"),
        pytest.param("x\x00y<b>z</b>", "xyz", id="nul"),
        pytest.param("", "", id="empty"),
        pytest.param("<p> </p><div></div>", "", id="no-text"),
    ],
)
def test_html_to_text(html: str, expected: str) -> None:
    assert html_to_text(html) == expected


@pytest.mark.parametrize(
    "garbage",
    [
        "<",
        "<div",
        "</p></p>",
        "<<<>>>",
        "<a href='x",
        "<p>\ud800</p>",
        "&#xD800;<p>",
        "<!--",
        "<![CDATA[",
    ],
)
def test_html_to_text_never_raises(garbage: str) -> None:
    assert isinstance(html_to_text(garbage), str)


def test_html_to_text_deep_nesting_keeps_everything() -> None:
    # libxml2's tree builder gives up past 256 levels; the streaming collector must not.
    html = "<div>" * 3000 + "deep" + "</div>" * 3000 + "<p>after</p>"
    assert html_to_text(html) == "deep\n\nafter"


# --------------------------------------------------------------------------------------------
# sanitize_html
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("html", "expected"),
    [
        pytest.param("<p>Hi<script>alert(1)</script></p>", "<p>Hi</p>", id="script"),
        pytest.param(
            '<p>a</p><iframe src="https://evil.example/"></iframe>', "<p>a</p>", id="iframe"
        ),
        pytest.param(
            '<p onclick="steal()" onmouseover="x" style="color:red" class="k" id="i">t</p>',
            "<p>t</p>",
            id="event-handlers",
        ),
        pytest.param('<a href="javascript:alert(1)">x</a>', "x", id="javascript-link"),
        pytest.param('<a href=" JaVa&#x09;Script:alert(1)">x</a>', "x", id="obfuscated-js"),
        pytest.param('<a href="vbscript:msgbox">x</a>', "x", id="vbscript"),
        pytest.param('<a href="file:///etc/passwd">x</a>', "x", id="file"),
        pytest.param('<img src="data:image/png;base64,AAAA" alt="d">', "", id="data-img"),
        pytest.param(
            '<a href="/story/1?id=2">t</a>',
            f'<a href="https://example.org/story/1?id=2" {REL}>t</a>',
            id="relative-link",
        ),
        pytest.param(
            '<a href="//cdn.example.net/x">t</a>',
            f'<a href="https://cdn.example.net/x" {REL}>t</a>',
            id="protocol-relative",
        ),
        pytest.param(
            '<a href="https://ok.example/" title="T" target="_blank">ok</a>',
            f'<a href="https://ok.example/" {REL} title="T">ok</a>',
            id="link-attrs",
        ),
        pytest.param(
            '<img src="pics/a.jpg" alt="A map" width="640" height="auto" onerror="x()">',
            '<img alt="A map" src="https://example.org/news/pics/a.jpg" width="640">',
            id="image",
        ),
        pytest.param(
            '<img src="https://example.org/p.gif" width="1" height="1">', "", id="pixel-size"
        ),
        pytest.param(
            '<img src="https://feeds.feedburner.com/~r/Example/~4/abc123">', "", id="feedburner"
        ),
        pytest.param('<img src="https://pixel.wp.com/g.gif?blog=1">', "", id="pixel-host"),
        pytest.param('<img src="https://example.org/pixel.gif?u=1">', "", id="pixel-path"),
        pytest.param('<img src="https://example.org/beacon/open?x=1">', "", id="beacon"),
        pytest.param(
            '<img src="https://example.org/img/pixel-9-review.jpg" alt="Phone">',
            '<img alt="Phone" src="https://example.org/img/pixel-9-review.jpg">',
            id="not-a-pixel",
        ),
        pytest.param('<img src="https://ad.doubleclick.net/ddm/ad/x;ord=1">', "", id="doubleclick"),
        pytest.param('<img src="https://example.org/a.png" style="display:none">', "", id="hidden"),
        pytest.param(
            '<font color="red">red</font> <center><p>x</p></center>', "red <p>x</p>", id="unwrap"
        ),
        pytest.param(
            "<div>a<svg><text>vector</text></svg><form>f<input></form><style>s</style></div>",
            "<div>a</div>",
            id="removed-with-content",
        ),
        pytest.param("<p>a<!-- secret --></p>", "<p>a</p>", id="comment"),
        pytest.param(
            '<p>a</p><embed src="https://x.example/e.swf"><p>b</p>', "<p>a</p><p>b</p>", id="embed"
        ),
        pytest.param(
            "<html><head><title>T</title><base href='https://evil.example/'></head>"
            "<body><p>x</p></body></html>",
            "<p>x</p>",
            id="document",
        ),
        pytest.param("a < b & c", "a &lt; b &amp; c", id="plain-text"),
        pytest.param(
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
            "<p>&lt;script&gt;alert(1)&lt;/script&gt;</p>",
            id="escaped-stays-escaped",
        ),
        pytest.param(
            '<td colspan="2" rowspan="x" width="9">c</td>', '<td colspan="2">c</td>', id="cells"
        ),
        pytest.param(
            '<time datetime="2025-12-14" class="t">Sunday</time>'
            '<abbr title="North Atlantic">NATO</abbr>',
            '<time datetime="2025-12-14">Sunday</time><abbr title="North Atlantic">NATO</abbr>',
            id="time-abbr",
        ),
        pytest.param("<p>Привіт, світ</p>", "<p>Привіт, світ</p>", id="cyrillic-not-entities"),
    ],
)
def test_sanitize_html(html: str, expected: str) -> None:
    assert sanitize_html(html, BASE) == expected


def test_sanitize_without_base_drops_relative_urls() -> None:
    assert sanitize_html('<p><a href="/x">rel</a><img src="/a.png"></p>') == "<p>rel</p>"


ALLOWED_TAGS = {
    "p",
    "br",
    "a",
    "em",
    "strong",
    "b",
    "i",
    "u",
    "s",
    "sub",
    "sup",
    "ul",
    "ol",
    "li",
    "blockquote",
    "q",
    "cite",
    "pre",
    "code",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "img",
    "figure",
    "figcaption",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "dl",
    "dt",
    "dd",
    "span",
    "div",
    "abbr",
    "time",
}
ALLOWED = {
    "a": {"href", "title", "rel"},
    "img": {"src", "alt", "title", "width", "height"},
    "td": {"colspan", "rowspan"},
    "th": {"colspan", "rowspan"},
    "abbr": {"title"},
    "time": {"datetime"},
}
NASTY = [
    '<a href="https://x.example/" title="&quot;&gt;<script>alert(1)</script>">x</a>',
    "<svg><a xlink:href='javascript:alert(1)'>x</a></svg><math><mi>y</mi></math>",
    "<table><tr><td><a href='jav\nascript:x'>t</a></td></tr></table><img src=x onerror=alert(1)>",
    "<noscript><p title='</noscript><img src=x onerror=alert(1)>'></noscript>",
    "<textarea><script>alert(1)</script></textarea><xmp><b>x</b></xmp>",
    "<div style='background:url(javascript:alert(1))'><p data-x='1' aria-label='a'>q</p></div>",
    "<object data='x.swf'><param name=a value=b></object><embed src='x'>",
    "<meta http-equiv='refresh' content='0;url=javascript:alert(1)'><link rel=import href=x>",
    "<a href='http://ok.example/'><img src='https://ok.example/a.png' width='0'></a>",
    "<p><a>anchor</a><a name='n' href='#top'>top</a></p>",
]


@pytest.mark.parametrize("html", NASTY)
def test_sanitized_output_only_contains_allowed_markup(html: str) -> None:
    clean = sanitize_html(html, BASE)
    soup = BeautifulSoup(clean, "html.parser")
    for tag in soup.find_all(True):
        assert isinstance(tag, Tag)
        assert tag.name in ALLOWED_TAGS
        assert set(tag.attrs) <= ALLOWED.get(tag.name, set())
        for name in ("href", "src"):
            if name in tag.attrs:
                assert str(tag[name]).startswith(("http://", "https://"))
    assert "script" not in clean.lower() or "&lt;script" in clean.lower()
    assert sanitize_html(clean, BASE) == clean  # sanitising is idempotent


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("url", "base", "expected"),
    [
        ("https://example.org/a", None, "https://example.org/a"),
        ("  https://example.org/a \n", None, "https://example.org/a"),
        ("/b?x=1", "https://example.org/a/feed", "https://example.org/b?x=1"),
        ("c.html", "https://example.org/a/feed", "https://example.org/a/c.html"),
        ("//cdn.example.net/x", "http://example.org/", "http://cdn.example.net/x"),
        ("//cdn.example.net/x", None, None),
        ("/relative", None, None),
        ("javascript:alert(1)", BASE, None),
        ("java\tscript:alert(1)", BASE, None),
        ("data:text/html,hi", BASE, None),
        ("mailto:a@example.org", BASE, None),
        ("ftp://example.org/f", None, None),
        ("http:///nohost", None, None),
        ("https://example.org:notaport/", None, None),
        ("", BASE, None),
        (None, BASE, None),
    ],
)
def test_absolute_url(url: str | None, base: str | None, expected: str | None) -> None:
    assert absolute_url(url, base) == expected


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        pytest.param(
            "https://example.org/a?utm_source=rss&id=5&UTM_Medium=feed&fbclid=IwAR0",
            "https://example.org/a?id=5",
            id="utm-fbclid",
        ),
        pytest.param(
            "https://example.org/a?gclid=1&msclkid=2&mc_cid=3&mc_eid=4&_hsenc=5&igshid=6&b=2&a=1",
            "https://example.org/a?b=2&a=1",
            id="click-ids-keep-order",
        ),
        pytest.param("HTTPS://WWW.Example.ORG/Path", "https://www.example.org/Path", id="case"),
        pytest.param("https://example.org:443/a", "https://example.org/a", id="https-port"),
        pytest.param("http://example.org:80/a", "http://example.org/a", id="http-port"),
        pytest.param("http://example.org:8080/a", "http://example.org:8080/a", id="other-port"),
        pytest.param("https://example.org:80/a", "https://example.org:80/a", id="swapped-port"),
        pytest.param("https://example.org/a#comments", "https://example.org/a", id="fragment"),
        pytest.param("https://example.org", "https://example.org/", id="empty-path"),
        pytest.param("https://example.org/a?", "https://example.org/a", id="empty-query"),
        pytest.param(
            "https://example.org/a?utm_campaign=x", "https://example.org/a", id="only-tracking"
        ),
        pytest.param("https://пример.рф/", "https://xn--e1afmkfd.xn--p1ai/", id="idna"),
        pytest.param(
            "https://example.org/%7euser/%e2%82%ac/a%2fb",
            "https://example.org/~user/%E2%82%AC/a%2Fb",
            id="escapes",
        ),
        pytest.param(
            "https://example.org/a/./b/../c", "https://example.org/a/c", id="dot-segments"
        ),
        pytest.param("https://example.org/a?ref=rss", "https://example.org/a", id="ref-label"),
        pytest.param(
            "https://github.com/o/r/blob/x.py?ref=main",
            "https://github.com/o/r/blob/x.py?ref=main",
            id="ref-content",
        ),
        pytest.param(
            "https://example.org/a?ref_src=twsrc%5Etfw", "https://example.org/a", id="ref-src"
        ),
        pytest.param("javascript:alert(1)", None, id="rejected"),
    ],
)
def test_canonical_url(url: str, expected: str | None) -> None:
    assert canonical_url(url) == expected
    if expected is not None:
        assert canonical_url(expected) == expected  # a canonical URL is its own canonical form


@pytest.mark.parametrize(
    "variant",
    [
        "https://www.example.org/world/2025/12/peace-talks",
        "HTTPS://WWW.EXAMPLE.ORG:443/world/2025/12/peace-talks",
        "https://www.example.org/world/2025/12/peace-talks?utm_source=feedburner&utm_medium=feed",
        "https://www.example.org/world/2025/12/peace-talks#comments",
        "https://www.example.org/world/2025/12/peace-talks?fbclid=IwAR123&gclid=abc",
        "/world/2025/12/peace-talks?ocid=rss",
        "  https://www.example.org/world/./2025/12/peace-talks?  ",
    ],
)
def test_canonical_url_equivalent_spellings(variant: str) -> None:
    expected = "https://www.example.org/world/2025/12/peace-talks"
    assert canonical_url(variant, "https://www.example.org/feed") == expected


# --------------------------------------------------------------------------------------------
# Normalisation, tokens, fingerprints
# --------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Зеленський", "зеленськии"),
        ("КИЇВ", "киів"),
        ("Café Naïve ÉLAN", "cafe naive elan"),
        ("Straße", "strasse"),
        ("\ufb01nance \u2166", "finance vii"),
        ("don\u2019t \u2018quote\u2019 \u02bcx `y \u00b4z \u2032", "don't 'quote' 'x 'y 'z '"),
        (
            "a \u2010 b \u2011 c \u2012 d \u2013 e \u2014 f \u2015 g \u2212 h",
            "a - b - c - d - e - f - g - h",
        ),
        (
            "soft\u00adhyphen zero\u200bwidth join\u200d\u2060er\ufeff",
            "softhyphen zerowidth joiner",
        ),
        ("  many \t\n\u00a0 spaces ", "many spaces"),
        ("Łódź Kraków", "łodz krakow"),
    ],
)
def test_normalize_text(text: str, expected: str) -> None:
    assert normalize_text(text) == expected


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ("ЗЕЛЕНСЬКИЙ заявив", "Зеленський  заявив"),
        ("Zelensky\u2019s plan \u2014 “20 points”", "zelensky's plan - “20 points”"),
        ("Kyiv\u00a0Independent", "kyiv independent"),
        ("e\u0301lan", "\u00e9lan"),  # decomposed and composed accents
    ],
)
def test_normalize_text_equates_variants(left: str, right: str) -> None:
    assert normalize_text(left) == normalize_text(right)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Zelensky's plan", ["zelensky", "plan"]),
        ("Zelensky\u2019s plan", ["zelensky", "plan"]),
        ("the allies' troops", ["the", "allies", "troops"]),
        ("don't O'Brien", ["don't", "o'brien"]),
        ("п'ять п\u2019ять п\u02bcять", ["п'ять", "п'ять", "п'ять"]),
        ("20-point peace-plan, Article-5-style", ["20-point", "peace-plan", "article-5-style"]),
        ("-leading and trailing- 'quoted'", ["leading", "and", "trailing", "quoted"]),
        ("snake_case €90bn 3.5%", ["snake", "case", "90bn", "3", "5"]),
        ("和平谈判", ["和", "平", "谈", "判"]),
        ("हिन्दी ગુજરાતી", ["हिन्दी", "ગુજરાતી"]),
        ("", []),
    ],
)
def test_tokens(text: str, expected: list[str]) -> None:
    assert tokens(text) == expected


def test_content_fingerprint() -> None:
    expected = hashlib.sha256(b"peace talks\nin geneva").hexdigest()
    assert content_fingerprint("Peace  Talks", "In\nGeneva") == expected
    assert content_fingerprint("Peace talks", "In Geneva") == content_fingerprint(
        "PEACE TALKS", "in  geneva "
    )
    assert content_fingerprint("Peace talks", "In Geneva") != content_fingerprint(
        "Peace talks", "In Berlin"
    )
    # The separator keeps title and text apart.
    assert content_fingerprint("a b", "c") != content_fingerprint("a", "b c")


def test_plain_text_loses_control_characters() -> None:
    from newswatch.text import html_to_text as to_text

    assert to_text("Breaking\x1b[2J news\x07 today") == "Breaking[2J news today"
