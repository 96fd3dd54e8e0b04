"""Turning core results into the JSON objects and text tables the CLI prints.

The JSON shapes are part of newswatch's contract (other tools read them); change them only by
adding keys.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence
from datetime import datetime
from typing import TYPE_CHECKING, Any

from newswatch.model import Delivery, Digest, Feed, StatusReport, TopicDefinition

# For annotations only: every command imports this module, and these bring in the libraries of
# fetching, digests and tagging.
if TYPE_CHECKING:
    from newswatch.digest.runner import DigestRun
    from newswatch.fetching.check import CheckReport
    from newswatch.ingest import FetchSummary
    from newswatch.tagging.evaluate import Evaluation
    from newswatch.tagging.matcher import Match


def iso(value: datetime | None) -> str | None:
    """An ISO 8601 UTC timestamp (``2026-11-26T07:00:00Z``), or ``None``."""
    if value is None:
        return None
    return value.isoformat().replace("+00:00", "Z")


def feed_json(feed: Feed) -> dict[str, Any]:
    """One feed as ``feeds list --json`` prints it."""
    return {
        "url": feed.url,
        "declared_url": feed.declared_url,
        "name": feed.display_name,
        "title": feed.title,
        "status": feed.status.value,
        "last_error": feed.last_error,
        "last_problem": feed.last_problem,
        "consecutive_failures": feed.consecutive_failures,
        "articles": feed.articles,
        "last_fetched_at": iso(feed.last_fetched_at),
        "last_success_at": iso(feed.last_success_at),
        "next_fetch_at": iso(feed.next_fetch_at),
        "interval_seconds": feed.interval_seconds,
        "full_text": feed.full_text,
    }


def digest_json(digest: Digest | None) -> dict[str, Any] | None:
    """A digest's ledger entry in short form."""
    if digest is None:
        return None
    return {
        "id": digest.id,
        "channel": digest.channel,
        "status": digest.status.value,
        "period_start": iso(digest.period_start),
        "period_end": iso(digest.period_end),
        "articles": digest.article_count,
        "stories": digest.story_count,
        "created_at": iso(digest.created_at),
        "message_id": digest.message_id,
        "deliveries": [delivery_json(d) for d in digest.deliveries],
    }


def delivery_json(delivery: Delivery) -> dict[str, Any]:
    """One delivery's state."""
    return {
        "kind": delivery.kind,
        "target": delivery.target,
        "status": delivery.status.value,
        "attempts": delivery.attempts,
        "error": delivery.last_error,
        "delivered_at": iso(delivery.delivered_at),
        "next_attempt_at": iso(delivery.next_attempt_at),
    }


def digest_run_json(run: DigestRun) -> dict[str, Any]:
    """The object ``digest send --json`` prints for each digest it built or retried."""
    digest = run.digest
    return {
        "digest": digest.channel,
        "id": digest.id,
        "status": run.status,
        "ledger_status": digest.status.value,
        "built": run.built,
        "period_start": iso(digest.period_start),
        "period_end": iso(digest.period_end),
        "articles": digest.article_count,
        "stories": digest.story_count,
        "message_id": digest.message_id,
        "deliveries": [delivery_json(d) for d in digest.deliveries],
        "errors": run.errors,
    }


def digest_run_line(run: DigestRun) -> str:
    """One line per digest for ``digest send``."""
    digest = run.digest
    what = "built" if run.built else "retried"
    where = ", ".join(
        f"{d.kind} {d.status.value}" + (f" ({d.last_error})" if d.last_error else "")
        for d in digest.deliveries
    )
    return (
        f"{digest.channel}: digest {digest.id} {what}: {run.status}, {digest.article_count} "
        f"articles in {digest.story_count} stories" + (f"; {where}" if where else "")
    )


def status_json(
    report: StatusReport, *, database: str, next_digests: dict[str, str | None]
) -> dict[str, Any]:
    """The object ``status --json`` prints."""
    counts: dict[str, int] = {}
    for feed in report.feeds:
        counts[feed.status.value] = counts.get(feed.status.value, 0) + 1
    return {
        "database": database,
        "articles": report.articles,
        "feeds": [feed_json(feed) for feed in report.feeds],
        "feed_counts": counts,
        "topics": [
            {
                "slug": t.slug,
                "name": t.name,
                "articles": t.articles,
                "last_24h": t.last_24h,
                "last_7d": t.last_7d,
            }
            for t in report.topics
        ],
        "daemon_running": any(d.running for d in report.daemons),
        "daemons": [
            {
                "id": d.info.id,
                "hostname": d.info.hostname,
                "pid": d.info.pid,
                "version": d.info.version,
                "running": d.running,
                "started_at": iso(d.info.started_at),
                "heartbeat_at": iso(d.info.heartbeat_at),
                "stopped_at": iso(d.info.stopped_at),
            }
            for d in report.daemons
        ],
        "digests": [
            {
                "name": name,
                "last": digest_json(report.last_digests.get(name)),
                "next_run_at": next_digests.get(name),
            }
            for name in next_digests
        ],
    }


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A plain text table with left-aligned columns, for a terminal."""
    cells = [[str(h) for h in headers]] + [["" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def ago(value: datetime | None, now: datetime) -> str:
    """A short relative time for tables: ``3m ago``, ``in 2h``, ``never``."""
    if value is None:
        return "never"
    seconds = int((value - now).total_seconds())
    span = abs(seconds)
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60)):
        if span >= size:
            amount = f"{span // size}{unit}"
            break
    else:
        amount = f"{span}s"
    return f"in {amount}" if seconds > 0 else f"{amount} ago"


def fetch_json(summary: FetchSummary) -> dict[str, Any]:
    """The object ``fetch --json`` prints."""
    return {
        "feeds": summary.feeds,
        "fetched": summary.fetched,
        "not_modified": summary.not_modified,
        "failed": summary.failed,
        "new_articles": summary.new_articles,
        "updated_articles": summary.updated_articles,
        "elapsed_seconds": round(summary.elapsed, 3),
        "results": [
            {
                "url": r.url,
                "name": r.name,
                "outcome": r.outcome,
                "status": r.status.value,
                "new_articles": r.new_articles,
                "updated_articles": r.updated_articles,
                "error": r.error,
                "problems": list(r.problems),
            }
            for r in summary.results
        ],
    }


def fetch_summary_line(summary: FetchSummary) -> str:
    """One line for people: what a fetch pass did."""
    if not summary.feeds:
        return "no feed is due (use --all to fetch every feed now)"
    return (
        f"{summary.feeds} feeds: {summary.fetched} fetched, {summary.not_modified} not modified, "
        f"{summary.failed} failed; {summary.new_articles} new articles, "
        f"{summary.updated_articles} updated ({summary.elapsed:.1f}s)"
    )


def check_text(report: CheckReport) -> str:
    """``feeds check`` for people."""
    lines = [f"{report.url}"]
    if report.final_url and report.final_url != report.url:
        lines.append(f"  redirected to {report.final_url}")
    if report.kind == "feed":
        lines.append(f"  a feed: {report.format}, {report.entries} entries, title {report.title!r}")
        for sample in report.samples:
            lines.append(f"  - {sample.title} ({iso(sample.published) or 'no date'})")
    elif report.kind == "page":
        if report.feeds_found:
            lines.append("  not a feed but a web page; it points to these feeds:")
            lines.extend(f"  - {url}" for url in report.feeds_found)
        else:
            lines.append("  not a feed but a web page, and it points to no feed")
    else:
        lines.append(f"  error: {report.error}")
    lines.extend(f"  problem: {p}" for p in report.problems)
    return "\n".join(lines)


def check_json(report: CheckReport) -> dict[str, Any]:
    """The object ``feeds check --json`` prints."""
    data = dataclasses.asdict(report)
    data["samples"] = [
        {"title": s.title, "url": s.url, "published": iso(s.published)} for s in report.samples
    ]
    return data


def topic_json(topic: TopicDefinition) -> dict[str, Any]:
    """One topic as ``topics list --json`` prints it."""
    return {
        "slug": topic.slug,
        "name": topic.name,
        "description": topic.description,
        "query": topic.query,
        "exclude": topic.exclude,
        "threshold": topic.threshold,
        "version": topic.version,
    }


def match_json(match: Match) -> dict[str, Any]:
    """One topic match as ``topics match`` writes it."""
    return {
        "slug": match.slug,
        "score": match.score,
        "evidence": [e.as_dict() for e in match.evidence],
        "snippet": match.snippet,
    }


def evidence_text(match: Match) -> str:
    """Evidence for people: ``security guarantees (title), ukrain* (lead)``."""
    return ", ".join(f"{e.term} ({e.field})" for e in match.evidence)


def evaluation_json(result: Evaluation, *, errors: bool = False) -> dict[str, Any]:
    """The object ``topics eval --json`` prints."""
    data: dict[str, Any] = {
        "articles": result.articles,
        "topics": [
            {
                "slug": t.slug,
                "precision": round(t.precision, 4),
                "recall": round(t.recall, 4),
                "f1": round(t.f1, 4),
                "true_positives": t.true_positives,
                "false_positives": t.false_positives,
                "false_negatives": t.false_negatives,
            }
            for t in result.topics
        ],
        "macro": {
            "precision": round(result.macro_precision, 4),
            "recall": round(result.macro_recall, 4),
            "f1": round(result.macro_f1, 4),
        },
    }
    if errors:
        data["errors"] = [
            {
                "id": m.record.id,
                "title": m.record.title,
                "topic": m.slug,
                "kind": m.kind,
                "score": m.match.score if m.match else 0.0,
                "evidence": [e.as_dict() for e in m.match.evidence] if m.match else [],
                "snippet": m.match.snippet if m.match else None,
            }
            for m in result.mistakes
        ]
    return data


def evaluation_text(result: Evaluation, *, errors: bool = False) -> str:
    """``topics eval`` for people: a table, then (on request) the mistakes."""
    rows: list[tuple[object, ...]] = [
        (
            t.slug,
            f"{t.precision:.3f}",
            f"{t.recall:.3f}",
            f"{t.f1:.3f}",
            t.true_positives,
            t.false_positives,
            t.false_negatives,
        )
        for t in result.topics
    ]
    rows.append(
        (
            "macro average",
            f"{result.macro_precision:.3f}",
            f"{result.macro_recall:.3f}",
            f"{result.macro_f1:.3f}",
            "",
            "",
            "",
        )
    )
    lines = [
        f"{result.articles} labelled articles",
        table(("topic", "precision", "recall", "F1", "TP", "FP", "FN"), rows),
    ]
    if errors:
        for mistake in result.mistakes:
            kind = "FP" if mistake.kind == "false_positive" else "FN"
            score = f"{mistake.match.score:.2f}" if mistake.match else "no match"
            lines.append("")
            lines.append(f"{kind} {mistake.slug} [{mistake.record.id}] {mistake.record.title}")
            if mistake.match:
                lines.append(f"   score {score}: {evidence_text(mistake.match)}")
                lines.append(f"   {mistake.match.snippet}")
            else:
                lines.append("   the query does not hold")
    return "\n".join(lines)
