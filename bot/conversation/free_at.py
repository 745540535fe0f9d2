"""Direct answers: "am I free at 3pm tomorrow?" (yes or no, and the next free time) and why a day
has no free time (outside working hours, or fully booked). PURE: rules, busy time and ``now`` in,
translated blocks out.

Busy time comes from the engine merged across calendars, without event titles. The host's own
events (``events``: their titles, read for the asked window only) name what is busy: "No — 3:00 -
4:00 PM is busy (Focus time)", "Friday: Company offsite (all day)". Only the host's private answers
pass them; without them (or without titles) a busy answer just says "busy".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime, time, timedelta

from bot.availability import AvailabilityRules, Interval, intersect, merge, working_intervals
from bot.conversation import dates
from bot.conversation.agenda import all_day_names, event_names
from bot.conversation.backend import AgendaItem
from bot.conversation.free_days import free_ranges
from bot.conversation.reply import Text
from bot.conversation.turn import Turn

LOOK_AHEAD_DAYS = 7
"""How far ahead "Next free:" looks."""


def _free_ranges(rules: AvailabilityRules, start: datetime, end: datetime, now: datetime,
                 busy: Sequence[Interval], minutes: int) -> list[tuple[datetime, datetime]]:
    return [span for day in free_ranges(rules, start=start, end=end, now=now, busy=busy,
                                        min_minutes=minutes) for span in day.ranges]


def _working(rules: AvailabilityRules, low: int, high: int) -> list[Interval]:
    """The working parts of ``[low, high)`` (epoch seconds)."""
    return [(max(s, low), min(e, high)) for _day, s, e in working_intervals(rules, low, high)
            if s < high and low < e]


def look_ahead_end(start: datetime, turn: Turn) -> datetime:
    """The end of the window a direct answer needs busy time for (its "next free" search)."""
    local = start.astimezone(turn.zone).date() + timedelta(days=LOOK_AHEAD_DAYS + 1)
    return datetime.combine(local, time(0), turn.zone)


def busy_parts(busy: Sequence[Interval], start: datetime, end: datetime) -> list[tuple[datetime, datetime]]:
    """The busy parts of ``[start, end)``, merged, as aware UTC datetimes."""
    low, high = int(start.timestamp()), int(end.timestamp())
    return [(datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC))
            for s, e in intersect(merge(busy), [(low, high)]) if e > s]


def point_answer(turn: Turn, rules: AvailabilityRules, start: datetime, end: datetime,
                 busy: Sequence[Interval], events: Sequence[AgendaItem] = ()) -> list[Text]:
    """Yes or no for ``[start, end)``; when no, the next free time of the same length.

    A busy window names the part that is busy when it is not all of it, and the titles of the
    host's ``events`` there (pass them only in the host's own private answers).
    """
    _ = turn.gettext
    zone, locale = turn.zone, turn.locale
    span = dates.hours(start, end, zone, locale)
    minutes = max(1, int((end - start).total_seconds()) // 60)
    free = _free_ranges(rules, start, end, turn.now, busy, minutes)
    if free:  # a free range as long as the window, inside it: the window itself
        return [Text(_("Yes, {hours} is free.").format(hours=span))]
    low, high = int(start.timestamp()), int(end.timestamp())
    in_hours = _working(rules, low, high)
    if any(_overlaps(busy, s, e) for s, e in in_hours):
        headline = _busy_headline(turn, start, end, busy, events)
    else:
        headline = _("No — {hours} is outside your working hours.").format(hours=span)
    later = _free_ranges(rules, start, look_ahead_end(start, turn), turn.now, busy, minutes)
    if not later:
        return [Text(headline), Text(_("Nothing is free in the next {days} days.").format(
            days=LOOK_AHEAD_DAYS))]
    first = later[0][0]
    if first.astimezone(zone).date() == start.astimezone(zone).date():
        after = _("Next free: {time}.").format(time=dates.clock(first, zone, locale))
    else:
        day, clock = dates.moment(first, zone, locale)
        after = _("Next free: {day}, {time}.").format(day=day, time=clock)
    return [Text(headline), Text(after)]


def _busy_headline(turn: Turn, start: datetime, end: datetime, busy: Sequence[Interval],
                   events: Sequence[AgendaItem]) -> str:
    _ = turn.gettext
    zone, locale = turn.zone, turn.locale
    span = dates.hours(start, end, zone, locale)
    parts = busy_parts(busy, start, end)
    names = event_names(events, start, end, turn)
    if parts and (parts[0][0] > start or parts[-1][1] < end or len(parts) > 1):
        taken = dates.all_of([dates.hours(s, e, zone, locale) for s, e in parts], locale)
        if names:
            return _("No — only part of {hours} is free: {busy} is busy ({events}).").format(
                hours=span, busy=taken, events=names)
        return _("No — only part of {hours} is free: {busy} is busy.").format(hours=span, busy=taken)
    if names:
        return _("No — {hours} is busy ({events}).").format(hours=span, events=names)
    return _("No — {hours} is busy.").format(hours=span)


def _overlaps(busy: Sequence[Interval], low: int, high: int) -> bool:
    return any(s < high and low < e for s, e in busy)


def why_not_free(turn: Turn, rules: AvailabilityRules, start: datetime, end: datetime,
                 label: str, events: Sequence[AgendaItem] = ()) -> Text:
    """Why one day's window ``[start, end)`` (named ``label``) has no free time; a day an all-day
    event of the host's ``events`` takes away is named by it ("Friday: Company offsite (all day)")."""
    _ = turn.gettext
    label = label[:1].upper() + label[1:]  # it opens the sentence ("lør. 5. dec." -> "Lør. 5. dec.")
    low, high = int(max(start, turn.now).timestamp()), int(end.timestamp())
    if not _working(rules, low, high):
        return Text(_("{day} is outside your working hours.").format(day=label))
    all_day = all_day_names(events, start.astimezone(turn.zone).date(), turn)
    if all_day:
        return Text(_("{day}: {events} (all day).").format(day=label, events=all_day))
    names = event_names(events, max(start, turn.now), end, turn)
    if names:
        return Text(_("{day} is fully booked ({events}).").format(day=label, events=names))
    return Text(_("{day} is fully booked.").format(day=label))
