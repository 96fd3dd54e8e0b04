"""Writing stored articles out: CSV, JSON Lines and Markdown, one article at a time.

The writers take any iterable of ``ArticleRecord`` and write each record as it comes, so an
export of a million articles streamed from storage never holds more than one batch. The JSON
objects here are part of newswatch's contract (``search --json``, ``articles list --json``,
``export --format jsonl``): change them only by adding keys.
"""

from __future__ import annotations

import csv
import json
import os
import tempfile
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TextIO

from newswatch.errors import NewswatchError, UsageError
from newswatch.search import ArticleRecord, SearchHit, TopicScore

#: The columns of a CSV export, in order (the keys of each JSON record too).
COLUMNS = (
    "id",
    "title",
    "outlet",
    "feed_url",
    "url",
    "published_at",
    "ingested_at",
    "language",
    "story_id",
    "topics",
    "summary",
)
FORMATS = ("csv", "jsonl", "markdown")


def iso(value: Any) -> str | None:
    """An ISO 8601 UTC timestamp (``2026-11-26T07:00:00Z``), or ``None``."""
    return None if value is None else value.isoformat().replace("+00:00", "Z")


def score_value(score: float) -> float:
    """A topic score as exports show it (4 decimals)."""
    return round(score, 4)


def topics_json(topics: Iterable[TopicScore]) -> list[dict[str, Any]]:
    """An article's topics as ``[{"slug", "score"}]``, best first."""
    return [{"slug": t.slug, "score": score_value(t.score)} for t in topics]


def topics_cell(topics: Iterable[TopicScore]) -> str:
    """An article's topics as one CSV cell: ``slug:0.91;slug2:0.55``."""
    return ";".join(f"{t.slug}:{score_value(t.score)}" for t in topics)


def record_json(record: ArticleRecord) -> dict[str, Any]:
    """One article as JSON: the export columns, ``topics`` as a list."""
    return {
        "id": record.id,
        "title": record.title,
        "outlet": record.outlet,
        "feed_url": record.feed_url,
        "url": record.url,
        "published_at": iso(record.published_at),
        "ingested_at": iso(record.ingested_at),
        "language": record.language,
        "story_id": record.story_id,
        "topics": topics_json(record.topics),
        "summary": record.summary,
    }


def hit_json(hit: SearchHit) -> dict[str, Any]:
    """One search hit as ``search --json`` prints it: the article, its date, score, snippet."""
    return {
        **record_json(hit.article),
        "date": iso(hit.article.date),
        "score": hit.score,
        "snippet": hit.snippet,
    }


def record_row(record: ArticleRecord) -> list[str]:
    """One article as a CSV row (``COLUMNS`` order; an absent value is an empty cell)."""
    data = record_json(record)
    data["topics"] = topics_cell(record.topics)
    return ["" if data[name] is None else str(data[name]) for name in COLUMNS]


def write_csv(records: Iterable[ArticleRecord], out: TextIO) -> int:
    """Write a header and one row per article; returns how many articles."""
    writer = csv.writer(out)
    writer.writerow(COLUMNS)
    count = 0
    for record in records:
        writer.writerow(record_row(record))
        count += 1
    return count


def write_jsonl(records: Iterable[ArticleRecord], out: TextIO) -> int:
    """Write one JSON object per line per article; returns how many articles."""
    count = 0
    for record in records:
        out.write(json.dumps(record_json(record), ensure_ascii=False) + "\n")
        count += 1
    return count


def write_markdown(records: Iterable[ArticleRecord], out: TextIO) -> int:
    """Write a Markdown document, one section per article; returns how many articles.

    Feed text is escaped (a title cannot open a link or inject markup) and only http(s) links
    are kept, as in digests.
    """
    # Imported here: the digests' renderer module brings Jinja2, which `search` and
    # `articles list` (they use this module's JSON helpers) do not need.
    from newswatch.digest.render import markdown_text, markdown_url

    out.write("# newswatch export\n")
    count = 0
    for record in records:
        title = markdown_text(record.title or "(untitled)")
        link = markdown_url(record.url)
        out.write(f"\n## [{title}]({link})\n\n" if link else f"\n## {title}\n\n")
        facts = [markdown_text(record.outlet), record.date.strftime("%Y-%m-%d %H:%M UTC")]
        if record.topics:
            facts.append(", ".join(f"{t.slug} {score_value(t.score)}" for t in record.topics))
        if record.story_id is not None:
            facts.append(f"story {record.story_id}")
        facts.append(f"id {record.id}")
        out.write(" · ".join(facts) + "\n")
        if record.summary:
            out.write(f"\n{markdown_text(record.summary)}\n")
        count += 1
    if not count:
        out.write("\nNo articles.\n")
    return count


WRITERS: dict[str, Callable[[Iterable[ArticleRecord], TextIO], int]] = {
    "csv": write_csv,
    "jsonl": write_jsonl,
    "markdown": write_markdown,
}


def write_export(records: Iterable[ArticleRecord], out: TextIO, fmt: str) -> int:
    """Write ``records`` to ``out`` in ``fmt`` (``csv``, ``jsonl`` or ``markdown``).

    Returns:
        How many articles were written.

    Raises:
        UsageError: ``fmt`` is not one of these.
    """
    writer = WRITERS.get(fmt)
    if writer is None:
        raise UsageError(f"unknown export format {fmt!r} (use one of: {', '.join(FORMATS)})")
    return writer(records, out)


@contextmanager
def atomic_output(path: Path) -> Iterator[TextIO]:
    """A text file that appears at ``path`` only once everything is written.

    It is written beside ``path`` and renamed over it at the end, so a failed or interrupted
    export never leaves half a file (nor destroys the previous one).

    Raises:
        NewswatchError: the folder cannot be created or written.
    """
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        descriptor, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    except OSError as exc:
        raise NewswatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    try:
        # newline="": the csv module writes its own line endings.
        with os.fdopen(descriptor, "w", encoding="utf-8", newline="") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, path)
    except OSError as exc:
        Path(temporary).unlink(missing_ok=True)
        raise NewswatchError(f"cannot write {path}: {exc.strerror or exc}") from None
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise
