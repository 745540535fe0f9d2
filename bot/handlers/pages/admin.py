"""The dashboard's pages section: a host's scheduling pages, their settings and the profile.

``/dashboard/pages`` lists the pages with their links (on the host's chosen domain), the
all-pages switch and the profile (URL slug, link domain, zone); admins also see the custom
domains. Each page has an edit form (``/dashboard/pages/<id>``), a preview that renders the page
as visitors see it (booking switched off; the page template has the page's id for its way
back to ``/dashboard/pages/<id>``), "make default" and delete. Every form carries the session's
CSRF token (see :func:`bot.handlers.dashboard_base.signed_in`).

Destructive actions (delete a page, turn all pages off, remove a domain) only act on a post with
``confirm=yes``; without it they answer with a confirmation page (``page_confirm.html``) whose
button posts the same form confirmed, so they are confirmed without JavaScript too.
"""

from __future__ import annotations

from typing import Any

from aiohttp import web
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.accounts.tokens import Session
from bot.handlers.dashboard_base import page as dashboard_page
from bot.handlers.dashboard_base import signed_in, translator
from bot.handlers.pages.page import render_page
from bot.keys import DOMAINS, LINKS, PUBLIC_PAGES, SESSIONS
from bot.pages.domains import DomainError
from bot.pages.location import LocationKind
from bot.pages.page_form import COMMON_LENGTHS, DEFAULT_COLOUR, REMINDER_CHOICES, editor_rows
from bot.pages.settings import PageSettings, PageSettingsError, page_form, parse_page_form
from storage.calendar_models import Calendar, CalendarConnection
from storage.models import User

PROVIDER_NAMES = {"google": "Google", "microsoft": "Microsoft 365", "exchange": "Exchange",
                  "caldav": "CalDAV", "local": "Slotbot", "feed": "an ICS feed"}
LOCATION_CHOICES = (
    (LocationKind.NONE, "Not said"),
    (LocationKind.GOOGLE_MEET, "Google Meet"),
    (LocationKind.TEAMS, "Microsoft Teams meeting"),
    (LocationKind.LINK, "Video link (Zoom, Whereby, any https link)"),
    (LocationKind.PHONE, "Phone call: the visitor calls your number"),
    (LocationKind.VISITOR_PHONE, "Phone call: you call the visitor (they give their number)"),
    (LocationKind.IN_PERSON, "In person (an address)"),
)
REMINDER_NAMES = {1440: "24 hours before", 60: "1 hour before", 15: "15 minutes before"}

SETTINGS_KEY = web.AppKey("page_settings", PageSettings)


def setup(app: web.Application) -> None:
    """Add the pages section of the dashboard."""
    app.on_startup.append(_start)
    app.router.add_get("/dashboard/pages", signed_in(pages_view))
    app.router.add_post("/dashboard/pages/profile", signed_in(profile_save))
    app.router.add_post("/dashboard/pages/switch", signed_in(switch))
    app.router.add_post("/dashboard/domains", signed_in(domain_action))
    app.router.add_get("/dashboard/pages/new", signed_in(edit_view))
    app.router.add_post("/dashboard/pages/new", signed_in(edit_save))
    app.router.add_get("/dashboard/pages/{id:\\d+}", signed_in(edit_view))
    app.router.add_post("/dashboard/pages/{id:\\d+}", signed_in(edit_save))
    app.router.add_get("/dashboard/pages/{id:\\d+}/preview", signed_in(preview))
    app.router.add_post("/dashboard/pages/{id:\\d+}/default", signed_in(make_default))
    app.router.add_post("/dashboard/pages/{id:\\d+}/delete", signed_in(delete))


async def _start(app: web.Application) -> None:
    app[SETTINGS_KEY] = PageSettings(app[SESSIONS])


def _render(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A dashboard template in the host's language, never cached (:func:`dashboard_base.page`)."""
    return dashboard_page(request, name, context, status)


async def pages_view(request: web.Request, session: Session, *, notice: str = "",
                     problems: list[str] | None = None, status: int = 200) -> web.Response:
    """The host's pages, the all-pages switch, the profile and (admins) custom domains."""
    links = request.app[LINKS]
    if not notice and request.query.get("saved"):
        notice = translator(request).gettext("Saved. Visitors see the change at once.")
    pages = await request.app[SETTINGS_KEY].pages(session.user_id)
    domains = await request.app[DOMAINS].all()
    async with request.app[SESSIONS]() as db:
        user = await db.get(User, session.user_id)
        if user is None:
            raise web.HTTPNotFound()
        listed = [{"page": page, "link": await links.page_of(db, user, page)} for page in pages]
    return _render(request, "pages_admin.html", {
        "user": user, "pages": listed, "csrf": session.csrf_token, "notice": notice,
        "problems": problems or [], "domains": [d for d in domains if d.active],
        "all_domains": domains if user.is_admin else [], "main": links.base_url,
    }, status)


async def profile_save(request: web.Request, session: Session) -> web.StreamResponse:
    """Save the URL slug, link domain and zone."""
    form = await request.post()
    domain = str(form.get("domain", ""))
    try:
        await request.app[SETTINGS_KEY].set_profile(
            session.user_id, slug=str(form.get("slug", "")),
            domain_id=int(domain) if domain.isdigit() else None, timezone=str(form.get("timezone", "")),
        )
    except PageSettingsError as exc:
        return await pages_view(request, session, problems=exc.problems, status=400)
    _ = translator(request).gettext
    return await pages_view(request, session, notice=_("Saved. Every link uses the new address now."))


def _confirm(request: web.Request, session: Session, *, title: str, text: str, button: str,
             fields: dict[str, str]) -> web.Response:
    """The confirmation page of a destructive action: its button posts ``fields`` confirmed."""
    return _render(request, "page_confirm.html", {
        "title": title, "text": text, "button": button, "action": request.path,
        "fields": fields, "csrf": session.csrf_token,
    })


async def switch(request: web.Request, session: Session) -> web.StreamResponse:
    """Turn all pages on, or (confirmed) off."""
    form = await request.post()
    enabled = form.get("enabled") == "on"
    _ = translator(request).gettext
    if not enabled and form.get("confirm") != "yes":
        return _confirm(request, session, title=_("Turn all your pages off?"),
                        text=_("Visitors are told you are not taking bookings until you turn them "
                               "back on. Nothing is deleted and booked meetings stay."),
                        button=_("Turn all pages off"), fields={"enabled": "off"})
    await request.app[SETTINGS_KEY].set_pages_enabled(session.user_id, enabled)
    return await pages_view(request, session, notice=_("Your pages take bookings again.") if enabled else
                            _("All your pages are off: visitors are told you are not taking bookings."))


async def domain_action(request: web.Request, session: Session) -> web.StreamResponse:
    """Admins add or remove custom domains."""
    async with request.app[SESSIONS]() as db:
        user = await db.get(User, session.user_id)
    if user is None or not user.is_admin:
        _ = translator(request).gettext
        return _render(request, "message.html", {"title": _("Admins only"),
                                                 "text": _("Only an admin can manage custom domains.")}, 403)
    form = await request.post()
    hostname = str(form.get("hostname", ""))
    if form.get("action") == "remove" and form.get("confirm") != "yes":
        return _confirm(request, session, title=f"Remove {hostname[:253]}?",
                        text="Links on this domain stop working for every user; users whose links "
                             "use it go back to the main address.",
                        button="Remove domain", fields={"action": "remove", "hostname": hostname})
    try:
        if form.get("action") == "remove":
            await request.app[DOMAINS].remove(hostname)
            notice = f"{hostname} no longer serves pages."
        else:
            added = await request.app[DOMAINS].add(hostname)
            notice = f"{added.hostname} serves every user's pages now."
    except DomainError as exc:
        return await pages_view(request, session, problems=[str(exc)], status=400)
    return await pages_view(request, session, notice=notice)


def _page_id(request: web.Request) -> int | None:
    return int(request.match_info["id"]) if "id" in request.match_info else None


async def _default_provider(db: AsyncSession, user_id: int) -> str | None:
    """The provider of the calendar bookings land in (None: no calendar connected)."""
    return await db.scalar(
        select(CalendarConnection.provider)
        .join(Calendar, Calendar.connection_id == CalendarConnection.id)
        .where(Calendar.user_id == user_id, Calendar.is_default.is_(True))
    )


async def edit_view(request: web.Request, session: Session, *, form: dict[str, str] | None = None,
                    problems: PageSettingsError | None = None, status: int = 200) -> web.Response:
    """The page form (new or existing); problems are shown beside their fields."""
    page_id = _page_id(request)
    page = await request.app[SETTINGS_KEY].page(session.user_id, page_id) if page_id else None
    if page_id and page is None:
        raise web.HTTPNotFound()
    async with request.app[SESSIONS]() as db:
        provider = await _default_provider(db, session.user_id)
    shown = {**dict.fromkeys(page_form(None), ""), **form} if form is not None else page_form(page)
    return _render(request, "page_edit.html", {
        "page": page, "form": shown, "rows": editor_rows(shown), "csrf": session.csrf_token,
        "problems": problems.problems if problems else [],
        "errors": problems.fields if problems else {}, "action": request.path,
        "lengths": COMMON_LENGTHS, "reminders": [(n, REMINDER_NAMES[n]) for n in REMINDER_CHOICES],
        "locations": LOCATION_CHOICES, "default_colour": DEFAULT_COLOUR,
        "provider": provider, "provider_name": PROVIDER_NAMES.get(provider or "", provider),
    }, status)


async def edit_save(request: web.Request, session: Session) -> web.StreamResponse:
    """Save the page form; problems are shown beside their fields with everything kept."""
    data = await request.post()
    form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    try:
        values = parse_page_form(form)
        page = await request.app[SETTINGS_KEY].save(session.user_id, _page_id(request), values)
    except PageSettingsError as exc:
        return await edit_view(request, session, form=form, problems=exc, status=400)
    raise web.HTTPSeeOther(f"/dashboard/pages?saved={page.id}")


async def preview(request: web.Request, session: Session) -> web.StreamResponse:
    """The page as visitors see it, booking switched off (also while pages are off)."""
    view = await request.app[PUBLIC_PAGES].view_of(int(request.match_info["id"]))
    if view is None or view.host.id != session.user_id:
        raise web.HTTPNotFound()
    return await render_page(request, view, preview=True)


async def make_default(request: web.Request, session: Session) -> web.StreamResponse:
    """Make a page the one shared links open."""
    try:
        await request.app[SETTINGS_KEY].make_default(session.user_id, int(request.match_info["id"]))
    except PageSettingsError as exc:
        return await pages_view(request, session, problems=exc.problems, status=404)
    _ = translator(request).gettext
    return await pages_view(request, session, notice=_("Shared links open this page now."))


async def delete(request: web.Request, session: Session) -> web.StreamResponse:
    """Delete a page, confirmed (its bookings stay)."""
    form = await request.post()
    _ = translator(request).gettext
    if form.get("confirm") != "yes":
        page = await request.app[SETTINGS_KEY].page(session.user_id, int(request.match_info["id"]))
        if page is None:
            return await pages_view(request, session, problems=[_("That page does not exist.")],
                                    status=404)
        return _confirm(request, session, title=_("Delete “{page}”?").format(page=page.title),
                        text=_("Its link stops working at once. Meetings already booked through it "
                               "are kept. This cannot be undone."),
                        button=_("Delete page"), fields={})
    try:
        await request.app[SETTINGS_KEY].delete(session.user_id, int(request.match_info["id"]))
    except PageSettingsError as exc:
        return await pages_view(request, session, problems=exc.problems, status=404)
    return await pages_view(request, session, notice=_("The page is deleted; its bookings are kept."))
