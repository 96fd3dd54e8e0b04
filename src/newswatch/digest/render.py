"""Rendering a ``DigestView`` as Markdown, plain text and a self-contained HTML email.

Templates are Jinja2 files shipped in ``newswatch/digest/templates``; a channel's ``templates``
folder may hold replacements with the same names. Feed text reaches the output only through the
filters here: escaped for HTML (autoescape) and Markdown (``md``), links only when they are
http(s) (``safe_url``). No feed HTML is ever passed through: the digest shows text.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any, Generic, TypeVar
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2
from markupsafe import Markup, escape

from newswatch.digest.compose import DigestView
from newswatch.errors import ConfigError
from newswatch.model import DigestBody

_T = TypeVar("_T")

TEMPLATE_NAMES = {"markdown": "digest.md.j2", "text": "digest.txt.j2", "html": "digest.html.j2"}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>()#+!|~])")
_BULLET_START = re.compile(r"^(\s*)([-=])")
_NUMBER_START = re.compile(r"^(\s*\d+)([.)])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")
#: How the HTML rendering styles a link unless told otherwise.
LINK_STYLE = "color:#1a4f8b;text-decoration:none;"
#: Entries a renderer's filter caches hold before they are emptied (a large digest has ~10k).
CACHE_LIMIT = 50_000


def safe_url(url: str | None) -> str | None:
    """``url`` if it is an absolute http(s) link without spaces or controls, else ``None``."""
    if not url:
        return None
    url = url.strip()
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.netloc:
        return None
    if _CONTROL.search(url) or " " in url:
        return None
    return url


def markdown_text(value: object) -> str:
    """Feed text made inert for Markdown: one line, every special character escaped."""
    text = " ".join(str(value).split())
    text = _MD_SPECIAL.sub(r"\\\1", text)
    text = _BULLET_START.sub(r"\1\\\2", text)
    return _NUMBER_START.sub(r"\1\\\2", text)


def markdown_url(url: str | None) -> str | None:
    """A safe URL percent-encoded so it cannot close a Markdown link early."""
    return _markdown_quote(safe_url(url))


def _markdown_quote(checked: str | None) -> str | None:
    if checked is None:
        return None
    return quote(checked, safe=":/?#@!$&'*+,;=%~.-_")


def _markdown_link(text: str, href: str | None) -> str:
    # Filters, not template macros: calling a Jinja2 macro costs more than all of this.
    return f"[{text}]({href})" if href else text


def _html_link(text: object, href: str | None, style: str) -> Markup:
    if href:
        return Markup(f'<a href="{escape(href)}" style="{escape(style)}">{escape(text)}</a>')
    return escape(text)


def one_line(value: object) -> str:
    """Plain text on one line (for the text rendering and headers)."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


@jinja2.pass_environment
def wordwrap(  # noqa: PLR0917 (Jinja2's signature: templates pass these positionally)
    environment: jinja2.Environment,
    s: str,
    width: int = 79,
    break_long_words: bool = True,
    wrapstring: str | None = None,
    break_on_hyphens: bool = True,
) -> str:
    """Jinja2's ``wordwrap``, with a shortcut for what a digest wraps: one line of words with
    single spaces, no hyphen and no word longer than ``width``. There textwrap's chunks are the
    words and its lines are filled greedily, which this does without its regular expressions
    (a 1,500-story digest spent more time in textwrap than in the rest of its text rendering).
    """
    if (
        type(s) is str
        and width > 0
        and s.isprintable()  # no line breaks, tabs or spaces other than " "
        and "-" not in s
        and "  " not in s
        and s[:1] != " "
        and s[-1:] != " "
    ):
        words = s.split(" ") if s else []
        if all(len(word) <= width for word in words):
            lines: list[str] = []
            line: list[str] = []
            length = 0
            for word in words:
                if line and length + 1 + len(word) <= width:
                    line.append(word)
                    length += 1 + len(word)
                else:
                    if line:
                        lines.append(" ".join(line))
                    line = [word]
                    length = len(word)
            if line:
                lines.append(" ".join(line))
            joint = environment.newline_sequence if wrapstring is None else wrapstring
            return joint.join(lines)
    return jinja2.filters.do_wordwrap(
        environment, s, width, break_long_words, wrapstring, break_on_hyphens
    )


class Renderer:
    """Renders digest views for one channel (its time zone and template folder)."""

    def __init__(self, timezone: str, templates: Path | None = None) -> None:
        self._zone = ZoneInfo(timezone)
        loaders: list[jinja2.BaseLoader] = []
        if templates is not None:
            if not templates.is_dir():
                raise ConfigError(f"digest templates folder {templates} does not exist")
            loaders.append(jinja2.FileSystemLoader(templates))
        loaders.append(jinja2.PackageLoader("newswatch.digest", "templates"))
        self._env = jinja2.Environment(
            loader=jinja2.ChoiceLoader(loaders),
            autoescape=lambda name: name is not None and ".html" in name,
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
            keep_trailing_newline=True,
        )
        # The three renderings pass the same titles, outlets, links and times through the same
        # filters (a 1,600-article digest checks ~12k URLs): each value is worked out once.
        checked_url = _Memo(safe_url)
        md_url = _Memo(lambda url: _markdown_quote(checked_url(url)))
        md = _Memo(markdown_text)
        line = _Memo(one_line)
        local = _Memo(self.local_time, datetime)
        self._memos = (checked_url, md_url, md, line, local)
        self._env.filters.update(
            md=md,
            md_url=md_url,
            safe_url=checked_url,
            one_line=line,
            md_link=lambda text, url: _markdown_link(md(text), md_url(url)),
            html_link=lambda text, url, style=LINK_STYLE: _html_link(text, checked_url(url), style),
            local=lambda value, fmt=None: (
                local(value) if fmt is None else self.local_time(value, fmt)
            ),
            local_date=self.local_date,
            wordwrap=wordwrap,
        )

    def local_time(self, value: datetime | None, fmt: str = "%Y-%m-%d %H:%M") -> str:
        """A UTC instant as the channel's local time."""
        if value is None:
            return ""
        return value.astimezone(self._zone).strftime(fmt)

    def local_date(self, value: datetime) -> str:
        """The channel-local date of an instant (``YYYY-MM-DD``)."""
        return value.astimezone(self._zone).strftime("%Y-%m-%d")

    def render(self, kind: str, view: DigestView) -> str:
        """One rendering (``markdown``, ``text`` or ``html``) of ``view``.

        Raises:
            ConfigError: a replacement template is broken.
        """
        name = TEMPLATE_NAMES[kind]
        try:
            template = self._env.get_template(name)
            return template.render(view=view, zone=str(self._zone))
        except jinja2.TemplateError as exc:
            where = f" line {exc.lineno}" if isinstance(exc, jinja2.TemplateSyntaxError) else ""
            raise ConfigError(f"digest template {name}{where}: {exc.message or exc}") from None

    def subject(self, template: str, view: DigestView) -> str:
        """The email subject: the configured template filled with our own values only."""
        text = template.format(
            digest=view.channel,
            count=view.articles,
            stories=view.stories,
            date=self.local_date(view.period_end),
        )
        return one_line(text)[:250]

    def body(self, view: DigestView, subject_template: str) -> DigestBody:
        """Every rendering of ``view`` at once, as the ledger keeps it."""
        for memo in self._memos:  # what the last digest held is not needed again
            memo.clear()
        return DigestBody(
            subject=self.subject(subject_template, view),
            markdown=self.render("markdown", view),
            text=self.render("text", view),
            html=self.render("html", view),
        )


class _Memo(Generic[_T]):
    """A pure filter remembering its result for each value of one type.

    Only values of exactly that type are remembered: ``1``, ``1.0`` and ``True`` are equal
    keys but not the same text, and a ``Markup`` is not escaped like the equal ``str``.
    """

    __slots__ = ("_func", "_kind", "_results")

    def __init__(self, func: Callable[[Any], _T], kind: type = str) -> None:
        self._func = func
        self._kind = kind
        self._results: dict[Any, _T] = {}

    def __call__(self, value: Any) -> _T:
        if type(value) is not self._kind:
            return self._func(value)
        try:
            return self._results[value]
        except KeyError:
            if len(self._results) >= CACHE_LIMIT:
                self._results.clear()
            result = self._results[value] = self._func(value)
            return result

    def clear(self) -> None:
        """Forget every result."""
        self._results.clear()
