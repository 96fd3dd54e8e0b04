"""The first ``sanitize_html``, on BeautifulSoup: the reference its replacement must match.

``newswatch.text.sanitize_html`` used to build a BeautifulSoup tree per entry, edit it and
serialise it with bs4; that was more than half of the cost of normalising an entry. It now
walks a small tree of its own, built from the same lxml parser events, and must give the same
output byte for byte: ``test_sanitize_reference.py`` compares the two on generated markup.
This is that code as it was (the URL and pixel helpers are shared, not copied).
"""

from __future__ import annotations

import html as html_lib
import warnings
from typing import Final

from bs4 import BeautifulSoup, Tag
from bs4.dammit import EntitySubstitution
from bs4.element import NavigableString
from bs4.formatter import HTMLFormatter

from newswatch.text import (
    _ALLOWED_ATTRIBUTES,
    _ALLOWED_TAGS,
    _DIGITS,
    _HIDDEN_STYLE,
    _LEADING_NUMBER,
    _LINK_REL,
    _NUMERIC_ATTRIBUTES,
    _PIXEL_URL,
    _SANITIZE_DROP,
    _SURROGATES,
    _VOID,
    _XML_DECLARATION,
    absolute_url,
)

_CONTROL_CHARS: Final = dict.fromkeys(
    [c for c in range(32) if chr(c) not in "\t\n\r\f"] + [0x7F], None
)

# Plain escaping of &, < and > only; the default "minimal" formatter would do the same, but
# the html5-style one would turn every Cyrillic letter into a named entity.
_OUTPUT_FORMATTER: Final = HTMLFormatter(
    entity_substitution=EntitySubstitution.substitute_xml, void_element_close_prefix=""
)


def _attribute_text(value: object) -> str:
    # bs4 gives multi-valued attributes (class, rel) as lists.
    if isinstance(value, list):
        return " ".join(str(item) for item in value)
    return str(value)


def _is_tracking_pixel(tag: Tag, src: str) -> bool:
    for name in ("width", "height"):
        value = tag.get(name)
        if value is not None:
            match = _LEADING_NUMBER.match(_attribute_text(value))
            if match and float(match.group(1)) <= 2:
                return True
    style = tag.get("style")
    if style is not None and _HIDDEN_STYLE.search(_attribute_text(style)):
        return True
    return _PIXEL_URL.search(src) is not None


def _lift_children(tag: Tag) -> None:
    """Move a tag's children out to follow it, in order."""
    for child in reversed(list(tag.contents)):
        tag.insert_after(child.extract())


def _clean_tag(tag: Tag, base_url: str | None) -> None:
    """Apply the attribute and URL rules to one allowed tag (it may be removed or unwrapped)."""
    name = tag.name
    allowed = _ALLOWED_ATTRIBUTES.get(name, frozenset())
    attributes: dict[str, str] = {}
    for key, raw in tag.attrs.items():
        if key not in allowed:
            continue
        value = _attribute_text(raw).strip()
        if key in _NUMERIC_ATTRIBUTES and not _DIGITS.fullmatch(value):
            continue
        attributes[key] = value
    if name == "img":
        src = absolute_url(attributes.get("src"), base_url)
        if src is None or _is_tracking_pixel(tag, src):
            tag.decompose()
            return
        attributes["src"] = src
    elif name == "a":
        href = absolute_url(attributes.get("href"), base_url)
        if href is None:
            # A link that cannot be followed safely is just its text.
            tag.unwrap()
            return
        attributes["href"] = href
        attributes["rel"] = _LINK_REL
    tag.attrs = dict(attributes)


def reference_sanitize_html(html: str, base_url: str | None = None) -> str:
    """``sanitize_html`` as it was."""
    # Lone surrogates (from JSON feeds' "\ud800" escapes) cannot be encoded: make them U+FFFD.
    html = _SURROGATES.sub("\ufffd", html)
    if "<" not in html:
        # Plain text: decode whatever entities it has, then escape it once, properly.
        return html_lib.escape(html_lib.unescape(html), quote=False).strip()
    # Every XML declaration, not only a leading one: it means nothing in HTML.
    cleaned = _XML_DECLARATION.sub("", html.translate(_CONTROL_CHARS))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        soup = BeautifulSoup(cleaned, "lxml")
    # Comments, CDATA, doctypes and processing instructions are all non-plain strings.
    for node in list(soup.descendants):
        if isinstance(node, NavigableString) and type(node) is not NavigableString:
            node.extract()
    for tag in soup.find_all(True):
        # Inside something already removed? bs4's ``tag.decomposed`` would answer by searching
        # the whole subtree for a child tag named "_decomposed" (quadratic on deep nesting);
        # decompose() leaves the flag in the instance dict, so look there directly.
        if tag.__dict__.get("_decomposed"):
            continue
        if tag.name in _VOID and tag.contents:
            _lift_children(tag)
        if tag.name in _SANITIZE_DROP:
            tag.decompose()
        elif tag.name not in _ALLOWED_TAGS:
            tag.unwrap()
        else:
            _clean_tag(tag, base_url)
    return soup.decode(formatter=_OUTPUT_FORMATTER).strip()
