""""Task: send the proposal to Ana on Friday": a task made from chat, and the open tasks for App Home.

:func:`answer` splits the message into what is to be done and when: the last phrase of the text
that speaks of a day (found by dateparser's search, read as every question about time is,
:func:`bot.conversation.when.parse_when`) is the due date, and a time in it ("at 3pm", "às 15h",
"kl. 15") the due time; without one the task is due today. A little word left before the date
("on", "by", "na", "até", "på", "til"...) is dropped from the title. The backend links the task
to a contact whose name or address the title mentions, when exactly one does.
"""

from __future__ import annotations

import re
from datetime import date, time

from dateparser.search import search_dates

from bot.conversation import dates
from bot.conversation.backend import TaskLine
from bot.conversation.reply import Reply, Text
from bot.conversation.turn import Turn
from bot.conversation.when import parse_when

PREFIX = re.compile(
    r"^(?:(?:add|new|create|adicionar|adicione|nova|criar|tilføj|ny|opret)\s+(?:a\s+|uma\s+|en\s+)?)?"
    r"(?:task|to-?do|tarefa|opgave)\b\s*[:\-\u2013]?\s*", re.IGNORECASE)
TRAILING = re.compile(r"\s+(?:on|by|for|at|before|no|na|em|até|ate|para|på|til|inden|senest)$",
                      re.IGNORECASE)
_HAS_TIME = re.compile(r"\d{1,2}(?::\d{2})?\s*(?:am|pm|h\b)|\b(?:at|às|as|kl\.?)\s*\d|\d{1,2}:\d{2}",
                       re.IGNORECASE)


def split_due(text: str, turn: Turn) -> tuple[str, date, time | None]:
    """(title, due date, due time) of a task message (see the module docstring)."""
    today = turn.now.astimezone(turn.zone).date()
    phrase = _date_phrase(text, turn)
    if phrase is None:
        return text.strip(" ,.;"), today, None
    when = parse_when(phrase, language=turn.locale, timezone=turn.speaker.timezone, now=turn.now)
    if not when.explicit:
        return text.strip(" ,.;"), today, None
    at_end = text.rfind(phrase)
    title = TRAILING.sub("", (text[:at_end] + text[at_end + len(phrase):]).strip()).strip(" ,.;")
    local = when.start.astimezone(turn.zone)
    at = local.time().replace(second=0, microsecond=0) if _HAS_TIME.search(phrase) else None
    return title, local.date(), at


def _date_phrase(text: str, turn: Turn) -> str | None:
    """The last words of ``text`` that speak of a day or time ("on Friday", "amanhã às 15h").

    dateparser finds where the phrase is; what it means is read by Slotbot's own
    :func:`~bot.conversation.when.parse_when`, as for every other question about time.
    """
    language = turn.locale.split("_")[0]
    settings = {"RELATIVE_BASE": turn.now.astimezone(turn.zone).replace(tzinfo=None),
                "PREFER_DATES_FROM": "future"}
    found = search_dates(text, languages=[language], settings=settings)
    return found[-1][0] if found else None


async def answer(turn: Turn, text: str) -> Reply:
    """Make the task ``text`` says, and say what was made."""
    _ = turn.gettext
    body = PREFIX.sub("", text.strip(), count=1).strip()
    if not body:
        return Reply((Text(_("What is to be done? Say it like “task: send the proposal to Ana on "
                             "Friday”.")),))
    title, due, at = split_due(body, turn)
    if not title:
        return Reply((Text(_("What is to be done? Say it like “task: send the proposal to Ana on "
                             "Friday”.")),))
    made = await turn.backend.add_task(turn.user_id, title, due, at)
    when = dates.day(made.due_date, turn.locale) + (f", {made.due_time:%H:%M}" if made.due_time else "")
    said = _("Added the task “{title}”, due {when}.").format(title=made.title, when=when)
    if made.contact_name:
        said += " " + _("It is on {name}'s record too.").format(name=made.contact_name)
    return Reply((Text(said),))


def task_line(task: TaskLine, turn: Turn) -> str:
    """One open task for App Home: due date (and time), title, contact."""
    when = dates.day(task.due_date, turn.locale) + (f", {task.due_time:%H:%M}" if task.due_time else "")
    return f"{when} · {task.title}" + (f" · {task.contact_name}" if task.contact_name else "")
