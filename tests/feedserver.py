"""A real HTTP/1.1 server on 127.0.0.1 for tests of the feed fetcher.

The server listens on an ephemeral port (port 0) and answers from a background thread, one
thread per connection, with keep-alive. Each path gets a ``Route``: a body and a status, plus
the behaviours a fetcher has to survive — validators and real 304s, gzip, redirects, slow or
dripping responses, connections reset mid-body, lying or missing lengths, gzip bombs::

    with FeedServer() as server:
        url = server.serve_file("/feed.xml", FEEDS / "plain.rss")       # ETag, Last-Modified
        server.route("/moved", status=301, redirect_to="/feed.xml")
        server.route("/flaky", responses=[Route(status=503), Route(body=b"<rss/>")])
        server.route("/slow", body=b"<rss/>", drip=0.5)
        server.route("/bomb", raw_encoded_body=make_gzip_bomb(50_000_000), gzip=True)
        ...
        assert server.requests_to("/feed.xml")[1].header("If-None-Match") is not None

Only GET and HEAD are served. Every request is recorded, unknown paths included (they get a
404). Failures inside the server that are not the client's doing (a body callable raising, a
handler thread that would not stop) are collected in ``FeedServer.errors``; the fixture fails
the test on them rather than letting them pass as a dropped connection.
"""

from __future__ import annotations

import contextlib
import email.utils
import hashlib
import mimetypes
import socket
import socketserver
import struct
import sys
import threading
import time
import zlib
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from gzip import compress as gzip_compress
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from typing import Any, overload
from urllib.parse import urlsplit

__all__ = [
    "FeedServer",
    "RecordedRequest",
    "Route",
    "feed_server_fixture",
    "make_gzip_bomb",
]

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
#: How long ``close()`` waits for connection threads before reporting them as stuck.
CLOSE_TIMEOUT = 2.0
#: Content types ``serve_file`` uses for feed-ish suffixes (``mimetypes`` knows few of them).
FEED_CONTENT_TYPES = {
    ".rss": "application/rss+xml",
    ".atom": "application/atom+xml",
    ".rdf": "application/rdf+xml",
    ".xml": "application/xml",
    ".json": "application/feed+json",
    ".html": "text/html; charset=utf-8",
    ".htm": "text/html; charset=utf-8",
    ".txt": "text/plain; charset=utf-8",
}
_BLOCK = 64 * 1024
# Headers that describe a body; a 304 carries the validators and caching headers, not these.
_BODY_HEADERS = frozenset(
    {"content-type", "content-length", "content-encoding", "transfer-encoding", "content-range"}
)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str  # without the query string
    query: str  # without the "?"; "" when there is none
    headers: Mapping[str, str]  # lower-cased names; a repeated header is joined with ", "
    body: bytes = b""
    connection: int = 0  # serial number of the TCP connection it came on: 1, 2, ...
    received_at: float = 0.0  # time.monotonic() when the request was read

    @property
    def target(self) -> str:
        """The path with its query string, as a route with "?" is keyed."""
        return f"{self.path}?{self.query}" if self.query else self.path

    @overload
    def header(self, name: str) -> str | None: ...
    @overload
    def header(self, name: str, default: str) -> str: ...

    def header(self, name: str, default: str | None = None) -> str | None:
        """A request header by case-insensitive name."""
        return self.headers.get(name.lower(), default)


@dataclass(frozen=True)
class Route:
    """How the server answers one request to a path.

    Attributes:
        body: the payload, or a function of the request that returns it.
        status: the status code.
        headers: extra response headers (Content-Type, Retry-After, Cache-Control, Date...).
        etag: sent as ETag (quoted if given bare); a matching If-None-Match gets a 304.
        last_modified: an HTTP date or an aware datetime, sent as Last-Modified; an
            If-Modified-Since at or after it gets a 304 (If-None-Match takes precedence).
        gzip: compress ``body`` when the client accepts gzip; with ``raw_encoded_body``, label
            those bytes ``Content-Encoding: gzip`` whatever the client accepts.
        raw_encoded_body: bytes sent as they are, e.g. ``make_gzip_bomb(...)``.
        redirect_to: the Location (relative allowed); ``status`` must be a redirect.
        delay: seconds to wait before the response headers.
        drip: send the body a byte at a time, pausing this many seconds between bytes.
        reset_after: send this many body bytes, then reset the connection (TCP RST).
        abort: reset the connection without sending a response at all.
        content_length: the Content-Length to claim instead of the real one; a lie closes the
            connection after the response.
        chunked: send ``Transfer-Encoding: chunked`` and no Content-Length.
    """

    body: bytes | Callable[[RecordedRequest], bytes] = b""
    status: int = 200
    headers: Mapping[str, str] = field(default_factory=dict)
    etag: str | None = None
    last_modified: str | datetime | None = None
    gzip: bool = False
    raw_encoded_body: bytes | None = None
    redirect_to: str | None = None
    delay: float = 0.0
    drip: float | None = None
    reset_after: int | None = None
    abort: bool = False
    content_length: int | None = None
    chunked: bool = False

    def __post_init__(self) -> None:
        if not 100 <= self.status <= 599:
            raise ValueError(f"status {self.status} is not an HTTP status code")
        if self.redirect_to is not None and self.status not in REDIRECT_STATUSES:
            raise ValueError(f"redirect_to needs a redirect status, not {self.status}")
        if self.raw_encoded_body is not None and (callable(self.body) or self.body):
            raise ValueError("give body or raw_encoded_body, not both")
        if self.chunked and self.content_length is not None:
            raise ValueError("a chunked response has no Content-Length to override")
        if isinstance(self.last_modified, datetime) and self.last_modified.tzinfo is None:
            raise ValueError("last_modified must be timezone-aware")
        for name in ("delay", "drip", "reset_after", "content_length"):
            value = getattr(self, name)
            if value is not None and value < 0:
                raise ValueError(f"{name} must not be negative, got {value}")


def make_gzip_bomb(decompressed_size: int, *, chunk_size: int = 1 << 20) -> bytes:
    """A gzip stream of ``decompressed_size`` zero bytes, about a thousandth of that in size.

    The zeros are fed to the compressor one chunk at a time, so memory stays at one chunk
    whatever the size. Results are cached: a 1 GB bomb takes about 2.5 s to build.

    Args:
        decompressed_size: bytes the stream inflates to.
        chunk_size: bytes of zeros handed to the compressor per call.

    Returns:
        The gzip-framed bytes; serve them with ``Route(raw_encoded_body=..., gzip=True)``.
    """
    if decompressed_size < 0 or chunk_size <= 0:
        raise ValueError("sizes must be positive")
    return _gzip_of_zeros(decompressed_size, chunk_size)


@lru_cache(maxsize=8)
def _gzip_of_zeros(size: int, chunk_size: int) -> bytes:
    # wbits 16 + 15 asks for gzip framing; run-length matching is all zeros need, and it is
    # faster than the default strategy for the same ~1:1000 ratio.
    compressor = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS, 9, zlib.Z_RLE)
    zeros = memoryview(bytes(chunk_size))
    parts = []
    remaining = size
    while remaining:
        step = min(remaining, chunk_size)
        parts.append(compressor.compress(zeros[:step]))
        remaining -= step
    parts.append(compressor.flush())
    return b"".join(parts)


# A route source yields the Route for the next request: the same one, the next of a
# sequence, or one built from a file as it is now.
_Source = Callable[[], Route]


class FeedServer:
    """A local HTTP/1.1 server on 127.0.0.1 and an ephemeral port, serving in a thread.

    Use as a context manager, or call ``close()``. Routes may be added or replaced while it runs.
    """

    def __init__(self) -> None:
        self._routes: dict[str, _Source] = {}
        self._requests: list[RecordedRequest] = []
        self._arrived = threading.Condition()
        self._closed = False
        self._httpd = _HTTPServer(self)
        self.port: int = self._httpd.server_port
        self.url = f"http://127.0.0.1:{self.port}"
        self._thread = threading.Thread(
            target=self._httpd.serve_forever,
            # serve_forever notices shutdown() only between polls: this bounds close().
            kwargs={"poll_interval": 0.01},
            name=f"feedserver:{self.port}",
            daemon=True,
        )
        self._thread.start()

    def __enter__(self) -> FeedServer:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"<FeedServer {self.url}{' closed' if self._closed else ''}>"

    def url_for(self, path: str) -> str:
        """The absolute URL of ``path`` (which starts with "/") on this server."""
        _check_path(path)
        return self.url + path

    def route(
        self,
        path: str,
        response: Route | None = None,
        /,
        *,
        responses: Sequence[Route] | None = None,
        **options: Any,
    ) -> str:
        """Answer requests to ``path``, replacing any earlier route for it.

        Args:
            path: matched against the request path without its query string, unless it has
                a "?" itself, in which case path and query must match exactly.
            response: the Route to serve on every request.
            responses: Routes to serve in turn, one per request; the last one repeats.
            **options: ``Route`` fields, when neither ``response`` nor ``responses`` is given.

        Returns:
            The absolute URL of ``path``.

        Raises:
            ValueError, TypeError: a malformed path or route, or more than one way of giving it.
        """
        _check_path(path)
        given = sum(x is not None for x in (response, responses)) + bool(options)
        if given > 1:
            raise TypeError("give one of: a Route, responses=[...], or Route fields")
        if responses is not None:
            if not responses:
                raise ValueError("responses must not be empty")
            source = _sequence(responses)
        elif response is not None:
            source = _fixed(response)
        else:
            source = _fixed(Route(**options))
        return self._install(path, source)

    def serve_file(
        self, path: str, file: Path, content_type: str | None = None, **options: Any
    ) -> str:
        """Serve ``file`` at ``path`` as a static file server would.

        The file is read on each request, so a test may rewrite it between fetches. The ETag
        is a hash of the content and Last-Modified the file's mtime (one-second resolution),
        so conditional requests get real 304s; a missing file gets a 404.

        Args:
            path: as for ``route``.
            file: the file to serve.
            content_type: the Content-Type; guessed from the suffix if not given (.rss, .atom,
                .rdf, .xml, .json as JSON Feed, .html...).
            **options: other ``Route`` fields; ``etag=None`` or ``last_modified=None`` turns
                that validator off, a value replaces the computed one.

        Returns:
            The absolute URL of ``path``.
        """
        if "body" in options or "raw_encoded_body" in options:
            raise TypeError("serve_file takes its body from the file")
        Route(**options)  # fail here, in the test, rather than in the server thread
        source = _file_source(Path(file), content_type or _guess_content_type(file), options)
        return self._install(path, source)

    def _install(self, path: str, source: _Source) -> str:
        _check_path(path)
        with self._arrived:
            self._routes[path] = source
        return self.url + path

    @property
    def requests(self) -> list[RecordedRequest]:
        """Every request received so far, in order of arrival (a copy)."""
        with self._arrived:
            return list(self._requests)

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests to ``path`` (to path and query exactly, if it has a "?")."""
        exact = "?" in path
        return [r for r in self.requests if (r.target if exact else r.path) == path]

    def wait_for_requests(self, count: int, timeout: float = 2.0) -> list[RecordedRequest]:
        """Block until ``count`` requests have arrived in all; return them.

        Raises:
            TimeoutError: fewer arrived within ``timeout`` seconds.
        """
        with self._arrived:
            if not self._arrived.wait_for(lambda: len(self._requests) >= count, timeout):
                raise TimeoutError(f"{len(self._requests)} of {count} requests in {timeout}s")
            return list(self._requests)

    @property
    def errors(self) -> list[BaseException]:
        """Failures inside the server that were not the client's doing."""
        return self._httpd.failures()

    def close(self) -> None:
        """Stop serving and drop open connections, in-flight responses included.

        Returns within about ``CLOSE_TIMEOUT`` seconds; a connection thread still running by
        then is reported in ``errors``. Idempotent.
        """
        if self._closed:
            return
        self._closed = True
        httpd = self._httpd
        httpd.stopping.set()  # wakes delays and drips
        httpd.shutdown()  # the accept loop is gone once this returns
        self._thread.join()
        httpd.disconnect_all()  # wakes threads waiting on idle keep-alive connections
        httpd.server_close()
        httpd.join_workers(CLOSE_TIMEOUT)

    def _receive(self, request: RecordedRequest) -> Route:
        """Record ``request`` and pick the Route that answers it."""
        with self._arrived:
            self._requests.append(request)
            self._arrived.notify_all()
            source = (self._routes.get(request.target) if request.query else None) or (
                self._routes.get(request.path)
            )
        if source is None:
            return _plain(404, f"no route for {request.target}\n")
        return source()


def feed_server_fixture() -> Iterator[FeedServer]:
    """A running FeedServer for one test; fails the test on errors inside the server.

    Wire it up with ``feed_server = pytest.fixture(feed_server_fixture, name="feed_server")``
    or a fixture that does ``yield from feed_server_fixture()``.
    """
    with FeedServer() as server:
        yield server
    if server.errors:
        raise AssertionError(f"feed server failed: {server.errors!r}") from server.errors[0]


class _HTTPServer(ThreadingHTTPServer):
    # Threads are tracked here rather than by ThreadingMixIn, so that close() can wake them
    # and then wait with a deadline instead of joining forever.
    daemon_threads = True
    block_on_close = False
    request_queue_size = 64

    def __init__(self, feed: FeedServer) -> None:
        self.feed = feed
        self.stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, int] = {}  # open ones, by serial number
        self._workers: list[threading.Thread] = []
        self._failures: list[BaseException] = []
        self._serial = 0
        super().__init__(("127.0.0.1", 0), _Handler)

    def server_bind(self) -> None:
        # HTTPServer.server_bind calls socket.getfqdn(), a reverse DNS lookup that can take
        # seconds where there is no resolver; the name is never used here.
        socketserver.TCPServer.server_bind(self)
        host, port = self.server_address[:2]
        self.server_name = str(host)
        self.server_port = int(port)

    def process_request(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        assert isinstance(request, socket.socket)
        with self._lock:
            self._serial += 1
            worker = threading.Thread(
                target=self.process_request_thread,
                args=(request, client_address),
                name=f"feedserver:{self.server_port}#{self._serial}",
                daemon=True,
            )
            # Registered before the thread starts, so disconnect_all() cannot miss it.
            self._connections[request] = self._serial
            self._workers = [w for w in self._workers if w.is_alive()]
            self._workers.append(worker)
        worker.start()

    def serial_of(self, request: socket.socket) -> int:
        with self._lock:
            return self._connections.get(request, 0)

    def shutdown_request(self, request: socket.socket | tuple[bytes, socket.socket]) -> None:
        # Under the lock, so disconnect_all() never touches a socket being closed.
        with self._lock:
            if isinstance(request, socket.socket):
                self._connections.pop(request, None)
            super().shutdown_request(request)

    def disconnect_all(self) -> None:
        with self._lock:
            for connection in self._connections:
                with contextlib.suppress(OSError):
                    connection.shutdown(socket.SHUT_RDWR)

    def join_workers(self, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        with self._lock:
            workers = list(self._workers)
        for worker in workers:
            worker.join(max(0.0, deadline - time.monotonic()))
        stuck = [w.name for w in workers if w.is_alive()]
        if stuck:
            self.fail(RuntimeError(f"connection threads still running after close(): {stuck}"))

    def handle_error(
        self, request: socket.socket | tuple[bytes, socket.socket], client_address: Any
    ) -> None:
        error = sys.exc_info()[1]
        # Clients hanging up early is what many tests are about; and close() cuts sockets.
        if isinstance(error, ConnectionError) or (
            isinstance(error, OSError) and self.stopping.is_set()
        ):
            return
        if error is not None:
            self.fail(error)

    def fail(self, error: BaseException) -> None:
        with self._lock:
            self._failures.append(error)

    def failures(self) -> list[BaseException]:
        with self._lock:
            return list(self._failures)


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive; every response has a length or is chunked
    server_version = "feedserver/1"
    sys_version = ""
    # Headers and body go out in separate writes; without this, Nagle's algorithm holds the
    # second write until the client's delayed ACK (40 ms on Linux), and drips come in lumps.
    disable_nagle_algorithm = True
    timeout = 60  # a safety net; close() does not rely on it
    server: _HTTPServer

    def setup(self) -> None:
        super().setup()
        self.serial = self.server.serial_of(self.connection)

    def do_GET(self) -> None:
        self._respond()

    def do_HEAD(self) -> None:
        self._respond()

    def do_POST(self) -> None:  # webhooks: the body is recorded with the request
        self._respond()

    def log_message(self, format: str, *args: Any) -> None:
        pass  # the requests are recorded; stderr noise helps no one

    def _respond(self) -> None:
        request = self._read_request()
        try:
            route = self.server.feed._receive(request)
        except Exception as error:
            route = self._failed(error)
        if route.delay and self.server.stopping.wait(route.delay):
            self.close_connection = True
            return
        if route.abort:
            self._reset()
            return
        try:
            status, headers, payload = _render(route, request)
        except Exception as error:
            route = self._failed(error)
            status, headers, payload = _render(route, request)

        has_body = status >= 200 and status not in (204, 304)
        claimed = route.content_length if route.content_length is not None else len(payload)
        if claimed != len(payload) or route.reset_after is not None:
            self.close_connection = True  # the byte stream cannot be trusted after this one

        self.send_response_only(status)
        names = {name.lower() for name, _ in headers}
        if "server" not in names:
            self.send_header("Server", self.version_string())
        if "date" not in names:
            self.send_header("Date", self.date_time_string())
        for name, value in headers:
            self.send_header(name, value)  # "Connection: close" here also closes
        if has_body:
            if route.chunked:
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(claimed))
        if self.close_connection and "connection" not in names:
            self.send_header("Connection", "close")
        self.end_headers()
        if has_body and self.command != "HEAD":
            self._send_body(payload, route)

    def _read_request(self) -> RecordedRequest:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length > 0 else b""
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        target = urlsplit(self.path)
        return RecordedRequest(
            self.command, target.path, target.query, headers, body, self.serial, time.monotonic()
        )

    def _failed(self, error: Exception) -> Route:
        """Record a failure in the test's own code (a body function, a file) and say so."""
        self.server.fail(error)
        return _plain(500, f"feedserver: {type(error).__name__}: {error}\n")

    def _send_body(self, payload: bytes, route: Route) -> None:
        stopping = self.server.stopping
        data = memoryview(payload)
        if route.reset_after is not None:
            data = data[: route.reset_after]
        step = 1 if route.drip is not None else _BLOCK
        for offset in range(0, len(data), step):
            interrupted = stopping.wait(route.drip) if route.drip and offset else stopping.is_set()
            if interrupted:
                self.close_connection = True  # the client sees a truncated body
                return
            piece = data[offset : offset + step]
            if route.chunked:
                self.wfile.write(b"%x\r\n%s\r\n" % (len(piece), piece))
            else:
                self.wfile.write(piece)
        if route.reset_after is not None:
            self._reset()
        elif route.chunked:
            self.wfile.write(b"0\r\n\r\n")

    def _reset(self) -> None:
        """Abort the connection with a TCP RST rather than an orderly FIN."""
        self.close_connection = True
        # SO_LINGER on with a zero timeout makes close() discard unsent data and send RST.
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        # rfile is a socket.makefile() and holds a reference: socket.close() alone only marks
        # the socket closed, and the RST would wait until finish() closes rfile.
        self.rfile.close()
        self.connection.close()


def _render(route: Route, request: RecordedRequest) -> tuple[int, list[tuple[str, str]], bytes]:
    """The status, headers and payload (as sent on the wire) that answer ``request``."""
    validators = []
    if route.etag is not None:
        validators.append(("ETag", _quote_etag(route.etag)))
    if route.last_modified is not None:
        validators.append(("Last-Modified", _http_date(route.last_modified)))
    if _not_modified(route, request):
        kept = [(k, v) for k, v in route.headers.items() if k.lower() not in _BODY_HEADERS]
        return 304, validators + kept, b""

    headers = [*route.headers.items(), *validators]
    if route.redirect_to is not None:
        headers.append(("Location", route.redirect_to))
    if route.raw_encoded_body is not None:
        if route.gzip:
            headers.append(("Content-Encoding", "gzip"))
        return route.status, headers, route.raw_encoded_body
    payload = route.body(request) if callable(route.body) else route.body
    if route.gzip:
        headers.append(("Vary", "Accept-Encoding"))
        if _accepts_gzip(request.header("accept-encoding")):
            headers.append(("Content-Encoding", "gzip"))
            payload = gzip_compress(payload, mtime=0)
    return route.status, headers, payload


def _not_modified(route: Route, request: RecordedRequest) -> bool:
    """Whether a conditional GET or HEAD gets a 304 (If-None-Match first, as RFC 9110 says)."""
    if request.method not in ("GET", "HEAD") or not 200 <= route.status < 300:
        return False
    if_none_match = request.header("if-none-match")
    if if_none_match is not None:
        if if_none_match.strip() == "*":
            return True
        if route.etag is None:
            return False
        ours = _weak(_quote_etag(route.etag))
        return any(_weak(tag) == ours for tag in if_none_match.split(","))
    if_modified_since = request.header("if-modified-since")
    if if_modified_since is None or route.last_modified is None:
        return False
    modified = _parse_http_date(_http_date(route.last_modified))
    since = _parse_http_date(if_modified_since)
    if modified is None or since is None:
        return if_modified_since.strip() == _http_date(route.last_modified)
    return modified <= since


def _quote_etag(etag: str) -> str:
    return etag if etag.startswith(('"', 'W/"')) else f'"{etag}"'


def _weak(etag: str) -> str:
    return etag.strip().removeprefix("W/")


def _http_date(value: str | datetime) -> str:
    if isinstance(value, datetime):
        return email.utils.format_datetime(value.astimezone(UTC), usegmt=True)
    return value


def _parse_http_date(text: str) -> datetime | None:
    try:
        parsed = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _accepts_gzip(accept_encoding: str | None) -> bool:
    weights: dict[str, float] = {}
    for item in (accept_encoding or "").split(","):
        coding, *params = (part.strip() for part in item.split(";"))
        weight = 1.0
        for param in params:
            key, _, value = param.partition("=")
            if key.strip().lower() == "q":
                try:
                    weight = float(value)
                except ValueError:
                    weight = 0.0
        if coding:
            weights[coding.lower()] = weight
    weight = weights.get("gzip", weights.get("x-gzip", weights.get("*", 0.0)))
    return weight > 0


def _plain(status: int, text: str) -> Route:
    return Route(
        status=status,
        body=text.encode(),
        headers={"Content-Type": "text/plain; charset=utf-8"},
    )


def _fixed(route: Route) -> _Source:
    if not isinstance(route, Route):
        raise TypeError(f"expected a Route, got {type(route).__name__}")
    return lambda: route


def _sequence(routes: Sequence[Route]) -> _Source:
    for route in routes:
        _fixed(route)  # the same check
    pending = list(routes)
    lock = threading.Lock()

    def next_route() -> Route:
        with lock:
            return pending.pop(0) if len(pending) > 1 else pending[0]

    return next_route


def _file_source(file: Path, content_type: str, options: Mapping[str, Any]) -> _Source:
    def next_route() -> Route:
        try:
            modified = file.stat().st_mtime
            data = file.read_bytes()
        except FileNotFoundError:
            return _plain(404, f"{file.name} is gone\n")
        settings: dict[str, Any] = {
            "etag": hashlib.sha256(data).hexdigest()[:24],
            "last_modified": email.utils.formatdate(modified, usegmt=True),
            **options,
        }
        headers = {"Content-Type": content_type, **settings.pop("headers", {})}
        return Route(body=data, headers=headers, **settings)

    return next_route


def _guess_content_type(file: Path) -> str:
    suffix = Path(file).suffix.lower()
    guessed = FEED_CONTENT_TYPES.get(suffix) or mimetypes.guess_type(Path(file).name)[0]
    return guessed or "application/octet-stream"


def _check_path(path: str) -> None:
    if not path.startswith("/"):
        raise ValueError(f"a path starts with '/': {path!r}")
