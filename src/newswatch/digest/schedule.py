"""When a channel's digests are due: cron slots in the channel's time zone.

APScheduler's ``CronTrigger`` does the calendar work (including daylight-saving changes); this
module only asks it questions. A slot is identified by its UTC instant, which is what the ledger
stores as ``period_end``, so every process computes the same slot for the same schedule.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from apscheduler.triggers.cron import CronTrigger

#: How far back a missed slot is looked for; older gaps are covered by one digest anyway.
_LOOKBACK = timedelta(days=400)


def trigger(schedule: str, zone: ZoneInfo) -> CronTrigger:
    """The cron trigger of a channel."""
    return CronTrigger.from_crontab(schedule, timezone=zone)


def next_slot(schedule: str, zone: ZoneInfo, now: datetime) -> datetime | None:
    """The first slot strictly after ``now``, in UTC."""
    when = trigger(schedule, zone).get_next_fire_time(None, now + timedelta(seconds=1))
    return None if when is None else when.astimezone(UTC)


def owed_slot(
    schedule: str, zone: ZoneInfo, *, after: datetime | None, now: datetime
) -> datetime | None:
    """The latest slot in ``(after, now]``, in UTC; ``None`` if no slot passed since ``after``.

    Several missed slots give one answer, the latest: a daemon that was down for a week builds
    one digest covering the whole gap, not seven. With no previous digest (``after`` is
    ``None``) nothing is owed: a new channel starts at its next slot.
    """
    if after is None:
        return None
    cron = trigger(schedule, zone)
    # Search the most recent day first, then wider windows: a per-minute schedule after a long
    # gap must not walk through every minute of it.
    window = timedelta(days=1)
    while True:
        start = max(after, now - window)
        latest = _latest_in(cron, zone, start, now)
        if latest is not None or start == after or window >= _LOOKBACK:
            return latest
        window = min(window * 8, _LOOKBACK)


def _latest_in(
    cron: CronTrigger, zone: ZoneInfo, start: datetime, end: datetime
) -> datetime | None:
    cursor = start + timedelta(seconds=1)
    latest: datetime | None = None
    while True:
        when = cron.get_next_fire_time(None, cursor.astimezone(zone))
        if when is None or when > end:
            return latest
        latest = when.astimezone(UTC)
        cursor = latest + timedelta(seconds=1)
