"""Parsing the durations (``45s``, ``15m``) and sizes (``10MB``) written in the config."""

from __future__ import annotations

import re
from datetime import timedelta

_DURATION_RE = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w)")
_DURATION_FULL_RE = re.compile(r"(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+")
_DURATION_UNITS = {
    "ms": 0.001,
    "s": 1,
    "m": 60,
    "h": 3600,
    "d": 86400,
    "w": 7 * 86400,
}
_SIZE_RE = re.compile(r"^(\d+(?:\.\d+)?)\s*([kmg]i?b|b)?$", re.IGNORECASE)
_SIZE_UNITS = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
}


def parse_duration(text: str) -> timedelta:
    """Parse a duration such as ``45s``, ``15m``, ``2h``, ``1d`` or ``1h30m``.

    Args:
        text: the duration; a sequence of number+unit pairs (units ms, s, m, h, d, w).

    Returns:
        The duration as a timedelta.

    Raises:
        ValueError: the text is not a duration, or is zero or negative.
    """
    cleaned = text.strip().lower()
    if not _DURATION_FULL_RE.fullmatch(cleaned):
        raise ValueError(f"{text!r} is not a duration (use e.g. 45s, 15m, 2h, 1d)")
    total = sum(
        float(m.group(1)) * _DURATION_UNITS[m.group(2)] for m in _DURATION_RE.finditer(cleaned)
    )
    if total <= 0:
        raise ValueError(f"{text!r} must be longer than zero")
    return timedelta(seconds=total)


def parse_size(text: str | int) -> int:
    """Parse a byte size such as ``10MB``, ``512KiB`` or a plain number of bytes.

    Args:
        text: the size; decimal units (kB, MB, GB) are powers of 1000, binary ones (KiB…) of 1024.

    Returns:
        The size in bytes.

    Raises:
        ValueError: the text is not a size, or is zero or negative.
    """
    if isinstance(text, int):
        value = text
    else:
        match = _SIZE_RE.match(text.strip())
        if match is None:
            raise ValueError(f"{text!r} is not a size (use e.g. 512KB, 10MB, 1GiB)")
        unit = (match.group(2) or "b").lower()
        value = int(float(match.group(1)) * _SIZE_UNITS[unit])
    if value <= 0:
        raise ValueError(f"{text!r} must be larger than zero")
    return value


def format_duration(delta: timedelta) -> str:
    """Format a timedelta the way the config writes it (``90s`` → ``1m30s``)."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        if seconds >= size:
            parts.append(f"{seconds // size}{unit}")
            seconds %= size
    return "".join(parts) or "0s"
