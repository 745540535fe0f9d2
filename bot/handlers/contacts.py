"""The dashboard's contacts: the list with search and pages, add, the record page, edit, delete.

``GET /dashboard/contacts?q=&page=`` lists the host's contacts (:mod:`bot.contacts.directory`);
``/dashboard/contacts/new`` adds one; ``/dashboard/contacts/{id}`` is the contact's record: its
details (a form that saves them), the meetings on it (:mod:`bot.contacts.engagements`) and its
tasks (:mod:`bot.contacts.tasks`); ``/dashboard/contacts/{id}/delete`` asks first, then deletes.
The CSV import is :mod:`bot.handlers.contact_import`. A bad field is shown again with its
sentence beside it and the values kept; another host's contact is a 404, like a missing one.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from aiohttp import web
from multidict import MultiDictProxy

from bot.accounts.tokens import Session
from bot.contacts.directory import (
    FIELDS,
    ContactDetails,
    ContactNotFound,
    ContactRefused,
    blank,
    details_of,
    display_name,
)
from bot.contacts.engagements import engagements_of
from bot.contacts.scheduling import LENGTHS
from bot.handlers import contact_import
from bot.handlers.dashboard_base import N_, message, page, signed_in, translator
from bot.keys import CONTACTS, RECORD_MEETINGS, SESSIONS, TASKS
from storage.models import Contact, User

NOTICES = {"added": N_("Contact added."), "saved": N_("Details saved."), "deleted": N_("Contact deleted."),
           "task-added": N_("Task added."), "task-saved": N_("Task saved."),
           "task-deleted": N_("Task deleted."),
           "meeting-sent": N_("Invitation sent to {email}."),
           "meeting-recorded": N_("Recorded on the record (calendar sync is off, nothing was sent)."),
           "meeting-recorded-nocal": N_("Recorded on the record (no calendar Slotbot can write to is "
                                     "connected, nothing was sent)."),
           "meeting-moved": N_("Meeting moved. {email} has been sent the new time."),
           "meeting-moved-recorded": N_("Meeting moved on the record (nothing was sent)."),
           "meeting-cancelled": N_("Meeting cancelled. {email} has been told."),
           "meeting-cancelled-recorded": N_("Meeting cancelled on the record (nothing was sent).")}


def setup(app: web.Application) -> None:
    """Add the contact routes (the import's first: its path is fixed)."""
    contact_import.setup(app)
    app.router.add_get("/dashboard/contacts", signed_in(contacts_page))
    app.router.add_get("/dashboard/contacts/new", signed_in(new_page))
    app.router.add_post("/dashboard/contacts/new", signed_in(create))
    app.router.add_get("/dashboard/contacts/{id:\\d+}", signed_in(record_page))
    app.router.add_post("/dashboard/contacts/{id:\\d+}", signed_in(save))
    app.router.add_get("/dashboard/contacts/{id:\\d+}/delete", signed_in(delete_page))
    app.router.add_post("/dashboard/contacts/{id:\\d+}/delete", signed_in(delete))


def not_found(request: web.Request) -> web.Response:
    """The page for a contact that is not the host's (or not there at all)."""
    _ = translator(request).gettext
    return message(request, _("No such contact"),
                   _("This contact does not exist, or it is not one of yours."), 404)


def notice_of(request: web.Request) -> str:
    """The sentence for the URL's notice code in the host's language ("" for none or an unknown one);
    ``{email}`` is left for the caller."""
    code = NOTICES.get(request.query.get("notice", ""))
    return translator(request).gettext(code) if code else ""


def _number(value: str | None) -> int:
    return int(value) if value and value.isdigit() and len(value) < 9 else 1


async def contacts_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The host's contacts matching ``q``, 50 a page."""
    query = request.query.get("q", "")
    found = await request.app[CONTACTS].search(session.user_id, query, _number(request.query.get("page")))

    def link(number: int) -> str:
        return "/dashboard/contacts?" + urlencode({"q": found.query, "page": number} if found.query
                                                  else {"page": number})

    return page(request, "contacts.html", {
        "csrf": session.csrf_token, "found": found, "name_of": display_name,
        "previous": link(found.page - 1) if found.page > 1 else "",
        "next": link(found.page + 1) if found.page < found.pages else "",
        "notice": notice_of(request),
    })


def _details(form: MultiDictProxy[Any]) -> ContactDetails:
    values = {key: form.get(key) for key in FIELDS}
    return ContactDetails(**{key: value if isinstance(value, str) else "" for key, value in values.items()})


def _form(request: web.Request, session: Session, fields: dict[str, str],
          problems: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return page(request, "contact_new.html", {
        "csrf": session.csrf_token, "form": fields, "problems": problems or {}}, status)


async def new_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form for a new contact."""
    return _form(request, session, blank())


async def create(request: web.Request, session: Session) -> web.StreamResponse:
    """Add the contact and open its record, or show the form again with the sentences."""
    details = _details(await request.post())
    try:
        contact_id = await request.app[CONTACTS].add(session.user_id, details)
    except ContactRefused as refused:
        return _form(request, session, blank(details), refused.problems, 400)
    raise web.HTTPSeeOther(f"/dashboard/contacts/{contact_id}?notice=added")


async def record_response(
    request: web.Request, session: Session, *, fields: dict[str, str] | None = None,
    problems: dict[str, str] | None = None, status: int = 200, extra: dict[str, Any] | None = None,
) -> web.Response:
    """The record page of the contact in the path (details, meetings, tasks, scheduling a
    meeting; ``extra``: the free times or a refusal of :mod:`bot.handlers.record_meetings`),
    or the 404 page."""
    try:
        contact = await request.app[CONTACTS].get(session.user_id, int(request.match_info["id"]))
    except ContactNotFound:
        return not_found(request)
    async with request.app[SESSIONS]() as db:
        user = await db.get(User, session.user_id)
        zone = zone_of(user)
        engagements = await engagements_of(db, contact.id, zone)
    tasks = await request.app[TASKS].list(session.user_id, contact_id=contact.id)
    notice = notice_of(request) if status == 200 and not extra else ""
    return page(request, "contact.html", {
        "csrf": session.csrf_token, "contact": contact, "title": display_name(contact),
        "form": fields or blank(details_of(contact)), "problems": problems or {},
        "engagements": engagements, "tasks": tasks, "zone": zone.key,
        "notice": notice.format(email=contact.email), "now": datetime.now(UTC), "lengths": LENGTHS,
        "host_name": user.display_name if user is not None else "you",
        "sends": await request.app[RECORD_MEETINGS].sends_invitations(session.user_id),
        "schedule": {"form": {"minutes": "30", "day": "", "title": ""}, "problem": "", "days": [],
                     "searched": False},
        **(extra or {}),
    }, status)


def zone_of(user: User | None) -> ZoneInfo:
    """The host's zone (UTC when it cannot be read)."""
    try:
        return ZoneInfo(user.timezone if user is not None else "UTC")
    except (KeyError, ValueError):
        return ZoneInfo("UTC")


async def record_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The contact's record."""
    return await record_response(request, session)


async def save(request: web.Request, session: Session) -> web.StreamResponse:
    """Save the record's details form, or show it again with the sentences and the values kept."""
    details = _details(await request.post())
    contact_id = int(request.match_info["id"])
    try:
        await request.app[CONTACTS].update(session.user_id, contact_id, details)
    except ContactNotFound:
        return not_found(request)
    except ContactRefused as refused:
        return await record_response(request, session, fields=blank(details), problems=refused.problems,
                                     status=400)
    raise web.HTTPSeeOther(f"/dashboard/contacts/{contact_id}?notice=saved")


async def _contact(request: web.Request, session: Session) -> Contact | None:
    try:
        return await request.app[CONTACTS].get(session.user_id, int(request.match_info["id"]))
    except ContactNotFound:
        return None


async def delete_page(request: web.Request, session: Session) -> web.StreamResponse:
    """Ask before deleting a contact."""
    contact = await _contact(request, session)
    if contact is None:
        return not_found(request)
    return page(request, "contact_delete.html", {
        "csrf": session.csrf_token, "contact": contact, "title": display_name(contact)})


async def delete(request: web.Request, session: Session) -> web.StreamResponse:
    """Delete the contact (the confirmation page's form) and go back to the list."""
    try:
        await request.app[CONTACTS].delete(session.user_id, int(request.match_info["id"]))
    except ContactNotFound:
        return not_found(request)
    raise web.HTTPSeeOther("/dashboard/contacts?notice=deleted")
