"""The Tasks page's "Show my open tasks in my calendar" switch.

``POST /dashboard/tasks/calendar/on`` turns it on (the "Slotbot tasks" calendar is made in the
account of the default calendar, or a sentence says why not); ``GET /dashboard/tasks/calendar/off``
asks whether to delete that calendar too (a checkbox, unticked), and ``POST`` there turns it off.
The service is :mod:`bot.contacts.task_calendar`.
"""

from __future__ import annotations

from aiohttp import web

from bot.accounts.tokens import Session
from bot.contacts.task_calendar import CALENDAR_NAME, TaskCalendarRefused
from bot.handlers.dashboard_base import N_, message, page, signed_in, translator
from bot.keys import TASK_CALENDAR

BASE = "/dashboard/tasks/calendar"
NOTICES = {
    "calendar-on": N_("Your open tasks are being added to “{calendar}”."),
    "calendar-off": N_("Your tasks are being taken out of your calendar."),
    "calendar-deleted": N_("Your tasks are being taken out of your calendar, and “{calendar}” deleted."),
}
"""The Tasks page's notices by code, translated and filled with the calendar's name where shown."""


def setup(app: web.Application) -> None:
    """Add the switch's routes."""
    app.router.add_post(BASE + "/on", signed_in(turn_on))
    app.router.add_get(BASE + "/off", signed_in(confirm_off))
    app.router.add_post(BASE + "/off", signed_in(turn_off))


async def turn_on(request: web.Request, session: Session) -> web.StreamResponse:
    """Turn the switch on, then back to the Tasks page."""
    try:
        await request.app[TASK_CALENDAR].turn_on(session.user_id)
    except TaskCalendarRefused as refused:
        _ = translator(request).gettext
        return message(request, _("Tasks cannot go into your calendar"), str(refused), 409)
    raise web.HTTPSeeOther("/dashboard/tasks?notice=calendar-on#calendar")


async def confirm_off(request: web.Request, session: Session) -> web.StreamResponse:
    """Ask before turning off: delete the tasks calendar too?"""
    state = await request.app[TASK_CALENDAR].state(session.user_id)
    return page(request, "task_calendar_off.html", {"csrf": session.csrf_token, "state": state,
                                                    "name": CALENDAR_NAME})


async def turn_off(request: web.Request, session: Session) -> web.StreamResponse:
    """Turn the switch off; delete the calendar only when the box was ticked."""
    form = await request.post()
    delete = form.get("delete_calendar") == "on"
    await request.app[TASK_CALENDAR].turn_off(session.user_id, delete_calendar=delete)
    notice = "calendar-deleted" if delete else "calendar-off"
    raise web.HTTPSeeOther(f"/dashboard/tasks?notice={notice}#calendar")
