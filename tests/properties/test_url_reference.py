"""``absolute_url`` gives what its first version gave (links and canonical URLs are stored).

It now skips ``urljoin`` for plain absolute http(s) links and cleans each base once; the
reference below is the first version, compared on the URL strategies of
``test_url_properties.py`` and on a few shapes aimed at the shortcut.
"""

from __future__ import annotations

from urllib.parse import urljoin, urlsplit

from budget import examples
from hypothesis import example, given, settings
from hypothesis import strategies as st
from test_url_properties import BASES, URLS

from newswatch.text import absolute_url

_INVISIBLE = dict.fromkeys(map(ord, "\t\n\r"), None)
_EDGE = "".join(chr(c) for c in range(33))


def _reference_clean(url: str) -> str:
    url = url.translate(_INVISIBLE).strip(_EDGE)
    cut = min((i for i in (url.find("?"), url.find("#")) if i >= 0), default=len(url))
    return url[:cut].replace("\\", "/") + url[cut:]


def reference_absolute_url(url: str | None, base: str | None = None) -> str | None:
    if url is None:
        return None
    url = _reference_clean(url)
    if not url:
        return None
    try:
        if base:
            url = urljoin(_reference_clean(base), url)
        parts = urlsplit(url)
        _ = parts.port
    except ValueError:
        return None
    if parts.scheme.lower() not in {"http", "https"} or not parts.hostname:
        return None
    return url


SHORTCUT_URLS = st.tuples(
    st.sampled_from(["http://", "https://", "HTTPS://", "https:///", "https:"]),
    st.sampled_from(
        [
            "",
            "a.example",
            "[::1]",
            "[bad",
            "h:99999",
            "h:80",
            "u@h",
            "h\\x",
            "Ⅎ.example",
            ".",
            "a_b.x",
            "A.EX",
        ]
    ),
    st.sampled_from(["", "/", "/a/b", "/a;", "/a;p", "/a?", "/a#", "?q", "/./x", "\\y"]),
).map("".join)


@settings(max_examples=examples(500))
@given(url=st.one_of(URLS, SHORTCUT_URLS), base=BASES)
@example(url="https://a.example/x", base="http://[bad/feed")
@example(url="https://a.example/x;", base="https://a.example/")
@example(url="https://a.example/x?", base="https://a.example/")
def test_absolute_url_matches_the_reference(url: str, base: str | None) -> None:
    assert absolute_url(url, base) == reference_absolute_url(url, base)
