"""``newswatch run``: APScheduler 3 driving the core, in the foreground.

Jobs are one-line calls into ``Monitor``; everything that must happen once is decided by the
database, not by the scheduler:

- ``refresh`` every ``daemon.poll_interval``: fetch (and tag) the feeds that are due, taken with
  a lease so daemons sharing a PostgreSQL database never fetch the same feed twice.
- ``digest:<name>`` on each channel's cron schedule, and ``digests`` every minute (and at
  start): build what a schedule owes — one digest however many slots were missed — and retry
  deliveries that are due. The digest ledger makes this exactly-once across restarts and
  across daemons.
- ``maintenance`` daily: retention (tombstones), database statistics, old heartbeats.
- ``heartbeat`` on its own thread, so ``status`` can tell a busy daemon from a dead one.

Work jobs share one worker thread, so they never run concurrently with each other; every job
coalesces missed runs into one and may run late (``misfire_grace_time=None``): APScheduler's
default of one second would silently drop a digest run behind a long fetch.

Signals: SIGTERM and SIGINT stop the daemon (no new job starts, a running fetch is cancelled,
the process exits 0 within ``daemon.shutdown_timeout``); SIGHUP reloads the config, keeping the
old one (with a logged error) if the new one is invalid.
"""

from __future__ import annotations

import gc
import importlib
import logging
import os
import secrets
import signal
import socket
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from types import FrameType
from typing import IO, Any

from apscheduler.executors.pool import ThreadPoolExecutor
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.interval import IntervalTrigger

from newswatch import __version__
from newswatch.app import Monitor, make_monitor, utc_now
from newswatch.config import Config, load_config
from newswatch.digest.schedule import trigger
from newswatch.errors import ConfigError, NewswatchError
from newswatch.ingest import Lease
from newswatch.metrics import Metrics, make_metrics
from newswatch.model import DaemonInfo
from newswatch.prepare import PREPARING_MODULES

log = logging.getLogger(__name__)

#: The digest job that catches up and retries runs this often, besides each channel's schedule.
DIGEST_CHECK_SECONDS = 60
#: Heartbeat rows older than this are removed by the maintenance job.
FORGET_DAEMONS_AFTER = timedelta(days=7)


class DaemonLockedError(NewswatchError):
    """Another daemon holds the SQLite database."""


class SingleDaemonLock:
    """An exclusive lock beside a SQLite database file: one daemon per database.

    The lock is an ``flock`` on ``<database>.daemon.lock``, so it disappears with the process
    however it ends (a crash or SIGKILL leaves no stale lock to clean up by hand).
    """

    def __init__(self, database: Path) -> None:
        self.path = database.with_name(database.name + ".daemon.lock")
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise ``DaemonLockedError`` naming the process that has it."""
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = self.path.open("a+", encoding="utf-8")
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            handle.close()
            raise DaemonLockedError(
                f"another newswatch daemon (pid {holder}) is already running on "
                f"{self.path.with_suffix('').with_suffix('')}; stop it first "
                f"(lock file {self.path})"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle

    def release(self) -> None:
        """Let the lock go."""
        if self._handle is not None:
            self._handle.close()
            self._handle = None


def _process_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def sqlite_path(url: str) -> Path | None:
    """The file of a ``sqlite:///…`` URL (``None`` for other databases or in-memory)."""
    prefix = "sqlite:///"
    if not url.startswith(prefix):
        return None
    path = url[len(prefix) :].split("?", 1)[0]
    return None if path in ("", ":memory:") else Path(path)


class Daemon:
    """One ``newswatch run`` process."""

    def __init__(self, config_path: Path, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._config_path = config_path
        self._clock = clock
        self._stop = threading.Event()
        self._reload = threading.Event()
        self._monitor: Monitor | None = None
        self._scheduler: BackgroundScheduler | None = None
        self._lock: SingleDaemonLock | None = None
        self._metrics: Metrics | None = None
        self.id = f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"

    @property
    def monitor(self) -> Monitor:
        """The monitor the jobs drive (replaced when the config is reloaded)."""
        assert self._monitor is not None, "the daemon is not running"
        return self._monitor

    # -- life cycle --------------------------------------------------------------------------

    def run(self, config: Config) -> int:
        """Run until SIGTERM/SIGINT; returns the process exit code.

        Raises:
            DaemonLockedError: another daemon runs on the same SQLite database.
            NewswatchError: the database cannot be opened, or similar start-up failures.
        """
        # First, so a SIGTERM during start-up is a clean stop once started, not a kill.
        self._install_signals()
        database = sqlite_path(config.database.url)
        if database is not None:
            self._lock = SingleDaemonLock(database)
            self._lock.acquire()
        try:
            self._monitor = make_monitor(config, clock=self._clock)
            self._release_stale_leases()
            now = self._clock()
            self.monitor.storage.register_daemon(
                DaemonInfo(self.id, socket.gethostname(), os.getpid(), __version__, now, now)
            )
            self._metrics = make_metrics(config.metrics)
            # What start-up built (modules, config, compiled topics) lives as long as the
            # daemon: moved out of the collector's sight, so a full collection during a digest
            # build or a pass does not walk it again each time. The modules of the jobs, which
            # commands import only when they need them, are loaded first to be frozen too.
            for module in ("newswatch.digest.runner", *PREPARING_MODULES):
                importlib.import_module(module)
            gc.freeze()
            self._start_scheduler(config)
            log.info(
                "daemon started",
                extra={
                    "event": "daemon.started",
                    "daemon": self.id,
                    "database": self.monitor.storage.url,
                    "feeds": len(config.feeds),
                    "digests": ",".join(config.digests) or "-",
                },
            )
            while not self._stop.wait(0.2):
                if self._reload.is_set():
                    self._reload.clear()
                    self._reload_config()
            return self._shutdown(config.daemon.shutdown_timeout.total_seconds())
        finally:
            if self._lock is not None:
                self._lock.release()

    def _release_stale_leases(self) -> None:
        """Free leases and delivery claims a killed daemon left, where it is certainly dead.

        Under the SQLite lock no other daemon can hold any. On PostgreSQL, feed leases of a
        daemon on this machine whose process is gone are freed; other leases expire on their
        own (``daemon.lease``), and delivery claims after five minutes.
        """
        storage = self.monitor.storage
        if self._lock is not None:
            storage.release_leases(None)
            storage.release_delivery_claims()
            return
        host = socket.gethostname()
        for owner in storage.lease_owners():
            parts = owner.split(":")
            if len(parts) != 3 or parts[0] != host or not parts[1].isdigit():
                continue
            if not _process_alive(int(parts[1])):
                freed = storage.release_leases(owner)
                log.info(
                    "freed the leases of a dead daemon",
                    extra={"event": "daemon.leases_freed", "owner": owner, "feeds": freed},
                )

    def stop(self) -> None:
        """Ask the daemon to stop (what SIGTERM does)."""
        self._stop.set()

    def _install_signals(self) -> None:
        def stop(signum: int, _frame: FrameType | None) -> None:
            log.info(
                "stop requested",
                extra={"event": "daemon.stopping", "signal": signal.Signals(signum).name},
            )
            self._stop.set()

        def reload(_signum: int, _frame: FrameType | None) -> None:
            self._reload.set()

        signal.signal(signal.SIGTERM, stop)
        signal.signal(signal.SIGINT, stop)
        signal.signal(signal.SIGHUP, reload)

    def _shutdown(self, timeout: float) -> int:
        scheduler = self._scheduler
        finished = threading.Event()

        def wait_for_jobs() -> None:
            if scheduler is not None:
                scheduler.shutdown(wait=True)
            finished.set()

        threading.Thread(target=wait_for_jobs, name="newswatch-shutdown", daemon=True).start()
        clean = finished.wait(timeout)
        storage = self.monitor.storage
        try:
            storage.release_leases(self.id)
            storage.daemon_stopped(self.id, self._clock())
        except NewswatchError as exc:
            log.warning("could not record the stop: %s", exc)
        if not clean:
            # A job is still inside a network call. Its transaction (if any) is rolled back
            # when the process ends; the work is redone on the next start.
            log.warning(
                "shutdown timeout: leaving work in flight",
                extra={"event": "daemon.shutdown_timeout", "timeout_seconds": timeout},
            )
            logging.shutdown()
            os._exit(0)
        self.monitor.close()
        log.info("daemon stopped", extra={"event": "daemon.stopped", "daemon": self.id})
        return 0

    # -- jobs --------------------------------------------------------------------------------

    def _start_scheduler(self, config: Config) -> None:
        scheduler = BackgroundScheduler(
            executors={
                "default": ThreadPoolExecutor(1),
                "heartbeat": ThreadPoolExecutor(1),
            },
            job_defaults={"coalesce": True, "max_instances": 1, "misfire_grace_time": None},
            timezone="UTC",
        )
        self._scheduler = scheduler
        self._add_jobs(config, first=True)
        scheduler.start()

    def _add_jobs(self, config: Config, *, first: bool) -> None:
        scheduler = self._scheduler
        assert scheduler is not None
        now = self._clock()
        settings = config.daemon
        scheduler.add_job(
            self._guard("refresh", self._refresh),
            IntervalTrigger(seconds=settings.poll_interval.total_seconds()),
            id="refresh",
            next_run_time=now if first else None,
            replace_existing=True,
        )
        scheduler.add_job(
            self._guard("digests", self._digests),
            IntervalTrigger(seconds=DIGEST_CHECK_SECONDS),
            id="digests",
            next_run_time=now if first else None,
            replace_existing=True,
        )
        wanted = {f"digest:{name}" for name in config.digests}
        for job in scheduler.get_jobs():
            if job.id.startswith("digest:") and job.id not in wanted:
                job.remove()
        for name, channel in config.digests.items():
            scheduler.add_job(
                self._guard(f"digest:{name}", self._digest, name),
                trigger(channel.schedule, channel.zone),
                id=f"digest:{name}",
                replace_existing=True,
            )
        scheduler.add_job(
            self._guard("maintenance", self._maintenance),
            trigger(settings.maintenance, "UTC"),
            id="maintenance",
            replace_existing=True,
        )
        scheduler.add_job(
            self._guard("heartbeat", self._heartbeat),
            IntervalTrigger(seconds=settings.heartbeat.total_seconds()),
            id="heartbeat",
            executor="heartbeat",
            replace_existing=True,
        )

    def _guard(self, name: str, job: Callable[..., None], *args: Any) -> Callable[[], None]:
        """Wrap a job: skip it once stopping, and log (never propagate) its failures."""

        kind = name.split(":", 1)[0]

        def run() -> None:
            if self._stop.is_set():
                return
            started = time.monotonic()
            failed = True
            try:
                job(*args)
                failed = False
            except NewswatchError as exc:
                log.error(
                    "job failed", extra={"event": "job.failed", "job": name, "error": str(exc)}
                )
            except Exception:
                log.exception("job crashed", extra={"event": "job.crashed", "job": name})
            finally:
                if self._metrics is not None:
                    self._metrics.duration.labels(kind).observe(time.monotonic() - started)
                    if failed:
                        self._metrics.errors.labels(kind).inc()

        return run

    def _refresh(self) -> None:
        monitor = self.monitor
        lease = Lease(self.id, monitor.config.daemon.lease)
        summary = monitor.fetch(lease=lease, stop=self._stop)
        if monitor.config.alerts and not self._stop.is_set():
            self._alerts()
        if self._metrics is not None:
            self._metrics.record_fetch(summary)
            self._metrics.record_feeds(monitor.storage.list_feeds())
        if summary.feeds:
            log.info(
                "refresh done",
                extra={
                    "event": "refresh.done",
                    "feeds": summary.feeds,
                    "fetched": summary.fetched,
                    "not_modified": summary.not_modified,
                    "failed": summary.failed,
                    "new_articles": summary.new_articles,
                    "tagged": summary.tagged,
                    "seconds": round(summary.elapsed, 2),
                },
            )

    def _digests(self) -> None:
        for name in self.monitor.config.digests:
            if self._stop.is_set():
                return
            self._digest(name)
        self._alerts()

    def _alerts(self) -> None:
        for run in self.monitor.send_alerts():
            if self._metrics is not None:
                self._metrics.record_digest(run)
            log.info(
                "alert run",
                extra={
                    "event": "alert.run",
                    "channel": run.digest.channel,
                    "digest": run.digest.id,
                    "status": run.status,
                    "articles": run.digest.article_count,
                },
            )

    def _digest(self, name: str) -> None:
        monitor = self.monitor
        if name not in monitor.config.digests:
            return
        for run in monitor.run_scheduled_digest(name):
            if self._metrics is not None:
                self._metrics.record_digest(run)
            log.info(
                "digest run",
                extra={
                    "event": "digest.run",
                    "channel": name,
                    "digest": run.digest.id,
                    "status": run.status,
                    "built": run.built,
                    "articles": run.digest.article_count,
                },
            )

    def _maintenance(self) -> None:
        monitor = self.monitor
        now = self._clock()
        keep = monitor.config.retention.articles
        pruned = 0
        if keep is not None:
            pruned = monitor.storage.prune_articles(now - keep, now)
        forgotten = monitor.storage.forget_daemons(now - FORGET_DAEMONS_AFTER)
        monitor.storage.optimize(vacuum=pruned > 0)
        log.info(
            "maintenance done",
            extra={"event": "maintenance.done", "pruned": pruned, "forgotten": forgotten},
        )

    def _heartbeat(self) -> None:
        self.monitor.storage.heartbeat(self.id, self._clock())

    # -- reload ------------------------------------------------------------------------------

    def _reload_config(self) -> None:
        try:
            config = load_config(self._config_path)
        except ConfigError as exc:
            log.error(
                "config reload refused; keeping the running config",
                extra={"event": "config.reload_failed", "error": str(exc)},
            )
            return
        scheduler = self._scheduler
        assert scheduler is not None
        # Applied on the work thread, between jobs, so no job sees half a change.
        scheduler.add_job(self._apply_config, args=[config], id="reload", replace_existing=True)

    def _apply_config(self, config: Config) -> None:
        old = self.monitor
        if config.database.url != old.config.database.url:
            log.error(
                "the database cannot change while running; restart to switch it",
                extra={"event": "config.reload_failed"},
            )
            return
        monitor = type(old)(config, old.storage, clock=self._clock)
        monitor.sync_config()
        self._monitor = monitor
        self._add_jobs(config, first=False)
        log.info(
            "config reloaded",
            extra={
                "event": "config.reloaded",
                "feeds": len(config.feeds),
                "digests": ",".join(config.digests) or "-",
            },
        )
