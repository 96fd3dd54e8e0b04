"""Downloading feeds and pages over HTTP, politely and within limits.

``Fetcher`` wraps one ``httpx.AsyncClient``. It follows at most ``max_redirects`` redirects
itself (so it can tell permanent ones from temporary ones and refuse loops), sends conditional
headers, caps the body while streaming it — after decompression, so a gzip bomb stops at the
cap — and bounds every request in total time, not only per read, so a server that drips one
byte a second cannot hold a fetch forever. It limits parallel requests overall and per host.

Transport failures raise ``FetchError``; any HTTP status, error statuses included, comes back
as a ``FetchResponse`` for the caller's policy to judge.
"""

from __future__ import annotations

import asyncio
import ipaddress
import os
import socket
import zlib
from dataclasses import dataclass, field, replace
from types import TracebackType
from urllib.parse import urljoin, urlsplit

import httpx

from newswatch import __version__
from newswatch.fetching.response import PERMANENT_REDIRECTS, FetchError, FetchResponse, Redirect

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
_CHUNK = 64 * 1024


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
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.max_redirects = max_redirects
        self._user_agent = user_agent
        self._transport = transport
        self._concurrency = concurrency
        self._per_host = per_host
        self._client: httpx.AsyncClient | None = None
        self._overall: asyncio.Semaphore | None = None
        self._hosts: _HostLimits | None = None

    async def __aenter__(self) -> Fetcher:
        self._client = httpx.AsyncClient(
            transport=self._transport,
            follow_redirects=False,
            timeout=httpx.Timeout(self.timeout, connect=min(self.timeout, 10.0)),
            limits=httpx.Limits(
                max_connections=self._concurrency, max_keepalive_connections=self._concurrency
            ),
            headers={"User-Agent": self._user_agent, "Accept-Encoding": "gzip, deflate"},
            trust_env=False,
        )
        self._overall = asyncio.Semaphore(self._concurrency)
        self._hosts = _HostLimits(self._per_host)
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None

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
        if self._client is None or self._overall is None or self._hosts is None:
            raise RuntimeError("Fetcher used outside 'async with'")
        headers = {"Accept": accept}
        if etag:
            headers["If-None-Match"] = etag
        if last_modified:
            headers["If-Modified-Since"] = last_modified
        return await self._follow(url, headers, allow_private)

    async def _follow(
        self, url: str, headers: dict[str, str], allow_private: bool
    ) -> FetchResponse:
        assert self._client is not None
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
                parts = _check_url(current)
                # The host's slot first, then a slot overall: feeds queued behind one busy
                # host must not hold the overall slots that other hosts' feeds could use.
                slot = self._hosts.get(parts.host)
                if started is None:
                    await self._take(slot)
                    started = loop.time()
                else:
                    async with asyncio.timeout_at(started + self.timeout):
                        await self._take(slot)
                try:
                    async with asyncio.timeout_at(started + self.timeout):
                        response, target = await self._exchange(current, headers, allow_private)
                finally:
                    self._overall.release()
                    slot.release()
                if target is None:
                    return replace(
                        response,
                        url=url,
                        redirects=tuple(redirects),
                        elapsed=loop.time() - started,
                    )
                redirects.append(Redirect(response.status, current, target))
                if target in seen:
                    raise FetchError(f"redirect loop at {target}", kind="redirects")
                if len(redirects) > self.max_redirects:
                    raise FetchError(f"more than {self.max_redirects} redirects", kind="redirects")
                seen.add(target)
                current = target
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
        self, url: str, headers: dict[str, str], allow_private: bool
    ) -> tuple[FetchResponse, str | None]:
        """One request: the response, and where it redirects to (None: it does not)."""
        assert self._client is not None
        if not allow_private:
            parts = _check_url(url)
            await _refuse_private(parts.host, parts.port)
        try:
            request = self._client.build_request("GET", url, headers=headers)
        except (httpx.InvalidURL, UnicodeError, ValueError) as exc:
            raise FetchError(f"cannot request {url}: {exc}", kind="url") from None
        try:
            response = await self._client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise _translate(exc, url) from None
        try:
            status = response.status_code
            location = response.headers.get("location")
            target = None
            if status in REDIRECTS and location:
                try:
                    target = urljoin(url, location.strip())
                except ValueError:
                    raise FetchError(
                        f"invalid redirect Location {location[:200]!r}", kind="redirects"
                    ) from None
            body = b""
            if target is None and 200 <= status < 300:
                body = await self._read_body(response)
            return (
                FetchResponse(
                    url=url,
                    final_url=url,
                    status=status,
                    headers={k.lower(): v for k, v in response.headers.items()},
                    body=body,
                ),
                target,
            )
        finally:
            await response.aclose()

    async def _read_body(self, response: httpx.Response) -> bytes:
        declared = response.headers.get("content-length", "")
        encoding = response.headers.get("content-encoding", "identity").strip().lower()
        if encoding in ("identity", "") and declared.isdigit() and int(declared) > self.max_bytes:
            raise _too_large(self.max_bytes)
        decoder = _Decoder(encoding, self.max_bytes)
        chunks: list[bytes] = []
        try:
            async for raw in response.aiter_raw(_CHUNK):
                chunks.append(decoder.feed(raw))
        except httpx.HTTPError as exc:
            raise _translate(exc, str(response.url)) from None
        chunks.append(decoder.flush())
        return b"".join(chunks)


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


def _check_url(url: str) -> httpx.URL:
    try:
        parts = httpx.URL(url)
    except httpx.InvalidURL as exc:
        raise FetchError(f"invalid URL {url!r}: {exc}", kind="url") from None
    if parts.scheme not in ("http", "https") or not parts.host:
        raise FetchError(f"not an http(s) URL: {url}", kind="url")
    return parts


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


def _translate(exc: httpx.HTTPError, url: str) -> FetchError:
    """One place that turns httpx's exceptions into newswatch's."""
    host = urlsplit(url).hostname or url
    reason = _root_reason(exc)
    if isinstance(exc, httpx.TimeoutException):
        return FetchError(f"timed out talking to {host} ({type(exc).__name__})", kind="timeout")
    if isinstance(exc, httpx.ConnectError):
        lowered = reason.lower()
        if reason == "DNS lookup failed":
            return FetchError(f"DNS lookup failed for {host}", kind="dns")
        if any(
            marker in lowered
            for marker in (
                "name or service not known",
                "nodename nor servname",
                "getaddrinfo",
                "name resolution",
                "no address associated",
            )
        ):
            return FetchError(f"DNS lookup failed for {host}", kind="dns")
        if "refused" in lowered:
            return FetchError(f"connection refused by {host}", kind="connect")
        return FetchError(f"cannot connect to {host}: {reason}", kind="connect")
    if isinstance(exc, httpx.RemoteProtocolError | httpx.ReadError | httpx.WriteError):
        return FetchError(f"connection to {host} broke: {reason}", kind="protocol")
    if isinstance(exc, httpx.InvalidURL | httpx.UnsupportedProtocol):
        return FetchError(f"invalid URL {url}: {reason}", kind="url")
    return FetchError(f"HTTP error from {host}: {reason}", kind="protocol")


def _root_reason(exc: BaseException) -> str:
    """The most specific reason in the exception chain (the OS's words, when there are any)."""
    reason = str(exc) or type(exc).__name__
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, socket.gaierror):
            return "DNS lookup failed"
        if isinstance(current, OSError) and current.errno and current.errno > 0:
            return os.strerror(current.errno)
        if isinstance(current, ExceptionGroup):
            current = current.exceptions[0]
            continue
        current = current.__cause__ or current.__context__
    return reason
