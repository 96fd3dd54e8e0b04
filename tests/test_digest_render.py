"""Digest rendering: golden files for the three renderings, and hostile feed text made inert.

Golden files live in tests/data/digests; after an intended change to a template, regenerate
them with ``NEWSWATCH_REGENERATE=1 python -m pytest tests/test_digest_render.py`` and review the
diff. The view is built by hand, so nothing volatile (clock, version, ids) reaches the output.
"""

from __future__ import annotations

import os
import random
import re
from datetime import UTC, datetime
from html.parser import HTMLParser
from pathlib import Path

import jinja2
import pytest
from jinja2.filters import do_wordwrap

from newswatch.digest.compose import (
    DigestView,
    FeedProblem,
    Outlet,
    StoryView,
    TopicSection,
    sparkline,
)
from newswatch.digest.render import Renderer, markdown_text, safe_url, wordwrap
from newswatch.errors import ConfigError

GOLDEN = Path(__file__).parent / "data" / "digests"
END = datetime(2026, 11, 26, 5, 0, tzinfo=UTC)  # 07:00 in Kyiv


def story(title: str, url: str | None, **changes: object) -> StoryView:
    fields: dict[str, object] = {
        "title": title,
        "url": url,
        "outlet": "Kyiv Independent",
        "when": datetime(2026, 11, 25, 18, 30, tzinfo=UTC),
        "summary": "Leaders met in Berlin. They agreed on a framework.",
        "topic": "security-guarantees",
        "score": 0.91,
        "coverage": 1,
        "rank_score": 0.91,
        "evidence": ("security guarantee", "Article 5"),
        "article_ids": (1,),
    }
    fields.update(changes)
    return StoryView(**fields)  # type: ignore[arg-type]


def sample_view(**changes: object) -> DigestView:
    guarantees = TopicSection(
        slug="security-guarantees",
        name="Security guarantees for Ukraine",
        stories=(
            story(
                "Allies draft NATO-style guarantees",
                "https://kyivindependent.com/guarantees",
                coverage=3,
                other_topics=("Ceasefire talks and the peace plan",),
                also=(
                    Outlet("Reuters", "https://www.reuters.com/world/guarantees"),
                    Outlet("Meduza", None),
                ),
                article_ids=(1, 2, 3),
            ),
        ),
        more=(story("Second story on guarantees", "https://example.org/2", article_ids=(4,)),),
        articles=4,
        trend=(0, 1, 3, 2, 0, 5, 4, 6),
        sparkline=sparkline((0, 1, 3, 2, 0, 5, 4, 6)),
    )
    hostile = TopicSection(
        slug="frozen-assets",
        name="Frozen Russian assets",
        stories=(
            story(
                '<script>alert("x")</script> Euroclear [click](javascript:alert(1)) *now*',
                "javascript:alert(document.cookie)",
                outlet='Evil <img src="https://tracker.example/p.gif"> Outlet',
                summary='Read <iframe src="https://evil.example"></iframe> and # not a heading',
                evidence=("euroclear", "asset`s"),
                also=(Outlet("Data", "data:text/html,<script>alert(1)</script>"),),
                article_ids=(5,),
            ),
        ),
        more=(),
        articles=1,
        trend=(0,) * 8,
        sparkline=sparkline((0,) * 8),
    )
    fields: dict[str, object] = {
        "channel": "daily",
        "config_name": "newswatch.yaml",
        "timezone": "Europe/Kyiv",
        "period_start": datetime(2026, 11, 25, 5, 0, tzinfo=UTC),
        "period_end": END,
        "sections": (guarantees, hostile),
        "top_stories": (guarantees.stories[0], hostile.stories[0]),
        "articles": 5,
        "feed_problems": (
            FeedProblem("Broken Feed", "https://broken.example/rss", "failing", "HTTP 500"),
            FeedProblem("Quiet Feed", "https://quiet.example/rss", "silent", "no new articles"),
        ),
        "version": "TEST",
        "outlets": 3,
    }
    fields.update(changes)
    return DigestView(**fields)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("kind", "suffix"), [("markdown", "md"), ("text", "txt"), ("html", "html")]
)
def test_renderings_match_golden_files(kind: str, suffix: str) -> None:
    rendered = Renderer("Europe/Kyiv").render(kind, sample_view())
    golden = GOLDEN / f"sample.{suffix}"
    if os.environ.get("NEWSWATCH_REGENERATE"):
        golden.parent.mkdir(parents=True, exist_ok=True)
        golden.write_text(rendered, encoding="utf-8")
    assert rendered == golden.read_text(encoding="utf-8")


class _Audit(HTMLParser):
    """Collects what a browser would load or run from an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.hrefs: list[str] = []
        self.loads: list[str] = []
        self.handlers: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.handlers.append(name)
            if name == "href":
                self.hrefs.append(value or "")
            if name in {"src", "srcset", "background", "poster", "data"}:
                self.loads.append(value or "")


def test_html_email_is_self_contained_and_feed_markup_is_inert() -> None:
    html = Renderer("Europe/Kyiv").render("html", sample_view())
    audit = _Audit()
    audit.feed(html)

    assert {"script", "iframe", "img", "link", "style", "object", "embed"}.isdisjoint(audit.tags)
    assert audit.loads == []
    assert audit.handlers == []
    assert all(h.startswith(("https://", "http://", "#")) for h in audit.hrefs), audit.hrefs
    assert "javascript:" not in " ".join(audit.hrefs)
    assert "&lt;script&gt;" in html  # the hostile title is shown as text
    assert 'name="viewport"' in html


def test_markdown_escapes_feed_text_and_drops_unsafe_links() -> None:
    markdown = Renderer("Europe/Kyiv").render("markdown", sample_view())

    # Raw HTML passes through Markdown renderers: every "<" from a feed must be escaped.
    assert re.findall(r"(?<!\\)<", markdown) == []
    assert "\\<script\\>" in markdown
    assert "](javascript:" not in markdown
    assert "](data:" not in markdown
    assert "\\[click\\]\\(javascript:alert\\(1\\)\\)" in markdown
    # Every link target in the document is http(s).
    targets = re.findall(r"\]\(([^)]*)\)", markdown)
    assert targets
    assert all(t.startswith(("https://", "http://")) for t in targets), targets


def test_text_rendering_keeps_only_http_links() -> None:
    text = Renderer("Europe/Kyiv").render("text", sample_view())

    assert "javascript:" not in text.replace("[click](javascript:alert(1))", "")
    assert "data:text/html" not in text
    assert "https://kyivindependent.com/guarantees" in text


def test_times_are_shown_in_the_channel_time_zone() -> None:
    kyiv = Renderer("Europe/Kyiv").render("text", sample_view())
    utc = Renderer("UTC").render("text", sample_view())

    assert "2026-11-25 20:30" in kyiv  # 18:30 UTC is 20:30 in Kyiv in winter
    assert "2026-11-25 18:30" in utc


def test_empty_digest_is_a_short_note() -> None:
    view = sample_view(sections=(), top_stories=(), articles=0, feed_problems=(), outlets=0)
    for kind in ("markdown", "text", "html"):
        rendered = Renderer("Europe/Kyiv").render(kind, view)
        assert "No new items since 2026-11-25 07:00" in rendered


def test_subject_uses_only_our_values_on_one_line() -> None:
    renderer = Renderer("Europe/Kyiv")
    subject = renderer.subject(
        "{digest}: {count} articles, {stories} stories\r\nBcc: x", sample_view()
    )
    assert subject == "daily: 5 articles, 3 stories Bcc: x"


def test_template_folder_overrides_a_shipped_template(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("Custom {{ view.channel }}: {{ view.articles }}\n")

    renderer = Renderer("Europe/Kyiv", tmp_path)

    assert renderer.render("markdown", sample_view()) == "Custom daily: 5\n"
    assert "<!DOCTYPE html>" in renderer.render("html", sample_view())  # shipped fallback


def test_broken_override_template_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "digest.md.j2").write_text("{% for x in %}\n")

    with pytest.raises(ConfigError, match=r"digest template digest.md.j2 line 1"):
        Renderer("Europe/Kyiv", tmp_path).render("markdown", sample_view())


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("https://example.org/a?b=c", "https://example.org/a?b=c"),
        ("http://example.org/", "http://example.org/"),
        ("javascript:alert(1)", None),
        ("JaVaScRiPt:alert(1)", None),
        ("data:text/html,<b>x</b>", None),
        ("//example.org/relative", None),
        ("https://exa mple.org/", None),
        ("https://example.org/\r\nX: y", None),
        ("", None),
        (None, None),
    ],
)
def test_safe_url(url: str | None, expected: str | None) -> None:
    assert safe_url(url) == expected


def test_markdown_text_neutralises_structure() -> None:
    assert markdown_text("# Title\nwith [link](x) and *stars*") == (
        "\\# Title with \\[link\\]\\(x\\) and \\*stars\\*"
    )
    assert markdown_text("1. not a list") == "1\\. not a list"
    assert markdown_text("- not a bullet") == "\\- not a bullet"


def test_wordwrap_shortcut_wraps_as_jinja2_does() -> None:
    env = jinja2.Environment()
    words = ["a", "ab", "word", "twelve-chars", "x" * 20, "éèê", "—", "end.", "well--known"]
    rng = random.Random(8)
    texts = ["", "one", "x" * 30, " lead", "trail ", "two  spaces", "tab\there", "line\u2028break"]
    for _ in range(400):
        texts.append(" ".join(rng.choice(words) for _ in range(rng.randint(1, 40))))
    for text in texts:
        for width in (1, 5, 20, 21, 74):
            for wrapstring in (None, "\n  "):
                assert wordwrap(env, text, width, wrapstring=wrapstring) == do_wordwrap(
                    env, text, width, wrapstring=wrapstring
                ), (text, width)
