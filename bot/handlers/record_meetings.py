"""The record page's meetings: schedule one with the contact, move or cancel one scheduled there.

``GET /dashboard/contacts/{id}/schedule?minutes=&day=&title=`` shows the record with the host's
first free times for that length as buttons (each a small POST form); ``POST`` to the same path
schedules the chosen one (:class:`bot.contacts.scheduling.RecordMeetings`) and goes back to the
record with a notice: the invitation was sent, or (calendar sync off) it was only recorded.
``/dashboard/contacts/{id}/meetings/{meeting}/move`` offers the same picker for a meeting
scheduled from the record and moves it; ``.../cancel`` asks, then cancels it. A refusal is a
sentence beside the form with the values kept; another host's contact or meeting is a 404.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date

from bot.accounts.tokens import Session
from bot.contacts.engagements import view_of
from bot.contacts.scheduling import LENGTHS, MAX_TITLE, FreeTimes, MeetingNotFound, MeetingRefused
from bot.handlers.contacts import not_found, record_response, zone_of
from bot.handlers.dashboard_base import N_, locale_of, page, signed_in
from bot.keys import RECORD_MEETINGS, SESSIONS
from bot.plain_text import one_line
from storage.models import Contact, MeetingEngagement, User

RECORD = "/dashboard/contacts/{id:\\d+}"
MEETING = RECORD + "/meetings/{meeting:\\d+}"


def setup(app: web.Application) -> None:
    """Add the routes of scheduling, moving and cancelling from a record."""
    app.router.add_get(RECORD + "/schedule", signed_in(times_page))
    app.router.add_post(RECORD + "/schedule", signed_in(schedule))
    app.router.add_get(MEETING + "/move", signed_in(move_page))
    app.router.add_post(MEETING + "/move", signed_in(move))
    app.router.add_get(MEETING + "/cancel", signed_in(cancel_page))
    app.router.add_post(MEETING + "/cancel", signed_in(cancel))


def _text(form: Any, key: str) -> str:
    value = form.get(key)
    return value if isinstance(value, str) else ""


def _fields(form: Any) -> dict[str, str]:
    return {"minutes": _text(form, "minutes") or "30", "day": _text(form, "day").strip(),
            "title": _text(form, "title")}


def _schedule(fields: dict[str, str], problem: str = "",
              days: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    """What the record's "Schedule a meeting" section shows."""
    return {"schedule": {"form": fields, "problem": problem, "days": days or [],
                         "searched": days is not None}}


def _minutes(value: str) -> int:
    if not value.isdigit() or int(value) not in LENGTHS:
        raise MeetingRefused("length", N_("Choose a length from the list."))
    return int(value)


def _day(value: str, zone: ZoneInfo) -> date | None:
    if not value:
        return None
    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise MeetingRefused("day", N_("Enter the day as a date, like 2026-11-23.")) from None
    if day < datetime.now(zone).date():
        raise MeetingRefused("day", N_("That day is over. Pick today or a later day."))
    return day


def _title(value: str) -> str:
    title = one_line(value)
    if len(title) > MAX_TITLE:
        raise MeetingRefused("title", f"At most {MAX_TITLE} characters, please.")
    return title


def _start(value: str) -> datetime:
    try:
        start = datetime.fromisoformat(value)
    except ValueError:
        start = None
    if start is None or start.tzinfo is None:
        raise MeetingRefused("start", N_("Please pick a time from the list."))
    return start


def time_days(found: FreeTimes, locale: str = "en") -> list[dict[str, Any]]:
    """The free starts grouped by the host's local day (named in ``locale``), for the buttons."""
    zone = ZoneInfo(found.zone)
    local = [(start, start.astimezone(zone)) for start in found.starts]
    return [
        {"label": format_date(day, "EEEE d MMMM", locale=locale),
         "times": [{"start": start.astimezone(UTC).isoformat(), "label": f"{at:%H:%M}"}
                   for start, at in rows]}
        for day, rows in ((d, list(r)) for d, r in groupby(local, key=lambda pair: pair[1].date()))
    ]


async def _contact(request: web.Request, session: Session) -> Contact | None:
    async with request.app[SESSIONS]() as db:
        contact = await db.get(Contact, int(request.match_info["id"]))
    return contact if contact is not None and contact.owner_id == session.user_id else None


async def _engagement(request: web.Request, session: Session) -> tuple[Contact, MeetingEngagement] | None:
    """The contact in the path and its meeting scheduled from the record, or None (a 404)."""
    contact = await _contact(request, session)
    if contact is None:
        return None
    async with request.app[SESSIONS]() as db:
        found = await db.get(MeetingEngagement, int(request.match_info["meeting"]))
    if found is None or found.contact_id != contact.id or found.source != "contact_record":
        return None
    return contact, found


async def _host(request: web.Request, session: Session) -> User | None:
    async with request.app[SESSIONS]() as db:
        return await db.get(User, session.user_id)


async def _zone(request: web.Request, session: Session) -> ZoneInfo:
    return zone_of(await _host(request, session))


async def times_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The record with the first free times for the length (and day) asked for."""
    if await _contact(request, session) is None:
        return not_found(request)
    fields = _fields(request.query)
    zone = await _zone(request, session)
    try:
        found = await request.app[RECORD_MEETINGS].free_times(
            session.user_id, _minutes(fields["minutes"]), day=_day(fields["day"], zone),
            now=datetime.now(UTC))
        _title(fields["title"])
    except MeetingRefused as refused:
        return await record_response(request, session, extra=_schedule(fields, str(refused)), status=400)
    days = time_days(found, locale_of(request))
    return await record_response(request, session, extra=_schedule(fields, days=days))


async def schedule(request: web.Request, session: Session) -> web.StreamResponse:
    """Schedule the picked time and go back to the record with what happened."""
    contact = await _contact(request, session)
    if contact is None:
        return not_found(request)
    form = await request.post()
    fields = _fields(form)
    try:
        made = await request.app[RECORD_MEETINGS].schedule(
            session.user_id, contact.id, _start(_text(form, "start")), _minutes(fields["minutes"]),
            now=datetime.now(UTC), title=_title(fields["title"]))
    except MeetingNotFound:
        return not_found(request)
    except MeetingRefused as refused:
        return await record_response(request, session, extra=_schedule(fields, str(refused)),
                                     status=409 if refused.code == "taken" else 400)
    notice = "meeting-sent" if made.sent else await _recorded_notice(request, session)
    raise web.HTTPSeeOther(f"/dashboard/contacts/{contact.id}?notice={notice}")


async def _recorded_notice(request: web.Request, session: Session) -> str:
    """Why nothing was sent: calendar sync is off, or there is no calendar to write to."""
    host = await _host(request, session)
    return "meeting-recorded-nocal" if host is not None and host.calendar_sync else "meeting-recorded"


async def move_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The record with the free times a meeting scheduled there can move to."""
    found = await _engagement(request, session)
    if found is None:
        return not_found(request)
    return await _move_picker(request, session, found[1], _text(request.query, "day").strip())


async def _move_picker(request: web.Request, session: Session, found: MeetingEngagement, day: str,
                       problem: str = "", status: int = 200) -> web.Response:
    zone = await _zone(request, session)
    moving: dict[str, Any] = {"meeting": view_of(found, zone), "day": day, "problem": problem,
                              "days": [], "searched": False}
    minutes = int((found.end_at - found.start_at).total_seconds() // 60)
    if not problem:
        try:
            times = await request.app[RECORD_MEETINGS].free_times(
                session.user_id, minutes, day=_day(day, zone), now=datetime.now(UTC))
            moving["days"], moving["searched"] = time_days(times, locale_of(request)), True
        except MeetingRefused as refused:
            moving["problem"], status = str(refused), 400
    return await record_response(request, session, extra={"moving": moving}, status=status)


async def move(request: web.Request, session: Session) -> web.StreamResponse:
    """Move the meeting to the picked time and go back to the record."""
    found = await _engagement(request, session)
    if found is None:
        return not_found(request)
    contact, engagement = found
    form = await request.post()
    try:
        moved = await request.app[RECORD_MEETINGS].move(
            session.user_id, engagement.id, _start(_text(form, "start")), now=datetime.now(UTC))
    except MeetingNotFound:
        return not_found(request)
    except MeetingRefused as refused:
        return await _move_picker(request, session, engagement, "", str(refused),
                                  409 if refused.code == "taken" else 400)
    notice = "meeting-moved" if moved.sent else "meeting-moved-recorded"
    raise web.HTTPSeeOther(f"/dashboard/contacts/{contact.id}?notice={notice}")


async def cancel_page(request: web.Request, session: Session) -> web.StreamResponse:
    """Ask before cancelling a meeting scheduled from the record."""
    found = await _engagement(request, session)
    if found is None:
        return not_found(request)
    contact, engagement = found
    zone = await _zone(request, session)
    return page(request, "contact_meeting_cancel.html", {
        "csrf": session.csrf_token, "contact": contact, "meeting": view_of(engagement, zone),
        "title": contact.name or contact.email, "sent": engagement.booking_id is not None})


async def cancel(request: web.Request, session: Session) -> web.StreamResponse:
    """Cancel the meeting (the confirmation's form) and go back to the record."""
    found = await _engagement(request, session)
    if found is None:
        return not_found(request)
    contact, engagement = found
    try:
        cancelled = await request.app[RECORD_MEETINGS].cancel(session.user_id, engagement.id)
    except MeetingNotFound:
        return not_found(request)
    notice = "meeting-cancelled" if cancelled.sent else "meeting-cancelled-recorded"
    raise web.HTTPSeeOther(f"/dashboard/contacts/{contact.id}?notice={notice}")
