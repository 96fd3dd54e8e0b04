"""Rendering a ``DigestView`` as Markdown, plain text and a self-contained HTML email.

Templates are Jinja2 files shipped in ``newswatch/digest/templates``; a channel's ``templates``
folder may hold replacements with the same names. Feed text reaches the output only through the
filters here: escaped for HTML (autoescape) and Markdown (``md``), links only when they are
http(s) (``safe_url``). No feed HTML is ever passed through: the digest shows text.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from urllib.parse import quote, urlsplit
from zoneinfo import ZoneInfo

import jinja2

from newswatch.digest.compose import DigestView
from newswatch.errors import ConfigError
from newswatch.model import DigestBody

TEMPLATE_NAMES = {"markdown": "digest.md.j2", "text": "digest.txt.j2", "html": "digest.html.j2"}

_MD_SPECIAL = re.compile(r"([\\`*_\[\]{}<>()#+!|~])")
_BULLET_START = re.compile(r"^(\s*)([-=])")
_NUMBER_START = re.compile(r"^(\s*\d+)([.)])")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]+")


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
    checked = safe_url(url)
    if checked is None:
        return None
    return quote(checked, safe=":/?#@!$&'*+,;=%~.-_")


def one_line(value: object) -> str:
    """Plain text on one line (for the text rendering and headers)."""
    return " ".join(_CONTROL.sub(" ", str(value)).split())


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
        self._env.filters.update(
            md=markdown_text,
            md_url=markdown_url,
            safe_url=safe_url,
            one_line=one_line,
            local=self.local_time,
            local_date=self.local_date,
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
        return DigestBody(
            subject=self.subject(subject_template, view),
            markdown=self.render("markdown", view),
            text=self.render("text", view),
            html=self.render("html", view),
        )
