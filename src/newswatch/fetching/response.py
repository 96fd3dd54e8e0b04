"""What a download gives back: a ``FetchResponse``, or the ``FetchError`` saying why there is
none.

Kept apart from ``http`` (and so from httpx) because downloads cross into the worker
processes that prepare them: a worker unpickling these needs this small module only, not the
HTTP client stack.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from newswatch.errors import NewswatchError

PERMANENT_REDIRECTS = frozenset({301, 308})


class FetchError(NewswatchError):
    """A URL could not be fetched: DNS, connection, timeout, size cap, redirects, protocol."""

    def __init__(self, message: str, *, kind: str) -> None:
        super().__init__(message)
        #: One of: dns, connect, timeout, too_large, redirects, protocol, refused_address, url.
        self.kind = kind

    def __reduce__(self) -> tuple[Callable[[str, str], FetchError], tuple[str, str]]:
        # A failed download is sent to a worker process like any other. Exceptions pickle as
        # ``cls(*args)``, which would leave out the keyword-only ``kind``: unpickling then failed
        # in the worker and took the whole pool down.
        return _fetch_error, (str(self), self.kind)


def _fetch_error(message: str, kind: str) -> FetchError:
    return FetchError(message, kind=kind)


@dataclass(frozen=True, slots=True)
class Redirect:
    """One redirect hop."""

    status: int
    source: str
    target: str


@dataclass(frozen=True, slots=True)
class FetchResponse:
    """A completed HTTP exchange (any status)."""

    url: str  # as requested
    final_url: str  # after redirects
    status: int
    headers: Mapping[str, str]  # lower-case names
    body: bytes = b""  # decoded (decompressed); empty unless the status is 2xx
    redirects: tuple[Redirect, ...] = ()
    elapsed: float = 0.0

    @property
    def permanent_redirect(self) -> str | None:
        """Where the resource moved for good: the final URL if every hop was 301/308."""
        if self.redirects and all(r.status in PERMANENT_REDIRECTS for r in self.redirects):
            return self.final_url
        return None
