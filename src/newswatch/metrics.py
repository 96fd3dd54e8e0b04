"""The daemon's optional Prometheus endpoint (``metrics.enabled``; needs ``prometheus-client``).

Counters are fed from the summaries the jobs already return, so the core knows nothing of
Prometheus. The endpoint binds to 127.0.0.1 unless the config names another address.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from newswatch.config import MetricsConfig
from newswatch.errors import ConfigError

if TYPE_CHECKING:
    from newswatch.digest.runner import DigestRun
    from newswatch.ingest import FetchSummary
    from newswatch.model import Feed


class Metrics:
    """The metrics newswatch exports, registered in a registry of their own."""

    def __init__(self) -> None:
        from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

        self.registry = CollectorRegistry()
        self.fetches = Counter(
            "newswatch_fetches",
            "Feed fetches by outcome (fetched, not_modified, failed).",
            ["outcome"],
            registry=self.registry,
        )
        self.articles = Counter(
            "newswatch_articles_new", "New articles stored.", registry=self.registry
        )
        self.tagged = Counter(
            "newswatch_articles_tagged",
            "Articles tagged against the topics.",
            registry=self.registry,
        )
        self.digests = Counter(
            "newswatch_digest_runs",
            "Digest builds and retries by channel and outcome (sent, empty, failed, pending).",
            ["channel", "status"],
            registry=self.registry,
        )
        self.errors = Counter(
            "newswatch_job_errors",
            "Daemon jobs that failed, by job.",
            ["job"],
            registry=self.registry,
        )
        self.duration = Histogram(
            "newswatch_job_duration_seconds",
            "How long each daemon job took.",
            ["job"],
            buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300),
            registry=self.registry,
        )
        self.feeds = Gauge(
            "newswatch_feeds", "Configured feeds by status.", ["status"], registry=self.registry
        )

    def serve(self, config: MetricsConfig) -> None:
        """Start the HTTP endpoint (a background thread)."""
        from prometheus_client import start_http_server

        try:
            start_http_server(config.port, addr=config.host, registry=self.registry)
        except OSError as exc:
            raise ConfigError(
                f"metrics: cannot listen on {config.host}:{config.port}: {exc.strerror or exc}"
            ) from None

    def record_fetch(self, summary: FetchSummary) -> None:
        self.fetches.labels("fetched").inc(summary.fetched)
        self.fetches.labels("not_modified").inc(summary.not_modified)
        self.fetches.labels("failed").inc(summary.failed)
        self.articles.inc(summary.new_articles)
        self.tagged.inc(summary.tagged)

    def record_digest(self, run: DigestRun) -> None:
        self.digests.labels(run.digest.channel, run.status).inc()

    def record_feeds(self, feeds: list[Feed]) -> None:
        counts = {"new": 0, "ok": 0, "failing": 0, "disabled": 0}
        for feed in feeds:
            counts[feed.status.value] = counts.get(feed.status.value, 0) + 1
        for status, count in counts.items():
            self.feeds.labels(status).set(count)


def make_metrics(config: MetricsConfig) -> Metrics | None:
    """The metrics to keep, serving them if enabled; ``None`` when metrics are off.

    Raises:
        ConfigError: metrics are enabled but prometheus-client is missing, or the port is taken.
    """
    if not config.enabled:
        return None
    try:
        import prometheus_client  # noqa: F401
    except ImportError:
        raise ConfigError(
            "metrics.enabled needs prometheus-client: pip install 'newswatch[metrics]'"
        ) from None
    metrics = Metrics()
    metrics.serve(config)
    return metrics
