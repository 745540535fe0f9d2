"""A scheduling page's stored rules (JSON) and the engine's :class:`AvailabilityRules`.

Stored shape (every key optional)::

    {"weekly": {"mon": ["09:00-12:00", "13:00-17:00"], "tue": [...]},
     "overrides": {"2026-12-24": []},            # replacement hours; [] is a day off
     "extra_hours": {"2026-12-27": ["10:00-12:00"]},
     "increment": 15, "buffer_before": 0, "buffer_after": 10,
     "notice": 240, "horizon_days": 60, "max_per_day": 4}

Missing weekly hours mean Monday to Friday, 09:00-17:00 in the host's zone.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, time
from typing import Any

from bot.availability import AvailabilityRules, WorkRange

DAY_NAMES = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DEFAULT_WEEKLY: dict[int, tuple[WorkRange, ...]] = {
    day: ((time(9), time(17)),) for day in range(5)
}


class RulesError(ValueError):
    """Stored or submitted rules are malformed (the message says which part)."""


def parse_range(text: str) -> WorkRange:
    """``"09:00-17:00"`` (``24:00`` allowed as an end) as a pair of times."""
    try:
        start_text, end_text = (part.strip() for part in text.split("-"))
        start = time.fromisoformat(start_text)
        end = time(0) if end_text == "24:00" else time.fromisoformat(end_text)
    except ValueError:
        raise RulesError(f"{text!r} is not a range like 09:00-17:00") from None
    if end != time(0) and end <= start:
        raise RulesError(f"{text!r} ends before it starts")
    return (start, end)


def format_range(value: WorkRange) -> str:
    """The inverse of :func:`parse_range`."""
    end = "24:00" if value[1] == time(0) else value[1].strftime("%H:%M")
    return f"{value[0].strftime('%H:%M')}-{end}"


def _ranges(values: Any, where: str) -> tuple[WorkRange, ...]:
    if not isinstance(values, list):
        raise RulesError(f"{where} must be a list of ranges")
    return tuple(parse_range(str(v)) for v in values)


def _dated(values: Any, where: str) -> dict[date, tuple[WorkRange, ...]]:
    if not isinstance(values, Mapping):
        raise RulesError(f"{where} must map dates to ranges")
    out: dict[date, tuple[WorkRange, ...]] = {}
    for key, ranges in values.items():
        try:
            day = date.fromisoformat(str(key))
        except ValueError:
            raise RulesError(f"{key!r} in {where} is not a date like 2026-12-24") from None
        out[day] = _ranges(ranges, f"{where} {key}")
    return out


def _minutes(stored: Mapping[str, Any], key: str, default: int | None) -> int | None:
    value = stored.get(key, default)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise RulesError(f"{key} must be a whole number")
    return value


def rules_from_json(
    stored: Mapping[str, Any], *, timezone: str, durations: Sequence[int] = (30,)
) -> AvailabilityRules:
    """The engine rules of a page (raises :class:`RulesError` for malformed data)."""
    weekly: dict[int, tuple[WorkRange, ...]]
    if "weekly" in stored:
        raw = stored["weekly"]
        if not isinstance(raw, Mapping):
            raise RulesError("weekly must map day names to ranges")
        weekly = {}
        for name, ranges in raw.items():
            if name not in DAY_NAMES:
                raise RulesError(f"{name!r} is not a day name (mon..sun)")
            weekly[DAY_NAMES.index(name)] = _ranges(ranges, name)
    else:
        weekly = dict(DEFAULT_WEEKLY)
    try:
        return AvailabilityRules(
            timezone=timezone,
            weekly=weekly,
            overrides=_dated(stored.get("overrides", {}), "overrides"),
            extra_hours=_dated(stored.get("extra_hours", {}), "extra_hours"),
            durations=tuple(int(d) for d in durations) or (30,),
            increment_minutes=_minutes(stored, "increment", None),
            buffer_before_minutes=_minutes(stored, "buffer_before", 0) or 0,
            buffer_after_minutes=_minutes(stored, "buffer_after", 0) or 0,
            minimum_notice_minutes=_minutes(stored, "notice", 0) or 0,
            horizon_days=_minutes(stored, "horizon_days", 60),
            max_per_day=_minutes(stored, "max_per_day", None),
        )
    except (ValueError, TypeError) as exc:
        raise RulesError(str(exc)) from None


def rules_to_json(rules: AvailabilityRules) -> dict[str, Any]:
    """The stored shape of ``rules`` (durations and zone live on the page and the user)."""
    return {
        "weekly": {
            DAY_NAMES[day]: [format_range(r) for r in ranges]
            for day, ranges in sorted(rules.weekly.items())
        },
        "overrides": {
            d.isoformat(): [format_range(r) for r in ranges] for d, ranges in rules.overrides.items()
        },
        "extra_hours": {
            d.isoformat(): [format_range(r) for r in ranges]
            for d, ranges in rules.extra_hours.items()
        },
        "increment": rules.increment_minutes,
        "buffer_before": rules.buffer_before_minutes,
        "buffer_after": rules.buffer_after_minutes,
        "notice": rules.minimum_notice_minutes,
        "horizon_days": rules.horizon_days,
        "max_per_day": rules.max_per_day,
    }
