""""What's on my calendar today?": the host's own events of a day (or a few), with their titles.

:func:`answer` reads the window from the question (today when it names none; whole days, or the
hours asked for), asks the backend for the host's events across every checked calendar
(:meth:`~bot.conversation.backend.Backend.agenda`, read live) and lists them per local day in the
host's zone: the hours (or "all day"), the title, and how the event shows when that matters
(tentative, free, out of office). A calendar that could not be read is named, never skipped; an
empty day says so.

Titles are private: the answer is always a private reply (a direct message, an ephemeral message
or the host's own web chat; Teams sends it to the 1:1 chat), and the asker is the host. Nothing
here is used by pages, the widget or link previews.

:func:`event_names` and :func:`all_day_names` (PURE) word titles for the direct answers of
:mod:`.free_at`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime, time, timedelta

from bot.conversation import dates
from bot.conversation.accounts import connect_buttons, settings_button
from bot.conversation.backend import AgendaItem
from bot.conversation.reply import Block, Reply, Section, Text
from bot.conversation.texts import N_, Gettext, reason_text
from bot.conversation.turn import Turn
from bot.conversation.when import parse_when

MAX_DAYS = 7
"""Longest window listed at once (longer questions are cut, and the answer says so)."""

MARKERS = {
    "tentative": N_("tentative"),
    "free": N_("shown as free"),
    "oof": N_("out of office"),
    "working_elsewhere": N_("working elsewhere"),
}
"""How an event shows, said beside it when it is not plain busy."""

BLOCKING = frozenset({"busy", "tentative", "oof", "working_elsewhere", "unknown"})
"""The ``show_as`` values that take time away (everything but ``free``)."""


def _midnight(day: date, turn: Turn) -> datetime:
    return datetime.combine(day, time(0), turn.zone)


def window(turn: Turn, text: str) -> tuple[datetime, datetime, bool]:
    """The window the question asks about, and whether it had to be cut to :data:`MAX_DAYS`.

    Today when no time is named; whole local days when the question names days (today's past
    hours included); the hours themselves when it names hours ("this afternoon").
    """
    when = parse_when(text, language=turn.locale, timezone=turn.speaker.timezone, now=turn.now)
    today = turn.now.astimezone(turn.zone).date()
    if not when.explicit:
        return _midnight(today, turn), _midnight(today + timedelta(days=1), turn), False
    start, end = when.start.astimezone(turn.zone), when.end.astimezone(turn.zone)
    if end.time() == time(0) and when.daily is None:
        start = _midnight(start.date(), turn)  # whole days: "today" starts at midnight, not now
    limit = _midnight(start.date() + timedelta(days=MAX_DAYS), turn)
    return start, min(end, limit), end > limit


def _days(start: datetime, end: datetime, turn: Turn) -> list[date]:
    first = start.astimezone(turn.zone).date()
    last = (end - timedelta(microseconds=1)).astimezone(turn.zone).date()
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def title_of(item: AgendaItem, _: Gettext) -> str:
    """The event's title, or "Busy" when the calendar service gave none."""
    return item.title or _("Busy")


def item_line(item: AgendaItem, day: date, turn: Turn) -> str:
    """One event on ``day``: ``9:00 - 10:00 AM · Planning (tentative)``, ``All day · Offsite``."""
    _ = turn.gettext
    if item.all_day:
        when = _("All day")
    else:
        low = max(item.start, _midnight(day, turn))
        high = min(item.end, _midnight(day + timedelta(days=1), turn))
        when = dates.hours(low, high, turn.zone, turn.locale)
    line = f"{when} · {title_of(item, _)}"
    marker = MARKERS.get(item.show_as)
    return f"{line} ({_(marker)})" if marker else line


def _on(item: AgendaItem, day: date, turn: Turn) -> bool:
    return item.start < _midnight(day + timedelta(days=1), turn) and _midnight(day, turn) < item.end


def event_names(items: Sequence[AgendaItem], low: datetime, high: datetime, turn: Turn) -> str:
    """The titles of the events that take time away in ``[low, high)``, as a list ("A and B");
    ``""`` when none has a title."""
    names: list[str] = []
    for item in items:
        if item.show_as in BLOCKING and item.title and item.start < high and low < item.end:
            if item.title not in names:
                names.append(item.title)
    return dates.all_of(names, turn.locale)


def all_day_names(items: Sequence[AgendaItem], day: date, turn: Turn) -> str:
    """The titles of the all-day events that take ``day`` away ("Company offsite"); ``""``: none."""
    names: list[str] = []
    for item in items:
        if item.all_day and item.show_as in BLOCKING and item.title and _on(item, day, turn):
            if item.title not in names:
                names.append(item.title)
    return dates.all_of(names, turn.locale)


async def answer(turn: Turn, text: str) -> Reply:
    """The host's events in the window ``text`` names (a private reply: see the module docstring)."""
    _ = turn.gettext
    backend = turn.backend
    if not await backend.accounts(turn.user_id):
        blocks: list[Block] = [Text(_("You have no calendar connected yet, so I can't tell what's "
                                      "on it. Connect one:"))]
        blocks.extend(await connect_buttons(turn))
        return Reply(tuple(blocks), private=True)
    start, end, cut = window(turn, text)
    days = _days(start, end, turn)
    label = dates.days(days[0], days[-1], turn.locale)
    found = await backend.agenda(turn.user_id, start=start, end=end)
    if not found.has_calendars:
        return Reply((
            Text(_("None of your calendars is checked for conflicts, so I have no calendar to read. "
                   "Choose which ones to check in your settings.")),
            await settings_button(turn),
        ), private=True)
    blocks = [
        Text(_("Couldn't read {calendar} ({reason}): its events are missing below.").format(
            calendar=p.name, reason=reason_text(p.reason, _)))
        for p in found.problems
    ]
    if found.problems and len(found.problems) >= len(found.calendars):
        blocks[:] = [Text(_("Couldn't read {calendar} ({reason}).").format(
            calendar=p.name, reason=reason_text(p.reason, _))) for p in found.problems]
        blocks.append(Text(_("No calendar could be read, so I can't tell what's on your calendar "
                             "({window}).").format(window=label)))
        blocks.append(await settings_button(turn))
        return Reply(tuple(blocks), private=True)
    empty = _("Nothing on the calendars I could read.") if found.problems else _("Nothing on your calendar.")
    if cut:
        blocks.append(Text(_("That's a long time: I looked at the first {days} days.").format(days=MAX_DAYS)))
    blocks.append(Text(_("Your calendar, {window}:").format(window=label)))
    for day in days:
        lines = tuple(item_line(item, day, turn) for item in found.items if _on(item, day, turn))
        heading = dates.day(day, turn.locale)
        if len(days) == 1 and start.astimezone(turn.zone).time() != time(0):
            heading = f"{heading}, {dates.hours(start, end, turn.zone, turn.locale)}"
        blocks.append(Section(heading, lines or (empty,)))
    blocks.append(Text(_("Times are in {zone}.").format(zone=dates.zone_name(turn.zone, turn.locale))))
    if found.problems:
        blocks.append(await settings_button(turn))
    return Reply(tuple(blocks), private=True)
