""""When am I free?": free ranges per day, and the answer that lists them.

:func:`free_ranges` is PURE: the working hours of the user's default page inside the window (and
inside the hours asked for), minus busy time, cut at ``now``, grouped by local day.
:func:`answer` asks the backend for busy time across every checked calendar and words the result.

A "no" names what is busy with the host's own event titles (read for the asked window only; see
:mod:`.free_at`): these replies are private, and the asker is always the host.

Unknown is never free: when a calendar cannot be read the answer says which one and why, and the
ranges it still shows are clearly marked as free only in the calendars that could be read; when
no calendar could be read it shows no ranges at all.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import datetime, time, timedelta

from bot.availability import Interval
from bot.conversation import dates
from bot.conversation.accounts import connect_buttons, settings_button
from bot.conversation.backend import AgendaItem
from bot.conversation.free_at import look_ahead_end, point_answer, why_not_free
from bot.conversation.free_days import MIN_MINUTES as MIN_MINUTES
from bot.conversation.free_days import FreeDay as FreeDay
from bot.conversation.free_days import free_ranges as free_ranges
from bot.conversation.reply import Block, Reply, Section, Text
from bot.conversation.texts import reason_text
from bot.conversation.turn import Turn, page_rules
from bot.conversation.when import When, normalize, parse_when

_ASKS_WHEN = re.compile(r"\b(?:when|quando|hvornår|hvornar|what times?|que horas?|hvilke tider)\b")
"""A question for a list of times, not a yes or no, even when it names one moment."""

MAX_DAYS = 14
"""Longest window answered at once (longer questions are cut, and the answer says so)."""

def _overlaps(busy: Sequence[Interval], start: datetime, end: datetime) -> bool:
    low, high = start.timestamp(), end.timestamp()
    return any(s < high and low < e for s, e in busy)


async def _own_events(turn: Turn, start: datetime, end: datetime) -> tuple[AgendaItem, ...]:
    """The host's own events in the window, to name what is busy. The speaker is always the host
    and these answers are private replies; an unreadable calendar just leaves names out."""
    if end <= start:
        return ()
    found = await turn.backend.agenda(turn.user_id, start=start, end=end)
    return found.items


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
        when = When(start, end, when.duration_minutes, when.daily, True, when.point)
    length = when.duration_minutes
    if length:
        notes.append(Text(_("Only free time of at least {length} is shown.").format(
            length=dates.minutes(length, turn.locale))))
    rules = page_rules(page, turn.speaker.timezone, durations=(length or base.durations[0],))
    direct = when.point and not _ASKS_WHEN.search(normalize(text))
    found = await backend.availability(
        turn.user_id, start=start, end=look_ahead_end(start, turn) if direct else end, now=turn.now,
        rules=rules,
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
    zone_name = dates.zone_name(turn.zone, turn.locale)
    one_day = start.astimezone(turn.zone).date() == (end - timedelta(microseconds=1)).astimezone(
        turn.zone).date()
    if direct and not problems:
        busy = found.result.busy_seconds
        events = await _own_events(turn, start, end) if _overlaps(busy, start, end) else ()
        answered = point_answer(turn, rules, start, end, busy, events)
        return Reply((*answered, Text(_("Times are in {zone}.").format(zone=zone_name))), private=True)
    if one_day and not days and not problems:
        events = await _own_events(turn, max(start, turn.now), end)
        return Reply((*notes, why_not_free(turn, rules, start, end, label, events)), private=True)
    if problems:
        heading = (_("These look free in the calendars that could be read — not certain:") if one_day
                   else _("These look free in the calendars that could be read, {window} — not certain:"))
    else:
        heading = _("You're free at these times:") if one_day else _("You're free at these times, {window}:")
    blocks = [*problems, *notes, Text(heading.format(window=label))]
    for free_day in days:
        blocks.append(Section(
            label if one_day else dates.day(free_day.day, turn.locale),
            tuple(dates.hours(s, e, turn.zone, turn.locale) for s, e in free_day.ranges),
        ))
    if not days:
        blocks.append(Text(_("No free time within your working hours then.")))
    else:
        blocks.append(Text(_("Times are in {zone}.").format(zone=zone_name)))
    if problems:
        blocks.append(await settings_button(turn))
    return Reply(tuple(blocks))
