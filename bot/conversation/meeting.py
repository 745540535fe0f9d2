""""Schedule 30 minutes with ana@example.com tomorrow afternoon": free times as buttons, then the meeting.

:func:`answer` reads the contact's address and the time (the same phrases as "when am I free?":
:func:`bot.conversation.when.parse_when`; the length defaults to 30 minutes), finds the contact
(or makes one, named from the address, and says so) and offers the first free times as buttons.
A button's value is ``<contact id> <start, ISO UTC> <minutes>``; :func:`confirm` (the
:data:`ACTION` button) schedules that meeting through the backend: with calendar sync on it goes
into the default calendar and the contact is invited, otherwise it is only recorded on the
contact's record. Every refusal is a sentence in the reader's language.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta

from bot.conversation import dates
from bot.conversation.backend import MeetingRefusal
from bot.conversation.free_time import MAX_DAYS, window_label
from bot.conversation.reply import Block, Button, Reply, Text
from bot.conversation.texts import Gettext
from bot.conversation.turn import Turn, page_rules
from bot.conversation.when import When, parse_when

ACTION = "schedule_meeting"
DEFAULT_MINUTES = 30
EMAIL = re.compile(r"[\w.+'-]+@[\w-]+(?:\.[\w-]+)+", re.UNICODE)
_WORDS = re.compile(
    r"\b(?:schedule|book|set up|arrange|plan|a meeting|meeting|with|agendar|agende|marcar|marque"
    r"|uma reunião|reunião|com|planlæg|planlaeg|book et møde|et møde|møde|med)\b"
)


def _refusal(code: str, _: Gettext) -> str:
    return {
        "taken": _("That time isn't free any more. Ask me again for other times."),
        "unreadable": _("One of your calendars couldn't be read just now, so I can't offer times. "
                        "Please try again in a moment."),
        "length": _("A meeting can be 5 minutes to 8 hours long."),
        "address": _("That isn't an e-mail address I can use."),
    }.get(code, _("I couldn't find that contact any more. Please ask me again."))


async def answer(turn: Turn, text: str) -> Reply:
    """The first free times for the meeting ``text`` asks for, as buttons."""
    _ = turn.gettext
    found = EMAIL.search(text)
    if found is None:
        return Reply((Text(_("Who with? Give me their e-mail address, like “schedule 30 minutes "
                             "with ana@example.com tomorrow afternoon”.")),))
    rest = _WORDS.sub(" ", (text[: found.start()] + " " + text[found.end():]).lower())
    pages = await turn.backend.pages(turn.user_id)
    base = page_rules(pages[0] if pages else None, turn.speaker.timezone)
    workdays = [day for day, hours in base.weekly.items() if hours]
    when = parse_when(" ".join(rest.split()), language=turn.locale, timezone=turn.speaker.timezone,
                      now=turn.now, workdays=workdays)
    if when.end <= turn.now:
        return Reply((Text(_("That time is already over. Ask me about today or later.")),))
    minutes = when.duration_minutes or DEFAULT_MINUTES
    limit = datetime.combine(when.start.astimezone(turn.zone).date() + timedelta(days=MAX_DAYS),
                             time(0), turn.zone)
    when = When(when.start, min(when.end, limit), minutes, when.daily, when.explicit)
    try:
        contact = await turn.backend.meeting_contact(turn.user_id, found.group(0))
        starts = await turn.backend.meeting_times(turn.user_id, minutes, start=when.start,
                                                  end=when.end, now=turn.now)
    except MeetingRefusal as refused:
        return Reply((Text(_refusal(refused.code, _)),))
    starts = tuple(s for s in starts if _in_hours(s, when, turn))
    blocks: list[Block] = []
    if contact.created:
        blocks.append(Text(_("{email} wasn't one of your contacts yet, so I added them as {name}.").format(
            email=contact.email, name=contact.name)))
    length = dates.minutes(minutes, turn.locale)
    window = window_label(turn, when)
    if not starts:
        blocks.append(Text(_("No free time for {length} with {name}, {window}. Try another day.").format(
            length=length, name=contact.name, window=window)))
        return Reply(tuple(blocks))
    blocks.append(Text(_("Pick a time for {length} with {name} ({email}), {window}:").format(
        length=length, name=contact.name, email=contact.email, window=window)))
    for start in starts:
        day, clock = dates.moment(start, turn.zone, turn.locale)
        blocks.append(Button(f"{day}, {clock}", action=ACTION,
                             value=f"{contact.id} {start.astimezone(UTC).isoformat()} {minutes}"))
    blocks.append(Text(_("Times are in {zone}.").format(zone=dates.zone_name(turn.zone, turn.locale))))
    return Reply(tuple(blocks))


def _in_hours(start: datetime, when: When, turn: Turn) -> bool:
    """Whether ``start`` is inside the hours asked for on every day (``daily``), if any."""
    if when.daily is None:
        return True
    local = start.astimezone(turn.zone).time()
    after, before = when.daily
    return after <= local and (before == time(0) or local < before)


def _parsed(value: str) -> tuple[int, datetime, int] | None:
    parts = value.split()
    if len(parts) != 3 or not parts[0].isdigit() or not parts[2].isdigit():
        return None
    try:
        start = datetime.fromisoformat(parts[1])
    except ValueError:
        return None
    return (int(parts[0]), start, int(parts[2])) if start.tzinfo is not None else None


async def confirm(turn: Turn, value: str) -> Reply:
    """Schedule the meeting of a pressed time button."""
    _ = turn.gettext
    parsed = _parsed(value)
    if parsed is None:
        return Reply((Text(_("That button no longer does anything. Say “help” to see what I can do.")),))
    contact_id, start, minutes = parsed
    try:
        made = await turn.backend.schedule_meeting(turn.user_id, contact_id, start, minutes, now=turn.now)
    except MeetingRefusal as refused:
        return Reply((Text(_refusal(refused.code, _)),))
    day, clock = dates.moment(made.start, turn.zone, turn.locale)
    when = f"{day}, {clock}"
    if made.sent:
        said = _("Done: “{title}” with {name}, {when}. The invitation went to {email}.")
    else:
        said = _("Done: “{title}” with {name}, {when}, is on their contact record. Nothing was sent: "
                 "calendar sync is off, or no calendar I can write to is connected.")
    return Reply((Text(said.format(title=made.title, name=made.contact_name, when=when,
                                   email=made.contact_email)),))
