"""Errors raised while turning a downloaded document into a feed."""

from __future__ import annotations

from newswatch.errors import NewswatchError


class FeedParseError(NewswatchError, ValueError):
    """A document could not be read as a feed at all."""


class NotAFeedError(FeedParseError):
    """A web page came back where a feed was expected; ``feeds`` lists what it advertises."""

    def __init__(self, url: str, feeds: list[str]) -> None:
        self.url = url
        self.feeds = tuple(feeds)
        if feeds:
            shown = ", ".join(feeds[:5]) + (
                f" (and {len(feeds) - 5} more)" if len(feeds) > 5 else ""
            )
            message = f"not a feed but a web page; it advertises: {shown}"
        else:
            message = "not a feed but a web page, and it advertises no feed"
        super().__init__(message)
