"""What a long-running daemon needs from the database: feed leases, heartbeats, retention.

Several daemons may share one PostgreSQL database. They never talk to each other; the database
coordinates them. A daemon takes the feeds it will fetch with a lease (``SELECT … FOR UPDATE
SKIP LOCKED``, then a lease expiry written on the row), so two daemons never fetch the same feed
in the same round, and the feeds of a daemon that died are taken over once its leases expire.
"""

from __future__ import annotations

from contextlib import AbstractContextManager
from datetime import datetime

from sqlalchemy import Engine, delete, or_, select, text, update
from sqlalchemy.orm import Session

from newswatch.model import DaemonInfo, Feed, FeedStatus
from newswatch.storage.rows import feed_of
from newswatch.storage.tables import ArticleRow, ArticleTopicRow, DaemonRow, FeedRow


class DaemonSupport:
    """Lease, heartbeat and retention methods of ``Storage`` (which provides the rest)."""

    _engine: Engine

    def _transaction(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    def _reading(self) -> AbstractContextManager[Session]:
        raise NotImplementedError

    # -- feed leases -------------------------------------------------------------------------

    def claim_due_feeds(
        self, now: datetime, owner: str, until: datetime, *, limit: int = 10_000
    ) -> list[Feed]:
        """Take the due feeds no other worker holds, leasing them to ``owner`` until ``until``.

        The lease ends when the fetch is recorded (``record_fetch`` clears it) or when it
        expires, whichever comes first.
        """
        query = (
            select(FeedRow)
            .where(
                FeedRow.active.is_(True),
                FeedRow.status != FeedStatus.DISABLED.value,
                or_(FeedRow.next_fetch_at.is_(None), FeedRow.next_fetch_at <= now),
                or_(FeedRow.lease_expires_at.is_(None), FeedRow.lease_expires_at <= now),
            )
            .order_by(FeedRow.next_fetch_at.is_not(None), FeedRow.next_fetch_at, FeedRow.id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
        with self._transaction() as session:
            rows = list(session.scalars(query))
            for row in rows:
                row.lease_owner = owner
                row.lease_expires_at = until
            return [feed_of(row, 0) for row in rows]

    def release_leases(self, owner: str | None) -> int:
        """Give back every lease ``owner`` holds (a daemon stopping cleanly), or all (``None``:
        the only daemon a SQLite database allows, starting after a crash)."""
        query = update(FeedRow).where(FeedRow.lease_owner.is_not(None))
        if owner is not None:
            query = query.where(FeedRow.lease_owner == owner)
        with self._transaction() as session:
            result = session.execute(query.values(lease_owner=None, lease_expires_at=None))
            return int(getattr(result, "rowcount", 0) or 0)

    def lease_owners(self) -> list[str]:
        """The workers holding leases now (expired or not)."""
        with self._reading() as session:
            return sorted(
                set(
                    session.scalars(
                        select(FeedRow.lease_owner).where(FeedRow.lease_owner.is_not(None))
                    )
                )
            )

    # -- heartbeats --------------------------------------------------------------------------

    def register_daemon(self, info: DaemonInfo) -> None:
        """Record a daemon that is starting."""
        with self._transaction() as session:
            session.merge(
                DaemonRow(
                    id=info.id,
                    hostname=info.hostname,
                    pid=info.pid,
                    version=info.version,
                    started_at=info.started_at,
                    heartbeat_at=info.heartbeat_at,
                    stopped_at=None,
                )
            )

    def heartbeat(self, daemon_id: str, now: datetime) -> None:
        """Say that a daemon is alive."""
        with self._transaction() as session:
            session.execute(
                update(DaemonRow).where(DaemonRow.id == daemon_id).values(heartbeat_at=now)
            )

    def daemon_stopped(self, daemon_id: str, now: datetime) -> None:
        """Record that a daemon stopped cleanly."""
        with self._transaction() as session:
            session.execute(
                update(DaemonRow)
                .where(DaemonRow.id == daemon_id)
                .values(heartbeat_at=now, stopped_at=now)
            )

    def daemons(self, since: datetime) -> list[DaemonInfo]:
        """Daemons that beat since ``since`` or have not said they stopped, newest first."""
        with self._reading() as session:
            rows = session.scalars(
                select(DaemonRow)
                .where(or_(DaemonRow.heartbeat_at >= since, DaemonRow.stopped_at.is_(None)))
                .order_by(DaemonRow.started_at.desc())
                .limit(50)
            )
            return [
                DaemonInfo(
                    id=row.id,
                    hostname=row.hostname,
                    pid=row.pid,
                    version=row.version,
                    started_at=row.started_at,
                    heartbeat_at=row.heartbeat_at,
                    stopped_at=row.stopped_at,
                )
                for row in rows
            ]

    def forget_daemons(self, before: datetime) -> int:
        """Drop heartbeat rows not updated since ``before``."""
        with self._transaction() as session:
            result = session.execute(delete(DaemonRow).where(DaemonRow.heartbeat_at < before))
            return int(getattr(result, "rowcount", 0) or 0)

    # -- retention ---------------------------------------------------------------------------

    def prune_articles(self, before: datetime, now: datetime, *, batch: int = 1000) -> int:
        """Turn articles ingested before ``before`` into tombstones; returns how many.

        A tombstone keeps the entry's identity (feed, entry key, GUID, links, fingerprint and
        SimHash) so the entry is never stored as new again, and loses its text and its topic
        matches, so it is in no digest, count or search. Done in batches, each a transaction.
        """
        pruned = 0
        while True:
            with self._transaction() as session:
                ids = list(
                    session.scalars(
                        select(ArticleRow.id)
                        .where(ArticleRow.ingested_at < before, ArticleRow.removed_at.is_(None))
                        .order_by(ArticleRow.id)
                        .limit(batch)
                    )
                )
                if not ids:
                    return pruned
                session.execute(delete(ArticleTopicRow).where(ArticleTopicRow.article_id.in_(ids)))
                session.execute(
                    update(ArticleRow)
                    .where(ArticleRow.id.in_(ids))
                    .values(
                        title="",
                        summary="",
                        content_text="",
                        content_html="",
                        author=None,
                        removed_at=now,
                    )
                )
                pruned += len(ids)

    def optimize(self, *, vacuum: bool = False) -> None:
        """Refresh the planner's statistics (and, on SQLite with ``vacuum``, compact the file)."""
        if self._engine.dialect.name == "sqlite":
            with self._engine.connect() as connection:
                connection.exec_driver_sql("ANALYZE")
                connection.commit()
            if vacuum:
                # Outside any transaction: the driver connection runs in autocommit mode.
                raw = self._engine.raw_connection()
                try:
                    raw.driver_connection.execute("VACUUM")  # type: ignore[union-attr]
                finally:
                    raw.close()
            return
        with self._engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            connection.execute(text("VACUUM ANALYZE" if vacuum else "ANALYZE"))
