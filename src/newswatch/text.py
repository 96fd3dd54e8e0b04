"""Text handling for articles: HTML to plain text, safe HTML, URLs, normalisation and tokens.

Everything here is a pure function of its input, so every layer (fetching, tagging, dedup,
digests) can call it without setup.

Two parser targets are used on purpose:

* :func:`html_to_text` runs on every ingested entry, so it streams lxml parser events into a
  small collector instead of building a tree (roughly 8x faster than building a
  BeautifulSoup tree on real feed content, and free of libxml2's tree-depth limit, past which
  lxml's tree builder silently drops the rest of a document).
* :func:`sanitize_html` runs on every ingested entry too (the stored ``content_html``); it
  builds a small tree of its own from the same kind of parser events, then writes it out while
  applying its rules (about 4x faster than the BeautifulSoup tree it first used, with the
  same output byte for byte, which ``tests/properties/test_sanitize_reference.py`` checks).

Both keep one parser per thread: creating an lxml parser with a target costs more than
parsing a typical entry.

Normalisation (:func:`normalize_text`) is lossy by design (case, accents, quote and dash
styles are folded). It is meant for matching and fingerprints, never for display, and both
sides of any comparison must go through it.
"""

from __future__ import annotations

import functools
import hashlib
import html as html_lib
import re
import threading
import unicodedata
from typing import Final
from urllib.parse import quote, unquote_plus, urljoin, urlsplit, urlunsplit

__all__ = [
    "absolute_url",
    "canonical_url",
    "content_fingerprint",
    "html_to_text",
    "normalize_text",
    "sanitize_html",
    "text_and_safe_html",
    "tokens",
]

# --------------------------------------------------------------------------------------------
# HTML -> plain text
# --------------------------------------------------------------------------------------------

#: Elements whose content is never article text: code, embedded media fallbacks ("your
#: browser does not support video"), forms (newsletter sign-ups) and document metadata.
#: Void elements (embed, input…) have no content to drop; listing them would be harmful, as
#: libxml2 nests what follows an <embed> inside it.
_TEXT_DROP: Final = frozenset(
    {
        "applet",
        "audio",
        "button",
        "canvas",
        "datalist",
        "form",
        "iframe",
        "math",
        "noembed",
        "noframes",
        "noscript",
        "object",
        "script",
        "select",
        "style",
        "svg",
        "template",
        "textarea",
        "title",
        "video",
    }
)

#: HTML void elements. libxml2 does not know some of them (embed) and nests whatever follows
#: inside; such an element has no content of its own, so anything inside it is lifted out.
_VOID: Final = frozenset(
    {
        "area",
        "base",
        "br",
        "col",
        "embed",
        "hr",
        "img",
        "input",
        "keygen",
        "link",
        "meta",
        "param",
        "source",
        "track",
        "wbr",
    }
)

_LINE: Final = 1  # a line break
_PARAGRAPH: Final = 2  # a blank line

#: How strongly each block-level element separates text from its neighbours.
_TEXT_BREAKS: Final[dict[str, int]] = {
    **dict.fromkeys(
        ("br", "li", "dt", "dd", "tr", "figcaption", "caption", "option", "summary", "legend"),
        _LINE,
    ),
    **dict.fromkeys(
        (
            "p",
            "div",
            "h1",
            "h2",
            "h3",
            "h4",
            "h5",
            "h6",
            "blockquote",
            "section",
            "article",
            "figure",
            "header",
            "footer",
            "main",
            "nav",
            "aside",
            "ul",
            "ol",
            "dl",
            "table",
            "pre",
            "hr",
            "address",
            "details",
            "fieldset",
            "center",
            "hgroup",
        ),
        _PARAGRAPH,
    ),
}

#: Table cells sit on one line, separated by a space so their words do not run together.
_TEXT_CELLS: Final = frozenset({"td", "th"})

# NUL and other C0 controls are not text; libxml2 would turn them into U+FFFD noise.
_CONTROL_RE: Final = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f]")
_XML_DECLARATION: Final = re.compile(r"\s*<\?xml[^>]*>", re.IGNORECASE)
_SURROGATES: Final = re.compile("[\ud800-\udfff]")
_BLANK_LINES: Final = re.compile(r"\n{3,}")


class _TextCollector:
    """lxml parser target that turns a stream of parse events into paragraphs of text.

    Text gathers into the current run until a block boundary; the run is then collapsed to
    single spaces and appended, separated from the previous one by the strongest break seen in
    between. Counting open elements inside a dropped element (rather than keeping a tree) is
    what lets arbitrarily deep or broken markup through: libxml2 always balances the events.
    """

    def __init__(self) -> None:
        self._out: list[str] = []
        self._run: list[str] = []
        self._pending = 0
        self._skip = 0
        self._pre = 0

    def _flush(self, level: int) -> None:
        text = " ".join("".join(self._run).split())
        self._run.clear()
        if text:
            if self._out:
                self._out.append("\n\n" if self._pending >= _PARAGRAPH else "\n")
            self._out.append(text)
            self._pending = 0
        self._pending = max(self._pending, level)

    def start(self, tag: str, attrib: object) -> None:
        if self._skip or tag in _TEXT_DROP:
            self._skip += 1
            return
        level = _TEXT_BREAKS.get(tag)
        if level:
            self._flush(level)
        elif tag in _TEXT_CELLS:
            self._run.append(" ")
        if tag == "pre":
            self._pre += 1

    def end(self, tag: str) -> None:
        if self._skip:
            self._skip -= 1
            return
        level = _TEXT_BREAKS.get(tag)
        if level:
            self._flush(level)
        elif tag in _TEXT_CELLS:
            self._run.append(" ")
        if tag == "pre" and self._pre:
            self._pre -= 1

    def data(self, data: str) -> None:
        if self._skip:
            return
        if self._pre and "\n" in data:
            # Preformatted text keeps its line structure; only spacing inside lines goes.
            first, *rest = data.split("\n")
            self._run.append(first)
            for line in rest:
                self._flush(_LINE)
                self._run.append(line)
        else:
            self._run.append(data)

    def close(self) -> str:
        self._flush(0)
        text = "".join(self._out)
        self.__init__()  # type: ignore[misc]  # ready for the next document
        return text


def _plain_text_layout(text: str) -> str:
    """Tidy text that has no markup: spaces collapsed per line, at most one blank line."""
    lines = (" ".join(line.split()) for line in text.splitlines())
    return _BLANK_LINES.sub("\n\n", "\n".join(lines)).strip()


def html_to_text(html: str) -> str:
    """Extract readable plain text from an HTML fragment or document.

    Scripts, styles, embedded objects, forms and the title are dropped with their content
    (not the whole head: libxml2 files unknown tags met before the body there); entities are
    decoded; block-level elements become line or paragraph breaks; runs of inline whitespace
    become one space; there is never more than one blank line between paragraphs. Input
    without ``<`` is treated as plain text: entities are decoded (when there is a ``&``),
    spacing is collapsed within each line and its line structure is kept. Broken, truncated
    or arbitrarily nested markup never raises.

    Args:
        html: HTML markup, or plain text.

    Returns:
        The text, trimmed; ``""`` when there is none.
    """
    if "<" not in html:
        # Control characters (terminal escapes among them) never reach a reader's screen.
        plain = _CONTROL_RE.sub("", html) if _CONTROL_RE.search(html) else html
        return _plain_text_layout(html_lib.unescape(plain) if "&" in plain else plain)
    cleaned = _without_controls(html)
    if "<?" in cleaned:
        cleaned = _XML_DECLARATION.sub("", cleaned, count=1)
    # Feeding UTF-8 bytes (lone surrogates replaced) sidesteps lxml's refusal of str input
    # that carries its own encoding declaration.
    data = cleaned.encode("utf-8", "replace")
    parsers = _parsers()
    try:
        parsers.text.feed(data)
        result: str = parsers.text.close()
    except parsers.error:
        # The recovering HTML parser should never get here; if it does, keep what was read
        # and start the next document on a new parser.
        result = parsers.text_target.close()
        parsers.__init__()  # type: ignore[misc]
    return result.strip()


def _without_controls(text: str) -> str:
    # Searching first: control characters are rare, and str.translate with a table is slow.
    return _CONTROL_RE.sub("", text) if _CONTROL_RE.search(text) else text


# --------------------------------------------------------------------------------------------
# HTML sanitising
# --------------------------------------------------------------------------------------------

#: Tags kept in sanitised HTML; anything else not in _SANITIZE_DROP is unwrapped.
_ALLOWED_TAGS: Final = frozenset(
    {
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
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
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
)

#: Removed together with everything inside: active content, or content that is not meant to
#: be read (raw CSS, form controls, document metadata).
_SANITIZE_DROP: Final = frozenset(
    {
        "script",
        "style",
        "iframe",
        "frame",
        "frameset",
        "object",
        "embed",
        "applet",
        "form",
        "input",
        "button",
        "select",
        "textarea",
        "svg",
        "math",
        "noscript",
        "template",
        "link",
        "meta",
        "base",
        "head",
        "title",
        "audio",
        "video",
        "canvas",
        "noembed",
        "noframes",
    }
)

_ALLOWED_ATTRIBUTES: Final[dict[str, frozenset[str]]] = {
    "a": frozenset({"href", "title"}),
    "img": frozenset({"src", "alt", "title", "width", "height"}),
    "td": frozenset({"colspan", "rowspan"}),
    "th": frozenset({"colspan", "rowspan"}),
    "abbr": frozenset({"title"}),
    "time": frozenset({"datetime"}),
}
_NUMERIC_ATTRIBUTES: Final = frozenset({"width", "height", "colspan", "rowspan"})
_DIGITS: Final = re.compile(r"\d{1,5}")
_LEADING_NUMBER: Final = re.compile(r"\s*(\d+(?:\.\d+)?)")
_LINK_REL: Final = "noopener noreferrer nofollow"

#: Image URLs that are tracking beacons rather than pictures: FeedBurner's per-item image,
#: "pixel." hosts, /pixel and /beacon endpoints, ad servers and WordPress stats. A path
#: segment must be exactly "pixel" or "beacon" (plus an extension or query), so a photo
#: named pixel-9-review.jpg stays.
_PIXEL_URL: Final = re.compile(
    r"""
    feeds\.feedburner\.com/~r/
    | feeds\.feedblitz\.com/~/i/
    | //(?:[^/?#]*\.)?pixel\.
    | //[^/?#]*doubleclick\.net
    | //stats\.wordpress\.com/
    | /(?:pixel|beacon|tracking[-_]?pixel|open[-_]?pixel)s?(?:[./?#]|$)
    """,
    re.IGNORECASE | re.VERBOSE,
)
_HIDDEN_STYLE: Final = re.compile(
    r"display\s*:\s*none|visibility\s*:\s*hidden|(?:width|height)\s*:\s*[0-2](?:\.\d+)?px",
    re.IGNORECASE,
)

#: Where whitespace is kept as it is; elsewhere a string of nothing but ASCII whitespace between
#: two tags becomes one space, or one newline if it had one (what BeautifulSoup did, which
#: sanitised HTML was first made with).
_PRESERVE_WHITESPACE: Final = frozenset({"pre", "textarea"})
_ASCII_SPACES: Final = " \n\t\f\r"

# An element of the tree sanitize_html works on: (name, attributes, children); a child is an
# element or a string.
_Element = tuple[str, dict[str, str], list["_Node"]]
_Node = _Element | str


class _TreeBuilder:
    """lxml parser target that builds the small tree :func:`sanitize_html` walks.

    Text between two events is one string. Comments, processing instructions and doctypes
    only end the string before them: they are not kept. Reusable: ``close`` returns the
    top-level nodes and starts afresh.
    """

    def __init__(self) -> None:
        self._top: list[_Node] = []
        self._open: list[list[_Node]] = [self._top]
        self._names: list[str] = []
        self._data: list[str] = []
        self._preserve = 0

    def _end_data(self) -> None:
        text = "".join(self._data)
        self._data.clear()
        if not self._preserve and not text.strip(_ASCII_SPACES):
            text = "\n" if "\n" in text else " "
        self._open[-1].append(text)

    def start(self, tag: str, attrib: dict[str, str]) -> None:
        if self._data:
            self._end_data()
        children: list[_Node] = []
        self._open[-1].append((tag, attrib, children))
        self._open.append(children)
        self._names.append(tag)
        if tag in _PRESERVE_WHITESPACE:
            self._preserve += 1

    def end(self, tag: str) -> None:
        if self._data:
            self._end_data()
        if self._names:  # libxml2 balances the events; this is only a guard
            self._open.pop()
            if self._names.pop() in _PRESERVE_WHITESPACE:
                self._preserve -= 1

    def data(self, data: str) -> None:
        self._data.append(data)

    def comment(self, text: str) -> None:
        if self._data:
            self._end_data()

    def pi(self, target: str, data: str | None = None) -> None:
        if self._data:
            self._end_data()

    def doctype(self, name: str | None, pubid: str | None, system: str | None) -> None:
        if self._data:
            self._end_data()

    def close(self) -> list[_Node]:
        if self._data:
            self._end_data()
        top = self._top
        self.__init__()  # type: ignore[misc]
        return top


def _attribute_text(value: object) -> str:
    return value if isinstance(value, str) else str(value)


def _is_tracking_pixel(attributes: dict[str, str], src: str) -> bool:
    for name in ("width", "height"):
        value = attributes.get(name)
        if value is not None:
            match = _LEADING_NUMBER.match(_attribute_text(value))
            if match and float(match.group(1)) <= 2:
                return True
    style = attributes.get("style")
    if style is not None and _HIDDEN_STYLE.search(_attribute_text(style)):
        return True
    return _PIXEL_URL.search(src) is not None


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text


def _quoted_attribute(value: str) -> str:
    value = _escape(value)
    if '"' not in value:
        return f'"{value}"'
    if "'" not in value:
        return f"'{value}'"
    return '"' + value.replace('"', "&quot;") + '"'


def _start_tag(name: str, raw: dict[str, str], base_url: str | None) -> str | None:
    """The cleaned start tag of an allowed element; ``""`` to unwrap it, None to remove it."""
    allowed = _ALLOWED_ATTRIBUTES.get(name)
    if allowed is None:
        return f"<{name}>"
    attributes: dict[str, str] = {}
    for key, given in raw.items():
        if key not in allowed:
            continue
        value = _attribute_text(given).strip()
        if key in _NUMERIC_ATTRIBUTES and not _DIGITS.fullmatch(value):
            continue
        attributes[key] = value
    if name == "img":
        src = absolute_url(attributes.get("src"), base_url)
        if src is None or _is_tracking_pixel(raw, src):
            return None
        attributes["src"] = src
    elif name == "a":
        href = absolute_url(attributes.get("href"), base_url)
        if href is None:
            return ""  # a link that cannot be followed safely is just its text
        attributes["href"] = href
        attributes["rel"] = _LINK_REL
    if not attributes:
        return f"<{name}>"
    # Attributes in alphabetical order: the order of the first (BeautifulSoup) serialisation.
    pairs = " ".join(f"{key}={_quoted_attribute(attributes[key])}" for key in sorted(attributes))
    return f"<{name} {pairs}>"


def _render(top: list[_Node], base_url: str | None) -> str:
    """Apply the rules of :func:`sanitize_html` to a tree while writing it out.

    Iterative (an explicit stack), so any depth of nesting is fine. An element's fate depends
    only on its name and attributes, so it is decided on the way down: dropped with its
    content, unwrapped (its children take its place), or kept with cleaned attributes. A void
    element that libxml2 nested content into (it does not know ``embed`` is void) has that
    content lifted out to follow it, whatever happens to the element itself.
    """
    out: list[str] = []
    levels = [iter(top)]
    closers = [""]
    while levels:
        for node in levels[-1]:
            if isinstance(node, str):
                out.append(_escape(node))
                continue
            name, attributes, children = node
            if name in _SANITIZE_DROP:
                if not (children and name in _VOID):
                    continue
                closer = ""
            elif name not in _ALLOWED_TAGS:
                closer = ""
            else:
                start = _start_tag(name, attributes, base_url)
                if start:
                    out.append(start)
                if start is None or name in _VOID:
                    closer = ""
                    if not children:
                        continue
                elif start:
                    closer = f"</{name}>"
                else:
                    closer = ""
            levels.append(iter(children))
            closers.append(closer)
            break
        else:
            levels.pop()
            out.append(closers.pop())
    return "".join(out)


class _Parsers(threading.local):
    """This thread's HTML parsers, kept from call to call.

    Making an lxml parser with a target costs more than parsing a typical entry (lxml
    inspects the target's methods every time), so each thread keeps one of each, with its
    target, and makes a new one only after a parser error.
    """

    def __init__(self) -> None:
        # lxml is imported with the first parser, not with this module: tokens() and the URL
        # helpers, which every command's config check uses, need none of it.
        from lxml import etree

        self.error: type[Exception] = etree.LxmlError
        self.text_target = _TextCollector()
        self.text = etree.HTMLParser(
            target=self.text_target,
            encoding="utf-8",
            remove_comments=True,
            remove_pis=True,
            no_network=True,
        )
        self.tree_target = _TreeBuilder()
        self.tree = etree.HTMLParser(target=self.tree_target, recover=True)


@functools.cache
def _parsers() -> _Parsers:
    """The threads' parsers (each thread gets its own on first use)."""
    return _Parsers()


def _parse_tree(html: str) -> list[_Node]:
    parsers = _parsers()
    try:
        parsers.tree.feed(html)
        top: list[_Node] = parsers.tree.close()
    except parsers.error:
        # The recovering HTML parser should never get here; if it does, keep what was read
        # and start the next document on a new parser.
        top = parsers.tree_target.close()
        parsers.__init__()  # type: ignore[misc]
    return top


def sanitize_html(html: str, base_url: str | None = None) -> str:
    """Make untrusted article HTML safe to show in an email or a Markdown digest.

    Only an allowlist of presentational tags survives. Other tags are unwrapped (their
    children stay) except active or content-less ones (script, style, iframe, object, embed,
    form and its controls, svg, math, noscript, template, link, meta, base, head, title,
    audio/video/canvas), which go with everything inside them. Comments, doctypes and
    processing instructions go too. Attributes are allowlisted per tag (``a``: href, title;
    ``img``: src, alt, title, width, height; ``td``/``th``: colspan, rowspan; ``abbr``:
    title; ``time``: datetime); numeric ones must be plain digits. URLs are resolved against
    ``base_url`` and must end up http(s): an ``a`` whose href does not is unwrapped to its
    text, an ``img`` whose src does not is removed. Links get
    ``rel="noopener noreferrer nofollow"``. Tracking pixels are removed: images of at most
    2 pixels in either dimension, hidden by inline style, or served from known beacon URLs.

    The output escapes only ``&``, ``<`` and ``>`` in text and attribute values, writes
    attributes in alphabetical order, in double quotes (single quotes when the value has a
    double quote but no single one) and void elements without a closing slash (``<br>``).

    Args:
        html: Untrusted HTML (a fragment or a whole document) or plain text.
        base_url: The URL the HTML came from, for resolving relative links; without it,
            relative links and images are treated as unusable.

    Returns:
        A sanitised HTML fragment (no ``html``/``body`` wrapper), trimmed.
    """
    # Lone surrogates (from JSON feeds' "\ud800" escapes) cannot be encoded: make them U+FFFD.
    if _SURROGATES.search(html):
        html = _SURROGATES.sub("\ufffd", html)
    if "<" not in html:
        # Plain text: decode whatever entities it has, then escape it once, properly.
        return html_lib.escape(html_lib.unescape(html), quote=False).strip()
    # Every XML declaration, not only a leading one: it means nothing in HTML.
    cleaned = _without_controls(html)
    if "<?" in cleaned:
        cleaned = _XML_DECLARATION.sub("", cleaned)
    if cleaned.startswith("\ufeff"):
        cleaned = cleaned[1:]  # a byte order mark is no text
    return _render(_parse_tree(cleaned), base_url).strip()


def text_and_safe_html(html: str, base_url: str | None = None) -> tuple[str, str]:
    """``(html_to_text(html), sanitize_html(html, base_url))``, from one parse when possible.

    An entry's text and its stored HTML usually come from the same markup; the text is then
    read from the tree :func:`sanitize_html` builds instead of parsing the markup again. The
    two parsers see the same markup when it has no lone surrogates (each function replaces
    them its own way), no processing instruction or XML declaration (removed differently)
    and no leading byte order mark; otherwise, or for plain text, each function does its own
    work.

    Args:
        html: HTML markup, or plain text.
        base_url: As for :func:`sanitize_html`.

    Returns:
        The plain text and the sanitised HTML.
    """
    cleaned = _without_controls(html) if "<" in html else ""
    if not cleaned or "<?" in cleaned or cleaned[0] == "\ufeff" or _SURROGATES.search(cleaned):
        return html_to_text(html), sanitize_html(html, base_url)
    top = _parse_tree(cleaned)
    return _tree_text(top), _render(top, base_url).strip()


def _tree_text(top: list[_Node]) -> str:
    """:func:`html_to_text` of the markup the tree was built from.

    The tree gives the text collector the events the text parser would have: the same
    elements, and the same text but for runs of whitespace outside ``pre``, which the
    collector collapses anyway.
    """
    collector = _TextCollector()
    levels = [iter(top)]
    names: list[str] = []
    while levels:
        for node in levels[-1]:
            if isinstance(node, str):
                collector.data(node)
                continue
            name, attributes, children = node
            collector.start(name, attributes)
            levels.append(iter(children))
            names.append(name)
            break
        else:
            levels.pop()
            if names:
                collector.end(names.pop())
    return collector.close().strip()


# --------------------------------------------------------------------------------------------
# URLs
# --------------------------------------------------------------------------------------------

_WEB_SCHEMES: Final = frozenset({"http", "https"})
_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
# Browsers ignore tabs and newlines anywhere in a URL ("java\tscript:" is javascript:), and
# leading/trailing C0 controls and spaces.
_URL_INVISIBLE: Final = dict.fromkeys(map(ord, "\t\n\r"), None)
_URL_EDGE: Final = "".join(chr(c) for c in range(33))


def _clean_url(url: str) -> str:
    if "\t" in url or "\n" in url or "\r" in url:
        url = url.translate(_URL_INVISIBLE)
    url = url.strip(_URL_EDGE)
    if "\\" not in url:
        return url
    # For http(s) a backslash before the query means a slash to every browser.
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    return url[:cut].replace("\\", "/") + url[cut:]


#: The bases of an entry's links repeat (one per feed or entry): cleaned once.
_clean_base = functools.lru_cache(maxsize=256)(_clean_url)


#: An absolute http(s) URL that urljoin gives back unchanged whatever the base, and that
#: urlsplit accepts with its host as it is: a host of ASCII letters, digits, dots and hyphens
#: (no user, port or IPv6 brackets), and no query, fragment or path parameters (urljoin
#: drops their empty forms).
_PLAIN_URL: Final = re.compile(r"https?://[A-Za-z0-9.-]+(?:/[^?#;]*)?\Z")


def _join(base: str, url: str, *, plain: bool) -> str:
    """``urljoin(base, url)``, without its cost for a URL that ``_PLAIN_URL`` matches.

    The base is still parsed then, as urljoin would, so that a malformed one raises the same
    ValueError.
    """
    base = _clean_base(base)
    if plain:
        if base:
            urlsplit(base)
        return url
    return urljoin(base, url)


def absolute_url(url: str | None, base: str | None = None) -> str | None:
    """Resolve a link to an absolute http(s) URL, or reject it.

    Args:
        url: The link as found (may be relative, padded with whitespace, or ``None``).
        base: The URL of the page or feed the link came from, if known.

    Returns:
        The absolute URL, or ``None`` when there is no URL, it cannot be resolved, or the
        result is not http/https with a host (``javascript:``, ``data:``, ``mailto:``,
        ``file:``, a relative link without a base…).
    """
    if url is None:
        return None
    url = _clean_url(url)
    if not url:
        return None
    plain = _PLAIN_URL.match(url) is not None
    try:
        if base:
            url = _join(base, url, plain=plain)
        if plain:
            return url  # what urlsplit would accept, with a host and no port
        parts = urlsplit(url)
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        return None
    if parts.scheme.lower() not in _WEB_SCHEMES or not parts.hostname:
        return None
    return url


#: Query parameters that only say how a reader arrived, never which page they wanted.
_TRACKING_PARAMS: Final = frozenset(
    {
        "fbclid",
        "gclid",
        "gclsrc",
        "dclid",
        "gbraid",
        "wbraid",
        "msclkid",
        "mc_cid",
        "mc_eid",
        "igshid",
        "yclid",
        "ttclid",
        "twclid",
        "li_fat_id",
        "_ga",
        "_gl",
        "_hsenc",
        "_hsmi",
        "mkt_tok",
        "ocid",
        "cmpid",
        "ncid",
        "sr_share",
        "at_medium",
        "at_campaign",
        "ref_src",
        "ref_url",
        "ns_mchannel",
        "ns_source",
        "ns_campaign",
        "ns_linkname",
        "ns_fee",
        "oly_anon_id",
        "oly_enc_id",
        "vero_id",
        "rb_clickid",
        "s_cid",
    }
)
#: Values of ``ref`` that name where a link was shared, as opposed to ``ref`` as content
#: (a git branch on GitHub, a revision or record id elsewhere), which must be kept.
_TRACKING_REF_VALUES: Final = frozenset(
    {
        "rss",
        "feed",
        "feeds",
        "atom",
        "feedly",
        "inoreader",
        "newsletter",
        "email",
        "mail",
        "twitter",
        "twtr",
        "x",
        "facebook",
        "fb",
        "linkedin",
        "reddit",
        "hn",
        "hackernews",
        "telegram",
        "whatsapp",
        "share",
        "social",
        "homepage",
        "home",
        "nav",
        "sidebar",
        "related",
        "trending",
        "internal",
        "producthunt",
    }
)
_PERCENT_ESCAPE: Final = re.compile(r"%([0-9A-Fa-f]{2})")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# Characters allowed as they are in a path or query (RFC 3986), plus "%" so existing escapes
# survive; anything else (spaces, non-ASCII) is percent-encoded as UTF-8.
_PATH_SAFE: Final = "/:@!$&'()*+,;=-._~%"
_QUERY_SAFE: Final = _PATH_SAFE + "?"


def _normalize_escapes(text: str) -> str:
    """Decode escapes of unreserved characters and upper-case the rest (RFC 3986 6.2.2)."""

    def fix(match: re.Match[str]) -> str:
        char = chr(int(match.group(1), 16))
        return char if char in _UNRESERVED else "%" + match.group(1).upper()

    return _PERCENT_ESCAPE.sub(fix, text)


def _remove_dot_segments(path: str) -> str:
    if "." not in path:
        return path
    output: list[str] = []
    segments = path.split("/")
    for index, segment in enumerate(segments):
        last = index == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if len(output) > 1:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/".join(output)


def _is_tracking_param(name: str, value: str) -> bool:
    key = name.lower()
    if key.startswith("utm_") or key in _TRACKING_PARAMS:
        return True
    return key == "ref" and value.lower() in _TRACKING_REF_VALUES


def _clean_query(query: str) -> str:
    kept: list[str] = []
    for pair in query.split("&"):
        if not pair:
            continue
        name, _, value = pair.partition("=")
        if not _is_tracking_param(unquote_plus(name), unquote_plus(value)):
            kept.append(pair)
    return "&".join(kept)


def _ascii_host(host: str) -> str:
    host = host.rstrip(".")
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        # Not valid IDNA 2003 (some newer emoji/TLD labels): keep it lower-cased as it is.
        return host


def canonical_url(url: str | None, base: str | None = None) -> str | None:
    """The one spelling of a URL that identifies a page, for deduplicating entries.

    On top of :func:`absolute_url`: scheme and host are lower-cased, the host is converted to
    ASCII (IDNA) without a trailing dot, a default port (80 for http, 443 for https) is
    dropped, ``.``/``..`` path segments are resolved, percent-escapes are normalised
    (unreserved characters decoded, hex upper-cased, non-ASCII encoded as UTF-8), an empty
    path becomes ``/``, the fragment is dropped, and tracking query parameters are removed
    (``utm_*`` in any case, click ids like ``fbclid``/``gclid``/``msclkid``, mailing-list ids
    like ``mc_cid``, ``_hsenc``, ``mkt_tok``, outlet campaign tags like ``ocid``, ``cmpid``,
    ``ncid``, ``at_medium``, ``ns_source``, Twitter's ``ref_src``/``ref_url``). ``ref`` is
    removed only when its value is a known referrer label (``rss``, ``twitter``,
    ``newsletter``…), because elsewhere it selects content (a branch on GitHub). The other
    parameters keep their order and spelling.

    Args:
        url: The link as found.
        base: The URL it was found in, for relative links.

    Returns:
        The canonical URL, or ``None`` when :func:`absolute_url` rejects the link.
    """
    absolute = absolute_url(url, base)
    if absolute is None:
        return None
    absolute = _SURROGATES.sub("\ufffd", absolute)  # unencodable: one replacement character
    parts = urlsplit(absolute)
    scheme = parts.scheme.lower()
    host = _ascii_host(parts.hostname or "")
    if not host:
        return None  # "http://./": nothing left of the host
    if ":" in host:  # an IPv6 literal
        host = f"[{host}]"
    port = parts.port
    netloc = host if port is None or port == _DEFAULT_PORTS[scheme] else f"{host}:{port}"
    if "@" in parts.netloc:
        netloc = parts.netloc.rpartition("@")[0] + "@" + netloc
    # Escapes first: "%2e%2e" is "..", and must go with the other dot segments.
    path = _remove_dot_segments(_normalize_escapes(parts.path))
    path = _normalize_escapes(quote(path, safe=_PATH_SAFE)) or "/"
    query = _normalize_escapes(quote(_clean_query(parts.query), safe=_QUERY_SAFE))
    return urlunsplit((scheme, netloc, path, query, ""))


# --------------------------------------------------------------------------------------------
# Normalisation, tokens, fingerprints
# --------------------------------------------------------------------------------------------

_FOLD_PUNCTUATION: Final = str.maketrans(
    {
        **dict.fromkeys("\u2019\u2018\u02bc`\u00b4\u2032\u201b", "'"),
        **dict.fromkeys("\u2010\u2011\u2012\u2013\u2014\u2015\u2212", "-"),
        **dict.fromkeys("\u00ad\u200b\u200c\u200d\u2060\ufeff", None),
    }
)


_FOLDED_CHARACTERS: Final = tuple(
    (chr(code), value or "") for code, value in _FOLD_PUNCTUATION.items()
)


def _fold_punctuation(text: str) -> str:
    return _replace_each(text, _FOLDED_CHARACTERS)


def _replace_each(text: str, replacements: tuple[tuple[str, str], ...]) -> str:
    # str.translate with a dict consults the dict for every character, which is slow on long
    # texts, and so is a pattern; looking for each of a few characters with ``in`` (a memchr
    # in C) and replacing only those present is several times faster.
    for char, replacement in replacements:
        if char in text:
            text = text.replace(char, replacement)
    return text


# Only diacritics from the "combining diacritical marks" blocks are folded. Other combining
# marks are letters' vowel signs in Indic and similar scripts: dropping those would merge
# unrelated words.
_DIACRITICS: Final = re.compile(
    "[\u0300-\u036f\u1ab0-\u1aff\u1dc0-\u1dff\u20d0-\u20ff\ufe20-\ufe2f]"
)


def normalize_text(text: str) -> str:
    """Fold text to the form used for matching and fingerprints (not for display).

    Applies Unicode NFKC, case folding and accent folding ("é" becomes "e"; this also takes
    the breve off Ukrainian/Russian "й" and the diaeresis off "ї" and "ё", which is harmless
    as long as both sides of a comparison are folded alike); maps apostrophe variants (right
    and left single quotes, modifier-letter apostrophe, backtick, acute accent, prime) to
    ``'`` and hyphen and dash variants (U+2010 to U+2015, minus sign) to ``-``; removes soft
    hyphens and zero-width characters; collapses whitespace to single spaces and trims.

    Args:
        text: Any text.

    Returns:
        The normalised text.
    """
    return " ".join(_fold(text)[0].split())


def _fold(text: str) -> tuple[str, bool]:
    """:func:`normalize_text` without the spacing (what tokens are read from), and whether
    character offsets in it are those of the text.

    They are when every character folded into exactly one (the folded text is then the text
    as ``token_spans`` reads it, lower-cased, accents and typographic punctuation folded).
    """
    if text.isascii():
        # NFKC and the accent fold leave ASCII as it is, casefold is lower, and the only
        # ASCII character the punctuation fold changes is the backtick.
        return (text.lower().replace("`", "'") if "`" in text else text.lower()), True
    by_character = _fold_by_character(text)
    if by_character is not None:
        return by_character
    return _fold_whole(text)


def _fold_by_character(text: str) -> tuple[str, bool] | None:
    """``_fold`` one distinct character at a time, or None when the text has characters for
    which that would differ (see ``_character_fold``)."""
    return _FOLDS.fold(text)


class _CharacterFolds:
    """The folds of the non-ASCII characters met so far, and a pattern that finds, in a text,
    the characters that lower-casing alone does not fold (the others are skipped in C)."""

    #: Characters lower-casing alone folds, at most this many in the pattern.
    MAX_PLAIN = 8_192
    #: Folds kept, at most (news in a dozen scripts meets a few thousand characters).
    MAX_KNOWN = 20_000

    def __init__(self) -> None:
        self.folds: dict[str, str | None] = {}  # None: a text with it is folded whole
        self._plain: list[str] = []  # in the pattern
        self._waiting: list[str] = []  # plain, not in the pattern yet
        self._texts = 0  # texts folded since the pattern was made
        self._others = re.compile(r"[^\x00-\x7f]")

    def fold(self, text: str) -> tuple[str, bool] | None:
        aligned = True
        for char in set(self._others.findall(text)):
            if char in self.folds:
                folded = self.folds[char]
            else:
                if len(self.folds) >= self.MAX_KNOWN:
                    self.folds.clear()  # a text of all Unicode must not stay in memory
                folded = self.folds[char] = _character_fold(char)
                plain = folded is not None and len(folded) == 1 and folded == char.lower()
                if plain and char != "\u03a3":  # lower() may make a capital sigma "ς"
                    self._waiting.append(char)
            if folded is None:
                return None
            if len(folded) != 1:
                aligned = False
            # Lower-casing the whole text does the rest; capital sigma is lower-cased by its
            # context (a final sigma), not as ``casefold`` does it, so it is replaced here.
            if folded != char.lower() or char == "\u03a3":
                text = text.replace(char, folded)
        self._texts += 1
        if self._waiting and (len(self._waiting) >= 32 or self._texts >= 256):
            self._remake()
        text = text.lower()
        return (text.replace("`", "'") if "`" in text else text), aligned

    def _remake(self) -> None:
        # Compiling costs about 3 µs a character in the class: done when a few dozen new
        # characters are waiting, or now and then; one not in the pattern yet is only slower.
        room = self.MAX_PLAIN - len(self._plain)
        self._plain += self._waiting[:room]
        self._waiting.clear()
        self._texts = 0
        plain = re.escape("".join(sorted(self._plain)))
        self._others = re.compile(f"[^\\x00-\\x7f{plain}]")


def _character_fold(char: str) -> str | None:
    """What ``_fold_whole`` makes of one character alone, when folding a text character by
    character gives the same as folding it whole; else None.

    Unicode normalisation acts on sequences only through combining marks (reordered, and
    composed with the letter before them) and Hangul jamo (composed into syllables), so a text
    without either folds character by character, as long as no character folds into one of
    those, or into something that lower-casing would change again.
    """
    if unicodedata.category(char).startswith("M") or _HANGUL.match(char):
        return None
    folded = _fold_whole(char)[0]
    if folded.lower() != folded or any(
        unicodedata.category(c).startswith("M") or _HANGUL.match(c) for c in folded
    ):
        return None
    return folded


# Jamo, compatibility jamo, half-width jamo and syllables.
_HANGUL: Final = re.compile("[\u1100-\u11ff\u3130-\u318f\ua960-\ua97f\uac00-\ud7ff\uffa0-\uffdc]")
_FOLDS: Final = _CharacterFolds()


def _fold_whole(text: str) -> tuple[str, bool]:
    """``_fold`` of a text that is not ASCII, the whole text at once."""
    # Fold punctuation before NFKC too: NFKC turns the acute accent (U+00B4) into a space
    # plus a combining accent.
    folded = _fold_punctuation(text)
    if folded.isascii():  # typographic quotes and dashes were all there was
        return folded.lower(), len(folded) == len(text)
    folded = unicodedata.normalize("NFKC", folded).casefold()
    if folded.isascii():
        return (folded.replace("`", "'") if "`" in folded else folded), False
    folded = unicodedata.normalize("NFC", _DIACRITICS.sub("", unicodedata.normalize("NFD", folded)))
    return _fold_punctuation(folded), False


# Han and kana have no spaces between words; each character is its own token.
_CJK: Final = "\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"


@functools.cache
def _combining_marks() -> str:
    # Combining marks belong inside words (Indic vowel signs and viramas, Hebrew and Arabic
    # points), but Python's \w does not match them, so they are listed from the Unicode
    # database: once, on first use (it takes ~10 ms), and for the Basic Multilingual Plane.
    ranges: list[list[int]] = []
    for code in range(0x0300, 0x10000):
        if unicodedata.category(chr(code)).startswith("M"):
            if ranges and ranges[-1][1] == code - 1:
                ranges[-1][1] = code
            else:
                ranges.append([code, code])
    return "".join(f"{chr(lo)}-{chr(hi)}" for lo, hi in ranges)


@functools.cache
def _token_pattern() -> re.Pattern[str]:
    start = rf"[^\W_{_CJK}]"
    inner = rf"(?:{start}|[{_combining_marks()}])"
    return re.compile(rf"[{_CJK}]|{start}{inner}*(?:['-]{inner}+)*")


@functools.cache
def _needs_full_pattern() -> re.Pattern[str]:
    # Texts without combining marks or CJK (after folding: nearly all Latin and Cyrillic news)
    # tokenise the same with a plain pattern that is about twice as fast.
    return re.compile(f"[{_CJK}{_combining_marks()}]")


_SIMPLE_TOKEN: Final = re.compile(r"[^\W_]+(?:['-][^\W_]+)*")


def tokens(text: str) -> list[str]:
    """Split text into normalised word tokens, for matching and near-duplicate signatures.

    The text goes through :func:`normalize_text`; a token is then a run of letters, digits
    and combining marks in any script. Apostrophes and hyphens inside a word stay in it
    ("o'brien", "п'ять", "article-5-style"), but a trailing English possessive ``'s``
    is split off and dropped ("zelensky's" → "zelensky"), so possessive and plain forms
    match; a possessive plural keeps no apostrophe ("allies'" → "allies"). Underscores and
    all other punctuation separate tokens. Han and kana characters are single-character
    tokens, as those scripts do not separate words with spaces.

    Args:
        text: Any text.

    Returns:
        The tokens, in order (repeats kept).
    """
    return tokens_and_layout(text)[0]


def tokens_and_layout(text: str) -> tuple[list[str], str | None]:
    """:func:`tokens`, and for most Latin-script text where they lie, at no extra cost.

    Args:
        text: Any text.

    Returns:
        The tokens, and their layout: a string as long as ``text`` in which the characters
        of each token's span (as :func:`token_spans` gives it) are not spaces and all
        others are; the i-th run of non-spaces is the i-th token. None when the text does
        not allow it (characters that normalisation changes in length or position, other
        scripts); then only :func:`token_spans` knows the offsets.
    """
    folded, aligned = _fold(text)
    separated = _separated(folded)
    if separated is None:
        pattern = _token_pattern() if _needs_full_pattern().search(folded) else _SIMPLE_TOKEN
        result = pattern.findall(folded)
        for index, token in enumerate(result):
            if "'" in token:
                word = token[:-2] if token.endswith("'s") and len(token) > 2 else token
                result[index] = _ELISION.sub("", word)
        return result, None
    layout = separated if aligned else None
    if "'" not in separated:
        return separated.split(), layout
    # Every apostrophe left joins two letters, so "'s " ends a possessive.
    separated = (separated + " ").replace("'s ", " ")
    if "'" in separated:
        separated = _without_elisions(separated)
    return separated.split(), layout


# French and Italian elided articles and prepositions ("l'Ukraine", "d'adhésion",
# "dell'Ucraina") belong to the word after them only in writing: "l'ukraine" is "ukraine".
_ELIDED_WORDS: Final = (
    *("l", "d", "j", "m", "n", "s", "t", "c", "qu", "jusqu", "lorsqu", "puisqu"),
    *("dell", "nell", "sull", "dall", "all", "un"),
)
_ELISION: Final = re.compile(rf"^(?:{'|'.join(_ELIDED_WORDS)})'(?=[^\W\d_])")
_ELIDED: Final = frozenset(_ELIDED_WORDS)


def _without_elisions(text: str) -> str:
    """``_ELISION`` applied to each space-separated word that has an apostrophe.

    Every apostrophe in ``text`` stands between two letters or digits. The words are taken
    last first, so that shortening one does not move those still to come.
    """
    cut = text.rfind("'")
    while cut >= 0:
        start = text.rfind(" ", 0, cut) + 1
        first = text.find("'", start)  # an elided article ends at the word's first apostrophe
        if text[start:first] in _ELIDED and not text[first + 1].isdecimal():
            text = text[:start] + text[first + 1 :]
        cut = text.rfind("'", 0, start)
    return text


# The same folding as _FOLD_PUNCTUATION, but length-preserving: deleted characters become a
# letter, so they still join the word they sit in, and offsets stay those of the original.
_FOLDED_KEEPING_OFFSETS: Final = tuple(
    (chr(code), value or "a") for code, value in _FOLD_PUNCTUATION.items()
)


def token_spans(text: str) -> list[tuple[int, int]]:
    """Where each of ``tokens(text)`` lies in ``text`` (start, end), for highlighting.

    The spans line up with :func:`tokens` one to one for ordinary text; callers compare the
    counts and fall back to something slower in the rare case they do not.
    """
    folded = _folded_keeping_offsets(text)
    separated = _separated(folded)
    if separated is not None:
        return [match.span() for match in _NON_SPACES.finditer(separated)]
    pattern = _token_pattern() if _needs_full_pattern().search(folded) else _SIMPLE_TOKEN
    return [match.span() for match in pattern.finditer(folded)]


_NON_SPACES: Final = re.compile(r"[^ ]+")


def token_layout(text: str) -> str | None:
    """Where the tokens of :func:`token_spans` lie, as a string (for most text).

    Returns:
        A string as long as ``text`` whose runs of non-spaces are the spans of
        ``token_spans(text)``, one for one; None when only the token pattern can tell
        (CJK characters, combining marks, rare punctuation).
    """
    return _separated(_folded_keeping_offsets(text))


def _folded_keeping_offsets(text: str) -> str:
    if text.isascii():
        return text.replace("`", "'") if "`" in text else text
    return _replace_each(text, _FOLDED_KEEPING_OFFSETS)


# -- tokens without the regular expression -----------------------------------------------
#
# The token pattern is a run of letters and digits (``str.isalnum``) with single apostrophes
# or hyphens inside. Matching it character by character in ``re`` is the bulk of the cost of
# tagging an article, so ordinary text is split with string methods that run in C instead:
# every character that cannot be part of a token becomes a space, apostrophes and hyphens
# that do not join two letters too, and ``str.split`` does the rest. Text that holds
# something these steps do not know (CJK, combining marks, rare symbols) goes to the pattern.

#: ASCII bytes that are never part of a token, as spaces; the bytes of multi-byte UTF-8
#: characters (0x80 and up) pass unchanged.
_SEPARATOR_BYTES: Final = bytes(
    byte if byte >= 0x80 or chr(byte).isalnum() or chr(byte) in "'-" else 0x20
    for byte in range(256)
)
#: Non-ASCII punctuation and spaces common in news text, each replaced by one space (one
#: character for one, so offsets hold).
_SEPARATOR_CHARS: Final = tuple(
    (char, " ")
    for char in "\u201c\u201d\u201e\u00ab\u00bb\u2039\u203a\u201a\u00a0\u2026\u2022\u00b7"
    "\u20ac\u00a3\u00b0\u00a7\u2116\u00a9\u00ae\u2122\u2009\u202f\u2007\u00bf\u00a1"
)
#: UTF-8 lead bytes of the characters the plain split cannot handle: Han and kana
#: (U+3040-U+9FFF, U+F900-U+FAFF) start with E3-E9 or EF.
_CJK_LEAD_BYTES: Final = tuple(bytes([lead]) for lead in (*range(0xE3, 0xEA), 0xEF))
#: Two joiners in a row join nothing; nor does one next to a space.
_LONE_JOINERS: Final = ("''", "'-", "-'", "--")
_EDGE_JOINERS: Final = (" '", "' ", " -", "- ")


def _separated(text: str) -> str | None:
    """``text`` with every character outside a token replaced by a space (same length).

    Splitting the result on spaces gives exactly the matches of the plain token pattern
    (``_SIMPLE_TOKEN``). None when the text needs the pattern: it holds CJK characters,
    combining marks, or punctuation or spacing not handled here.
    """
    ascii_only = text.isascii()
    if not ascii_only:
        text = _replace_each(text, _SEPARATOR_CHARS)
    # "surrogatepass": a lone surrogate (not a token character) must not stop the encoding.
    data = text.encode("utf-8", "surrogatepass")
    if not ascii_only:
        for lead in _CJK_LEAD_BYTES:
            if lead in data:
                return None
    separated = data.translate(_SEPARATOR_BYTES).decode("utf-8", "surrogatepass")
    if "'" in separated or "-" in separated:
        separated = _unjoin(separated)
    if not ascii_only:
        rest = separated.replace(" ", "").replace("'", "").replace("-", "")
        if rest and not rest.isalnum():
            return None
    return separated


def _unjoin(text: str) -> str:
    """Apostrophes and hyphens that do not stand between two letters, as spaces."""
    text = f" {text} "
    if "'" not in text:
        pairs: tuple[str, ...] = ("--", " -", "- ")
    elif "-" not in text:
        pairs = ("''", " '", "' ")
    else:
        pairs = _LONE_JOINERS + _EDGE_JOINERS
    # One pass over the pairs of joiners leaves no two side by side: of two neighbours left
    # standing, the pass for their pair would have found them. Every joiner next to a
    # space then goes too.
    for pair in pairs:
        text = text.replace(pair, "  ")
    return text[1:-1]


def content_fingerprint(title: str, text: str) -> str:
    """A stable hash of an article's normalised title and text, for exact-duplicate checks.

    Args:
        title: The article's title.
        text: Its plain text.

    Returns:
        The SHA-256 hex digest of ``normalize_text(title) + "\\n" + normalize_text(text)``.
    """
    payload = normalize_text(title) + "\n" + normalize_text(text)
    return hashlib.sha256(payload.encode("utf-8")).hexdigest()
