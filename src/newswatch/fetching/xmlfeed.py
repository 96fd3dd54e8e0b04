"""A fast path for plain RSS and Atom documents that gives exactly what feedparser gives.

feedparser spends most of its time in its own bookkeeping (a SAX layer, dictionaries with
aliases, deep copies), about 600 µs per entry. This module drives expat, the XML parser
feedparser itself uses, and replays feedparser's handlers for the elements ordinary feeds are
made of, on plain dictionaries: it returns the same result ``feedparser.parse`` would return
for the keys ``parse._parse_xml`` reads, several times faster.

Exactness comes from following feedparser rather than re-deriving the formats: the
character-set handling, the DOCTYPE check and the date parser are feedparser's own functions,
called; the element handlers below are written here, for plain dictionaries, to behave step
for step as feedparser 6.0's do (``feedparser/mixin.py`` and ``namespaces/``, BSD-licensed:
their behaviour is the specification), quirks included: the first title of an entry wins, an
Atom ``<content>`` leaves a frame on the element stack, ``xml:base`` leaks out of an element
whose parent has none, and so on. A feedparser upgrade must pass the equivalence tests
again. Whenever a document holds something these handlers do not cover, ``parse_feed``
returns ``None`` and the caller runs feedparser:

- anything but a well-formed XML document in a charset feedparser settles without complaint
  (feedparser then recovers what it can with its loose parser and reports the problem);
- a DOCTYPE or entity declarations (hostile XML stays with feedparser, which strips them);
- a root other than ``<rss>``, ``<rdf:RDF>`` or ``<feed>``;
- an element feedparser has a handler for that is not replayed here (iTunes, GeoRSS,
  ``<textInput>``, contributors, Creative Commons, ...), or an unhandled element whose value
  would land on a key newswatch reads;
- markup feedparser itself mishandles (a ``<div>`` or an element with its own handler inside
  escaped HTML, SVG or MathML, base64 or other non-text content).
"""

from __future__ import annotations

import copy
import pyexpat
import re
import xml.sax
from collections.abc import Callable, Mapping
from typing import Any
from xml.sax.saxutils import escape as _xml_escape

import feedparser.api
from feedparser.datetimes import _parse_date
from feedparser.encodings import convert_to_utf8
from feedparser.exceptions import NonXMLContentType
from feedparser.html import _cp1252
from feedparser.mixin import _FeedParserMixin
from feedparser.sanitizer import replace_doctype
from feedparser.urls import _urljoin, make_safe_absolute_uri
from feedparser.util import FeedParserDict

__all__ = ["parse_feed"]

Result = dict[str, Any]

_XHTML = "application/xhtml+xml"
_HTML_TYPES = frozenset({_XHTML, "text/html"})
_MATCH: dict[str, str] = {
    uri.lower(): prefix for uri, prefix in _FeedParserMixin.namespaces.items()
}
_FEEDPARSER_STARTS = frozenset(n[7:] for n in dir(_FeedParserMixin) if n.startswith("_start_"))
_FEEDPARSER_ENDS = frozenset(n[5:] for n in dir(_FeedParserMixin) if n.startswith("_end_"))
_KEYMAP: dict[str, str | list[str]] = FeedParserDict.keymap
_CAN_BE_RELATIVE_URI = frozenset(_FeedParserMixin.can_be_relative_uri)
_XLINK = "http://www.w3.org/1999/xlink"
_QUOT = {'"': "&quot;"}
_CP1252_CHARS = re.compile("[\x80-\x9f]")
_LINK_ENTITY = re.compile("&([A-Za-z0-9_]+);")
_looks_like_html: Callable[[str], bool] = _FeedParserMixin.looks_like_html
#: Keys newswatch or the replayed handlers read: an element without a handler of its own that
#: would be stored under one of them is left to feedparser.
_GUARDED_KEYS = frozenset(
    {
        "author",
        "author_detail",
        "authors",
        "content",
        "created_parsed",
        "generator_detail",
        "guidislink",
        "id",
        "image",
        "language",
        "link",
        "links",
        "media_content",
        "media_credit",
        "media_thumbnail",
        "published_parsed",
        "publisher",
        "publisher_detail",
        "publishers",
        "source",
        "subtitle",
        "subtitle_detail",
        "summary",
        "summary_detail",
        "tags",
        "textinput",
        "title",
        "title_detail",
        "updated_parsed",
    }
)


def _feedparser_uses_expat() -> bool:
    # feedparser prefers libxml2's SAX driver when its Python bindings are installed; the
    # replay below is only exact for the expat event stream.
    reader = xml.sax.make_parser(feedparser.api.PREFERRED_XML_PARSERS)
    return type(reader).__module__ == "xml.sax.expatreader"


_ENABLED = _feedparser_uses_expat()


class _Unsupported(Exception):
    """The document holds something only feedparser itself reproduces exactly."""


def parse_feed(body: bytes, headers: Mapping[str, str]) -> Result | None:
    """Parse a plain RSS or Atom document as ``feedparser.parse`` would.

    Args:
        body: the document, after ``settle_charset`` and ``_cap_author_fields``.
        headers: the HTTP response headers (lower-case names) given to feedparser, without
            Content-Location.

    Returns:
        A dictionary with the keys ``version``, ``feed``, ``entries``, ``bozo`` and
        ``bozo_exception``, equal to feedparser's result for everything ``parse._parse_xml``
        reads; or ``None`` when the document must go through feedparser.
    """
    if not _ENABLED:
        return None
    result: Result = {"bozo": False}
    data = convert_to_utf8(dict(headers), body, result)
    if not result.get("encoding"):
        return None
    if result.get("bozo") and not isinstance(result.get("bozo_exception"), NonXMLContentType):
        return None
    version, stripped, entities = replace_doctype(data)
    if version or entities or stripped != data:
        return None
    replay = _Replay(headers.get("content-language"))
    parser = pyexpat.ParserCreate(None, " ")
    parser.namespace_prefixes = True
    parser.buffer_text = True
    parser.SetParamEntityParsing(pyexpat.XML_PARAM_ENTITY_PARSING_NEVER)
    parser.StartElementHandler = replay.start_element
    parser.EndElementHandler = replay.end_element
    parser.CharacterDataHandler = replay.handle_data
    parser.StartNamespaceDeclHandler = replay.start_prefix_mapping
    parser.StartDoctypeDeclHandler = _refuse
    parser.EntityDeclHandler = _refuse
    try:
        parser.Parse(data, True)
    except (pyexpat.ExpatError, _Unsupported):
        return None
    return {
        "bozo": result.get("bozo", False),
        "bozo_exception": result.get("bozo_exception"),
        "version": replay.version,
        "feed": replay.feeddata,
        "entries": replay.entries,
    }


def _refuse(*_args: object) -> None:
    raise _Unsupported


_JOINS: dict[tuple[str, str], str] = {}
_QUALIFIED: dict[str, str] = {}


def _rebase(current: str, given: str) -> str:
    """feedparser's tracking of the base URI at each start tag (cached: mostly the same pair)."""
    key = (current, given)
    joined = _JOINS.get(key)
    if joined is None:
        if current:
            joined = str(make_safe_absolute_uri(current, given) or current)
        else:
            joined = str(_urljoin(current, given))
        if len(_JOINS) > 4096:
            _JOINS.clear()
        _JOINS[key] = joined
    return joined


def _undo_latin1(text: str) -> str:
    try:
        return text.encode("iso-8859-1").decode("utf-8")
    except (UnicodeEncodeError, UnicodeDecodeError):
        return text


def _map_content_type(content_type: str) -> str:
    content_type = content_type.lower()
    if content_type in ("text", "plain"):
        return "text/plain"
    if content_type == "html":
        return "text/html"
    if content_type == "xhtml":
        return _XHTML
    return content_type


def _put(context: dict[str, Any], key: str, value: object) -> None:
    """``context[key] = value`` on a FeedParserDict, which stores some keys under aliases."""
    real = _KEYMAP.get(key, key)
    context[real[0] if isinstance(real, list) else real] = value


def _strattrs(attrs: dict[str, str]) -> str:
    return "".join(f' {k}="{_xml_escape(v, _QUOT)}"' for k, v in attrs.items())


def _enforce_href(attrs_d: dict[str, str]) -> dict[str, str]:
    href = attrs_d.get("url", attrs_d.get("uri", attrs_d.get("href")))
    if href:
        attrs_d.pop("url", None)
        attrs_d.pop("uri", None)
        attrs_d["href"] = href
    return attrs_d


class _Replay:
    """feedparser's ``_StrictFeedParser`` and ``_FeedParserMixin``, for the common elements."""

    def __init__(self, baselang: str | None) -> None:
        self.version = ""
        self.feeddata: dict[str, Any] = {}
        self.entries: list[dict[str, Any]] = []
        self.namespaces_in_use: dict[str, str] = {}
        self.namespacemap: dict[str | None, str] = {}
        self.infeed = 0
        self.inentry = 0
        self.incontent = 0
        self.inimage = 0
        self.inauthor = 0
        self.insource = 0
        self.sourcedata: dict[str, Any] = {}
        self.contentparams: dict[str, Any] = {}
        self.summary_key: str | None = None
        self.elementstack: list[tuple[str, int, list[str]]] = []
        self.basestack: list[str] = []
        self.langstack: list[str | None] = []
        self.baseuri = ""
        self.lang = baselang
        self.title_depth = -1
        self.depth = 0
        self.has_content = 0
        self.guidislink = False
        self.depth_map: dict[str, int] = {}
        # Per open element: True when it is markup inside a content element (serialised).
        self.inline: list[bool] = []
        if self.lang:
            self.feeddata["language"] = self.lang.replace("_", "-")

    # -- the SAX layer (xml.sax.expatreader + _StrictFeedParser) ----------------------------

    def start_prefix_mapping(self, prefix: str | None, uri: str | None) -> None:
        if not uri:
            return
        if prefix and uri == _XLINK:
            raise _Unsupported  # feedparser copies xlink declarations into attributes
        self.track_namespace(prefix or None, uri)

    def _qualify(self, name: str) -> str:
        tag = _QUALIFIED.get(name)
        if tag is not None:
            return tag
        # expatreader's split of "uri local prefix" (namespace_prefixes is on).
        parts = name.split()
        if len(parts) == 1:
            namespace, localname = "", name
        elif len(parts) <= 3:
            namespace, localname = parts[0], parts[1]
        else:
            raise _Unsupported  # whitespace in a namespace URI: feedparser fails to unpack it
        lowernamespace = namespace.lower()
        if "backend.userland.com/rss" in lowernamespace:
            raise _Unsupported
        prefix = _MATCH.get(lowernamespace)
        localname = localname.lower()
        if localname in ("math", "svg"):
            raise _Unsupported  # feedparser adds xmlns attributes, counts SVG depth
        if prefix is None and namespace:
            # An unknown namespace: named by the first prefix declared for it so far.
            for known, value in self.namespaces_in_use.items():
                if known and value == namespace:
                    return (known + ":" + localname).lower()
            return localname
        # No namespace or a known one (whose URI only ever sits under its standard prefix in
        # namespaces_in_use): the tag depends on the name alone.
        tag = prefix.lower() + ":" + localname if prefix else localname
        if len(_QUALIFIED) > 4096:
            _QUALIFIED.clear()
        _QUALIFIED[name] = tag
        return tag

    def start_element(self, name: str, attrs: dict[str, str]) -> None:
        tag = self._qualify(name)
        if not self.basestack and tag not in ("rss", "rdf:rdf", "feed"):
            raise _Unsupported
        attrs_d: dict[str, str] = {}
        if attrs:
            qnames: list[str] = []
            first: dict[str, str] = {}
            for aname, value in attrs.items():
                parts = aname.split()
                if len(parts) == 1:
                    key = qname = aname
                elif len(parts) == 3:
                    prefix = _MATCH.get(parts[0].lower(), "")
                    key = prefix + ":" + parts[1] if prefix else parts[1]
                    qname = parts[2] + ":" + parts[1]
                else:
                    raise _Unsupported  # not a name expat gives with namespace_prefixes on
                attrs_d[key.lower()] = value
                qnames.append(qname)
                first.setdefault(qname, value)
            for qname in qnames:
                attrs_d[qname.lower()] = first[qname]
            for key in ("rel", "type"):
                if key in attrs_d:
                    attrs_d[key] = attrs_d[key].lower()
        self.unknown_starttag(tag, attrs_d)

    def end_element(self, name: str) -> None:
        tag = self._qualify(name)
        self.unknown_endtag(tag)

    # -- _FeedParserMixin ------------------------------------------------------------------

    def unknown_starttag(self, tag: str, attrs_d: dict[str, str]) -> None:
        self.depth += 1
        if attrs_d:
            baseuri = attrs_d.get("xml:base", attrs_d.get("base")) or self.baseuri
            lang = attrs_d.get("xml:lang", attrs_d.get("lang"))
        else:
            baseuri, lang = self.baseuri, None
        self.baseuri = _rebase(self.baseuri, baseuri)
        if lang == "":
            lang = None
        elif lang is None:
            lang = self.lang
        if lang and tag in ("feed", "rss", "rdf:RDF"):
            self.feeddata["language"] = lang.replace("_", "-")
        self.lang = lang
        self.basestack.append(self.baseuri)
        self.langstack.append(lang)

        if self.incontent:
            content_type = self.contentparams.get("type", "xml")
            if not content_type.endswith("xml"):
                if tag in ("xhtml:div", "div"):
                    raise _Unsupported  # feedparser leaves its depth and stacks unbalanced
                content_type = self.contentparams["type"] = _XHTML
            if content_type != _XHTML:
                raise _Unsupported  # feedparser runs its handlers on other XML content
            self.inline.append(True)
            if ":" in tag:
                tag = tag.split(":", 1)[1]
            self.append_piece(f"<{tag}{_strattrs(attrs_d)}>")
            return
        self.inline.append(False)

        if ":" in tag:
            prefix, suffix = tag.split(":", 1)
        else:
            prefix, suffix = "", tag
        prefix = self.namespacemap.get(prefix, prefix)
        if prefix:
            prefix += "_"
        # feedparser's guard against images left open in ill-formed feeds.
        if not prefix and tag not in _KEEP_IMAGE_OPEN:
            self.inimage = 0
        self.dispatch_start(prefix + suffix, attrs_d)

    def dispatch_start(self, name: str, attrs_d: dict[str, str]) -> None:
        handler = _STARTS.get(name)
        if handler is not None:
            handler(self, attrs_d)
        elif name in _FEEDPARSER_STARTS:
            raise _Unsupported
        else:
            real = _KEYMAP.get(name, name)
            if (real[0] if isinstance(real, list) else real) in _GUARDED_KEYS:
                raise _Unsupported
            if not attrs_d:
                self.push(name, 1)
            else:
                _put(self.get_context(), name, attrs_d)

    def unknown_endtag(self, tag: str) -> None:
        if ":" in tag:
            prefix, suffix = tag.split(":", 1)
        else:
            prefix, suffix = "", tag
        prefix = self.namespacemap.get(prefix, prefix)
        if prefix:
            prefix += "_"
        name = prefix + suffix
        if self.inline.pop():
            # feedparser would run this element's end handler on the content's state.
            if name in _FEEDPARSER_ENDS:
                raise _Unsupported
        else:
            handler = _ENDS.get(name)
            if handler is not None:
                handler(self)
            elif name in _FEEDPARSER_ENDS:
                raise _Unsupported
            else:
                self.pop(name)

        if self.incontent:
            content_type = self.contentparams.get("type", "xml")
            if not content_type.endswith("xml"):
                if tag in ("xhtml:div", "div"):
                    raise _Unsupported
                content_type = self.contentparams["type"] = _XHTML
            if content_type == _XHTML:
                self.append_piece(f"</{tag.rpartition(':')[2]}>")

        if self.basestack:
            self.basestack.pop()
            if self.basestack and self.basestack[-1]:
                self.baseuri = self.basestack[-1]
        if self.langstack:
            self.langstack.pop()
            if self.langstack:
                self.lang = self.langstack[-1]
        self.depth -= 1

    def handle_data(self, text: str) -> None:
        if not self.elementstack:
            return
        if self.contentparams.get("type") == _XHTML:
            text = _xml_escape(text)
        self.elementstack[-1][2].append(text)

    def append_piece(self, text: str) -> None:
        if self.elementstack:
            self.elementstack[-1][2].append(text)

    def track_namespace(self, prefix: str | None, uri: str) -> None:
        loweruri = uri.lower()
        if not self.version:
            if (prefix, loweruri) == (None, "http://my.netscape.com/rdf/simple/0.9/"):
                self.version = "rss090"
            elif loweruri == "http://purl.org/rss/1.0/":
                self.version = "rss10"
            elif loweruri == "http://www.w3.org/2005/atom":
                self.version = "atom10"
        if "backend.userland.com/rss" in loweruri:
            raise _Unsupported
        if loweruri in _MATCH:
            self.namespacemap[prefix] = _MATCH[loweruri]
            self.namespaces_in_use[_MATCH[loweruri]] = uri
        else:
            self.namespaces_in_use[prefix or ""] = uri

    def resolve_uri(self, uri: str) -> str:
        return str(_urljoin(self.baseuri or "", uri))

    def push(self, element: str, expecting_text: int) -> None:
        self.elementstack.append((element, expecting_text, []))

    def pop(self, element: str) -> str | None:  # noqa: PLR0915 - one function, as in feedparser
        if not self.elementstack or self.elementstack[-1][0] != element:
            return None
        element, expecting_text, pieces = self.elementstack.pop()

        if self.version == "atom10" and self.contentparams.get("type", "text") == _XHTML:
            # Remove an enclosing <div> when all the content is inside it.
            while pieces and len(pieces) > 1 and not pieces[-1].strip():
                del pieces[-1]
            while pieces and len(pieces) > 1 and not pieces[0].strip():
                del pieces[0]
            if (
                pieces
                and (pieces[0] == "<div>" or pieces[0].startswith("<div "))
                and pieces[-1] == "</div>"
            ):
                depth = 0
                for piece in pieces[:-1]:
                    if piece.startswith("</"):
                        depth -= 1
                        if depth == 0:
                            break
                    elif piece.startswith("<") and not piece.endswith("/>"):
                        depth += 1
                else:
                    pieces = pieces[1:-1]

        output = "".join(pieces).strip()
        if not expecting_text:
            return output
        contentparams = self.contentparams
        if contentparams.get("base64", 0):
            raise _Unsupported
        if element in _CAN_BE_RELATIVE_URI and output and (element != "id" or self.guidislink):
            output = self.resolve_uri(output)
        if (
            not self.version.startswith("atom")
            and contentparams.get("type") == "text/plain"
            and _looks_like_html(output)
        ):
            contentparams["type"] = "text/html"
        contentparams.pop("mode", None)
        contentparams.pop("base64", None)
        if not output.isascii():
            # feedparser undoes UTF-8 read as ISO-8859-1, and maps C1 controls as windows-1252.
            output = _undo_latin1(output)
            if _CP1252_CHARS.search(output):
                output = output.translate(_cp1252)

        if element in ("category", "tags", "itunes_keywords"):
            return output
        if element == "title" and -1 < self.title_depth <= self.depth:
            return output

        if self.inentry and not self.insource:
            entry = self.entries[-1]
            if element == "content":
                entry.setdefault(element, [])
                detail = dict(contentparams)
                detail["value"] = output
                entry[element].append(detail)
            elif element == "link":
                if not self.inimage:
                    output = output.replace("&amp;", "&")
                    output = _LINK_ENTITY.sub(r"&\g<1>", output)
                    entry[element] = output
                    if output:
                        self.last_link(entry)["href"] = output
            else:
                if element == "description":
                    element = "summary"
                old_value_depth = self.depth_map.get(element)
                if old_value_depth is None or self.depth <= old_value_depth:
                    self.depth_map[element] = self.depth
                    _put(entry, element, output)
                if self.incontent:
                    detail = dict(contentparams)
                    detail["value"] = output
                    _put(entry, element + "_detail", detail)
        elif self.infeed or self.insource:
            context = self.get_context()
            if element == "description":
                element = "subtitle"
            _put(context, element, output)
            if element == "link":
                output = _LINK_ENTITY.sub(r"&\g<1>", output)
                context[element] = output
                self.last_link(context)["href"] = output
            elif self.incontent:
                detail = dict(contentparams)
                detail["value"] = output
                _put(context, element + "_detail", detail)
        return output

    @staticmethod
    def last_link(context: dict[str, Any]) -> dict[str, str]:
        links = context.get("links")
        if not links:
            raise _Unsupported  # feedparser raises KeyError or IndexError
        link: dict[str, str] = links[-1]
        return link

    def push_content(
        self, tag: str, attrs_d: dict[str, str], default_content_type: str, expecting_text: int
    ) -> None:
        self.incontent += 1
        if self.lang:
            self.lang = self.lang.replace("_", "-")
        content_type = _map_content_type(attrs_d.get("type", default_content_type))
        self.contentparams = {"type": content_type, "language": self.lang, "base": self.baseuri}
        if attrs_d.get("mode", "") == "base64" or not (
            content_type.startswith("text/")
            or content_type.endswith("+xml")
            or content_type.endswith("/xml")
        ):
            raise _Unsupported  # feedparser would try base64
        self.contentparams["base64"] = 0
        self.push(tag, expecting_text)

    def pop_content(self, tag: str) -> str | None:
        value = self.pop(tag)
        self.incontent -= 1
        self.contentparams.clear()
        return value

    def get_context(self) -> dict[str, Any]:
        if self.insource:
            return self.sourcedata
        if self.inimage and "image" in self.feeddata:
            image: dict[str, Any] = self.feeddata["image"]
            return image
        if self.inentry:
            return self.entries[-1]
        return self.feeddata

    def save(self, key: str, value: object, overwrite: bool = False) -> None:
        context = self.get_context()
        if overwrite:
            context[key] = value
        else:
            context.setdefault(key, value)

    def save_author(self, key: str, value: str | None, prefix: str = "author") -> None:
        context = self.get_context()
        context.setdefault(prefix + "_detail", {})
        context[prefix + "_detail"][key] = value
        self.sync_author_detail()
        context.setdefault("authors", [{}])
        context["authors"][-1][key] = value

    def sync_author_detail(self, key: str = "author") -> None:
        context = self.get_context()
        detail = context.get(f"{key}s", [{}])[-1]
        if detail:
            name = detail.get("name")
            email = detail.get("email")
            if name and email:
                context[key] = f"{name} ({email})"
            elif name:
                context[key] = name
            elif email:
                context[key] = email
            return
        author, email = context.get(key), None
        if not author:
            return
        emailmatch = _EMAIL.search(author)
        if emailmatch:
            email = emailmatch.group(0)
            author = author.replace(email, "")
            author = author.replace("()", "")
            author = author.replace("<>", "")
            author = author.replace("&lt;&gt;", "")
            author = author.strip()
            if author and (author[0] == "("):
                author = author[1:]
            if author and (author[-1] == ")"):
                author = author[:-1]
            author = author.strip()
        if author or email:
            context.setdefault(f"{key}_detail", detail)
        if author:
            detail["name"] = author
        if email:
            detail["email"] = email

    def add_tag(self, term: str | None, scheme: str | None, label: str | None) -> None:
        context = self.get_context()
        tags = context.setdefault("tags", [])
        if (not term) and (not scheme) and (not label):
            return
        value = {"term": term, "scheme": scheme, "label": label}
        if value not in tags:
            tags.append(value)

    # -- element handlers (feedparser/namespaces/_base.py, dc.py, mediarss.py) -------------

    def _start_rss(self, attrs_d: dict[str, str]) -> None:
        if not self.version or not self.version.startswith("rss"):
            attr_version = attrs_d.get("version", "")
            version = _RSS_VERSIONS.get(attr_version)
            if version:
                self.version = version
            elif attr_version.startswith("2."):
                self.version = "rss20"
            else:
                self.version = "rss"

    def _start_channel(self, attrs_d: dict[str, str]) -> None:
        self.infeed = 1
        self._cdf_common(attrs_d)

    def _cdf_common(self, attrs_d: dict[str, str]) -> None:
        if "lastmod" in attrs_d or "href" in attrs_d:
            raise _Unsupported

    def _start_feed(self, attrs_d: dict[str, str]) -> None:
        self.infeed = 1
        if not self.version:
            self.version = _ATOM_VERSIONS.get(attrs_d.get("version") or "", "atom")

    def _end_channel(self) -> None:
        self.infeed = 0

    def _start_image(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        if not self.inentry:
            context.setdefault("image", {})
        self.inimage = 1
        self.title_depth = -1
        self.push("image", 0)

    def _end_image(self) -> None:
        self.pop("image")
        self.inimage = 0

    def _start_author(self, attrs_d: dict[str, str]) -> None:
        self.inauthor = 1
        self.push("author", 1)
        context = self.get_context()
        context.setdefault("authors", [])
        context["authors"].append({})

    def _end_author(self) -> None:
        self.pop("author")
        self.inauthor = 0
        self.sync_author_detail()

    def _start_name(self, attrs_d: dict[str, str]) -> None:
        self.push("name", 0)

    def _end_name(self) -> None:
        value = self.pop("name")
        if self.inauthor:
            self.save_author("name", value)

    def _start_width(self, attrs_d: dict[str, str]) -> None:
        self.push("width", 0)

    def _end_width(self) -> None:
        self._end_dimension("width")

    def _start_height(self, attrs_d: dict[str, str]) -> None:
        self.push("height", 0)

    def _end_height(self) -> None:
        self._end_dimension("height")

    def _end_dimension(self, key: str) -> None:
        text = self.pop(key)
        if text is None:
            raise _Unsupported  # feedparser raises TypeError
        try:
            value = int(text)
        except ValueError:
            value = 0
        if self.inimage:
            self.get_context()[key] = value

    def _start_url(self, attrs_d: dict[str, str]) -> None:
        self.push("href", 1)

    def _end_url(self) -> None:
        value = self.pop("href")
        if self.inauthor:
            self.save_author("href", value)

    def _start_email(self, attrs_d: dict[str, str]) -> None:
        self.push("email", 0)

    def _end_email(self) -> None:
        value = self.pop("email")
        if self.inauthor:
            self.save_author("email", value)

    def _start_subtitle(self, attrs_d: dict[str, str]) -> None:
        self.push_content("subtitle", attrs_d, "text/plain", 1)

    def _end_subtitle(self) -> None:
        self.pop_content("subtitle")

    def _start_rights(self, attrs_d: dict[str, str]) -> None:
        self.push_content("rights", attrs_d, "text/plain", 1)

    def _end_rights(self) -> None:
        self.pop_content("rights")

    def _start_info(self, attrs_d: dict[str, str]) -> None:
        self.push_content("info", attrs_d, "text/plain", 1)

    def _end_info(self) -> None:
        self.pop_content("info")

    def _start_item(self, attrs_d: dict[str, str]) -> None:
        self.entries.append({})
        self.depth_map = {}
        self.push("item", 0)
        self.inentry = 1
        self.guidislink = False
        self.title_depth = -1
        about = attrs_d.get(self.namespacemap.get("rdf", "rdf") + ":about")
        if about:
            self.get_context()["id"] = about
        self._cdf_common(attrs_d)

    def _end_item(self) -> None:
        self.pop("item")
        self.inentry = 0
        self.has_content = 0

    def _start_language(self, attrs_d: dict[str, str]) -> None:
        self.push("language", 1)

    def _end_language(self) -> None:
        self.lang = self.pop("language")

    def _start_webmaster(self, attrs_d: dict[str, str]) -> None:
        self.push("publisher", 1)

    def _end_webmaster(self) -> None:
        self.pop("publisher")
        self.sync_author_detail("publisher")

    def _start_published(self, attrs_d: dict[str, str]) -> None:
        self.push("published", 1)

    def _end_published(self) -> None:
        value = self.pop("published")
        self.save("published_parsed", _parse_date(value), overwrite=True)

    def _start_updated(self, attrs_d: dict[str, str]) -> None:
        self.push("updated", 1)

    def _end_updated(self) -> None:
        value = self.pop("updated")
        self.save("updated_parsed", _parse_date(value), overwrite=True)

    def _start_created(self, attrs_d: dict[str, str]) -> None:
        self.push("created", 1)

    def _end_created(self) -> None:
        value = self.pop("created")
        self.save("created_parsed", _parse_date(value), overwrite=True)

    def _start_category(self, attrs_d: dict[str, str]) -> None:
        term = attrs_d.get("term")
        scheme = attrs_d.get("scheme", attrs_d.get("domain"))
        label = attrs_d.get("label")
        self.add_tag(term, scheme, label)
        self.push("category", 1)

    def _end_category(self) -> None:
        value = self.pop("category")
        if not value:
            return
        tags = self.get_context().get("tags")
        if tags is None:
            raise _Unsupported  # feedparser raises KeyError
        if value and len(tags) and not tags[-1]["term"]:
            tags[-1]["term"] = value
        else:
            self.add_tag(value, None, None)

    def _start_link(self, attrs_d: dict[str, str]) -> None:
        attrs_d.setdefault("rel", "alternate")
        if attrs_d["rel"] == "self":
            attrs_d.setdefault("type", "application/atom+xml")
        else:
            attrs_d.setdefault("type", "text/html")
        context = self.get_context()
        attrs_d = _enforce_href(attrs_d)
        if "href" in attrs_d:
            attrs_d["href"] = self.resolve_uri(attrs_d["href"])
        expecting_text = self.infeed or self.inentry or self.insource
        context.setdefault("links", [])
        if not (self.inentry and self.inimage):
            context["links"].append(dict(attrs_d))
        if "href" in attrs_d:
            if (
                attrs_d.get("rel") == "alternate"
                and _map_content_type(attrs_d["type"]) in _HTML_TYPES
            ):
                context["link"] = attrs_d["href"]
        else:
            self.push("link", expecting_text)

    def _end_link(self) -> None:
        self.pop("link")

    def _start_guid(self, attrs_d: dict[str, str]) -> None:
        self.guidislink = attrs_d.get("ispermalink", "true") == "true"
        self.push("id", 1)

    def _end_guid(self) -> None:
        value = self.pop("id")
        self.save("guidislink", self.guidislink and "link" not in self.get_context())
        if self.guidislink:
            self.save("link", value)

    def _start_title(self, attrs_d: dict[str, str]) -> None:
        self.push_content(
            "title", attrs_d, "text/plain", self.infeed or self.inentry or self.insource
        )

    def _end_title(self) -> None:
        value = self.pop_content("title")
        if not value:
            return
        self.title_depth = self.depth

    def _end_media_title(self) -> None:
        title_depth = self.title_depth
        self._end_title()
        self.title_depth = title_depth

    def _start_description(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        if "summary" in context and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs_d)
        else:
            self.push_content(
                "description", attrs_d, "text/html", self.infeed or self.inentry or self.insource
            )

    def _end_description(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content("description")
        self.summary_key = None

    def _start_generator(self, attrs_d: dict[str, str]) -> None:
        if attrs_d:
            attrs_d = _enforce_href(attrs_d)
            if "href" in attrs_d:
                attrs_d["href"] = self.resolve_uri(attrs_d["href"])
        self.get_context()["generator_detail"] = dict(attrs_d)
        self.push("generator", 1)

    def _end_generator(self) -> None:
        value = self.pop("generator")
        context = self.get_context()
        if "generator_detail" in context:
            context["generator_detail"]["name"] = value

    def _start_summary(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        if "summary" in context and not self.has_content:
            self.summary_key = "content"
            self._start_content(attrs_d)
        else:
            self.summary_key = "summary"
            self.push_content(self.summary_key, attrs_d, "text/plain", 1)

    def _end_summary(self) -> None:
        if self.summary_key == "content":
            self._end_content()
        else:
            self.pop_content(self.summary_key or "summary")
        self.summary_key = None

    def _start_enclosure(self, attrs_d: dict[str, str]) -> None:
        attrs_d = _enforce_href(attrs_d)
        context = self.get_context()
        attrs_d["rel"] = "enclosure"
        context.setdefault("links", []).append(dict(attrs_d))

    def _start_source(self, attrs_d: dict[str, str]) -> None:
        if "url" in attrs_d:
            self.sourcedata["href"] = attrs_d["url"]
        self.push("source", 1)
        self.insource = 1
        self.title_depth = -1

    def _end_source(self) -> None:
        self.insource = 0
        value = self.pop("source")
        if value:
            self.sourcedata["title"] = value
        self.get_context()["source"] = copy.deepcopy(self.sourcedata)
        self.sourcedata.clear()

    def _start_content(self, attrs_d: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/plain", 1)
        src = attrs_d.get("src")
        if src:
            self.contentparams["src"] = src
        self.push("content", 1)

    def _start_content_encoded(self, attrs_d: dict[str, str]) -> None:
        self.has_content = 1
        self.push_content("content", attrs_d, "text/html", 1)

    def _end_content(self) -> None:
        content_type = self.contentparams.get("type")
        if content_type is None:
            raise _Unsupported  # feedparser's AttributeError sends it down another path
        copy_to_summary = _map_content_type(content_type) in {"text/plain", *_HTML_TYPES}
        value = self.pop_content("content")
        if copy_to_summary:
            self.save("summary", value)

    def _start_media_group(self, attrs_d: dict[str, str]) -> None:
        pass

    def _start_media_content(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        context.setdefault("media_content", [])
        context["media_content"].append(attrs_d)

    def _start_media_thumbnail(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        context.setdefault("media_thumbnail", [])
        self.push("url", 1)
        context["media_thumbnail"].append(attrs_d)

    def _end_media_thumbnail(self) -> None:
        url = self.pop("url")
        context = self.get_context()
        if url is not None and url.strip():
            thumbnails = context.get("media_thumbnail")
            if not thumbnails:
                raise _Unsupported  # feedparser raises KeyError or IndexError
            if "url" not in thumbnails[-1]:
                thumbnails[-1]["url"] = url

    def _start_media_credit(self, attrs_d: dict[str, str]) -> None:
        context = self.get_context()
        context.setdefault("media_credit", [])
        context["media_credit"].append(attrs_d)
        self.push("credit", 1)

    def _end_media_credit(self) -> None:
        credit = self.pop("credit")
        if credit is not None and credit.strip():
            credits = self.get_context().get("media_credit")
            if not credits:
                raise _Unsupported
            credits[-1]["content"] = credit


_EMAIL = re.compile(
    r"""(([a-zA-Z0-9\_\-\.\+]+)@((\[[0-9]{1,3}\.[0-9]{1,3}\.[0-9]{1,3}\.)|(([a-zA-Z0-9\-]+\.)+))([a-zA-Z]{2,4}|[0-9]{1,3})(\]?))(\?subject=\S+)?"""
)
_KEEP_IMAGE_OPEN = frozenset({"title", "link", "description", "url", "href", "width", "height"})
_RSS_VERSIONS = {"0.91": "rss091u", "0.92": "rss092", "0.93": "rss093", "0.94": "rss094"}
_ATOM_VERSIONS = {"0.1": "atom01", "0.2": "atom02", "0.3": "atom03"}

_Start = Callable[[_Replay, dict[str, str]], None]
_End = Callable[[_Replay], None]
_R = _Replay
_STARTS: dict[str, _Start] = {
    "rss": _R._start_rss,
    "channel": _R._start_channel,
    "feed": _R._start_feed,
    "image": _R._start_image,
    "item": _R._start_item,
    "entry": _R._start_item,
    "author": _R._start_author,
    "managingeditor": _R._start_author,
    "dc_author": _R._start_author,
    "dc_creator": _R._start_author,
    "name": _R._start_name,
    "width": _R._start_width,
    "height": _R._start_height,
    "url": _R._start_url,
    "uri": _R._start_url,
    "homepage": _R._start_url,
    "email": _R._start_email,
    "subtitle": _R._start_subtitle,
    "tagline": _R._start_subtitle,
    "rights": _R._start_rights,
    "info": _R._start_info,
    "feedburner_browserfriendly": _R._start_info,
    "copyright": _R._start_rights,
    "dc_rights": _R._start_rights,
    "language": _R._start_language,
    "dc_language": _R._start_language,
    "webmaster": _R._start_webmaster,
    "dc_publisher": _R._start_webmaster,
    "published": _R._start_published,
    "issued": _R._start_published,
    "pubdate": _R._start_published,
    "dcterms_issued": _R._start_published,
    "updated": _R._start_updated,
    "modified": _R._start_updated,
    "lastbuilddate": _R._start_updated,
    "dc_date": _R._start_updated,
    "dcterms_modified": _R._start_updated,
    "created": _R._start_created,
    "dcterms_created": _R._start_created,
    "category": _R._start_category,
    "keywords": _R._start_category,
    "dc_subject": _R._start_category,
    "link": _R._start_link,
    "guid": _R._start_guid,
    "id": _R._start_guid,
    "title": _R._start_title,
    "dc_title": _R._start_title,
    "media_title": _R._start_title,
    "description": _R._start_description,
    "dc_description": _R._start_description,
    "media_description": _R._start_description,
    "generator": _R._start_generator,
    "summary": _R._start_summary,
    "enclosure": _R._start_enclosure,
    "source": _R._start_source,
    "content": _R._start_content,
    "content_encoded": _R._start_content_encoded,
    "media_group": _R._start_media_group,
    "media_content": _R._start_media_content,
    "media_thumbnail": _R._start_media_thumbnail,
    "media_credit": _R._start_media_credit,
}
_ENDS: dict[str, _End] = {
    "channel": _R._end_channel,
    "feed": _R._end_channel,
    "image": _R._end_image,
    "item": _R._end_item,
    "entry": _R._end_item,
    "author": _R._end_author,
    "managingeditor": _R._end_author,
    "dc_author": _R._end_author,
    "dc_creator": _R._end_author,
    "name": _R._end_name,
    "width": _R._end_width,
    "height": _R._end_height,
    "url": _R._end_url,
    "uri": _R._end_url,
    "homepage": _R._end_url,
    "email": _R._end_email,
    "subtitle": _R._end_subtitle,
    "tagline": _R._end_subtitle,
    "rights": _R._end_rights,
    "info": _R._end_info,
    "feedburner_browserfriendly": _R._end_info,
    "copyright": _R._end_rights,
    "dc_rights": _R._end_rights,
    "language": _R._end_language,
    "dc_language": _R._end_language,
    "webmaster": _R._end_webmaster,
    "dc_publisher": _R._end_webmaster,
    "published": _R._end_published,
    "issued": _R._end_published,
    "pubdate": _R._end_published,
    "dcterms_issued": _R._end_published,
    "updated": _R._end_updated,
    "modified": _R._end_updated,
    "lastbuilddate": _R._end_updated,
    "dc_date": _R._end_updated,
    "dcterms_modified": _R._end_updated,
    "created": _R._end_created,
    "dcterms_created": _R._end_created,
    "category": _R._end_category,
    "keywords": _R._end_category,
    "dc_subject": _R._end_category,
    "link": _R._end_link,
    "guid": _R._end_guid,
    "id": _R._end_guid,
    "title": _R._end_title,
    "dc_title": _R._end_title,
    "media_title": _R._end_media_title,
    "description": _R._end_description,
    "dc_description": _R._end_description,
    "media_description": _R._end_description,
    "generator": _R._end_generator,
    "summary": _R._end_summary,
    "source": _R._end_source,
    "content": _R._end_content,
    "content_encoded": _R._end_content,
    "media_thumbnail": _R._end_media_thumbnail,
    "media_credit": _R._end_media_credit,
}
