"""Review: small hostile documents that pin the single storage thread for minutes or hours.

Parsing and normalising run on ``ingest``'s one worker thread with no time limit, so while one
of these is being processed no other feed is stored and the pass never ends. Each case runs in
a child process that is killed after ``LIMIT`` seconds; a linear implementation needs well
under one second for inputs this size.
"""

from __future__ import annotations

import subprocess
import sys

import pytest

LIMIT = 10.0


def _finishes(code: str) -> bool:
    try:
        subprocess.run([sys.executable, "-c", code], check=True, timeout=LIMIT)
    except subprocess.TimeoutExpired:
        return False
    return True


def test_sanitize_html_is_not_quadratic_in_nesting_depth() -> None:
    """Bug: text.py sanitize_html checks ``tag.decomposed`` for every tag; bs4 implements it as
    ``getattr(self, "_decomposed", False)``, which on a Tag falls into ``Tag.__getattr__`` and
    becomes ``tag.find("_decomposed")``, a search of the whole subtree. 60 kB of nested <div>
    (12,000 deep) takes ~45 s; 400 kB (what normalize.py passes) takes hours."""
    code = (
        "from newswatch.text import sanitize_html\n"
        "sanitize_html('<div>' * 12000 + 'x', 'https://a.example/')\n"
    )
    assert _finishes(code), f"sanitize_html on 12,000 nested <div> took over {LIMIT:g}s"


@pytest.mark.parametrize("field", ["author", "dc:creator"])
def test_a_long_author_does_not_stall_feedparser(field: str) -> None:
    """Bug: feedparser 6.0.14's author-email regex (mixin.py ``_sync_author_detail``,
    kurtmckee/feedparser#562) backtracks quadratically; parse.py hands it the author
    uncapped. A 64 kB <author> takes ~26 s; 1 MB (far under fetch.max_bytes) about 2 hours."""
    code = (
        "from newswatch.fetching.parse import parse_document\n"
        'body = (b\'<?xml version="1.0"?><rss version="2.0" '
        'xmlns:dc="http://purl.org/dc/elements/1.1/"><channel><title>t</title>'
        f"<item><title>x</title><{field}>' + b'a' * 64000 + b'</{field}></item>"
        "</channel></rss>')\n"
        "parse_document(body, url='https://a.example/f', "
        "headers={'content-type': 'application/rss+xml'})\n"
    )
    assert _finishes(code), f"a 64 kB <{field}> took over {LIMIT:g}s to parse"
