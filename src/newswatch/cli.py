"""The ``newswatch`` command line: a thin layer over ``newswatch.app``.

Each command loads the config, builds the monitor and calls one method. Errors newswatch raises
on purpose become one line on stderr and an exit code (2: bad usage or config, 1: runtime).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from newswatch import __version__, starter
from newswatch.app import (
    Monitor,
    check_feed,
    make_monitor,
    tagger_from_config,
    test_query,
    upgrade_database,
)
from newswatch.config import Config, FetchConfig, default_config_path, load_config
from newswatch.errors import NewswatchError
from newswatch.export import FORMATS, atomic_output, hit_json, record_json
from newswatch.files import write_text_atomic
from newswatch.logs import configure_logging
from newswatch.progress import ProgressBar
from newswatch.reporting import (
    ago,
    check_json,
    check_text,
    digest_json,
    digest_run_json,
    digest_run_line,
    evaluation_json,
    evaluation_text,
    evidence_text,
    feed_json,
    fetch_json,
    fetch_summary_line,
    iso,
    match_json,
    status_json,
    table,
    topic_json,
)
from newswatch.search import ArticleRecord
from newswatch.tagging.records import BadLine, read_records

# Each command imports what only it needs (the daemon, the matcher and its stemmers, topic
# suggestions) in its own body: every command pays for what is imported here.
if TYPE_CHECKING:
    from newswatch.ingest import FeedResult
    from newswatch.tagging.document import Document

F = TypeVar("F", bound=Callable[..., Any])


class _State:
    """What the top-level options leave for the commands."""

    def __init__(self, config_path: Path | None, verbose: int) -> None:
        self.config_path = config_path
        self.verbose = verbose

    def config(self) -> Config:
        config = load_config(self.config_path or default_config_path())
        # Commands report their own results; log records are for -v (and for the daemon).
        if self.verbose:
            level = "debug" if self.verbose > 1 else config.logging.level
            configure_logging(level, config.logging.format)
        return config

    def monitor(self) -> Monitor:
        return make_monitor(self.config())


pass_state = click.make_pass_decorator(_State)


class _Group(click.Group):
    """A group that turns newswatch's own errors into one line and an exit code."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except NewswatchError as exc:
            lines = str(exc).splitlines() or [type(exc).__name__]
            for line in lines:
                # Indented lines continue the one above (a query and its caret): keep them as is.
                click.echo(line if line.startswith(" ") else f"newswatch: error: {line}", err=True)
            ctx.exit(exc.exit_code)


def _print_json(data: object) -> None:
    click.echo(json.dumps(data, indent=2, ensure_ascii=False))


def json_option(func: F) -> F:
    """Add ``--json`` to a listing command."""
    return click.option("--json", "as_json", is_flag=True, help="Print JSON instead of text.")(func)


@click.group(cls=_Group, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "--version", prog_name="newswatch")
@click.option(
    "--config",
    "config_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="Config file (default: $NEWSWATCH_CONFIG, else ./config/newswatch.yaml).",
)
@click.option(
    "-v", "--verbose", count=True, help="Log what happens (-vv: everything, for debugging)."
)
@click.pass_context
def cli(ctx: click.Context, config_path: Path | None, verbose: int) -> None:
    """newswatch: follow news feeds, tag them against your briefing's topics, read one digest."""
    ctx.obj = _State(config_path, verbose)


@cli.command()
@click.argument("directory", type=click.Path(path_type=Path, file_okay=False), default="config")
@click.option("--force", is_flag=True, help="Overwrite existing files.")
def init(directory: Path, force: bool) -> None:
    """Write a starter config and topics file into DIRECTORY (default: ./config)."""
    written = starter.write_starter(directory, force=force)
    for path in written:
        click.echo(f"wrote {path}")
    config_path = written[0]
    click.echo(f"next: newswatch --config {config_path} status")


@cli.group()
def db() -> None:
    """Manage the database schema."""


@db.command("upgrade")
@pass_state
def db_upgrade(state: _State) -> None:
    """Apply pending migrations (every command also does this on start)."""
    result = upgrade_database(state.config())
    if result.before == result.after:
        click.echo(f"{result.database}: already at revision {result.after}")
    else:
        click.echo(f"{result.database}: upgraded {result.before or 'empty'} -> {result.after}")


@cli.group()
def feeds() -> None:
    """Inspect the configured feeds."""


@feeds.command("list")
@json_option
@click.option("--all", "include_inactive", is_flag=True, help="Include feeds no longer configured.")
@pass_state
def feeds_list(state: _State, as_json: bool, include_inactive: bool) -> None:
    """List feeds with their status, last error, article count and fetch times."""
    with state.monitor() as monitor:
        listed = monitor.storage.list_feeds(include_inactive=include_inactive)
        if as_json:
            _print_json([feed_json(feed) for feed in listed])
            return
        now = monitor.now()
        rows = [
            (
                feed.status.value,
                feed.articles,
                ago(feed.last_fetched_at, now),
                ago(feed.next_fetch_at, now),
                _clip(feed.display_name, 40),
                feed.url,
            )
            for feed in listed
        ]
        click.echo(table(("status", "articles", "fetched", "next", "name", "url"), rows))
        for feed in listed:
            if feed.last_error:
                click.echo(f"! {feed.url}: {feed.last_error}")


@feeds.command("check")
@click.argument("url")
@json_option
@pass_state
def feeds_check(state: _State, url: str, as_json: bool) -> None:
    """Fetch URL once: is it a feed (format, entries, samples) or a page (and its feeds)?"""
    path = state.config_path or default_config_path()
    settings = state.config().fetch if path.exists() else FetchConfig()
    report = check_feed(url, settings)
    if as_json:
        _print_json(check_json(report))
    else:
        click.echo(check_text(report))
    if report.kind != "feed":
        sys.exit(1)


@feeds.command("export")
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file instead of standard output.",
)
@pass_state
def feeds_export(state: _State, output: Path | None) -> None:
    """Write the configured feeds as OPML, for other feed readers."""
    with state.monitor() as monitor:
        document = monitor.export_opml()
    if output is None:
        click.echo(document, nl=False)
    else:
        write_text_atomic(output, document)
        click.echo(f"wrote {output}", err=True)


@cli.command()
@click.option("--all", "everything", is_flag=True, help="Fetch every feed, due or not.")
@click.option(
    "--feed", "urls", multiple=True, metavar="URL", help="Fetch only this feed (repeatable)."
)
@json_option
@pass_state
def fetch(state: _State, everything: bool, urls: tuple[str, ...], as_json: bool) -> None:
    """Run one refresh pass now: fetch due feeds (or all, or some), store new articles."""
    with state.monitor() as monitor:
        show_bar = not as_json and sys.stderr.isatty()
        bar: ProgressBar | None = None

        def progress(result: FeedResult, done: int, total: int) -> None:
            nonlocal bar
            if not show_bar:
                return
            if bar is None:
                bar = ProgressBar(total)
            bar.advance(result.name)

        summary = monitor.fetch(everything=everything, urls=urls, progress=progress)
        if bar is not None:
            bar.finish()
        if as_json:
            _print_json(fetch_json(summary))
            return
        for result in summary.results:
            if result.error:
                click.echo(f"! {result.name}: {result.error}", err=True)
        click.echo(fetch_summary_line(summary))


@cli.command()
@click.option("--retag", is_flag=True, help="Tag every stored article again (after topic changes).")
@json_option
@pass_state
def tag(state: _State, retag: bool, as_json: bool) -> None:
    """Tag stored articles that are not tagged yet (or, with --retag, all of them)."""
    with state.monitor() as monitor:
        summary = monitor.tag(everything=retag)
    if as_json:
        _print_json(
            {"articles": summary.articles, "matches": summary.matches, "by_topic": summary.by_topic}
        )
        return
    per_topic = ", ".join(f"{slug} {n}" for slug, n in sorted(summary.by_topic.items()))
    click.echo(
        f"tagged {summary.articles} articles: {summary.matches} matches ({per_topic or 'none'})"
    )


@cli.group()
def topics() -> None:
    """Inspect, try out and measure topics."""


@topics.command("list")
@json_option
@pass_state
def topics_list(state: _State, as_json: bool) -> None:
    """List the configured topics with their version and threshold."""
    with state.monitor() as monitor:
        stored = monitor.storage.list_topics()
    by_slug = {t.slug: t for t in stored}
    ordered = [by_slug[t.slug] for t in state.config().topics if t.slug in by_slug]
    if as_json:
        _print_json([topic_json(t) for t in ordered])
        return
    rows = [(t.slug, t.version, f"{t.threshold:g}", _clip(t.name, 50)) for t in ordered]
    click.echo(table(("slug", "version", "threshold", "name"), rows))


@topics.command("match")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@pass_state
def topics_match(state: _State, file: TextIO) -> None:
    """Tag the articles of a JSON Lines FILE ('-': stdin); print one JSON line per article."""
    from newswatch.tagging.document import Document

    tagger = tagger_from_config(state.config())
    bad = 0
    for item in read_records(file):
        if isinstance(item, BadLine):
            bad += 1
            click.echo(f"newswatch: {file.name}: {item}", err=True)
            continue
        document = Document.build(item.title, item.summary, item.content, item.language)
        line = {"id": item.id, "topics": [match_json(m) for m in tagger.match(document)]}
        click.echo(json.dumps(line, ensure_ascii=False))
    if bad:
        sys.exit(1)


@topics.command("eval")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option("--errors", is_flag=True, help="Also list false positives and negatives.")
@json_option
@pass_state
def topics_eval(state: _State, file: TextIO, errors: bool, as_json: bool) -> None:
    """Measure the topics on labelled JSON Lines: precision, recall and F1 per topic."""
    from newswatch.tagging.evaluate import evaluate

    config = state.config()
    records = []
    for item in read_records(file):
        if isinstance(item, BadLine):
            click.echo(f"newswatch: {file.name}: {item}", err=True)
        else:
            records.append(item)
    result = evaluate(tagger_from_config(config), records, [t.slug for t in config.topics])
    if as_json:
        _print_json(evaluation_json(result, errors=errors))
        return
    click.echo(evaluation_text(result, errors=errors))


@topics.command("suggest")
@click.argument("document", type=click.Path(path_type=Path, dir_okay=False))
@click.option(
    "--max",
    "max_topics",
    type=click.IntRange(min=1),
    default=8,
    show_default=True,
    help="Propose at most this many topics.",
)
@json_option
def topics_suggest(document: Path, max_topics: int, as_json: bool) -> None:
    """Propose draft topics (YAML, for the topics file) from a briefing DOCUMENT.

    DOCUMENT is plain text or Markdown, read as UTF-8. The drafts are for you to edit.
    """
    from newswatch.tagging.suggest import suggest_from_file, to_yaml

    suggested = suggest_from_file(document, max_topics=max_topics)
    if as_json:
        _print_json([topic.as_json() for topic in suggested])
        return
    click.echo(to_yaml(suggested), nl=False)


@topics.command("test")
@click.argument("query")
@click.option(
    "--file",
    type=click.File("r", encoding="utf-8"),
    help="Articles as JSON Lines instead of the stored ones.",
)
@click.option("--limit", default=20, show_default=True, help="Show at most this many.")
@json_option
@pass_state
def topics_test(state: _State, query: str, file: TextIO | None, limit: int, as_json: bool) -> None:
    """Show what QUERY matches (in stored articles, or in a file), with evidence."""
    from newswatch.tagging.document import Document
    from newswatch.tagging.matcher import Tagger, TopicRule

    tagger = Tagger([TopicRule("query", query, 0.0)])
    if file is not None:
        candidates: Iterable[tuple[str, str, Document]] = (
            (r.id, r.title, Document.build(r.title, r.summary, r.content, r.language))
            for r in read_records(file)
            if not isinstance(r, BadLine)
        )
        hits = test_query(tagger, candidates, limit)
    else:
        with state.monitor() as monitor:
            hits = test_query(tagger, monitor.stored_documents(), limit)
    if as_json:
        _print_json([{"id": i, "title": t, **match_json(m)} for i, t, m in hits])
        return
    if not hits:
        click.echo("no match")
    for ident, title, match in hits:
        click.echo(f"{match.score:.2f}  {title}  [{ident}]")
        click.echo(f"      {evidence_text(match)}")
        click.echo(f"      {match.snippet}")


@cli.command()
@json_option
@pass_state
def status(state: _State, as_json: bool) -> None:
    """Show feed health, articles per topic, and the last and next digests."""
    with state.monitor() as monitor:
        report = monitor.status()
        next_runs = {name: iso(when) for name, when in monitor.next_digest_times().items()}
        if as_json:
            _print_json(status_json(report, database=monitor.storage.url, next_digests=next_runs))
            return
        now = monitor.now()
        by_status: dict[str, int] = {}
        for feed in report.feeds:
            by_status[feed.status.value] = by_status.get(feed.status.value, 0) + 1
        summary = ", ".join(f"{n} {s}" for s, n in sorted(by_status.items())) or "none"
        click.echo(f"database: {monitor.storage.url}")
        running = [d for d in report.daemons if d.running]
        if running:
            for daemon in running:
                info = daemon.info
                click.echo(
                    f"daemon:   running on {info.hostname} (pid {info.pid}) since "
                    f"{iso(info.started_at)}, heartbeat {ago(info.heartbeat_at, now)}"
                )
        else:
            previous = report.daemons[0].info if report.daemons else None
            seen = f" (last seen {ago(previous.heartbeat_at, now)})" if previous else ""
            click.echo(f"daemon:   not running{seen}")
        click.echo(f"feeds:    {len(report.feeds)} ({summary})")
        click.echo(f"articles: {report.articles}")
        failing = [f for f in report.feeds if f.last_error]
        for feed in failing:
            click.echo(f"  ! {feed.display_name}: {feed.last_error}")
        if report.topics:
            click.echo("")
            click.echo(
                table(
                    ("topic", "articles", "last 24h", "last 7d"),
                    [(t.slug, t.articles, t.last_24h, t.last_7d) for t in report.topics],
                )
            )
        if next_runs:
            click.echo("")
            rows = []
            for name, next_run in next_runs.items():
                last = report.last_digests.get(name)
                rows.append(
                    (
                        name,
                        f"{last.status.value} {ago(last.created_at, now)}" if last else "never",
                        next_run or "-",
                    )
                )
            click.echo(table(("digest", "last", "next"), rows))


@cli.command("run")
@click.option(
    "--log-format",
    type=click.Choice(["text", "json"]),
    default=None,
    help="Log format (default: logging.format in the config).",
)
@click.option(
    "--log-level",
    type=click.Choice(["debug", "info", "warning", "error"]),
    default=None,
    help="Log level (default: logging.level in the config).",
)
@pass_state
def run_daemon(state: _State, log_format: str | None, log_level: str | None) -> None:
    """Run the daemon in the foreground: fetch, tag and deliver digests on schedule.

    Stops cleanly on SIGTERM or SIGINT; SIGHUP reloads the config.
    """
    from newswatch.daemon import Daemon

    path = state.config_path or default_config_path()
    config = load_config(path)
    level = "debug" if state.verbose > 1 else (log_level or config.logging.level)
    configure_logging(level, log_format or config.logging.format)
    sys.exit(Daemon(path).run(config))


@cli.group()
def digest() -> None:
    """Preview, send and list digests."""


@digest.command("preview")
@click.argument("name", required=False)
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["markdown", "text", "html"]),
    default="markdown",
    show_default=True,
    help="Which rendering to print.",
)
@pass_state
def digest_preview(state: _State, name: str | None, fmt: str) -> None:
    """Print what the next digest would contain now, changing nothing."""
    with state.monitor() as monitor:
        previews = monitor.preview_digests(name)
    for preview in previews:
        rendered = getattr(preview.body, fmt)
        click.echo(rendered, nl=not rendered.endswith("\n"))
        view = preview.view
        click.echo(
            f"preview of {preview.channel}: {view.articles} articles in {view.stories} stories "
            "(nothing recorded or sent)",
            err=True,
        )


@digest.command("send")
@click.argument("name", required=False)
@json_option
@pass_state
def digest_send(state: _State, name: str | None, as_json: bool) -> None:
    """Build and deliver the digest now (and retry earlier failed deliveries).

    Exits 1 if any delivery failed; a temporary failure is retried later.
    """
    with state.monitor() as monitor:
        runs = monitor.send_digests(name)
    for run in runs:
        if as_json:
            click.echo(json.dumps(digest_run_json(run), ensure_ascii=False))
        else:
            click.echo(digest_run_line(run))
    failures = [error for run in runs for error in run.errors]
    for error in failures:
        click.echo(f"newswatch: error: delivery failed: {error}", err=True)
    if failures:
        sys.exit(1)


@digest.command("list")
@click.argument("name", required=False)
@click.option("--limit", default=20, show_default=True, help="Show at most this many.")
@json_option
@pass_state
def digest_list(state: _State, name: str | None, limit: int, as_json: bool) -> None:
    """List past digests, newest first, with their status and item counts."""
    with state.monitor() as monitor:
        digests = monitor.list_digests(name, limit=limit)
        if as_json:
            _print_json([digest_json(d) for d in digests])
            return
        if not digests:
            click.echo("no digests yet (see 'newswatch digest send')")
            return
        rows = []
        for d in digests:
            channel = monitor.config.digests.get(d.channel)
            end = d.period_end.astimezone(channel.zone) if channel else d.period_end
            problems = "; ".join(x.last_error for x in d.deliveries if x.last_error)
            rows.append(
                (
                    d.id,
                    d.channel,
                    end.strftime("%Y-%m-%d %H:%M %Z"),
                    d.status.value,
                    d.article_count,
                    d.story_count,
                    ", ".join(f"{x.kind}:{x.status.value}" for x in d.deliveries) or "-",
                    _clip(problems, 60) if problems else "",
                )
            )
        headers = ("id", "digest", "period end", "status", "articles", "stories", "deliveries")
        click.echo(table((*headers, "error"), rows))


# -- search and export ----------------------------------------------------------------------


def _filter_options(*, scores: bool) -> Callable[[F], F]:
    """The article filters shared by ``search``, ``articles list`` and ``export``."""

    def decorate(func: F) -> F:
        options = [
            click.option("--topic", metavar="SLUG", help="Only articles that matched this topic."),
            click.option("--feed", metavar="URL", help="Only articles of this feed."),
            click.option(
                "--since",
                metavar="DATE",
                help="Only articles dated this day (UTC) or later; or a date and time.",
            ),
            click.option(
                "--until",
                metavar="DATE",
                help="Only articles dated up to this day (UTC, included); or a date and time.",
            ),
        ]
        if scores:
            options += [
                click.option(
                    "--min-score",
                    type=click.FloatRange(0, 1),
                    help="Only articles whose topic score (of --topic, else any) is this high.",
                ),
                click.option(
                    "--story", type=click.IntRange(min=1), metavar="ID", help="Only this story."
                ),
            ]
        for option in reversed(options):
            func = option(func)
        return func

    return decorate


def _topics_text(record: ArticleRecord) -> str:
    return ", ".join(f"{t.slug} {t.score:.2f}" for t in record.topics)


@cli.command()
@click.argument("query")
@_filter_options(scores=False)
@click.option(
    "--limit", type=click.IntRange(min=1), default=20, show_default=True, help="At most this many."
)
@json_option
@pass_state
def search(
    state: _State,
    *,
    query: str,
    topic: str | None,
    feed: str | None,
    since: str | None,
    until: str | None,
    limit: int,
    as_json: bool,
) -> None:
    """Full-text search over the stored articles, best match first.

    QUERY: words (all must occur), "a phrase", word* (a prefix), AND, OR, NOT, parentheses,
    and title:, lead: or body: to look in one field only. Case and accents do not matter.
    """
    with state.monitor() as monitor:
        filters = monitor.article_filter(topic=topic, feed=feed, since=since, until=until)
        hits = monitor.search(query, filters, limit=limit)
    if as_json:
        _print_json([hit_json(hit) for hit in hits])
        return
    if not hits:
        click.echo("no match")
    for number, hit in enumerate(hits, 1):
        article = hit.article
        facts = [article.outlet, article.date.strftime("%Y-%m-%d")]
        if article.topics:
            facts.append(_topics_text(article))
        click.echo(f"{number}. {article.title}  [{article.id}]")
        click.echo(f"   {' · '.join(facts)}")
        if article.url:
            click.echo(f"   {article.url}")
        if hit.snippet:
            click.echo(f"   {hit.snippet}")


@cli.group()
def articles() -> None:
    """List the stored articles."""


@articles.command("list")
@_filter_options(scores=True)
@click.option(
    "--limit", type=click.IntRange(min=1), default=50, show_default=True, help="At most this many."
)
@json_option
@pass_state
def articles_list(
    state: _State,
    *,
    topic: str | None,
    feed: str | None,
    since: str | None,
    until: str | None,
    min_score: float | None,
    story: int | None,
    limit: int,
    as_json: bool,
) -> None:
    """The newest stored articles (optionally filtered), with their topics and scores."""
    with state.monitor() as monitor:
        filters = monitor.article_filter(
            topic=topic, feed=feed, since=since, until=until, min_score=min_score, story=story
        )
        found = monitor.list_articles(filters, limit=limit)
    if as_json:
        _print_json([record_json(record) for record in found])
        return
    if not found:
        click.echo("no articles")
        return
    rows = [
        (
            record.id,
            record.date.strftime("%Y-%m-%d"),
            _clip(record.outlet, 24),
            _clip(_topics_text(record), 40),
            _clip(record.title, 70),
        )
        for record in found
    ]
    click.echo(table(("id", "date", "outlet", "topics", "title"), rows))


@cli.command("export")
@click.option(
    "--format",
    "fmt",
    type=click.Choice(FORMATS),
    default="csv",
    show_default=True,
    help="CSV (a header row), JSON Lines, or a Markdown document.",
)
@click.option(
    "-o",
    "--output",
    type=click.Path(path_type=Path, dir_okay=False),
    help="Write to this file (replaced once complete) instead of standard output.",
)
@_filter_options(scores=True)
@pass_state
def export_command(
    state: _State,
    *,
    fmt: str,
    output: Path | None,
    topic: str | None,
    feed: str | None,
    since: str | None,
    until: str | None,
    min_score: float | None,
    story: int | None,
) -> None:
    """Export the stored articles (optionally filtered) with their topics, oldest first.

    Streams: a million articles take no more memory than a thousand.
    """
    with state.monitor() as monitor:
        filters = monitor.article_filter(
            topic=topic, feed=feed, since=since, until=until, min_score=min_score, story=story
        )
        if output is None:
            monitor.export_articles(sys.stdout, fmt, filters)
            return
        with atomic_output(output) as handle:
            count = monitor.export_articles(handle, fmt, filters)
    click.echo(f"wrote {count} articles to {output}", err=True)


def _clip(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def main() -> None:
    """Entry point of the ``newswatch`` console script."""
    cli.main(prog_name="newswatch")
