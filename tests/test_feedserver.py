"""The local feed server answers real HTTP the way the fetcher tests rely on."""

from __future__ import annotations

import threading
import time
import zlib
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime
from pathlib import Path

import httpx
import pytest

from feedserver import FeedServer, Route, feed_server_fixture, make_gzip_bomb

RSS = b'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title></channel></rss>'


@pytest.fixture
def feed_server() -> Iterator[FeedServer]:
    yield from feed_server_fixture()


def http_client(timeout: float | httpx.Timeout = 2.0) -> httpx.Client:
    """A client for plain HTTP; verify=False spares it loading the CA bundle (~40 ms)."""
    return httpx.Client(timeout=timeout, verify=False)


@pytest.fixture
def client() -> Iterator[httpx.Client]:
    with http_client() as opened:
        yield opened


def test_etag_then_if_none_match_gets_a_bodiless_304(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed", body=RSS, etag="v1", headers={"Cache-Control": "max-age=60"})

    first = client.get(url)
    second = client.get(url, headers={"If-None-Match": first.headers["ETag"]})
    stale = client.get(url, headers={"If-None-Match": '"v0", W/"other"'})

    assert (first.status_code, first.headers["ETag"], first.content) == (200, '"v1"', RSS)
    assert (second.status_code, second.content) == (304, b"")
    assert second.headers["ETag"] == '"v1"'
    assert second.headers["Cache-Control"] == "max-age=60"
    assert "content-length" not in second.headers
    assert stale.status_code == 200


def test_if_modified_since_gets_a_304_unless_older(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    modified = datetime(2026, 11, 25, 6, 30, tzinfo=UTC)
    url = feed_server.route("/feed", body=RSS, last_modified=modified)

    first = client.get(url)
    same = client.get(url, headers={"If-Modified-Since": first.headers["Last-Modified"]})
    older = format_datetime(modified - timedelta(hours=1), usegmt=True)
    changed = client.get(url, headers={"If-Modified-Since": older})

    assert first.headers["Last-Modified"] == "Wed, 25 Nov 2026 06:30:00 GMT"
    assert (same.status_code, same.content) == (304, b"")
    assert (changed.status_code, changed.content) == (200, RSS)


def test_serve_file_does_conditional_get_like_a_static_server(
    feed_server: FeedServer, client: httpx.Client, tmp_path: Path
) -> None:
    file = tmp_path / "news.rss"
    file.write_bytes(RSS)
    url = feed_server.serve_file("/news.rss", file)

    first = client.get(url)
    validators = {
        "If-None-Match": first.headers["ETag"],
        "If-Modified-Since": first.headers["Last-Modified"],
    }
    unchanged = client.get(url, headers=validators)
    file.write_bytes(RSS.replace(b"<title>T", b"<title>U"))
    changed = client.get(url, headers=validators)

    assert first.headers["Content-Type"] == "application/rss+xml"
    assert (first.status_code, first.content) == (200, RSS)
    assert unchanged.status_code == 304
    assert changed.status_code == 200
    assert b"<title>U" in changed.content
    assert changed.headers["ETag"] != first.headers["ETag"]


def test_gzip_is_sent_to_clients_that_accept_it_and_decoded_by_httpx(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    body = RSS * 200
    url = feed_server.route("/feed", body=body, gzip=True)

    zipped = client.get(url)
    plain = client.get(url, headers={"Accept-Encoding": "identity"})

    assert zipped.headers["Content-Encoding"] == "gzip"
    assert int(zipped.headers["Content-Length"]) < len(body) // 10
    assert zipped.content == body
    assert "content-encoding" not in plain.headers
    assert plain.content == body


def test_a_gzip_bomb_is_small_on_the_wire_and_huge_decoded(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    bomb = make_gzip_bomb(20_000_000)
    url = feed_server.route("/bomb", raw_encoded_body=bomb, gzip=True)

    with client.stream("GET", url) as response:
        decoded = sum(len(chunk) for chunk in response.iter_bytes())
        on_the_wire = response.num_bytes_downloaded

    assert len(bomb) < 30_000
    assert (on_the_wire, decoded) == (len(bomb), 20_000_000)
    assert len(zlib.decompressobj(wbits=31).decompress(bomb, 1000)) == 1000


def test_a_301_with_a_relative_location_is_followed(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    old = feed_server.route("/old/feed", status=301, redirect_to="../new/feed")
    new = feed_server.route("/new/feed", body=RSS)

    response = client.get(old, follow_redirects=True)

    assert (response.status_code, response.content, str(response.url)) == (200, RSS, new)
    assert [(r.status_code, r.headers["Location"]) for r in response.history] == [
        (301, "../new/feed")
    ]
    assert [r.path for r in feed_server.requests] == ["/old/feed", "/new/feed"]


def test_a_sequence_serves_its_routes_in_turn_and_repeats_the_last(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route(
        "/flaky",
        responses=[
            Route(status=503, headers={"Retry-After": "120"}),
            Route(status=500),
            Route(body=RSS, etag="same"),
            Route(body=RSS + b"<!-- changed, ETag not -->", etag="same"),
        ],
    )

    responses = [client.get(url) for _ in range(5)]

    assert [r.status_code for r in responses] == [503, 500, 200, 200, 200]
    assert responses[0].headers["Retry-After"] == "120"
    assert responses[2].headers["ETag"] == responses[3].headers["ETag"]
    assert responses[2].content != responses[3].content == responses[4].content


def test_reset_after_aborts_the_connection_mid_body(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed", body=RSS * 1000, reset_after=100)

    with client.stream("GET", url) as response:
        assert response.status_code == 200  # the headers arrive
        with pytest.raises(httpx.ReadError, match="reset"):
            response.read()


@pytest.mark.parametrize(
    "slow",
    [Route(body=RSS, drip=0.5), Route(body=RSS, delay=0.5)],
    ids=["drip", "delay before headers"],
)
def test_a_slow_server_trips_the_read_timeout(feed_server: FeedServer, slow: Route) -> None:
    url = feed_server.route("/slow", slow)

    with http_client(httpx.Timeout(2.0, read=0.1)) as impatient:
        started = time.monotonic()
        with pytest.raises(httpx.ReadTimeout):
            impatient.get(url)

    assert time.monotonic() - started < 0.4


def test_an_unknown_path_is_a_404(feed_server: FeedServer, client: httpx.Client) -> None:
    response = client.get(feed_server.url_for("/nowhere"))

    assert response.status_code == 404
    assert response.text == "no route for /nowhere\n"
    assert feed_server.requests_to("/nowhere")[0].method == "GET"


def test_requests_are_recorded_with_their_headers(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    url = feed_server.route("/feed", body=RSS)

    client.get(url + "?page=2", headers={"X-Trace": "abc", "If-None-Match": '"v1"'})
    client.head(url)

    first, second = feed_server.requests_to("/feed")
    assert (first.method, first.path, first.query, first.target) == (
        "GET",
        "/feed",
        "page=2",
        "/feed?page=2",
    )
    assert first.header("X-TRACE") == first.headers["x-trace"] == "abc"
    assert first.header("if-none-match") == '"v1"'
    assert first.header("user-agent", "").startswith("python-httpx/")
    assert first.header("x-missing") is None
    assert feed_server.requests_to("/feed?page=2") == [first]
    assert second.method == "HEAD"
    assert first.connection == second.connection  # keep-alive
    assert feed_server.wait_for_requests(2) == feed_server.requests
    with pytest.raises(TimeoutError):
        feed_server.wait_for_requests(3, timeout=0.01)


def test_a_route_with_a_query_string_matches_only_that_query(
    feed_server: FeedServer, client: httpx.Client
) -> None:
    feed_server.route("/feed", body=b"any")
    feed_server.route("/feed?format=atom", body=b"atom")

    bodies = [client.get(feed_server.url_for(t)).content for t in ("/feed", "/feed?format=atom")]

    assert bodies == [b"any", b"atom"]
    assert client.get(feed_server.url_for("/feed?format=rss")).content == b"any"


def test_head_gets_the_length_but_no_body(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.route("/feed", body=RSS, headers={"Content-Type": "application/rss+xml"})

    response = client.head(url)

    assert response.headers["Content-Length"] == str(len(RSS))
    assert response.content == b""
    assert client.get(url).content == RSS  # the connection is still in step


def test_chunked_bodies_and_lying_lengths(feed_server: FeedServer, client: httpx.Client) -> None:
    chunked = feed_server.route("/chunked", body=RSS * 5000, chunked=True)
    lying = feed_server.route("/lying", body=RSS, content_length=len(RSS) + 10)

    response = client.get(chunked)
    assert response.headers["Transfer-Encoding"] == "chunked"
    assert "content-length" not in response.headers
    assert response.content == RSS * 5000
    with pytest.raises(httpx.RemoteProtocolError, match="complete message body"):
        client.get(lying)


def test_a_body_function_sees_the_request(feed_server: FeedServer, client: httpx.Client) -> None:
    url = feed_server.route("/echo", body=lambda request: request.target.encode())

    assert client.get(url + "?q=1").content == b"/echo?q=1"


def test_a_failing_body_function_is_a_500_and_an_error() -> None:
    def broken(request: object) -> bytes:
        raise LookupError("no such story")

    with FeedServer() as server, http_client() as client:
        response = client.get(server.route("/broken", body=broken))

    assert response.status_code == 500
    assert "LookupError: no such story" in response.text
    assert [type(e) for e in server.errors] == [LookupError]


def test_close_returns_promptly_while_a_drip_is_in_flight() -> None:
    server = FeedServer()
    url = server.route("/slow", body=RSS, drip=0.3)
    headers_seen = threading.Event()
    outcome: list[object] = []

    def fetch() -> None:
        with http_client(10.0) as patient:
            try:
                with patient.stream("GET", url) as response:
                    headers_seen.set()
                    outcome.append(response.read())
            except httpx.TransportError as error:
                outcome.append(error)

    fetcher = threading.Thread(target=fetch)
    fetcher.start()
    assert headers_seen.wait(2.0)
    started = time.monotonic()
    server.close()
    took = time.monotonic() - started
    fetcher.join(2.0)

    assert took < 2.0
    assert not fetcher.is_alive()
    assert isinstance(outcome[0], httpx.RemoteProtocolError)  # a truncated body
    assert server.errors == []
    with http_client() as late, pytest.raises(httpx.ConnectError):
        late.get(url)


def test_routes_are_checked_when_made(feed_server: FeedServer) -> None:
    with pytest.raises(ValueError, match="redirect status"):
        feed_server.route("/moved", redirect_to="/new")
    with pytest.raises(ValueError, match="starts with '/'"):
        feed_server.route("feed", body=RSS)
    with pytest.raises(TypeError):
        feed_server.route("/feed", Route(), body=RSS)
    with pytest.raises(TypeError, match="expected a Route"):
        feed_server.route("/feed", RSS)  # type: ignore[arg-type]
