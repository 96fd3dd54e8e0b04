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


_WEEKDAYS = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")


def trigger(schedule: str, zone: ZoneInfo | str) -> CronTrigger:
    """The cron trigger of a schedule, read as crontab(5) reads it.

    Five fields (minute hour day month weekday), or six with a leading seconds field. Weekday
    numbers are crontab's (0 and 7 are Sunday): APScheduler 3 counts from Monday, so they are
    translated to names here rather than handed over as they are.

    Raises:
        ValueError: the expression is not a valid schedule.
    """
    fields = schedule.split()
    if len(fields) not in (5, 6):
        raise ValueError(f"expected 5 fields (or 6 with seconds first), got {len(fields)}")
    second = fields.pop(0) if len(fields) == 6 else "0"
    minute, hour, day, month, weekday = fields
    return CronTrigger(
        second=second,
        minute=minute,
        hour=hour,
        day=day,
        month=month,
        day_of_week=_weekdays(weekday),
        timezone=zone,
    )


def _weekdays(field: str) -> str:
    """A crontab weekday field as APScheduler weekday names (``*`` stays ``*``)."""
    if field == "*":
        return field
    days: set[int] = set()
    for part in field.lower().split(","):
        spec, _, step_text = part.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"weekday step must be at least 1 in {field!r}")
        if spec == "*":
            first, last = 0, 6
        elif "-" in spec:
            low, _, high = spec.partition("-")
            first, last = _weekday(low, field), _weekday(high, field, upper=True)
        else:
            first = _weekday(spec, field)
            last = 6 if step_text else first
        if first > last:
            raise ValueError(f"weekday range {spec!r} runs backwards in {field!r}")
        days.update(day % 7 for day in range(first, last + 1, step))
    return ",".join(_WEEKDAYS[day] for day in sorted(days))


def _weekday(text: str, field: str, *, upper: bool = False) -> int:
    if text in _WEEKDAYS:
        return _WEEKDAYS.index(text)
    if text.isdigit() and 0 <= int(text) <= 7:
        value = int(text)
        return value if upper or value != 7 else 0
    raise ValueError(f"{text!r} is not a weekday (0-7 or sun-sat) in {field!r}")


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
