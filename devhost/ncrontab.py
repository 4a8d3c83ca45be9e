"""NCRONTAB (the Functions timer format: second minute hour day month weekday), for the
local host's timers. Supports ``*``, lists, ranges and steps; all times UTC."""

from __future__ import annotations

from datetime import datetime, timedelta

_FIELDS = [(0, 59), (0, 59), (0, 23), (1, 31), (1, 12), (0, 6)]


def _parse_field(text: str, low: int, high: int) -> frozenset[int]:
    values: set[int] = set()
    for item in text.split(","):
        base, _, step_text = item.partition("/")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"bad step in {text!r}")
        if base == "*":
            start, end = low, high
        elif "-" in base:
            a, b = base.split("-", 1)
            start, end = int(a), int(b)
        else:
            start = int(base)
            end = high if step_text else start
        if not (low <= start <= high and low <= end <= high and start <= end):
            raise ValueError(f"{text!r} is outside {low}-{high}")
        values.update(range(start, end + 1, step))
    return frozenset(values)


class Schedule:
    def __init__(self, expression: str) -> None:
        parts = expression.split()
        if len(parts) != 6:
            raise ValueError("an NCRONTAB expression has six fields")
        weekday = parts[5].replace("7", "0")
        parts[5] = weekday
        self.seconds, self.minutes, self.hours, self.days, self.months, self.weekdays = (
            _parse_field(p, lo, hi) for p, (lo, hi) in zip(parts, _FIELDS, strict=True)
        )

    def matches(self, t: datetime) -> bool:
        return (
            t.second in self.seconds
            and t.minute in self.minutes
            and t.hour in self.hours
            and t.day in self.days
            and t.month in self.months
            and (t.weekday() + 1) % 7 in self.weekdays
        )

    def next_after(self, t: datetime) -> datetime:
        """The first matching instant strictly after ``t`` (second resolution)."""
        candidate = t.replace(microsecond=0) + timedelta(seconds=1)
        limit = candidate + timedelta(days=366 * 5)
        while candidate < limit:
            if candidate.month not in self.months:
                candidate = (candidate.replace(day=1, hour=0, minute=0, second=0) + timedelta(days=32)).replace(day=1)
                continue
            if candidate.day not in self.days or (candidate.weekday() + 1) % 7 not in self.weekdays:
                candidate = candidate.replace(hour=0, minute=0, second=0) + timedelta(days=1)
                continue
            if candidate.hour not in self.hours:
                candidate = candidate.replace(minute=0, second=0) + timedelta(hours=1)
                continue
            if candidate.minute not in self.minutes:
                candidate = candidate.replace(second=0) + timedelta(minutes=1)
                continue
            if candidate.second not in self.seconds:
                candidate += timedelta(seconds=1)
                continue
            return candidate
        raise ValueError("the schedule never fires")
