"""Articles as JSON Lines, the exchange format of ``topics match``, ``eval`` and ``test``.

One object per line: ``{"id", "title", "summary", "content"?, "url"?, "published"?,
"language"?, "labels"?}``. Unknown fields are ignored; a line that is not such an object is
reported with its line number and skipped, never silently dropped.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO


@dataclass(frozen=True, slots=True)
class Record:
    """One article read from JSON Lines."""

    id: str
    title: str
    summary: str = ""
    content: str = ""
    url: str | None = None
    language: str | None = None
    labels: tuple[str, ...] | None = None  # None: the line carries no labels
    line: int = 0


@dataclass(frozen=True, slots=True)
class BadLine:
    """A line that could not be read as an article."""

    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


def read_records(stream: IO[str]) -> Iterator[Record | BadLine]:
    """Read articles from JSON Lines, in order; blank lines are skipped."""
    for number, text in enumerate(stream, start=1):
        if not text.strip():
            continue
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            yield BadLine(number, f"not valid JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(data, dict):
            yield BadLine(number, "not a JSON object")
            continue
        problem = _check(data)
        if problem:
            yield BadLine(number, problem)
            continue
        labels = data.get("labels")
        yield Record(
            id=str(data["id"]),
            title=data.get("title") or "",
            summary=data.get("summary") or "",
            content=data.get("content") or "",
            url=data.get("url"),
            language=data.get("language"),
            labels=tuple(labels) if labels is not None else None,
            line=number,
        )


def _check(data: dict[str, object]) -> str | None:
    if "id" not in data or not isinstance(data["id"], str | int) or isinstance(data["id"], bool):
        return "missing 'id' (a string or number)"
    for key in ("title", "summary", "content", "url", "language"):
        if data.get(key) is not None and not isinstance(data[key], str):
            return f"'{key}' must be a string"
    if not (data.get("title") or data.get("summary") or data.get("content")):
        return "no text: give 'title', 'summary' or 'content'"
    labels = data.get("labels")
    if labels is not None and (
        not isinstance(labels, list) or not all(isinstance(x, str) for x in labels)
    ):
        return "'labels' must be a list of topic slugs"
    return None
