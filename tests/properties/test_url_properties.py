"""Properties of URL canonicalisation (``newswatch.text.canonical_url``).

The canonical URL is the identity used to deduplicate entries, so it must be a fixed point
(canonicalising it again changes nothing), must itself be a usable http(s) URL, and must never
raise, whatever a feed puts in a link: feeds are written by strangers, and a JSON feed can
even carry lone surrogates (``"\\ud800"`` decodes to one).
"""

from __future__ import annotations

import re
from urllib.parse import unquote_plus, urlsplit

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st

from newswatch.text import absolute_url, canonical_url

# -- strategies -------------------------------------------------------------------------------

#: Any character Python can hold in a str: surrogates and C0/C1 controls included.
ANY_CHAR = st.characters(exclude_categories=())
ANY_TEXT = st.text(ANY_CHAR, max_size=60)

#: Pieces that exercise the parts of canonicalisation with rules of their own.
_ODD = [
    ".",
    "..",
    "%2e",
    "%2E",
    "%2e%2e",
    "%2E%2e",
    ".%2e",
    "%",
    "%4",
    "%41",
    "%7e",
    "%7E",
    "%zz",
    "%25",
    "%2F",
    "%c3%a9",
    "é",
    "ß",
    "日本",
    "\u00ad",
    "\u200b",
    "\ud800",
    "\udfff",
    "\x00",
    "\x7f",
    "\t",
    "\n",
    " ",
    "\\",
    "@",
    ":",
    "[",
    "]",
    "~",
    "+",
    ";",
]
SEGMENT = st.one_of(
    st.sampled_from(_ODD),
    st.text("abcXYZ019-_.~%", max_size=6),
    st.text(ANY_CHAR, max_size=4),
)
PATH = st.lists(SEGMENT, max_size=6).map(lambda segments: "/" + "/".join(segments))

LABEL = st.one_of(
    st.from_regex(r"[a-zA-Z0-9]([a-zA-Z0-9-]{0,8}[a-zA-Z0-9])?", fullmatch=True),
    st.sampled_from(["xn--nxasmq6b", "xn--", "EXAMPLE", "bücher", "пример", "ＡＢＣ", "a\u00adb"]),
    st.text(ANY_CHAR, min_size=1, max_size=4),
)
HOST = st.one_of(
    st.lists(LABEL, min_size=1, max_size=4).map(".".join),
    st.lists(LABEL, min_size=1, max_size=3).map(lambda labels: ".".join(labels) + "."),
    st.sampled_from(
        [
            "",
            ".",
            "..",
            "127.0.0.1",
            "[::1]",
            "[2001:DB8::1]",
            "[fe80::1%25eth0]",
            "[v1.x]",
            "[::1",
            "::1]",
            "[not-ipv6]",
            "localhost",
        ]
    ),
)
PORT = st.one_of(
    st.just(""),
    st.integers(min_value=0, max_value=70000).map(lambda port: f":{port}"),
    st.sampled_from([":", ":80", ":443", ":080", ":0443", ":+80", ":-1", ":٨٠", ":http", ": 80"]),
)
USERINFO = st.one_of(
    st.just(""),
    st.sampled_from(["user@", "user:pass@", "@", "a@b@", "%40@", "u s@", "ü@"]),
    st.text(ANY_CHAR, max_size=5).map(lambda text: text + "@"),
)
PARAM_NAME = st.one_of(
    st.sampled_from(
        [
            "utm_source",
            "UTM_Medium",
            "utm_",
            "utm%5Fcampaign",
            "%75tm_term",
            "utm+x",
            "fbclid",
            "GCLID",
            "ref",
            "id",
            "page",
            "q",
            "",
        ]
    ),
    st.text("abcutm_%5F+", max_size=8),
)
PARAM_VALUE = st.one_of(
    st.sampled_from(["", "rss", "RSS", "main", "1", "a b", "%41", "%zz", "é", "x=y", "\ud800"]),
    st.text(ANY_CHAR, max_size=5),
)
PARAM = st.tuples(PARAM_NAME, st.sampled_from(["=", ""]), PARAM_VALUE).map("".join)
QUERY = st.one_of(
    st.just(""),
    st.lists(PARAM, max_size=5).map(lambda params: "?" + "&".join(params)),
    st.sampled_from(["?", "??", "?&&", "?a=1#?b=2"]),
)
FRAGMENT = st.one_of(
    st.just(""), st.sampled_from(["#", "#top", "#a?b=1"]), ANY_TEXT.map("#{}".format)
)
SCHEME = st.sampled_from(
    [
        "http://",
        "https://",
        "HTTP://",
        "HtTpS://",
        "//",
        "",
        "http:",
        "http:/",
        "https:\\\\",
        "javascript:",
        "JaVa\tScRiPt:",
        "data:text/html,",
        "ftp://",
        "mailto:",
        "file://",
    ]
)
PADDING = st.sampled_from(["", " ", "\t", "\n", "\x00", " \x1f", "\x0c"])


@st.composite
def url_like(draw: st.DrawFn, *, padded: bool = True, fragment: bool = True) -> str:
    """Something shaped like a URL, with odd parts where canonicalisation has rules."""
    return "".join(
        (
            draw(PADDING) if padded else "",
            draw(SCHEME),
            draw(USERINFO),
            draw(HOST),
            draw(PORT),
            draw(PATH),
            draw(QUERY),
            draw(FRAGMENT) if fragment else "",
            draw(PADDING) if padded else "",
        )
    )


BASES = st.one_of(
    st.none(),
    st.sampled_from(
        [
            "https://example.org/news/feed.xml",
            "http://EXAMPLE.org:80/a/b/",
            "https://user@bücher.example/x/%2e%2e/y?q=1#f",
            "https://[::1]:8443/feed",
            "javascript:alert(1)",
            "",
        ]
    ),
    url_like(),
)
URLS = st.one_of(url_like(), ANY_TEXT)

_ESCAPE = re.compile(r"%([0-9A-Fa-f]{2})")
_EDGE = "".join(map(chr, range(33)))
_UNRESERVED = set("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")


# -- properties -------------------------------------------------------------------------------


@settings(max_examples=examples(600))
@given(url=URLS, base=BASES)
# A lone surrogate in the path (a JSON feed's "\ud800" decodes to one).
@example(url="http://a.example/\ud800", base=None)
@example(url="https://a.example/?q=\udfff", base=None)
def test_canonical_url_never_raises(url: str, base: str | None) -> None:
    result = canonical_url(url, base)

    assert result is None or isinstance(result, str)


@settings(max_examples=examples(600))
@given(url=URLS, base=BASES)
# A host that is only dots canonicalises to "http:///", which has no host at all.
@example(url="http://./", base=None)
# "%2e%2e" is decoded after the dot segments were resolved, leaving a ".." behind.
@example(url="http://a.example/a/%2e%2e/b", base=None)
def test_canonical_url_is_a_fixed_point(url: str, base: str | None) -> None:
    try:
        first = canonical_url(url, base)
    except UnicodeEncodeError:
        # Reported by test_canonical_url_never_raises; here only fixed points are in question.
        return
    if first is None:
        return

    assert canonical_url(first) == first
    # The canonical form is itself a link newswatch accepts, unchanged.
    assert absolute_url(first) == first


@settings(max_examples=examples(600))
@given(url=URLS, base=BASES)
@example(url="http://./", base=None)
@example(url="http://a.example/a/%2e%2e/b", base=None)
def test_canonical_url_has_the_promised_shape(url: str, base: str | None) -> None:
    try:
        result = canonical_url(url, base)
    except UnicodeEncodeError:
        return  # see test_canonical_url_never_raises
    if result is None:
        return
    parts = urlsplit(result)

    assert parts.scheme in ("http", "https")
    assert parts.hostname, f"no host in {result!r}"
    assert "#" not in result
    assert parts.port != {"http": 80, "https": 443}[parts.scheme], "default port kept"
    assert parts.path.startswith("/")
    segments = parts.path.split("/")
    assert "." not in segments
    assert ".." not in segments
    for part in (parts.path, parts.query):
        for match in _ESCAPE.finditer(part):
            assert match.group(1) == match.group(1).upper(), f"lower-case escape in {result!r}"
            assert chr(int(match.group(1), 16)) not in _UNRESERVED, f"needless escape: {result!r}"
    for pair in parts.query.split("&"):
        name = unquote_plus(pair.partition("=")[0]).lower()
        assert not name.startswith("utm_"), f"tracking parameter left in {result!r}"
        assert name not in ("fbclid", "gclid", "msclkid"), f"click id left in {result!r}"


@settings(max_examples=examples(300))
@given(url=url_like(padded=False, fragment=False))
def test_canonical_url_ignores_the_fragment_and_tracking_parameters(url: str) -> None:
    """Adding a fragment or a utm_* parameter never changes which page a link identifies."""
    try:
        plain = canonical_url(url)
    except UnicodeEncodeError:
        return  # see test_canonical_url_never_raises
    if plain is None or "#" in url or url != url.rstrip(_EDGE):
        # A "#" in the path or query starts a fragment already; trailing spaces and controls
        # are trimmed from a whole URL, but kept (encoded) before a fragment, as browsers do.
        return
    separator = "&" if "?" in url else "?"

    assert canonical_url(url + "#section-2") == plain
    assert canonical_url(f"{url}{separator}utm_source=rss&UTM_Medium=feed") == plain
