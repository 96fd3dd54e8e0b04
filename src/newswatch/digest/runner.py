"""Building and delivering digests with exactly-once bookkeeping.

The ledger is the truth. Building a digest selects the articles its channel is owed, composes
and renders them, and records digest, items, rendered bodies and pending deliveries in one
transaction. Delivering claims each pending delivery, attempts it, and records the outcome. A
process killed anywhere leaves either nothing (the build is redone) or a recorded digest whose
pending deliveries the next run finishes, with the same content and the same Message-ID.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta
from pathlib import Path

from newswatch import __version__
from newswatch.config import ALERT_PREFIX, Config, DigestConfig
from newswatch.digest.compose import TREND_DAYS, Composition, DigestView, compose
from newswatch.digest.deliver import (
    DeliveryError,
    build_email,
    markdown_path,
    new_message_id,
    post_webhook,
    send_email,
    webhook_payload,
    write_markdown,
)
from newswatch.digest.render import Renderer
from newswatch.digest.schedule import owed_slot
from newswatch.errors import LedgerConflict, StorageError, UsageError
from newswatch.model import Delivery, DeliveryStatus, Digest, DigestBody, DigestStatus
from newswatch.storage import Storage

log = logging.getLogger(__name__)

#: A channel's first digest reaches back this far; later ones look this far before the last
#: digest too, so an article tagged late (or re-tagged into a topic) is still delivered.
LOOKBACK = timedelta(days=7)
#: How long a worker holds a delivery it is attempting before others may take it over.
CLAIM_TIME = timedelta(minutes=5)
#: Temporary failures are retried with backoff up to this long after the digest was built.
GIVE_UP_AFTER = timedelta(days=2)
MAX_BACKOFF = timedelta(hours=1)
#: A new channel's first scheduled run builds the slot that fired if it is this recent.
NEW_CHANNEL_GRACE = timedelta(hours=1)
#: Alerts look back only this far before their last run: they are about what is new now.
ALERT_LOOKBACK = timedelta(hours=1)


@dataclass(frozen=True, slots=True)
class DeliveryOutcome:
    """What one attempt at one delivery did."""

    kind: str
    target: str
    status: DeliveryStatus
    error: str | None = None
    retry_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class DigestRun:
    """A digest that a run built or retried, and the delivery attempts made for it."""

    digest: Digest
    built: bool
    outcomes: tuple[DeliveryOutcome, ...] = ()

    @property
    def status(self) -> str:
        """``sent``, ``empty`` or ``failed`` (this run's attempts) or ``pending``."""
        if any(o.error for o in self.outcomes):
            return "failed"
        if self.digest.status is DigestStatus.PENDING:
            return "pending"
        return self.digest.status.value

    @property
    def errors(self) -> list[str]:
        """The errors of this run's failed attempts."""
        return [f"{o.kind} {o.target}: {o.error}" for o in self.outcomes if o.error]


@dataclass(frozen=True, slots=True)
class Preview:
    """What the next digest of a channel would hold, rendered; nothing recorded."""

    channel: str
    view: DigestView
    body: DigestBody


class DigestRunner:
    """Builds, previews and delivers the configured digest channels."""

    def __init__(self, config: Config, storage: Storage, clock: Callable[[], datetime]) -> None:
        self._config = config
        self._storage = storage
        self._clock = clock
        self._renderers: dict[tuple[str, Path | None], Renderer] = {}

    # -- channels ----------------------------------------------------------------------------

    def names(self, name: str | None = None) -> list[str]:
        """The channels a command addresses: the one named, else all.

        Raises:
            UsageError: ``name`` is not a configured channel, or none is configured.
        """
        channels = list(self._config.digests)
        if name is not None:
            if self._config.channel(name) is None:
                known = ", ".join(channels) or "none configured"
                raise UsageError(f"no digest channel {name!r} (configured: {known})")
            return [name]
        if not channels:
            raise UsageError(
                f"{self._config.path}: no digest channels configured (add one under 'digests:')"
            )
        return channels

    def channel(self, name: str) -> DigestConfig:
        """A digest or alert channel's configuration."""
        channel = self._config.channel(name)
        if channel is None:
            raise UsageError(f"no digest channel {name!r}")
        return channel

    @staticmethod
    def is_alert(name: str) -> bool:
        """Whether ``name`` is a topic's alert channel."""
        return name.startswith(ALERT_PREFIX)

    def _topics(self, channel: DigestConfig) -> list[tuple[str, str]]:
        topics = [(t.slug, t.name) for t in self._config.topics]
        if channel.topics == "all":
            return topics
        wanted = set(channel.topics)
        return [(slug, name) for slug, name in topics if slug in wanted]

    def _renderer(self, channel: DigestConfig) -> Renderer:
        # Compiling the templates takes a good part of a build: keep one renderer per setting.
        key = (channel.timezone, channel.templates)
        renderer = self._renderers.get(key)
        if renderer is None:
            renderer = self._renderers[key] = Renderer(channel.timezone, channel.templates)
        return renderer

    # -- composing ---------------------------------------------------------------------------

    def compose(self, name: str, period_end: datetime) -> Composition:
        """What a digest of ``name`` ending at ``period_end`` would hold now."""
        channel = self.channel(name)
        topics = self._topics(channel)
        last = self._storage.last_digest(name, items=False)
        period_start = last.period_end if last is not None else None
        lookback = ALERT_LOOKBACK if self.is_alert(name) else LOOKBACK
        since = (period_start or period_end) - lookback
        candidates = self._storage.digest_candidates(
            name,
            since=since,
            until=period_end,
            topics=[slug for slug, _ in topics],
            min_score=channel.min_score,
        )
        story_ids = [c.article.story_id for c in candidates if c.article.story_id is not None]
        return compose(
            channel=name,
            config_name=self._config.path.name,
            timezone=channel.timezone,
            topics=topics,
            candidates=candidates,
            members=self._storage.story_members(story_ids),
            feeds=self._storage.feed_states(),
            activity=self._storage.feed_activity(period_end - timedelta(days=30)),
            trends=self._storage.topic_trends(period_end, TREND_DAYS + 1),
            period_start=period_start,
            period_end=period_end,
            max_per_topic=channel.max_per_topic,
            version=__version__,
            alert=self.is_alert(name),
        )

    def preview(self, name: str) -> Preview:
        """Render what a digest of ``name`` built now would contain; record nothing."""
        channel = self.channel(name)
        composition = self.compose(name, self._clock())
        subject = channel.email.subject if channel.email else "{digest} digest {date}"
        body = self._renderer(channel).body(composition.view, subject)
        return Preview(name, composition.view, body)

    # -- building ----------------------------------------------------------------------------

    def build(self, name: str, period_end: datetime) -> tuple[Digest, bool]:
        """Record the digest of ``name`` ending at ``period_end``.

        Returns:
            The digest and whether this call built it (``False``: another process had built
            the same slot first; its digest is returned for delivery).

        Raises:
            StorageError: other processes kept taking the selected articles.
        """
        channel = self.channel(name)
        renderer = self._renderer(channel)
        for _ in range(3):
            composition = self.compose(name, period_end)
            view = composition.view
            subject = channel.email.subject if channel.email else "{digest} digest {date}"
            body = renderer.body(view, subject)
            deliveries = []
            if channel.markdown is not None:
                path = self._markdown_path(name, channel, period_end)
                deliveries.append(Delivery("markdown", str(path)))
            message_id = None
            sending = bool(composition.items) or channel.send_empty
            if channel.email is not None and sending:
                deliveries.append(Delivery("email", ", ".join(channel.email.to)))
            if channel.webhook is not None and sending:
                deliveries.append(Delivery("webhook", channel.webhook))
            if channel.email is not None or channel.webhook is not None:
                sender = channel.email.from_ if channel.email else "newswatch@localhost"
                message_id = new_message_id(name, period_end, sender)
            try:
                digest = self._storage.record_digest(
                    name,
                    period_start=view.period_start,
                    period_end=period_end,
                    items=composition.items,
                    deliveries=deliveries,
                    now=self._clock(),
                    message_id=message_id,
                    body=body,
                    story_count=view.stories,
                )
            except LedgerConflict:
                existing = self._storage.digest_at(name, period_end)
                if existing is not None:
                    return existing, False
                continue  # another digest took some of our articles: select again
            log.info(
                "digest built",
                extra={
                    "event": "digest.built",
                    "channel": name,
                    "digest": digest.id,
                    "articles": digest.article_count,
                    "stories": digest.story_count,
                },
            )
            return digest, True
        raise StorageError(
            f"could not record digest {name!r}: other processes kept taking its articles"
        )

    def _markdown_path(self, name: str, channel: DigestConfig, period_end: datetime) -> Path:
        assert channel.markdown is not None
        zone = channel.zone
        local = period_end.astimezone(zone)
        day_start = datetime.combine(local.date(), time.min, tzinfo=zone).astimezone(UTC)
        day_end = datetime.combine(
            local.date() + timedelta(days=1), time.min, tzinfo=zone
        ).astimezone(UTC)
        several = self._storage.digests_between(name, day_start, day_end) > 0
        date = local.strftime("%Y-%m-%d")
        time_of_day = local.strftime("%H%M%S") if several else None
        path = markdown_path(channel.markdown.dir, name, date, time_of_day)
        count = 1
        # Two digests within one second (or a file another digest already owns): number them.
        while self._storage.delivery_target_taken("markdown", str(path)):
            count += 1
            path = markdown_path(channel.markdown.dir, name, date, f"{time_of_day}-{count}")
        return path

    # -- delivering --------------------------------------------------------------------------

    def deliver(self, digest: Digest, *, due_only: bool) -> list[DeliveryOutcome]:
        """Attempt every pending delivery of ``digest`` that this process can claim.

        Args:
            due_only: respect retry times (the daemon); ``False`` retries now (``digest send``).
        """
        body = self._storage.digest_body(digest.id)
        outcomes: list[DeliveryOutcome] = []
        for delivery in digest.deliveries:
            if delivery.status is not DeliveryStatus.PENDING or delivery.id is None:
                continue
            now = self._clock()
            if not self._storage.claim_delivery(
                delivery.id, now, now + CLAIM_TIME, due_only=due_only
            ):
                continue
            error: str | None = None
            retry_at: datetime | None = None
            try:
                self._attempt(digest, delivery, body)
            except DeliveryError as exc:
                error = str(exc)
                if exc.temporary:
                    retry_at = self._retry_time(digest, delivery, now)
                    if retry_at is None:
                        error = f"{error} (giving up after {delivery.attempts + 1} attempts)"
            done = self._storage.finish_delivery(
                delivery.id, self._clock(), error=error, retry_at=retry_at
            )
            status = next(
                (d.status for d in done.deliveries if d.id == delivery.id), DeliveryStatus.DONE
            )
            outcomes.append(
                DeliveryOutcome(delivery.kind, delivery.target, status, error, retry_at)
            )
            self._log_outcome(digest, delivery, error, retry_at)
        return outcomes

    def _attempt(self, digest: Digest, delivery: Delivery, body: DigestBody | None) -> None:
        if body is None:
            raise DeliveryError("the digest's rendered content was not kept", temporary=False)
        if delivery.kind == "markdown":
            write_markdown(Path(delivery.target), body.markdown)
            return
        if delivery.kind == "webhook":
            post_webhook(delivery.target, webhook_payload(digest, body))
            return
        channel = self._config.channel(digest.channel)
        if channel is None or channel.email is None:
            raise DeliveryError(
                f"channel {digest.channel!r} no longer has email configured", temporary=False
            )
        message = build_email(
            body, channel.email, message_id=digest.message_id or "", date=digest.created_at
        )
        refused = send_email(message, channel.email)
        if refused:
            log.warning(
                "some recipients refused",
                extra={"event": "digest.refused", "digest": digest.id, "recipients": refused},
            )

    def _retry_time(self, digest: Digest, delivery: Delivery, now: datetime) -> datetime | None:
        backoff = min(MAX_BACKOFF, timedelta(minutes=2**delivery.attempts))
        when = now + backoff
        if when - digest.created_at > GIVE_UP_AFTER:
            return None
        return when

    def _log_outcome(
        self, digest: Digest, delivery: Delivery, error: str | None, retry_at: datetime | None
    ) -> None:
        fields = {
            "channel": digest.channel,
            "digest": digest.id,
            "kind": delivery.kind,
            "target": delivery.target,
        }
        if error is None:
            log.info("digest delivered", extra={"event": "digest.delivered", **fields})
        else:
            log.warning(
                "digest delivery failed",
                extra={
                    "event": "digest.delivery_failed",
                    "error": error,
                    "retry_at": retry_at.isoformat() if retry_at else None,
                    **fields,
                },
            )

    # -- the two entry points ----------------------------------------------------------------

    def send(self, name: str) -> list[DigestRun]:
        """``digest send``: finish earlier digests' pending deliveries now, then build one.

        Earlier digests go first so a reader receives them in order; their retry times are not
        waited for (a person asked for this now).
        """
        runs = [
            DigestRun(digest, False, tuple(self.deliver(digest, due_only=False)))
            for digest in self._storage.unfinished_digests(name)
        ]
        digest, built = self.build(name, self._clock())
        outcomes = self.deliver(digest, due_only=False)
        runs.append(DigestRun(self._reload(digest), built, tuple(outcomes)))
        return [DigestRun(self._reload(r.digest), r.built, r.outcomes) for r in runs]

    def run_scheduled(self, name: str) -> list[DigestRun]:
        """The daemon's job: retry what is due, and build the owed slot if there is one.

        A slot is owed when the schedule fired since the channel's last digest; however many
        fired while newswatch was down, one digest (the latest slot) covers the whole gap.
        """
        channel = self.channel(name)
        runs = []
        for digest in self._storage.unfinished_digests(name):
            outcomes = self.deliver(digest, due_only=True)
            if outcomes:
                runs.append(DigestRun(self._reload(digest), False, tuple(outcomes)))
        now = self._clock()
        last = self._storage.last_digest(name, items=False)
        after = last.period_end if last is not None else now - NEW_CHANNEL_GRACE
        slot = owed_slot(channel.schedule, channel.zone, after=after, now=now)
        if slot is not None:
            digest, built = self.build(name, slot)
            outcomes = self.deliver(digest, due_only=True)
            runs.append(DigestRun(self._reload(digest), built, tuple(outcomes)))
        return runs

    def send_alert(self, name: str) -> list[DigestRun]:
        """An alert channel's run: retry what is due, then send what matched since last time.

        The first run only marks where the alert starts (an empty record, nothing sent), so
        configuring an alert does not send the past.
        """
        runs = []
        for digest in self._storage.unfinished_digests(name):
            outcomes = self.deliver(digest, due_only=True)
            if outcomes:
                runs.append(DigestRun(self._reload(digest), False, tuple(outcomes)))
        now = self._clock()
        if self._storage.last_digest(name, items=False) is None:
            self._storage.record_digest(
                name, period_start=None, period_end=now, items=(), deliveries=(), now=now
            )
            return runs
        if not self.compose(name, now).items:
            return runs
        digest, built = self.build(name, now)
        outcomes = self.deliver(digest, due_only=False)
        runs.append(DigestRun(self._reload(digest), built, tuple(outcomes)))
        return runs

    def _reload(self, digest: Digest) -> Digest:
        return self._storage.get_digest(digest.id) or digest
