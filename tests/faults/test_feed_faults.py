"""Fault matrix, "Hostile or broken feeds": one row per hostile document (issue 7).

Each row serves one hostile or broken feed from a real local HTTP server beside a healthy
feed, runs real ``Monitor`` passes, and asserts what the user sees: the feed's status,
``last_error`` and ``last_problem`` (as ``feeds list --json`` shows them), the articles stored
and their fields, a bound on time (and on memory where the attack is about memory), and that
the healthy feed's articles were stored in the same pass.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from xml.sax.saxutils import escape

import pytest
from faultkit import ANY, RSS, Ctx, Fault, Run, run_and_check, table

from feedserver import make_gzip_bomb
from newswatch.model import Article, FeedStatus


def document(items: str, *, declaration: str = '<?xml version="1.0" encoding="utf-8"?>') -> str:
    """An RSS 2.0 document around ``items`` (raw XML)."""
    return (
        f'{declaration}\n<rss version="2.0"><channel><title>Hostile</title>'
        f"<link>https://hostile.example/</link><description>d</description>\n"
        f"{items}\n</channel></rss>"
    )


def item(guid: str, title: str, link: str = "", description: str = "", extra: str = "") -> str:
    """One RSS item; the title, link and description are escaped, ``extra`` is raw XML."""
    link_xml = f"<link>{escape(link)}</link>" if link else ""
    return (
        f"<item><guid isPermaLink='false'>{escape(guid)}</guid><title>{escape(title)}</title>"
        f"{link_xml}<description>{escape(description)}</description>{extra}</item>"
    )


def fields(article: Article) -> str:
    """Every text an article stores, for "never stored" checks."""
    return "\n".join(
        str(value)
        for value in (
            article.title,
            article.url,
            article.canonical_url,
            article.guid,
            article.summary,
            article.content_text,
            article.content_html,
            article.author,
        )
    )


# -- billion laughs and external entities ---------------------------------------------------

BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE rss [\n<!ENTITY lol "lol">\n'
    + "".join(
        f'<!ENTITY lol{n} "{f"&lol{n - 1};" * 10 if n > 1 else "&lol;" * 10}">\n'
        for n in range(1, 10)
    )
    + "]>\n"
    + document(
        "<item><guid>laughs</guid><title>Laughs &lol9;</title>"
        "<link>https://hostile.example/laughs</link><description>&lol9;</description></item>",
        declaration="",
    )
)


def serve_billion_laughs(ctx: Ctx) -> str:
    return ctx.server.route("/laughs.xml", body=BILLION_LAUGHS.encode(), headers=RSS)


def nothing_expanded(run: Run) -> None:
    (article,) = run.articles()
    assert "lollol" not in fields(article), article.title[:200]
    assert len(fields(article)) < 2000


SECRET = "newswatch-fault-matrix-secret-7f3a9c"


def serve_external_entities(ctx: Ctx) -> str:
    serve_probe(ctx)
    secret = ctx.tmp_path / "secret.txt"
    secret.write_text(f"{SECRET}\n", encoding="utf-8")
    body = (
        '<?xml version="1.0"?>\n<!DOCTYPE rss [\n'
        '<!ENTITY passwd SYSTEM "file:///etc/passwd">\n'
        f'<!ENTITY secret SYSTEM "{secret.as_uri()}">\n'
        f'<!ENTITY probe SYSTEM "{ctx.server.url}/xxe-probe">\n'
        f'<!ENTITY % remote SYSTEM "{ctx.server.url}/xxe-probe.dtd">\n%remote;\n'
        "]>\n"
        + document(
            "<item><guid>xxe</guid><title>Leak &passwd; &secret; &probe;</title>"
            "<link>https://hostile.example/xxe</link>"
            "<description>before &passwd; &secret; &probe; after</description></item>",
            declaration="",
        )
    )
    return ctx.server.route("/xxe.xml", body=body.encode(), headers=RSS)


def serve_external_dtd(ctx: Ctx) -> str:
    dtd = ctx.tmp_path / "evil.dtd"
    dtd.write_text(f'<!ENTITY secret "{SECRET}">\n', encoding="utf-8")
    body = f'<?xml version="1.0"?>\n<!DOCTYPE rss SYSTEM "{dtd.as_uri()}">\n' + document(
        "<item><guid>dtd</guid><title>Leak &secret;</title>"
        "<link>https://hostile.example/dtd</link><description>x &secret; y</description></item>",
        declaration="",
    )
    return ctx.server.route("/dtd.xml", body=body.encode(), headers=RSS)


def no_file_read(run: Run) -> None:
    articles = run.articles()
    assert len(articles) == 1
    passwd = Path("/etc/passwd").read_text(encoding="utf-8", errors="replace")
    first_line = passwd.splitlines()[0] if passwd else "root:x:0:0"
    for article in articles:
        stored = fields(article)
        assert SECRET not in stored
        assert first_line not in stored
        assert "root:x:0" not in stored
        assert "probe-content" not in stored
    assert SECRET not in (run.feed.title or "")
    # Nor does the XML parser fetch anything: the only requests are the feeds themselves.
    assert {r.path for r in run.ctx.server.requests} <= {"/healthy.xml", "/xxe.xml", "/dtd.xml"}


def serve_probe(ctx: Ctx) -> None:
    """What an external entity or DTD would get if newswatch's XML parser fetched it."""
    ctx.server.route("/xxe-probe", body=b"probe-content")
    ctx.server.route("/xxe-probe.dtd", body=b'<!ENTITY leak "probe-content">')


# -- size caps -------------------------------------------------------------------------------

CAP = {"max_bytes": "1MB"}
CAP_ERROR = "larger than the 1,000,000-byte limit (fetch.max_bytes)"


def padded_feed(size: int) -> bytes:
    """A valid feed of about ``size`` bytes (the padding is inside an XML comment)."""
    body = document(item("big", "Big feed", "https://hostile.example/big"))
    return body.replace("<channel>", "<channel><!--" + "x" * size + "-->", 1).encode()


def serve_gzip_bomb(ctx: Ctx) -> str:
    return ctx.server.route(
        "/bomb.xml", raw_encoded_body=make_gzip_bomb(200_000_000), gzip=True, headers=RSS
    )


def serve_oversized(ctx: Ctx) -> str:
    return ctx.server.route("/big.xml", body=padded_feed(3_000_000), headers=RSS)


def serve_oversized_chunked(ctx: Ctx) -> str:
    return ctx.server.route("/big-chunked.xml", body=padded_feed(3_000_000), chunked=True)


def serve_oversized_lying_length(ctx: Ctx) -> str:
    """Claims 500 bytes, sends 3 MB: only the 500 claimed bytes are read (a broken document)."""
    return ctx.server.route(
        "/big-liar.xml", body=padded_feed(3_000_000), content_length=500, headers=RSS
    )


# -- deep nesting ----------------------------------------------------------------------------

DEPTH = 100_000


def serve_deep_xml(ctx: Ctx) -> str:
    nested = "<x>" * DEPTH + "deep" + "</x>" * DEPTH
    body = document(
        item("deep-1", "Deep neighbour entry", "https://hostile.example/deep-1")
        + f"<item><guid>deep-2</guid><title>Deep entry</title>{nested}</item>"
    )
    return ctx.server.route("/deep.xml", body=body.encode(), headers=RSS)


def serve_deep_html(ctx: Ctx) -> str:
    nested = "<div>" * DEPTH + "deep text" + "</div>" * DEPTH
    body = document(
        "<item><guid>deep-html</guid><title>Deep HTML</title>"
        f"<link>https://hostile.example/deep-html</link><description><![CDATA[{nested}]]>"
        "</description></item>"
    )
    return ctx.server.route("/deep-html.xml", body=body.encode(), headers=RSS)


def deep_entries_stored(run: Run) -> None:
    assert sorted(a.guid or "" for a in run.articles()) == ["deep-1", "deep-2"]


def deep_html_stored(run: Run) -> None:
    (article,) = run.articles()
    assert article.title == "Deep HTML"
    assert "deep text" in article.content_text


# -- character encodings ---------------------------------------------------------------------

# Capitals matter: windows-1251 and MacCyrillic, the guess chardet makes for these bytes, agree on
# most small letters and differ on capitals.
CYRILLIC = "Украина и переговоры в Женеве"
CYRILLIC_2 = "Удар по Украине"


def cyrillic_feed(declaration: str) -> str:
    return document(
        item("cyr-1", CYRILLIC, "https://hostile.example/c1", CYRILLIC)
        + item("cyr-2", CYRILLIC_2, "https://hostile.example/c2", CYRILLIC_2),
        declaration=declaration,
    )


UTF8_DECLARED = '<?xml version="1.0" encoding="utf-8"?>'
CP1251_DECLARED = '<?xml version="1.0" encoding="windows-1251"?>'
UNDECLARED = '<?xml version="1.0"?>'


def lying_charset(path: str, body: bytes, content_type: str) -> Callable[[Ctx], str]:
    def serve(ctx: Ctx) -> str:
        return ctx.server.route(path, body=body, headers={"Content-Type": content_type})

    return serve


def titles_intact_or_flagged(run: Run) -> None:
    """Titles come out as written, or the feed says its charset could not be trusted."""
    titles = sorted(a.title for a in run.articles())
    problem = (run.feed.last_problem or "").lower()
    flagged = "charset" in problem or "encoding" in problem
    assert titles == sorted([CYRILLIC, CYRILLIC_2]) or flagged, (titles, run.feed.last_problem)


def serve_invalid_utf8(ctx: Ctx) -> str:
    body = cyrillic_feed(UTF8_DECLARED).encode()
    broken = item("bad-bytes", "Stray PLACEHOLDER bytes", "https://hostile.example/bad")
    body = body.replace(b"</channel>", broken.encode() + b"</channel>")
    body = body.replace(b"PLACEHOLDER", b"\xff\xfe\xc3(")  # never valid UTF-8
    return ctx.server.route(
        "/bad-utf8.xml", body=body, headers={"Content-Type": "application/rss+xml; charset=utf-8"}
    )


def valid_text_survives_invalid_bytes(run: Run) -> None:
    """The entries without bad bytes are intact; the bad one keeps its readable words."""
    by_guid = {a.guid: a for a in run.articles()}
    assert by_guid["cyr-1"].title == CYRILLIC
    assert by_guid["cyr-2"].title == CYRILLIC_2
    stray = by_guid["bad-bytes"].title
    assert stray.startswith("Stray ")
    assert stray.endswith(" bytes")


# -- volume ----------------------------------------------------------------------------------

MANY = 100_000


def serve_many_entries(ctx: Ctx) -> str:
    # Distinct headlines of made-up words (a fixed seed): volume, not near-duplicates.
    rng = random.Random(7)
    letters = "abcdefghijklmnopqrstuvwxyz"
    words = ["".join(rng.choices(letters, k=rng.randint(3, 9))) for _ in range(5_000)]
    items = "".join(
        f"<item><guid>m{n}</guid><title>Report {n}: {' '.join(rng.choices(words, k=6))}</title>"
        f"<link>https://many.example/{n}</link></item>"
        for n in range(MANY)
    )
    return ctx.server.route("/many.xml", body=document(items).encode(), headers=RSS)


MEGABYTE_TITLE = ("Hostile headline " * 62_000)[:1_000_000]


def serve_huge_titles(ctx: Ctx) -> str:
    items = (
        item("huge-spaced", MEGABYTE_TITLE, "https://hostile.example/h1")
        + item("huge-solid", "W" * 1_000_000, "https://hostile.example/h2")
        + item("normal", "A normal headline", "https://hostile.example/h3")
    )
    return ctx.server.route("/huge-titles.xml", body=document(items).encode(), headers=RSS)


def titles_truncated(run: Run) -> None:
    by_guid = {a.guid: a for a in run.articles()}
    assert by_guid["normal"].title == "A normal headline"
    for guid in ("huge-spaced", "huge-solid"):
        title = by_guid[guid].title
        assert 0 < len(title) <= 501, (guid, len(title))
        assert title.endswith("…")
        assert len(by_guid[guid].content_text) <= 200_000


# -- links and HTML --------------------------------------------------------------------------

BAD_LINKS = {
    "js": "javascript:alert(document.cookie)",
    "js-upper": "JaVaScRiPt:alert(1)",
    "js-tab": "java\tscript:alert(1)",
    "js-space": "  javascript:alert(1)",
    "data": "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
    "vbscript": "vbscript:msgbox(1)",
    "file": "file:///etc/passwd",
}


def serve_bad_links(ctx: Ctx) -> str:
    items = "".join(
        item(
            f"link-{name}",
            f"Entry with a {name} link",
            link,
            description=f'<p>Read <a href="{link}">this</a> and <img src="{link}"> more.</p>',
        )
        for name, link in BAD_LINKS.items()
    )
    return ctx.server.route("/links.xml", body=document(items).encode(), headers=RSS)


def no_active_links(run: Run) -> None:
    articles = run.articles()
    assert len(articles) == len(BAD_LINKS)
    for article in articles:
        assert article.url is None, article.url
        assert article.canonical_url is None, article.canonical_url
        html = article.content_html.lower()
        for scheme in ("javascript", "data:", "vbscript", "file:", "<img", "href="):
            assert scheme not in html, (article.guid, article.content_html)
        assert "this" in article.content_text  # the link's text stays, as text


HOSTILE_HTML = """
<p onclick="steal()" onmouseover="steal()" style="background:url(javascript:x)">Envoys met
in <a href="https://hostile.example/geneva" onclick="steal()">Geneva</a>.</p>
<script>alert('script-ran')</script>
<iframe src="https://evil.example/frame">iframe-text</iframe>
<img src="https://hostile.example/photo.jpg" alt="photo" onerror="steal()" onload="steal()">
<img src="https://tracker.example/open.gif" width="1" height="1">
<img src="https://t.example/pixel.gif" alt="">
<img src="https://hostile.example/spacer.gif" style="display:none">
<svg onload="steal()"><script>alert('svg')</script></svg>
<object data="https://evil.example/x.swf"></object><embed src="https://evil.example/y">
<style>body { display: none }</style>
<form action="https://evil.example/login"><input name="password"></form>
<body onload="steal()">Signed, the editor.</body>
"""


def serve_hostile_html(ctx: Ctx) -> str:
    items = item("html", "Hostile HTML", "https://hostile.example/html", HOSTILE_HTML)
    return ctx.server.route("/html.xml", body=document(items).encode(), headers=RSS)


def html_sanitised(run: Run) -> None:
    (article,) = run.articles()
    html = article.content_html.lower()
    for banned in (
        "<script",
        "<iframe",
        "<svg",
        "<object",
        "<embed",
        "<style",
        "<form",
        "<input",
        "onclick",
        "onmouseover",
        "onerror",
        "onload",
        "style=",
        "javascript",
        "open.gif",
        "pixel.gif",
        "spacer.gif",
        "evil.example",
    ):
        assert banned not in html, (banned, article.content_html)
    text = article.content_text
    for banned in ("alert", "script-ran", "iframe-text", "steal", "display"):
        assert banned not in text, (banned, text)
    # Sanitising is not deleting: the article's own text, link and picture stay.
    assert "Envoys met" in text
    assert "Signed, the editor." in text
    assert 'href="https://hostile.example/geneva"' in article.content_html
    assert 'src="https://hostile.example/photo.jpg"' in article.content_html


# -- identity --------------------------------------------------------------------------------


def serve_duplicate_guids(ctx: Ctx) -> str:
    items = (
        item("same", "First copy", "https://hostile.example/d1", "first")
        + item("same", "Second copy", "https://hostile.example/d2", "second")
        + item("same", "Third copy", "https://hostile.example/d3", "third")
        + item("other", "Another entry", "https://hostile.example/d4", "other")
    )
    return ctx.server.route("/dupes.xml", body=document(items).encode(), headers=RSS)


def first_copy_kept(run: Run) -> None:
    titles = sorted(a.title for a in run.articles())
    assert titles == ["Another entry", "First copy"]


def churning_guids(*, links: bool) -> Callable[[Ctx], str]:
    def serve(ctx: Ctx) -> str:
        fetches = iter(range(1_000))

        def body(_request: object) -> bytes:
            n = next(fetches)
            items = "".join(
                item(
                    f"random-{n}-{k}",
                    f"Churning entry {k}",
                    f"https://hostile.example/churn/{k}" if links else "",
                    f"The same text of entry {k}, fetch after fetch.",
                )
                for k in range(3)
            )
            return document(items).encode()

        return ctx.server.route(f"/churn-{links}.xml", body=body, headers=RSS)

    return serve


def nothing_new_on_later_fetches(run: Run) -> None:
    assert run.summaries[0].new_articles == 2 + 3  # the healthy feed's two, then the three
    for summary in run.summaries[1:]:
        assert summary.new_articles == 0, summary
    assert sorted(a.title for a in run.articles()) == [f"Churning entry {k}" for k in range(3)]


# -- dates -----------------------------------------------------------------------------------

DATES = {
    "future": "Tue, 01 Jan 2999 00:00:00 GMT",
    "next-year": "Fri, 26 Nov 2027 06:00:00 GMT",
    "epoch": "Thu, 01 Jan 1970 00:00:00 GMT",
    "before-epoch": "Mon, 01 Jan 1900 00:00:00 GMT",
    "nonsense": "the 32nd of Smarch",
    "good": "Wed, 25 Nov 2026 10:00:00 GMT",
}


def serve_dates(ctx: Ctx) -> str:
    items = "".join(
        item(
            f"date-{name}",
            f"Dated {name}",
            f"https://hostile.example/{name}",
            extra=f"<pubDate>{value}</pubDate>",
        )
        for name, value in DATES.items()
    ) + (
        "<item><guid>date-atom-future</guid><title>Dated atom-future</title>"
        "<link>https://hostile.example/atom-future</link>"
        "<atom:updated xmlns:atom='http://www.w3.org/2005/Atom'>3000-01-01T00:00:00Z"
        "</atom:updated></item>"
    )
    return ctx.server.route("/dates.xml", body=document(items).encode(), headers=RSS)


def dates_sane(run: Run) -> None:
    fetched = run.feed.last_fetched_at
    assert fetched == datetime(2026, 11, 26, 6, 0, tzinfo=UTC)  # the clock at the pass
    by_guid = {a.guid: a for a in run.articles()}
    assert len(by_guid) == len(DATES) + 1
    good = by_guid["date-good"]
    assert (good.published_at, good.date_estimated) == (
        datetime(2026, 11, 25, 10, 0, tzinfo=UTC),
        False,
    )
    for guid, article in by_guid.items():
        if guid == "date-good":
            continue
        # Not believable: the fetch time stands in, flagged as an estimate.
        assert (article.published_at, article.date_estimated) == (fetched, True), guid
        assert article.updated_at is None, guid


# -- the table -------------------------------------------------------------------------------

ROWS: dict[str, Fault] = {
    "billion-laughs": Fault(
        serve_billion_laughs,
        FeedStatus.OK,
        problem="undefined entity",
        articles=1,
        within=5,
        max_rss_growth_mb=100,
        check=nothing_expanded,
    ),
    "external-entity-file": Fault(
        serve_external_entities,
        FeedStatus.OK,
        problem="undefined entity",
        articles=1,
        check=no_file_read,
    ),
    "external-dtd-file": Fault(
        serve_external_dtd,
        FeedStatus.OK,
        problem="undefined entity",
        articles=1,
        check=no_file_read,
    ),
    "gzip-bomb": Fault(
        serve_gzip_bomb,
        FeedStatus.NEW,
        error=CAP_ERROR,
        articles=0,
        fetch=CAP,
        within=5,
        max_rss_growth_mb=100,
    ),
    "oversized-body": Fault(
        serve_oversized, FeedStatus.NEW, error=CAP_ERROR, articles=0, fetch=CAP, within=5
    ),
    "oversized-chunked": Fault(
        serve_oversized_chunked, FeedStatus.NEW, error=CAP_ERROR, articles=0, fetch=CAP, within=5
    ),
    "oversized-short-content-length": Fault(
        serve_oversized_lying_length,
        FeedStatus.OK,
        problem="malformed XML",
        articles=0,
        fetch=CAP,
        within=5,
    ),
    "deep-xml-100k": Fault(
        serve_deep_xml,
        FeedStatus.OK,
        articles=2,
        within=20,
        check=deep_entries_stored,
    ),
    "deep-html-100k": Fault(
        serve_deep_html, FeedStatus.OK, articles=1, within=20, check=deep_html_stored
    ),
    "invalid-utf8": Fault(
        serve_invalid_utf8,
        FeedStatus.OK,
        problem=ANY,
        articles=3,
        check=valid_text_survives_invalid_bytes,
        postgres=True,
    ),
    "charset-header-cp1251-body-utf8": Fault(
        lying_charset(
            "/cp1251-utf8.xml",
            cyrillic_feed(UTF8_DECLARED).encode(),
            "application/rss+xml; charset=windows-1251",
        ),
        FeedStatus.OK,
        problem=ANY,
        articles=2,
        check=titles_intact_or_flagged,
    ),
    "charset-header-cp1251-body-utf8-undeclared": Fault(
        lying_charset(
            "/cp1251-utf8-bare.xml",
            cyrillic_feed(UNDECLARED).encode(),
            "application/rss+xml; charset=windows-1251",
        ),
        FeedStatus.OK,
        problem=ANY,
        articles=2,
        check=titles_intact_or_flagged,
    ),
    "charset-header-latin1-body-utf8": Fault(
        lying_charset(
            "/latin1-utf8.xml",
            cyrillic_feed(UTF8_DECLARED).encode(),
            "application/rss+xml; charset=ISO-8859-1",
        ),
        FeedStatus.OK,
        problem=ANY,
        articles=2,
        check=titles_intact_or_flagged,
    ),
    "charset-header-utf8-body-cp1251": Fault(
        lying_charset(
            "/utf8-cp1251.xml",
            cyrillic_feed(CP1251_DECLARED).encode("cp1251"),
            "application/rss+xml; charset=utf-8",
        ),
        FeedStatus.OK,
        problem=ANY,
        articles=2,
        check=titles_intact_or_flagged,
    ),
    "charset-header-utf8-body-cp1251-undeclared": Fault(
        lying_charset(
            "/utf8-cp1251-bare.xml",
            cyrillic_feed(UNDECLARED).encode("cp1251"),
            "application/rss+xml; charset=utf-8",
        ),
        FeedStatus.OK,
        problem=ANY,
        articles=2,
        check=titles_intact_or_flagged,
    ),
    "100k-entries": Fault(
        serve_many_entries,
        FeedStatus.OK,
        articles=MANY,
        fetch={"max_bytes": "30MB", "timeout": "20s"},
        within=150,  # CPU seconds: parsing alone takes ~20 s, the whole pass ~80 s once linear
        isolated=True,
    ),
    "1mb-titles": Fault(
        serve_huge_titles,
        FeedStatus.OK,
        articles=3,
        within=20,
        check=titles_truncated,
        postgres=True,
    ),
    "javascript-data-links": Fault(
        serve_bad_links, FeedStatus.OK, articles=len(BAD_LINKS), check=no_active_links
    ),
    "hostile-html": Fault(serve_hostile_html, FeedStatus.OK, articles=1, check=html_sanitised),
    "duplicate-guids": Fault(
        serve_duplicate_guids, FeedStatus.OK, articles=2, check=first_copy_kept, postgres=True
    ),
    "guid-churn-same-links": Fault(
        churning_guids(links=True),
        FeedStatus.OK,
        articles=3,
        passes=3,
        check=nothing_new_on_later_fetches,
        postgres=True,
    ),
    "guid-churn-no-links": Fault(
        churning_guids(links=False),
        FeedStatus.OK,
        articles=3,
        passes=3,
        check=nothing_new_on_later_fetches,
    ),
    "dates-future-and-1970": Fault(
        serve_dates, FeedStatus.OK, articles=len(DATES) + 1, check=dates_sane
    ),
}


@pytest.mark.parametrize(("row", "kind"), table(ROWS))
def test_hostile_feed(row: Fault, kind: str, request: pytest.FixtureRequest) -> None:
    run_and_check(row, kind, request)
