"""The dashboard's tasks: the list (open first, by due), add, edit, done / not done, delete.

``GET /dashboard/tasks`` lists the host's tasks with a form to add one; ``GET
/dashboard/tasks/new?contact=<id>`` is that form linked to a contact (the record page's "Add a
task"); ``/dashboard/tasks/{id}`` edits one; ``POST /dashboard/tasks/{id}/done`` (``value=on|off``)
and ``POST /dashboard/tasks/{id}/delete`` change it. The contact is named by its e-mail address
in the form. After a change the host goes back where they came from (``back``: the task list or
a contact's record, nothing else). The service is :mod:`bot.contacts.tasks`; the page's "Show my
open tasks in my calendar" switch is :mod:`bot.handlers.task_calendar`.
"""

from __future__ import annotations

import re
from typing import Any

from aiohttp import web
from multidict import MultiDictProxy

from bot.accounts.tokens import Session
from bot.contacts.directory import ContactNotFound
from bot.contacts.task_calendar import CALENDAR_NAME
from bot.contacts.tasks import TaskDetails, TaskNotFound, TaskRefused, TaskView
from bot.handlers.dashboard_base import N_, message, page, signed_in, translator
from bot.handlers.task_calendar import NOTICES as CALENDAR_NOTICES
from bot.keys import CONTACTS, TASK_CALENDAR, TASKS

LIST = "/dashboard/tasks"
_BACK = re.compile(r"^/dashboard/(?:tasks|contacts/\d{1,9})$")
NOTICES = {"added": N_("Task added."), "saved": N_("Task saved."), "deleted": N_("Task deleted."),
           **CALENDAR_NOTICES}


def setup(app: web.Application) -> None:
    """Add the task routes."""
    app.router.add_get(LIST, signed_in(tasks_page))
    app.router.add_get(LIST + "/new", signed_in(new_page))
    app.router.add_post(LIST + "/new", signed_in(create))
    app.router.add_get(LIST + "/{id:\\d+}", signed_in(edit_page))
    app.router.add_post(LIST + "/{id:\\d+}", signed_in(save))
    app.router.add_post(LIST + "/{id:\\d+}/done", signed_in(done))
    app.router.add_post(LIST + "/{id:\\d+}/delete", signed_in(delete))


def back_of(value: object) -> str:
    """Where to go after a change: the task list or a contact's record (never anywhere else)."""
    return value if isinstance(value, str) and _BACK.match(value) else LIST


def _landing(back: str, notice: str) -> str:
    prefix = "task-" if back.startswith("/dashboard/contacts/") else ""
    return f"{back}?notice={prefix}{notice}"


def _not_found(request: web.Request) -> web.Response:
    _ = translator(request).gettext
    return message(request, _("No such task"), _("This task does not exist, or it is not one of yours."), 404)


def _fields(form: MultiDictProxy[Any] | dict[str, str]) -> dict[str, str]:
    return {key: value if isinstance(value := form.get(key), str) else ""
            for key in ("title", "due_date", "due_time", "contact", "back")}


def _fields_of(task: TaskView, contact_email: str) -> dict[str, str]:
    return {"title": task.title, "due_date": task.due_date.isoformat(),
            "due_time": task.due_time.strftime("%H:%M") if task.due_time else "",
            "contact": contact_email, "back": LIST}


def _form(request: web.Request, session: Session, fields: dict[str, str], *, task_id: int | None = None,
          problems: dict[str, str] | None = None, status: int = 200) -> web.Response:
    return page(request, "task_form.html", {
        "csrf": session.csrf_token, "form": fields, "problems": problems or {}, "task_id": task_id,
        "action": f"{LIST}/{task_id}" if task_id else f"{LIST}/new"}, status)


async def tasks_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The host's tasks and the form to add one."""
    tasks = await request.app[TASKS].list(session.user_id)
    return page(request, "tasks.html", {
        "csrf": session.csrf_token,
        "open": [t for t in tasks if not t.done], "done": [t for t in tasks if t.done],
        "form": _fields({"back": LIST}), "problems": {},
        "calendar": await request.app[TASK_CALENDAR].state(session.user_id),
        "notice": _notice(request)})


def _notice(request: web.Request) -> str:
    """The sentence for the URL's notice code, in the host's language ("" for none or an unknown one)."""
    code = NOTICES.get(request.query.get("notice", ""))
    return translator(request).gettext(code).format(calendar=CALENDAR_NAME) if code else ""


async def new_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form for a new task, linked to ``?contact=<id>`` when given."""
    fields = _fields({"back": LIST})
    contact = request.query.get("contact", "")
    if contact.isdigit() and len(contact) < 10:
        try:
            found = await request.app[CONTACTS].get(session.user_id, int(contact))
        except ContactNotFound:
            _ = translator(request).gettext
            return message(request, _("No such contact"),
                           _("This contact does not exist, or it is not one of yours."), 404)
        fields.update(contact=found.email, back=f"/dashboard/contacts/{found.id}")
    return _form(request, session, fields)


async def _details(request: web.Request, session: Session, fields: dict[str, str]) -> TaskDetails:
    """The form's task; :class:`TaskRefused` when the contact's address is not a known contact."""
    contact_id: int | None = None
    if fields["contact"].strip():
        found = await request.app[CONTACTS].find(session.user_id, fields["contact"])
        if found is None:
            _ = translator(request).gettext
            raise TaskRefused({"contact": _("None of your contacts has this e-mail address. "
                                            "Add the contact first, or leave this empty.")})
        contact_id = found.id
    return TaskDetails(fields["title"], fields["due_date"], fields["due_time"], contact_id)


async def create(request: web.Request, session: Session) -> web.StreamResponse:
    """Add the task, or show the form again with the sentences and the values kept."""
    fields = _fields(await request.post())
    fields["back"] = back_of(fields["back"])
    try:
        await request.app[TASKS].create(session.user_id, await _details(request, session, fields))
    except TaskRefused as refused:
        return _form(request, session, fields, problems=refused.problems, status=400)
    raise web.HTTPSeeOther(_landing(fields["back"], "added"))


async def edit_page(request: web.Request, session: Session) -> web.StreamResponse:
    """The form to change a task."""
    try:
        task = await request.app[TASKS].get(session.user_id, int(request.match_info["id"]))
    except TaskNotFound:
        return _not_found(request)
    email = ""
    if task.contact_id is not None:
        try:
            email = (await request.app[CONTACTS].get(session.user_id, task.contact_id)).email
        except ContactNotFound:
            email = ""
    fields = _fields_of(task, email)
    fields["back"] = back_of(request.query.get("back"))
    return _form(request, session, fields, task_id=task.id)


async def save(request: web.Request, session: Session) -> web.StreamResponse:
    """Save the changed task, or show the form again."""
    task_id = int(request.match_info["id"])
    fields = _fields(await request.post())
    fields["back"] = back_of(fields["back"])
    try:
        await request.app[TASKS].update(session.user_id, task_id, await _details(request, session, fields))
    except TaskNotFound:
        return _not_found(request)
    except TaskRefused as refused:
        return _form(request, session, fields, task_id=task_id, problems=refused.problems, status=400)
    raise web.HTTPSeeOther(_landing(fields["back"], "saved"))


async def done(request: web.Request, session: Session) -> web.StreamResponse:
    """Mark the task done (``value=on``) or not done."""
    form = await request.post()
    try:
        value = form.get("value") == "on"
        await request.app[TASKS].set_done(session.user_id, int(request.match_info["id"]), value)
    except TaskNotFound:
        return _not_found(request)
    raise web.HTTPSeeOther(back_of(form.get("back")))


async def delete(request: web.Request, session: Session) -> web.StreamResponse:
    """Delete the task."""
    form = await request.post()
    try:
        await request.app[TASKS].delete(session.user_id, int(request.match_info["id"]))
    except TaskNotFound:
        return _not_found(request)
    raise web.HTTPSeeOther(_landing(back_of(form.get("back")), "deleted"))
