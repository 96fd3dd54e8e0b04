"""HTTP/1.1 GETs over asyncio streams, parsed by h11, with idle connections kept for reuse.

``Fetcher`` used to send every request through ``httpx.AsyncClient``, which cost about 1.7 ms
of CPU per conditional GET on a loopback server: URL objects built twice, request and response
models, header merging, and the transport layers of httpx and httpcore. A pass over a thousand
feeds that all answer 304 spent most of its time there. Here a GET is a list of header byte
strings handed to h11 and the answer is h11's events, about a sixth of that cost (0.27 ms).

This module knows nothing of redirects, limits, decoding or time budgets: ``Fetcher`` keeps
those. It raises the builtin errors of the socket layer (``OSError`` and its subclasses,
``ssl.SSLError``), ``h11.RemoteProtocolError`` for a malformed answer, and the two errors
below; ``Fetcher`` turns them all into ``FetchError``.
"""

from __future__ import annotations

import asyncio
import ipaddress
import re
import ssl
import time
from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass, field
from typing import Final, cast

import h11
import httpx

#: Bytes asked of the socket per read.
READ_SIZE: Final = 64 * 1024
#: The longest status line plus headers accepted (httpcore's limit, which httpx used).
MAX_HEAD: Final = 100 * 1024
#: Idle connections older than this are closed rather than reused (httpx's default).
KEEPALIVE_SECONDS: Final = 5.0
DEFAULT_PORTS: Final = {"http": 80, "https": 443}

# The URLs feeds live at are nearly all plain ASCII: a scheme, a host name or IPv4 address,
# maybe a port, and a path and query of characters that need no percent-encoding. Those are
# split here, cheaply; anything else (non-ASCII, '%', dot segments, IPv6, user info, odd
# characters) goes through httpx's parser, which percent-encodes and IDNA-encodes it, so both
# ways give the request httpx would have sent.
_PLAIN_URL = re.compile(
    r"(?P<scheme>https?)://"
    r"(?P<host>[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?)*)"
    r"(?::(?P<port>[0-9]{1,5}))?"
    r"(?P<path>/[A-Za-z0-9._~!$&'()*+,;=:@/-]*)?"
    r"(?:\?(?P<query>[A-Za-z0-9._~!$&'()*+,;=:@/?-]*))?"
    r"(?:#[A-Za-z0-9._~!$&'()*+,;=:@/?-]*)?"
)
_IPV4_LIKE = re.compile(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+")
_DOT_SEGMENT = re.compile(r"/\.\.?(?:/|$)")


class ConnectTimeout(Exception):
    """The TCP connection (and TLS handshake) took longer than the connect timeout."""


class ServerDisconnected(Exception):
    """The server closed the connection before it sent a complete response head."""


@dataclass(frozen=True, slots=True)
class Target:
    """Where a URL sends a request: the parts an HTTP/1.1 GET needs."""

    scheme: str  # "http" or "https"
    host: str  # lower case, IDNA-encoded; an IPv6 address without its brackets
    port: int | None  # None: the scheme's default
    authority: str  # the Host header: the host (bracketed if IPv6), and a port if not default
    path: bytes  # the request target: percent-encoded path and query

    @property
    def address(self) -> tuple[str, str, int]:
        """Scheme, host and port: the key under which a connection can be reused."""
        return self.scheme, self.host, self.port or DEFAULT_PORTS[self.scheme]


def parse_url(url: str) -> Target:
    """Split an http(s) URL into a request ``Target``, as httpx would have encoded it.

    Raises:
        httpx.InvalidURL: the URL cannot be parsed.
        ValueError: the scheme is not http(s), or there is no host.
    """
    match = _PLAIN_URL.fullmatch(url)
    if match is not None and _plain_enough(match):
        scheme, host, port = match["scheme"], match["host"].lower(), match["port"]
        number = int(port) if port else None
        if number == DEFAULT_PORTS[scheme]:
            number = None
        path = match["path"] or "/"
        if match["query"] is not None:
            path = f"{path}?{match['query']}"
        authority = host if number is None else f"{host}:{number}"
        return Target(scheme, host, number, authority, path.encode("ascii"))
    parsed = httpx.URL(url)
    if parsed.scheme not in DEFAULT_PORTS or not parsed.host:
        raise ValueError(f"not an http(s) URL: {url}")
    return Target(
        parsed.scheme,
        parsed.raw_host.decode("ascii"),
        parsed.port,
        parsed.netloc.decode("ascii"),
        parsed.raw_path,
    )


def _plain_enough(match: re.Match[str]) -> bool:
    """Whether the quick split gives what httpx's parser would (else it is asked)."""
    path = match["path"]
    if path and "." in path and _DOT_SEGMENT.search(path):
        return False  # httpx drops "." and ".." segments
    if match["port"] and int(match["port"]) > 65535:
        return False
    host = match["host"]
    if _IPV4_LIKE.fullmatch(host):
        try:
            ipaddress.IPv4Address(host)
        except ValueError:
            return False  # httpx has its own message for this
    return True


@dataclass(frozen=True, slots=True)
class Head:
    """A response's status and headers (names in lower case, repeats joined by ", ")."""

    status: int
    headers: dict[str, str]


@dataclass(eq=False)
class Connection:
    """One HTTP/1.1 connection: a request at a time, and reusable when both sides allow it."""

    address: tuple[str, str, int]
    reader: asyncio.StreamReader
    writer: asyncio.StreamWriter
    parser: h11.Connection = field(
        default_factory=lambda: h11.Connection(h11.CLIENT, max_incomplete_event_size=MAX_HEAD)
    )
    idle_since: float = 0.0

    async def send(self, target: Target, headers: list[tuple[bytes, bytes]]) -> Head:
        """Send a GET and read the response head (informational 1xx responses skipped).

        Raises:
            h11.LocalProtocolError: a header cannot be sent (a newline in a value...).
            ServerDisconnected: the server hung up before the head was complete.
        """
        request = h11.Request(
            method=b"GET",
            target=target.path,
            headers=[(b"Host", target.authority.encode("ascii")), *headers],
        )
        self.writer.write(self.parser.send(request) + self.parser.send(h11.EndOfMessage()))
        await self.writer.drain()
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Response):
                return Head(event.status_code, _decode_headers(event.headers))
            if not isinstance(event, h11.InformationalResponse):
                raise ServerDisconnected("Server disconnected without sending a response.")

    async def body(self) -> AsyncIterator[bytes]:
        """The response body, as it arrives (still Content-Encoded)."""
        while True:
            event = await self._next_event()
            if isinstance(event, h11.Data):
                yield bytes(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return
            else:  # ConnectionClosed before the end: h11 raises for a short body instead
                raise h11.RemoteProtocolError("peer closed connection before the end of the body")

    def finish(self) -> bool:
        """End the exchange without waiting for more data; true when the connection may carry
        another request (the whole response is in and neither side asked to close)."""
        try:
            while self.parser.their_state is h11.SEND_BODY:
                event = self.parser.next_event()
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    return False
        except h11.RemoteProtocolError:
            return False
        if self.parser.our_state is not h11.DONE or self.parser.their_state is not h11.DONE:
            return False
        self.parser.start_next_cycle()
        return True

    def usable(self, now: float) -> bool:
        """Whether an idle connection can be reused: fresh, and not closed by the server."""
        return (
            now - self.idle_since < KEEPALIVE_SECONDS
            and not self.reader.at_eof()
            and not self.writer.is_closing()
        )

    def close(self) -> None:
        """Close the connection (no waiting: TLS closes without a goodbye to the server)."""
        self.writer.close()

    async def _next_event(self) -> h11.Event | type[h11.PAUSED]:
        while True:
            event = self.parser.next_event()
            if event is not h11.NEED_DATA:
                return cast(h11.Event | type[h11.PAUSED], event)
            data = await self.reader.read(READ_SIZE)
            if not data and self.parser.their_state is h11.SEND_RESPONSE:
                # h11 would say "peer unexpectedly closed connection"; httpx said this.
                raise ServerDisconnected("Server disconnected without sending a response.")
            self.parser.receive_data(data)


def _decode_headers(raw: Iterable[tuple[bytes, bytes]]) -> dict[str, str]:
    """Header names and values as text, as httpx decoded them: UTF-8 (ASCII included) when
    every value is valid UTF-8, else every value as Latin-1."""
    try:
        pairs = [(name.decode("ascii"), value.decode("utf-8")) for name, value in raw]
    except UnicodeDecodeError:
        pairs = [(name.decode("latin-1"), value.decode("latin-1")) for name, value in raw]
    headers: dict[str, str] = {}
    for name, value in pairs:
        headers[name] = f"{headers[name]}, {value}" if name in headers else value
    return headers


class Pool:
    """Idle connections by scheme, host and port, at most ``max_idle`` of them in all."""

    def __init__(self, *, max_idle: int, connect_timeout: float) -> None:
        self._max_idle = max_idle
        self._connect_timeout = connect_timeout
        self._idle: dict[tuple[str, str, int], list[Connection]] = {}
        self._idle_count = 0
        self._tls: ssl.SSLContext | None = None

    async def connection(self, target: Target) -> Connection:
        """A reusable idle connection to the target's host, or a new one.

        Raises:
            ConnectTimeout: connecting took longer than the connect timeout.
            OSError: DNS, connection or TLS failure (``socket.gaierror``, ``ssl.SSLError``...).
        """
        address = target.address
        idle = self._idle.get(address)
        now = time.monotonic()
        while idle:
            connection = idle.pop()
            self._idle_count -= 1
            if connection.usable(now):
                return connection
            connection.close()
        return await self._connect(address)

    def release(self, connection: Connection, *, reusable: bool) -> None:
        """Give a connection back after an exchange: kept for reuse, or closed."""
        if not reusable or self._idle_count >= self._max_idle:
            connection.close()
            return
        connection.idle_since = time.monotonic()
        self._idle.setdefault(connection.address, []).append(connection)
        self._idle_count += 1

    def close(self) -> None:
        """Close every idle connection."""
        for connections in self._idle.values():
            for connection in connections:
                connection.close()
        self._idle.clear()
        self._idle_count = 0

    async def _connect(self, address: tuple[str, str, int]) -> Connection:
        scheme, host, port = address
        tls = self._tls_context() if scheme == "https" else None
        deadline = asyncio.timeout(self._connect_timeout)
        try:
            async with deadline:
                reader, writer = await asyncio.open_connection(
                    host,
                    port,
                    ssl=tls,
                    server_hostname=host if tls is not None else None,
                    limit=READ_SIZE,
                )
        except TimeoutError:
            if not deadline.expired():
                raise  # the OS's ETIMEDOUT: a connection error like any other
            raise ConnectTimeout(f"no connection within {self._connect_timeout:g}s") from None
        return Connection(address, reader, writer)

    def _tls_context(self) -> ssl.SSLContext:
        # Made on first use: loading the CA bundle costs about 20 ms. The same context as
        # httpx's default (certifi's CA bundle, the environment ignored), offering HTTP/1.1.
        if self._tls is None:
            self._tls = httpx.create_ssl_context(trust_env=False)
            self._tls.set_alpn_protocols(["http/1.1"])
        return self._tls
