"""``Fetcher`` on its own HTTP/1.1 client (``fetching.wire``): what goes out, what comes back,
and when a connection is reused, against real servers on 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import shutil
import socket
import ssl
import subprocess
import threading
import zlib
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TypeVar

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from feedserver import FeedServer
from newswatch.fetching.http import USER_AGENT, Fetcher, FetchError, FetchResponse
from newswatch.fetching.wire import parse_url

BODY = b"<rss><channel><title>Wire</title></channel></rss>" * 40
T = TypeVar("T")


def run(work: Callable[[Fetcher], Awaitable[T]]) -> T:
    async def main() -> T:
        async with Fetcher(timeout=5.0) as fetcher:
            return await work(fetcher)

    return asyncio.run(main())


def fetch(url: str, **headers: str) -> FetchResponse:
    return run(lambda f: f.fetch(url, **headers))


def test_the_request_carries_the_headers_httpx_sent(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, etag="v1")
    fetch(url, etag='"v0"', last_modified="Tue, 01 Jan 2030 00:00:00 GMT")
    (request,) = feed_server.requests_to("/feed.xml")
    assert request.method == "GET"
    assert request.headers["host"] == feed_server.url.removeprefix("http://")
    assert request.headers["accept"].startswith("application/rss+xml")
    assert request.headers["accept-encoding"] == "gzip, deflate"
    assert request.headers["connection"] == "keep-alive"
    assert request.headers["user-agent"] == USER_AGENT
    assert request.headers["if-none-match"] == '"v0"'
    assert request.headers["if-modified-since"] == "Tue, 01 Jan 2030 00:00:00 GMT"


def test_a_matching_etag_gets_a_304_with_no_body(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, etag="v1")
    first = fetch(url)
    assert (first.status, first.body) == (200, BODY)
    again = fetch(url, etag=first.headers["etag"])
    assert (again.status, again.body, again.headers["etag"]) == (304, b"", '"v1"')


def test_gzip_is_undone(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, gzip=True)
    response = fetch(url)
    assert response.headers["content-encoding"] == "gzip"
    assert response.body == BODY


@pytest.mark.parametrize("wbits", [zlib.MAX_WBITS, -zlib.MAX_WBITS], ids=["zlib", "raw"])
def test_deflate_is_undone_wrapped_or_raw(feed_server: FeedServer, wbits: int) -> None:
    packer = zlib.compressobj(wbits=wbits)
    packed = packer.compress(BODY) + packer.flush()
    url = feed_server.route(
        "/feed.xml", raw_encoded_body=packed, headers={"Content-Encoding": "deflate"}
    )
    assert fetch(url).body == BODY


def test_an_unknown_content_encoding_is_a_protocol_error(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", raw_encoded_body=b"xx", headers={"Content-Encoding": "br"})
    with pytest.raises(FetchError, match="unsupported Content-Encoding") as caught:
        fetch(url)
    assert caught.value.kind == "protocol"


def test_a_chunked_body_is_read_whole(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, chunked=True)
    assert fetch(url).body == BODY


def test_a_redirect_is_followed_to_a_304(feed_server: FeedServer) -> None:
    feed_server.route("/old", status=301, redirect_to="/new")
    feed_server.route("/new", body=BODY, etag="v1")
    url = feed_server.url_for("/old")
    response = fetch(url, etag='"v1"')
    assert response.status == 304
    assert response.permanent_redirect == feed_server.url_for("/new")
    assert [r.header("if-none-match") for r in feed_server.requests] == ['"v1"', '"v1"']


def test_repeated_headers_are_joined_and_latin1_is_kept(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, headers={"ETag": '"caf\xe9"'})
    response = fetch(url)
    assert response.headers["etag"] == '"caf\xe9"'  # the server sent Latin-1, as httpx read it
    assert set(response.headers) == {k.lower() for k in response.headers}


def test_a_non_ascii_validator_is_a_url_error_not_a_crash(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY)
    with pytest.raises(FetchError, match="cannot request") as caught:
        fetch(url, etag='"caf\xe9"')
    assert caught.value.kind == "url"


def test_one_connection_carries_sequential_requests(feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/f{n}.xml", body=BODY, etag=f"e{n}") for n in range(5)]

    async def each(fetcher: Fetcher) -> list[int]:
        return [(await fetcher.fetch(url)).status for url in urls]

    assert run(each) == [200] * 5
    assert {r.connection for r in feed_server.requests} == {1}


def test_a_server_that_says_close_gets_a_new_connection(feed_server: FeedServer) -> None:
    url = feed_server.route("/feed.xml", body=BODY, headers={"Connection": "close"})

    async def twice(fetcher: Fetcher) -> list[int]:
        return [(await fetcher.fetch(url)).status for _ in range(2)]

    assert run(twice) == [200, 200]
    assert [r.connection for r in feed_server.requests] == [1, 2]


def test_an_error_status_body_is_not_read_but_the_exchange_completes(
    feed_server: FeedServer,
) -> None:
    missing = feed_server.route("/gone", status=404, body=b"not here\n")
    url = feed_server.route("/feed.xml", body=BODY)

    async def both(fetcher: Fetcher) -> list[tuple[int, bytes]]:
        return [((r := await fetcher.fetch(u)).status, r.body) for u in (missing, url)]

    assert run(both) == [(404, b""), (200, BODY)]


class _OneShotServer:
    """Answers each connection's first request with a keep-alive 200, then hangs up."""

    def __init__(self) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.listener.getsockname()[1]}/feed.xml"
        self.connections = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _serve(self) -> None:
        while True:
            try:
                client, _ = self.listener.accept()
            except OSError:
                return
            with client:
                self.connections += 1
                data = b""
                while b"\r\n\r\n" not in data:
                    data += client.recv(4096)
                client.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")

    def close(self) -> None:
        self.listener.close()
        self._thread.join(5)


@pytest.fixture
def one_shot() -> Iterator[_OneShotServer]:
    server = _OneShotServer()
    yield server
    server.close()


def test_an_idle_connection_the_server_closed_is_not_reused(one_shot: _OneShotServer) -> None:
    async def twice(fetcher: Fetcher) -> list[bytes]:
        first = await fetcher.fetch(one_shot.url)
        await asyncio.sleep(0.2)  # the server's FIN arrives while the connection is idle
        second = await fetcher.fetch(one_shot.url)
        return [first.body, second.body]

    assert run(twice) == [b"ok", b"ok"]
    assert one_shot.connections == 2


def test_a_reset_before_the_response_is_a_broken_connection(feed_server: FeedServer) -> None:
    url = feed_server.route("/abort.xml", abort=True)
    with pytest.raises(FetchError, match=r"connection to 127\.0\.0\.1 broke") as caught:
        fetch(url)
    assert caught.value.kind == "protocol"


def test_a_short_body_is_a_broken_connection(feed_server: FeedServer) -> None:
    url = feed_server.route("/short.xml", body=BODY, content_length=len(BODY) + 10)
    with pytest.raises(FetchError, match="broke: peer closed connection") as caught:
        fetch(url)
    assert caught.value.kind == "protocol"


# -- URLs: the quick split agrees with httpx's parser -------------------------------------

_HOSTS = st.sampled_from(
    [
        "example.com",
        "EXAMPLE.com",
        "127.0.0.1",
        "10.0.0.255",
        "999.1.1.1",
        "a-b.c-d.example",
        "xn--bcher-kva.example",
        "bücher.example",
        "[::1]",
        "localhost",
        "a..b",
        "-a.example",
    ]
)
_PORTS = st.sampled_from(["", ":80", ":443", ":8080", ":0", ":65535", ":99999"])
_PIECES = st.sampled_from(
    [
        "a",
        "B",
        "0",
        "-",
        ".",
        "..",
        "_",
        "~",
        "!",
        "$",
        "&",
        "'",
        "(",
        ")",
        "*",
        "+",
        ",",
        ";",
        "=",
        ":",
        "@",
        "/",
        "?",
        "#",
        "%",
        "%41",
        "%zz",
        " ",
        '"',
        "<",
        ">",
        "`",
        "{",
        "}",
        "é",
        "[",
        "]",
        "|",
        "\\",
        "^",
    ]
)


@given(
    scheme=st.sampled_from(["http", "https", "HTTP"]),
    host=_HOSTS,
    port=_PORTS,
    rest=st.lists(_PIECES, max_size=12).map("".join),
)
def test_parse_url_gives_the_request_httpx_would_send(
    scheme: str, host: str, port: str, rest: str
) -> None:
    url = f"{scheme}://{host}{port}/{rest}"
    try:
        expected = httpx.URL(url)
    except httpx.InvalidURL:
        with pytest.raises((httpx.InvalidURL, ValueError)):
            parse_url(url)
        return
    target = parse_url(url)
    assert target.scheme == expected.scheme
    assert target.host == expected.raw_host.decode()
    assert target.port == expected.port
    assert target.authority == expected.netloc.decode()
    assert target.path == expected.raw_path


def test_parse_url_refuses_other_schemes_and_missing_hosts() -> None:
    for url in ("ftp://example.com/x", "http:///x", "mailto:a@example.com"):
        with pytest.raises((httpx.InvalidURL, ValueError)):
            parse_url(url)


# -- TLS -------------------------------------------------------------------------------------


@pytest.fixture
def self_signed_server(tmp_path: Path) -> Iterator[str]:
    """An HTTPS server on 127.0.0.1 whose certificate no CA signed (made by ``openssl``)."""
    openssl = shutil.which("openssl")
    if openssl is None:
        pytest.skip(reason="openssl is needed to make a self-signed certificate")
    key, cert = tmp_path / "key.pem", tmp_path / "cert.pem"
    subprocess.run(
        [
            *(openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    listener = socket.create_server(("127.0.0.1", 0))

    def serve() -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            # The handshake fails on the client's side; whatever happens here is of no interest.
            with contextlib.suppress(OSError), context.wrap_socket(client, server_side=True):
                pass

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    yield f"https://127.0.0.1:{listener.getsockname()[1]}/feed.xml"
    listener.close()
    thread.join(5)


def test_an_untrusted_certificate_is_a_connect_error_naming_the_cause(
    self_signed_server: str,
) -> None:
    with pytest.raises(
        FetchError, match=r"cannot connect to 127\.0\.0\.1: certificate verify failed"
    ):
        fetch(self_signed_server)
