"""Reading and writing OPML subscription lists (the format feed readers exchange)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from newswatch.errors import NewswatchError


class OpmlError(NewswatchError, ValueError):
    """An OPML file cannot be read or is not OPML."""


@dataclass(frozen=True, slots=True)
class Outline:
    """One feed listed in an OPML file."""

    url: str
    title: str | None = None
    html_url: str | None = None


def _parser() -> etree.XMLParser:
    # Entities are never expanded and nothing is fetched: an OPML file may come from anywhere.
    return etree.XMLParser(resolve_entities=False, no_network=True, load_dtd=False, huge_tree=False)


def read_opml(path: Path) -> list[Outline]:
    """Read the feeds an OPML file lists, nested folders included, in document order.

    Raises:
        OpmlError: the file is missing, unreadable or not OPML. Outlines whose ``xmlUrl`` is
            not an http(s) URL are skipped rather than failing the whole file.
    """
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise OpmlError(f"{path}: file not found") from None
    except OSError as exc:
        raise OpmlError(f"{path}: cannot read: {exc.strerror}") from None
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        raise OpmlError(f"{path}: not valid XML: {exc}") from None
    if root.tag.lower() != "opml":
        raise OpmlError(f"{path}: not an OPML file (root element is <{root.tag}>)")
    outlines: list[Outline] = []
    seen: set[str] = set()
    for element in root.iter("outline"):
        url = (element.get("xmlUrl") or element.get("xmlurl") or "").strip()
        if not url or url in seen or urlsplit(url).scheme.lower() not in ("http", "https"):
            continue
        seen.add(url)
        title = element.get("title") or element.get("text") or None
        outlines.append(Outline(url=url, title=title, html_url=element.get("htmlUrl")))
    return outlines


def write_opml(outlines: Iterable[Outline], *, title: str = "newswatch feeds") -> str:
    """Render feeds as an OPML 2.0 document.

    Returns:
        The document, UTF-8 XML text with a declaration.
    """
    root = etree.Element("opml", version="2.0")
    head = etree.SubElement(root, "head")
    etree.SubElement(head, "title").text = title
    etree.SubElement(head, "dateCreated").text = format_datetime(datetime.now(UTC))
    body = etree.SubElement(root, "body")
    for outline in outlines:
        attrs = {"type": "rss", "text": outline.title or outline.url, "xmlUrl": outline.url}
        if outline.title:
            attrs["title"] = outline.title
        if outline.html_url:
            attrs["htmlUrl"] = outline.html_url
        etree.SubElement(body, "outline", attrs)
    text: bytes = etree.tostring(root, xml_declaration=True, encoding="UTF-8", pretty_print=True)
    return text.decode("utf-8")
