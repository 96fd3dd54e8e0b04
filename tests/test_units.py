from datetime import timedelta

import pytest

from newswatch.units import format_duration, parse_duration, parse_size


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("45s", timedelta(seconds=45)),
        ("15m", timedelta(minutes=15)),
        ("2h", timedelta(hours=2)),
        ("1d", timedelta(days=1)),
        ("1h30m", timedelta(minutes=90)),
        (" 1.5h ", timedelta(minutes=90)),
        ("500ms", timedelta(milliseconds=500)),
        ("1W", timedelta(weeks=1)),
    ],
)
def test_durations_parse(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize("text", ["", "15", "m15", "15 minutes", "1h 30x", "0s", "-5m", "abc"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(ValueError, match=r"duration|longer than zero"):
        parse_duration(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10MB", 10_000_000),
        ("512KB", 512_000),
        ("1GiB", 1024**3),
        ("2 MiB", 2 * 1024**2),
        ("4096", 4096),
        (4096, 4096),
    ],
)
def test_sizes_parse(text: str | int, expected: int) -> None:
    assert parse_size(text) == expected


@pytest.mark.parametrize("text", ["10 megabytes", "MB", "-1MB", "0", 0])
def test_bad_sizes_are_refused(text: str | int) -> None:
    with pytest.raises(ValueError, match=r"size|larger than zero"):
        parse_size(text)


def test_durations_format_back() -> None:
    assert format_duration(timedelta(seconds=5430)) == "1h30m30s"
    assert format_duration(timedelta(0)) == "0s"
