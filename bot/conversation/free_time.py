""""When am I free?": free ranges per day, and the answer that lists them.

:func:`free_ranges` is PURE: the working hours of the user's default page inside the window (and
inside the hours asked for), minus busy time, cut at ``now``, grouped by local day.
:func:`answer` asks the backend for busy time across every checked calendar and words the result.

Unknown is never free: when a calendar cannot be read the answer says which one and why, and the
ranges it still shows are clearly marked as free only in the calendars that could be read; when
no calendar could be read it shows no ranges at all.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from bot.availability import (
    AvailabilityRules,
    Interval,
    ceil_seconds,
    floor_seconds,
    intersect,
    local_seconds,
    merge,
    subtract,
    working_intervals,
)
from bot.conversation import dates
from bot.conversation.accounts import connect_buttons, settings_button
from bot.conversation.reply import Block, Reply, Section, Text
from bot.conversation.texts import reason_text
from bot.conversation.turn import Turn, page_rules
from bot.conversation.when import When, parse_when

MAX_DAYS = 14
"""Longest window answered at once (longer questions are cut, and the answer says so)."""

MIN_MINUTES = 15
"""Shortest free range shown when no meeting length was asked for."""


@dataclass(frozen=True, slots=True)
class FreeDay:
    """The free ranges of one local day (aware UTC datetimes)."""

    day: date
    ranges: tuple[tuple[datetime, datetime], ...]


def free_ranges(
    rules: AvailabilityRules,
    *,
    start: datetime,
    end: datetime,
    now: datetime,
    busy: Sequence[Interval],
    daily: tuple[time, time] | None = None,
    min_minutes: int = MIN_MINUTES,
) -> list[FreeDay]:
    """Working hours in ``[max(start, now), end)`` (and in ``daily`` hours) minus ``busy``.

    ``busy`` are epoch-second intervals; ranges shorter than ``min_minutes`` are left out.
    """
    zone = rules.zone
    low, high = max(ceil_seconds(start), ceil_seconds(now)), floor_seconds(end)
    if high <= low:
        return []
    blocked = merge(busy)
    out: list[FreeDay] = []
    for day, range_start, range_end in working_intervals(rules, low, high):
        window: list[Interval] = [(max(range_start, low), min(range_end, high))]
        if daily is not None:
            after = local_seconds(day, daily[0], zone)
            before = (
                local_seconds(day + timedelta(days=1), time(0), zone)
                if daily[1] == time(0)
                else local_seconds(day, daily[1], zone)
            )
            window = intersect(window, [(after, before)])
        free = [
            (s, e) for s, e in subtract(window, blocked) if e - s >= max(min_minutes, 1) * 60
        ]
        if not free:
            continue
        spans = tuple(
            (datetime.fromtimestamp(s, UTC), datetime.fromtimestamp(e, UTC)) for s, e in free
        )
        if out and out[-1].day == day:
            out[-1] = FreeDay(day, out[-1].ranges + spans)
        else:
            out.append(FreeDay(day, spans))
    return out


def window_label(turn: Turn, when: When) -> str:
    """The window of a question as the answer names it: a day (with hours) or a range of days."""
    zone, locale = turn.zone, turn.locale
    first = when.start.astimezone(zone)
    last = (when.end - timedelta(microseconds=1)).astimezone(zone)
    label = dates.days(first.date(), last.date(), locale)
    whole_day = first.time() == time(0) and when.end.astimezone(zone).time() == time(0)
    if first.date() == last.date() and not whole_day:
        label = f"{label}, {dates.hours(when.start, when.end, zone, locale)}"
    return label


async def answer(turn: Turn, text: str) -> Reply:
    """The free-time answer for the question ``text``."""
    _ = turn.gettext
    backend = turn.backend
    pages = await backend.pages(turn.user_id)
    page = pages[0] if pages else None
    base = page_rules(page, turn.speaker.timezone)
    workdays = [day for day, hours in base.weekly.items() if hours]
    when = parse_when(
        text, language=turn.locale, timezone=turn.speaker.timezone, now=turn.now, workdays=workdays
    )
    if when.end <= turn.now:
        return Reply((Text(_("That time is already over. Ask me about today or later.")),))
    accounts = await backend.accounts(turn.user_id)
    if not accounts:
        blocks: list[Block] = [Text(_("You have no calendar connected yet, so I can't tell when "
                                      "you're free. Connect one:"))]
        blocks.extend(await connect_buttons(turn))
        return Reply(tuple(blocks))
    notes: list[Block] = []
    if not when.explicit:
        notes.append(Text(_("You didn't say when, so I looked at the rest of today and the next "
                            "3 working days.")))
    start, end = when.start, when.end
    limit = datetime.combine(
        start.astimezone(turn.zone).date() + timedelta(days=MAX_DAYS), time(0), turn.zone
    )
    if end > limit:
        end = limit
        notes.append(Text(_("That's a long time: I looked at the first {days} days.").format(days=MAX_DAYS)))
    if when.explicit:
        when = When(start, end, when.duration_minutes, when.daily, True)
    length = when.duration_minutes
    if length:
        notes.append(Text(_("Only free time of at least {length} is shown.").format(
            length=dates.minutes(length, turn.locale))))
    rules = page_rules(page, turn.speaker.timezone, durations=(length or base.durations[0],))
    found = await backend.availability(
        turn.user_id, start=start, end=end, now=turn.now, rules=rules,
        duration_minutes=length or base.durations[0],
    )
    if not found.has_calendars:
        return Reply((
            Text(_("None of your calendars is checked for conflicts, so I can't tell when you're "
                   "free. Choose which ones to check in your settings.")),
            await settings_button(turn),
        ))
    days = free_ranges(
        rules, start=start, end=end, now=turn.now, busy=found.result.busy_seconds,
        daily=when.daily, min_minutes=length or MIN_MINUTES,
    )
    label = window_label(turn, when)
    problems = [
        Text(_("Couldn't read {calendar} ({reason}) — results may be incomplete.").format(
            calendar=p.name, reason=reason_text(p.reason, _)))
        for p in found.problems
    ]
    if problems and len(found.problems) >= len(found.calendars):
        return Reply((
            *problems,
            Text(_("No calendar could be read, so I can't tell when you're free ({window}).").format(
                window=label)),
            await settings_button(turn),
        ))
    if problems:
        heading = _("These look free in the calendars that could be read, {window} — not certain:")
    else:
        heading = _("You're free at these times, {window}:")
    blocks = [*problems, *notes, Text(heading.format(window=label))]
    zone_name = dates.zone_name(turn.zone, turn.locale)
    for free_day in days:
        blocks.append(Section(
            dates.day(free_day.day, turn.locale),
            tuple(dates.hours(s, e, turn.zone, turn.locale) for s, e in free_day.ranges),
        ))
    if not days:
        blocks.append(Text(_("No free time within your working hours then.")))
    else:
        blocks.append(Text(_("Times are in {zone}.").format(zone=zone_name)))
    if problems:
        blocks.append(await settings_button(turn))
    return Reply(tuple(blocks))
