"""Downloading feeds and pages over HTTP, politely and within limits.

``Fetcher`` sends its GETs with ``wire`` (HTTP/1.1 parsed by h11, idle connections reused;
about a sixth of httpx's CPU per request, which mattered for passes where every feed answers
304). It follows at most ``max_redirects`` redirects itself (so it can tell permanent ones from
temporary ones and refuse loops), sends conditional headers, caps the body while reading it —
after decompression, so a gzip bomb stops at the cap — and bounds every request in total time,
not only per read, so a server that drips one byte a second cannot hold a fetch forever. It
limits parallel requests overall and per host.

Transport failures raise ``FetchError``; any HTTP status, error statuses included, comes back
as a ``FetchResponse`` for the caller's policy to judge.
"""

from __future__ import annotations

import asyncio
import errno
import ipaddress
import os
import re
import socket
import ssl
import zlib
from dataclasses import dataclass, field, replace
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import h11
import httpx

from newswatch import __version__
from newswatch.fetching.response import PERMANENT_REDIRECTS, FetchError, FetchResponse, Redirect
from newswatch.fetching.wire import (
    Connection,
    ConnectTimeout,
    Head,
    Pool,
    ServerDisconnected,
    Target,
    parse_url,
)

# The response types live in a module of their own (worker processes unpickle them without
# importing httpx); callers may import them from here too.
__all__ = [
    "PERMANENT_REDIRECTS",
    "REDIRECTS",
    "USER_AGENT",
    "FetchError",
    "FetchResponse",
    "Fetcher",
    "Redirect",
]

USER_AGENT = f"newswatch/{__version__} (+https://pypi.org/project/newswatch/)"
REDIRECTS = frozenset({301, 302, 303, 307, 308})
#: What ``_Decoder`` undoes.
ACCEPT_ENCODING = "gzip, deflate"


@dataclass
class _HostLimits:
    per_host: int
    semaphores: dict[str, asyncio.Semaphore] = field(default_factory=dict)

    def get(self, host: str) -> asyncio.Semaphore:
        if host not in self.semaphores:
            self.semaphores[host] = asyncio.Semaphore(self.per_host)
        return self.semaphores[host]


class Fetcher:
    """An HTTP client for feeds and article pages. Use as ``async with Fetcher(...) as f``."""

    def __init__(
        self,
        *,
        timeout: float = 20.0,
        max_bytes: int = 10_000_000,
        concurrency: int = 16,
        per_host: int = 2,
        max_redirects: int = 5,
        user_agent: str = USER_AGENT,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._user_agent = user_agent
        self._concurrency = concurrency
        self._per_host = per_host
        self._pool: Pool | None = None
        self._overall: asyncio.Semaphore | None = None
        self._hosts: _HostLimits | None = None

    async def __aenter__(self) -> Fetcher:
        self._pool = Pool(max_idle=self._concurrency, connect_timeout=min(self.timeout, 10.0))
        self._overall = asyncio.Semaphore(self._concurrency)
        self._hosts = _HostLimits(self._per_host)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._pool is not None:
            self._pool.close()
            self._pool = None

    async def fetch(
        self,
        url: str,
        *,
        etag: str | None = None,
        last_modified: str | None = None,
        accept: str = "application/rss+xml, application/atom+xml, application/feed+json, "
        "application/xml;q=0.9, text/xml;q=0.9, */*;q=0.5",
        allow_private: bool = True,
    ) -> FetchResponse:
        """Fetch ``url``, following redirects, within the time and size limits.

        Args:
            url: an http(s) URL.
            etag: sent as ``If-None-Match``.
            last_modified: sent as ``If-Modified-Since``.
            accept: the ``Accept`` header.
            allow_private: when false, refuse hosts that resolve to loopback, private,
                link-local or other non-public addresses (for links found in feeds).

        Returns:
            The response; its body is read only for 2xx statuses.

        Raises:
            FetchError: the exchange failed (see ``FetchError.kind``).
        """
        if self._pool is None or self._overall is None or self._hosts is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        # In the order httpx sent them (Host goes first, added by ``wire``).
        headers = [
            ("Accept", accept),
            ("Accept-Encoding", ACCEPT_ENCODING),
            ("Connection", "keep-alive"),
            ("User-Agent", self._user_agent),
        ]
        if etag:
            headers.append(("If-None-Match", etag))
        if last_modified:
            headers.append(("If-Modified-Since", last_modified))
        return await self._follow(url, headers, allow_private)

    async def _follow(
        self, url: str, headers: list[tuple[str, str]], allow_private: bool
    ) -> FetchResponse:
        assert self._hosts is not None
        assert self._overall is not None
        loop = asyncio.get_running_loop()
        redirects: list[Redirect] = []
        seen = {url}
        current = url
        # The time budget starts once the first request may go out: waiting for a free slot
        # behind slow feeds of the same host is not this feed's fault.
        started: float | None = None
        try:
            while True:
                target = _check_url(current)
                # The host's slot first, then a slot overall: feeds queued behind one busy
                # host must not hold the overall slots that other hosts' feeds could use.
                slot = self._hosts.get(target.host)
                if started is None:
                    await self._take(slot)
                    started = loop.time()
                else:
                    async with asyncio.timeout_at(started + self.timeout):
                        await self._take(slot)
                try:
                    async with asyncio.timeout_at(started + self.timeout):
                        response, location = await self._exchange(
                            current, target, headers, allow_private
                        )
                finally:
                    self._overall.release()
                    slot.release()
                if location is None:
                    return replace(
                        response,
                        url=url,
                        redirects=tuple(redirects),
                        elapsed=loop.time() - started,
                    )
                redirects.append(Redirect(response.status, current, location))
                if location in seen:
                    raise FetchError(f"redirect loop at {location}", kind="redirects")
                if len(redirects) > self.max_redirects:
                    raise FetchError(f"more than {self.max_redirects} redirects", kind="redirects")
                seen.add(location)
                current = location
        except TimeoutError:
            raise FetchError(
                f"timed out: no complete response within {self.timeout:g}s", kind="timeout"
            ) from None

    async def _take(self, slot: asyncio.Semaphore) -> None:
        """Acquire a host's slot, then an overall one (both held until the request ends)."""
        assert self._overall is not None
        await slot.acquire()
        try:
            await self._overall.acquire()
        except BaseException:
            slot.release()
            raise

    async def _exchange(
        self, url: str, target: Target, headers: list[tuple[str, str]], allow_private: bool
    ) -> tuple[FetchResponse, str | None]:
        """One request: the response, and where it redirects to (None: it does not)."""
        assert self._pool is not None
        if not allow_private:
            await _refuse_private(target.host, target.port)
        try:
            encoded = [(name.encode("ascii"), value.encode("ascii")) for name, value in headers]
        except UnicodeError as exc:
            raise FetchError(f"cannot request {url}: {exc}", kind="url") from None
        try:
            connection = await self._pool.connection(target)
        except (OSError, ConnectTimeout, UnicodeError, ValueError, OverflowError) as exc:
            raise _connect_error(exc, _shown_host(url)) from None
        reusable = False
        try:
            try:
                head = await connection.send(target, encoded)
            except h11.LocalProtocolError as exc:
                raise FetchError(f"cannot request {url}: {exc}", kind="url") from None
            location = _redirect_target(url, head)
            body = b""
            if location is None and 200 <= head.status < 300:
                body = await self._read_body(connection, head)
            reusable = connection.finish()
        except (OSError, h11.RemoteProtocolError, ServerDisconnected) as exc:
            raise _broken(exc, _shown_host(url)) from None
        finally:
            self._pool.release(connection, reusable=reusable)
        response = FetchResponse(
            url=url, final_url=url, status=head.status, headers=head.headers, body=body
        )
        return response, location

    async def _read_body(self, connection: Connection, head: Head) -> bytes:
        declared = head.headers.get("content-length", "")
        encoding = head.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("identity", "") and declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_large(self.max_bytes)
        decoder = _Decoder(encoding, self.max_bytes)
        chunks: list[bytes] = []
        async for raw in connection.body():
            chunks.append(decoder.feed(raw))
        chunks.append(decoder.flush())
        return b"".join(chunks)


def _redirect_target(url: str, head: Head) -> str | None:
    """Where a response redirects to: None unless it is a redirect with a Location."""
    location = head.headers.get("location")
    if head.status not in REDIRECTS or not location:
        return None
    try:
        return urljoin(url, location.strip())
    except ValueError:
        raise FetchError(
            f"invalid redirect Location {location[:200]!r}", kind="redirects"
        ) from None


class _Decoder:
    """Undoes the Content-Encoding incrementally, and never inflates past ``limit`` bytes."""

    def __init__(self, encoding: str, limit: int) -> None:
        self._limit = limit
        self._size = 0
        self._sniff_deflate = False
        self._zlib: zlib._Decompress | None
        if encoding in ("identity", "", "none"):
            self._zlib = None
        elif encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif encoding == "deflate":
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS)
            self._sniff_deflate = True
        else:
            raise FetchError(f"unsupported Content-Encoding {encoding!r}", kind="protocol")

    def feed(self, data: bytes) -> bytes:
        if self._zlib is None:
            return self._count(data)
        if self._sniff_deflate and data:
            self._sniff_deflate = False
            # "deflate" should be zlib-wrapped (CM nibble 8), but some servers send it raw.
            if data[0] & 0x0F != 8:
                self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
        parts = []
        pending = data
        try:
            while pending:
                # Ask for at most one byte more than the room left: enough to notice the cap.
                piece = self._zlib.decompress(pending, self._limit - self._size + 1)
                parts.append(self._count(piece))
                pending = self._zlib.unconsumed_tail
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}", kind="protocol") from None
        return b"".join(parts)

    def flush(self) -> bytes:
        if self._zlib is None:
            return b""
        try:
            return self._count(self._zlib.flush())
        except zlib.error as exc:
            raise FetchError(f"corrupt compressed body: {exc}", kind="protocol") from None

    def _count(self, data: bytes) -> bytes:
        self._size += len(data)
        if self._size > self._limit:
            raise _too_large(self._limit)
        return data


def _too_large(limit: int) -> FetchError:
    return FetchError(
        f"body larger than the {limit:,}-byte limit (fetch.max_bytes)", kind="too_large"
    )


def _check_url(url: str) -> Target:
    try:
        return parse_url(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", kind="url") from None
    except ValueError:
        raise FetchError(f"not an http(s) URL: {url}", kind="url") from None


async def _refuse_private(host: str, port: int | None) -> None:
    """Refuse hosts that resolve to addresses a feed has no business making us reach."""
    try:
        infos = await asyncio.get_running_loop().getaddrinfo(
            host, port or 80, type=socket.SOCK_STREAM
        )
    except OSError as exc:
        raise FetchError(f"cannot resolve {host}: {exc.strerror or exc}", kind="dns") from None
    except UnicodeError:
        raise FetchError(f"invalid host name {host!r}", kind="url") from None
    for info in infos:
        address = ipaddress.ip_address(info[4][0])
        if not address.is_global:
            raise FetchError(
                f"refused to fetch {host}: it resolves to the non-public address {address}",
                kind="refused_address",
            )


def _shown_host(url: str) -> str:
    """The host as error messages name it (as typed, in lower case; the URL if none)."""
    return urlsplit(url).hostname or url


def _connect_error(exc: BaseException, host: str) -> FetchError:
    """Why a connection to ``host`` could not be made, in newswatch's terms."""
    if isinstance(exc, ConnectTimeout):
        return FetchError(f"timed out talking to {host} (ConnectTimeout)", kind="timeout")
    if isinstance(exc, socket.gaierror | UnicodeError):
        # UnicodeError: the resolver's IDNA codec refuses the name (a label over 63 characters)
        return FetchError(f"DNS lookup failed for {host}", kind="dns")
    if isinstance(exc, ssl.SSLCertVerificationError):
        reason = f"certificate verify failed: {exc.verify_message}"
        return FetchError(f"cannot connect to {host}: {reason}", kind="connect")
    if isinstance(exc, ssl.SSLError):
        return FetchError(f"cannot connect to {host}: TLS {exc.reason or exc}", kind="connect")
    if isinstance(exc, OSError) and _refused(exc):
        return FetchError(f"connection refused by {host}", kind="connect")
    return FetchError(f"cannot connect to {host}: {_reason(exc)}", kind="connect")


def _refused(exc: OSError) -> bool:
    """Connection refused, at the one address or at every address the name has."""
    if exc.errno == errno.ECONNREFUSED:
        return True
    # asyncio reports several failed addresses as one OSError listing each one's error.
    codes = re.findall(r"\[Errno (\d+)\]", str(exc)) if exc.errno is None else []
    return bool(codes) and all(int(code) == errno.ECONNREFUSED for code in codes)


def _broken(exc: BaseException, host: str) -> FetchError:
    """A connection that failed during the exchange."""
    return FetchError(f"connection to {host} broke: {_reason(exc)}", kind="protocol")


def _reason(exc: BaseException) -> str:
    """The OS's words for an error when it has some, else the exception's own."""
    if isinstance(exc, OSError) and not isinstance(exc, ssl.SSLError) and (exc.errno or 0) > 0:
        return os.strerror(exc.errno or 0)
    return str(exc) or type(exc).__name__
