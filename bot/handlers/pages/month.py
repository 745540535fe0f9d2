"""The month calendar of a scheduling page (and of a manage page's "move" picker).

:func:`choose_month` reads ``?month=YYYY-MM`` and ``?day=YYYY-MM-DD`` and bounds them: from the
visitor's today to the page's horizon (``rules.horizon_days`` ahead in the host's zone). Its
:class:`MonthChoice` says which instants one availability call must cover (the visible month's
bookable part). :func:`month_grid` lays the answer out as weeks of days in the visitor's zone,
marks the days with free times and picks the selected one (the asked day when it has times, else
the month's first available day); :func:`day_times` labels that day's times.
"""

from __future__ import annotations

import calendar
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_interval, format_skeleton, format_time

from bot.availability import AvailabilityRules
from bot.zone_names import zone_city

FAR_AHEAD = 365  # days: how far a page without a horizon lets a visitor browse
AT_LEAST = timedelta(days=14)  # the window always covers this much from its start (a month's last
# days then still come with the next ones: the embedded data of a month's end is not nearly empty)


@dataclass(frozen=True, slots=True)
class MonthChoice:
    """The month a visitor looks at, what they may browse, and the window to ask about."""

    month: date  # the first of the visible month
    asked_day: date | None
    today: date  # the visitor's today
    last: date  # the last bookable day, in the visitor's zone
    start: datetime  # the window to compute: the visible month's bookable part (and at least
    end: datetime  # AT_LEAST from its start, within the horizon)

    @property
    def previous(self) -> date | None:
        """The previous month (its first), or None before the visitor's current month."""
        if self.month <= self.today.replace(day=1):
            return None
        return (self.month - timedelta(days=1)).replace(day=1)

    @property
    def following(self) -> date | None:
        """The next month (its first), or None past the horizon."""
        after = _next_month(self.month)
        return after if after <= self.last else None


def _next_month(first: date) -> date:
    return (first + timedelta(days=32)).replace(day=1)


def _parse_month(text: str | None) -> date | None:
    try:
        return datetime.strptime(text or "", "%Y-%m").date()
    except ValueError:
        return None


def _parse_day(text: str | None) -> date | None:
    try:
        return date.fromisoformat(text or "")
    except ValueError:
        return None


def horizon_end(rules: AvailabilityRules, now: datetime, host_zone: ZoneInfo) -> datetime:
    """The instant no slot may start at or after: local midnight ``horizon_days`` after the host's today."""
    days = FAR_AHEAD if rules.horizon_days is None else rules.horizon_days
    return datetime.combine(now.astimezone(host_zone).date() + timedelta(days=days), time(0), host_zone)


def choose_month(month: str | None, day: str | None, *, rules: AvailabilityRules, now: datetime,
                 zone: ZoneInfo, host_zone: ZoneInfo) -> MonthChoice:
    """The month to show (``day``'s, else ``month``, else the current one), kept inside the
    bookable range; a day outside the range is forgotten."""
    today = now.astimezone(zone).date()
    stop = horizon_end(rules, now, host_zone)
    last = max(today, (stop - timedelta(microseconds=1)).astimezone(zone).date())
    asked_day = _parse_day(day)
    if asked_day is not None and not today <= asked_day <= last:
        asked_day = None
    first = asked_day.replace(day=1) if asked_day else _parse_month(month) or today.replace(day=1)
    first = min(max(first, today.replace(day=1)), last.replace(day=1))
    start = max(now, datetime.combine(first, time(0), zone))
    end = min(stop, max(datetime.combine(_next_month(first), time(0), zone), start + AT_LEAST))
    return MonthChoice(month=first, asked_day=asked_day, today=today, last=last, start=start,
                       end=max(start, end))


def month_grid(choice: MonthChoice, starts: list[datetime], zone: ZoneInfo,
               locale: Locale) -> dict[str, Any]:
    """Weeks of the visible month (Monday or the locale's first weekday first), each day marked
    available or not, and the selected day (None: the month has no free time)."""
    available = {start.astimezone(zone).date() for start in starts}
    in_month = sorted(d for d in available if d.month == choice.month.month and d.year == choice.month.year)
    selected = choice.asked_day if choice.asked_day in available else (in_month[0] if in_month else None)
    weeks = calendar.Calendar(firstweekday=locale.first_week_day).monthdatescalendar(
        choice.month.year, choice.month.month)
    return {
        "title": _first_upper(format_skeleton("yMMMM", choice.month, locale=locale)),
        "weekdays": [(format_date(d, "EEE", locale=locale), format_date(d, "EEEE", locale=locale))
                     for d in weeks[0]],
        "weeks": [[{
            "date": d.isoformat(), "number": d.day, "in_month": d.month == choice.month.month,
            "available": d in available and d.month == choice.month.month, "selected": d == selected,
            "today": d == choice.today, "label": format_date(d, "full", locale=locale),
        } for d in week] for week in weeks],
        "selected": selected,
        "selected_label": None if selected is None else format_date(selected, "full", locale=locale),
        "previous": None if choice.previous is None else choice.previous.strftime("%Y-%m"),
        "following": None if choice.following is None else choice.following.strftime("%Y-%m"),
        "month": choice.month.strftime("%Y-%m"),
    }


def clock_of(asked: str | None, locale: Locale) -> str:
    """``"12"`` or ``"24"``: the visitor's ``?clock=``, else what the locale's short time uses."""
    if asked in ("12", "24"):
        return asked
    return "12" if "h" in locale.time_formats["short"].pattern else "24"


def time_label(moment: datetime, zone: ZoneInfo, locale: Locale, clock: str) -> str:
    """``moment``'s local time in ``zone`` on a 12- or 24-hour clock."""
    return format_time(moment.astimezone(zone), "h:mm a" if clock == "12" else "HH:mm", locale=locale)


def day_times(starts: list[datetime], day: date | None, zone: ZoneInfo, locale: Locale,
              clock: str) -> list[dict[str, str]]:
    """The times of ``day`` (the visitor's local date): each start (ISO) and its label."""
    return [{"start": start.isoformat(), "label": time_label(start, zone, locale, clock)}
            for start in starts if start.astimezone(zone).date() == day]


def slot_summary(start: datetime, minutes: int, zone: ZoneInfo, locale: Locale, clock: str,
                 translate: Callable[[str], str]) -> str:
    """"Wed, Dec 2, 10:00 to 10:30 AM, Tokyo time": a chosen slot in the visitor's language and zone."""
    local = start.astimezone(zone)
    end = local + timedelta(minutes=minutes)
    hours = format_interval(local, end, "hm" if clock == "12" else "Hm", tzinfo=zone, locale=locale)
    return translate("{day}, {times}, {zone} time").format(
        day=format_skeleton("MMMEd", local, locale=locale), times=hours, zone=zone_city(zone.key, locale))


def _first_upper(text: str) -> str:
    """``dezembro de 2026`` -> ``Dezembro de 2026`` (a heading; CSS capitalize would make "De")."""
    return text[:1].upper() + text[1:]
