"""Scheduling pages: ``/meetings/<user slug>`` and ``/meetings/<user slug>/<page slug>``.

Server-rendered and usable without JavaScript (a small script only detects the visitor's zone).
Free slots are grouped by day in the visitor's zone and formatted with Babel in the visitor's
language (``?lang=``, else the page's language, else Accept-Language). Picking a slot shows the
form (name, e-mail, note and the page's own questions; prefilled from the query string, and on a
custom domain from the visitor's previous submission, kept in a sealed first-party cookie);
posting it goes through :meth:`bot.booking.service.Bookings.book`. Forms carry a double-submit CSRF
token; booking POSTs are rate limited per IP and per page. Every response says
``X-Robots-Tag: noindex``. Manage links live in :mod:`bot.handlers.pages.manage`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_datetime
from sqlalchemy import select

from bot.booking.service import (
    BookingBlocked,
    BookingError,
    InvalidVisitor,
    PagesOff,
    SlotTaken,
    SlotUnavailable,
    Visitor,
)
from bot.handlers.pages import manage
from bot.handlers.pages.prefill import remember_visitor, remembered_visitor
from bot.handlers.pages.visitor import (
    RateLimiter,
    allow_framing,
    csrf_ok,
    csrf_token,
    days,
    language,
    locale_of,
    message,
    not_found,
    offered,
    respond,
    set_csrf,
    translator,
    zone_or,
)
from bot.keys import BOOKINGS, LINKS, READ_SESSIONS, SESSIONS, SETTINGS
from bot.rules import RulesError, rules_from_json
from storage.models import CalendarConnection, SchedulingPage, User

PER_IP = web.AppKey("pages_per_ip", RateLimiter)
PER_PAGE = web.AppKey("pages_per_page", RateLimiter)


def setup(app: web.Application) -> None:
    """Add the page routes."""
    settings = app[SETTINGS]
    app[PER_IP] = RateLimiter(settings.booking_limit_per_ip, 60.0)
    app[PER_PAGE] = RateLimiter(settings.booking_limit_per_page, 60.0)
    app.router.add_get("/meetings/{user}", page_view)
    app.router.add_get("/meetings/{user}/{page}", page_view)
    app.router.add_post("/meetings/{user}", page_post)
    app.router.add_post("/meetings/{user}/{page}", page_post)
    manage.setup(app)


async def _load(request: web.Request) -> tuple[User, SchedulingPage, list[str]] | None:
    """The host, the page and the states of the host's calendar connections (one read)."""
    async with request.app[READ_SESSIONS]() as session:
        user = (
            await session.execute(select(User).where(User.slug == request.match_info["user"]))
        ).scalar_one_or_none()
        if user is None:
            return None
        query = select(SchedulingPage).where(SchedulingPage.owner_id == user.id)
        slug = request.match_info.get("page")
        query = query.where(SchedulingPage.slug == slug) if slug else query.order_by(
            SchedulingPage.is_default.desc(), SchedulingPage.id
        )
        page = (await session.execute(query.limit(1))).scalar_one_or_none()
        if page is None:
            return None
        statuses = (
            await session.execute(
                select(CalendarConnection.status).where(CalendarConnection.user_id == user.id)
            )
        ).scalars().all()
    return user, page, list(statuses)


def _questions(page: SchedulingPage) -> list[dict[str, Any]]:
    """The page's own questions as form fields ``q1``, ``q2``... (label, required)."""
    out = []
    for number, item in enumerate(page.questions or [], start=1):
        if isinstance(item, dict) and str(item.get("label", "")).strip():
            out.append({"name": f"q{number}", "label": str(item["label"]).strip()[:200],
                        "required": bool(item.get("required"))})
    return out


async def _prefill(request: web.Request, source: dict[str, str]) -> dict[str, str]:
    """Form values: what was posted, else the query string, else (custom domains) the cookie."""
    remembered = await remembered_visitor(request)
    return {
        key: source.get(key) or request.query.get(key, "") or remembered.get(key, "")
        for key in ("name", "email", "note")
    }


async def page_view(request: web.Request, *, note: str = "", status: int = 200,
                    form: dict[str, str] | None = None, preview: bool = False) -> web.Response:
    """The page: free slots by day, or the booking form for a chosen slot."""
    loaded = await _load(request)
    if loaded is None:
        return not_found(request)
    user, page, statuses = loaded
    return await render_page(request, user, page, note=note, status=status, form=form, preview=preview,
                             statuses=statuses)


async def render_page(request: web.Request, user: User, page: SchedulingPage, *, note: str = "",
                      status: int = 200, form: dict[str, str] | None = None,
                      preview: bool = False, statuses: list[str] | None = None) -> web.Response:
    """Render ``page`` of ``user`` (``preview``: for its host, whether or not pages are on).

    ``statuses`` are the host's connection states when the caller read them already.
    """
    lang = language(request, page.language)
    _ = translator(lang)
    locale = locale_of(lang)
    source = form or {}
    zone_name = zone_or(source.get("tz") or request.query.get("tz"), user.timezone)
    zone = ZoneInfo(zone_name)
    durations = [int(d) for d in page.durations] or [30]
    try:
        duration = int(source.get("d") or request.query.get("d") or durations[0])
    except ValueError:
        duration = durations[0]
    if duration not in durations:
        duration = durations[0]
    embedded = _embedded(request, page)
    base: dict[str, Any] = {
        "host": user, "page": page, "lang": lang, "tz": zone_name, "duration": duration,
        "durations": durations, "message": note, "path": request.path, "preview": preview,
        "questions": _questions(page), "answers": source, "embed": embedded,
    }
    if not (user.pages_enabled and page.enabled) and not preview:
        return _framed(respond(request, "page_off.html", base, status), embedded)
    if statuses is None:
        async with request.app[READ_SESSIONS]() as session:
            statuses = list((await session.execute(
                select(CalendarConnection.status).where(CalendarConnection.user_id == user.id)
            )).scalars())
    offline, blocked = not statuses, any(s != "active" for s in statuses)
    csrf = csrf_token(request)
    base.update({"offline": offline, "blocked": blocked, "csrf": csrf,
                 "prefill": await _prefill(request, source)})
    if blocked:
        response = respond(request, "page_blocked.html", base, status)
    else:
        now = datetime.now(UTC)
        try:
            rules = rules_from_json(page.rules, timezone=user.timezone, durations=durations)
        except RulesError:
            setting_up = _("This page is being set up and cannot take bookings yet.")
            return _framed(message(request, lang, page.title, setting_up, 503), embedded)
        answer = await offered(request, user, rules, duration, now)
        chosen = source.get("start") or request.query.get("start", "")
        slots = list(answer.result.slots)
        picked = next((s for s in slots if s.start.isoformat() == chosen), None)
        base.update({
            "days": days(slots, zone, locale),
            "complete": answer.complete,
            "picked": None if picked is None else {
                "start": picked.start.isoformat(),
                "label": format_datetime(picked.start.astimezone(zone), "full", locale=locale),
            },
            "chosen_missing": bool(chosen) and picked is None,
        })
        response = respond(request, "page.html", base, status)
    set_csrf(request, response, csrf, "/meetings", embedded=embedded)
    return _framed(response, embedded)


def _embedded(request: web.Request, page: SchedulingPage) -> bool:
    """Whether this is the page shown inside the website chat widget (``?embed=1``, opted in)."""
    return request.query.get("embed") == "1" and page.in_widget


def _framed(response: web.Response, embedded: bool) -> web.Response:
    if embedded:
        allow_framing(response)
    return response


async def page_post(request: web.Request) -> web.Response:
    """Book the chosen slot (or, when booking is blocked, leave details for the host)."""
    loaded = await _load(request)
    if loaded is None:
        return not_found(request)
    user, page, _statuses = loaded
    lang = language(request, page.language)
    _ = translator(lang)
    data = await request.post()
    form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    if not csrf_ok(request, form.get("csrf")):
        return await page_view(request, note=_("The form expired. Please try again."), status=403, form=form)
    ip = request.remote or "unknown"
    if not request.app[PER_IP].allow(ip) or not request.app[PER_PAGE].allow(f"page:{page.id}"):
        return await page_view(request, note=_("Too many attempts. Please wait a minute."),
                               status=429, form=form)
    questions = _questions(page)
    missing = [q["label"] for q in questions if q["required"] and not form.get(q["name"], "").strip()]
    visitor = Visitor(name=form.get("name", ""), email=form.get("email", ""),
                      timezone=zone_or(form.get("tz"), user.timezone), note=form.get("note", ""),
                      answers={q["label"]: form.get(q["name"], "").strip() for q in questions
                               if form.get(q["name"], "").strip()})
    bookings = request.app[BOOKINGS]
    if form.get("mode") == "leave_details":
        try:
            visitor = visitor.validated()
        except InvalidVisitor as exc:
            return await page_view(request, note=_(str(exc)), status=400, form=form)
        await bookings.keep_attempt(page, user, visitor, None, "left_details")
        return _framed(message(request, lang, _("Thank you"), _(
            "{host} has your details and will get back to you.").format(host=user.display_name)),
            _embedded(request, page))
    if missing:
        return await page_view(request, note=_("Please answer: {questions}").format(
            questions=", ".join(missing)), status=400, form=form)
    try:
        start = datetime.fromisoformat(form.get("start", ""))
        if start.tzinfo is None:
            raise ValueError("naive")
        duration = int(form.get("d", ""))
    except ValueError:
        return await page_view(request, note=_("Please pick a time from the list."), status=400,
                               form={**form, "start": ""})
    try:
        made = await bookings.book(page.id, start=start, duration_minutes=duration,
                                   visitor=visitor, now=datetime.now(UTC))
    except InvalidVisitor as exc:
        return await page_view(request, note=_(str(exc)), status=400, form=form)
    except SlotTaken as exc:
        return await page_view(request, note=_(str(exc)), status=409, form={**form, "start": ""})
    except (SlotUnavailable, PagesOff) as exc:
        return await page_view(request, note=_(str(exc)), status=400, form={**form, "start": ""})
    except BookingBlocked:
        return _framed(message(request, lang, _("Booking is paused"), _(
            "Booking is temporarily unavailable. We kept your details and told {host}, "
            "who will get back to you.").format(host=user.display_name), 503), _embedded(request, page))
    except BookingError as exc:
        return await page_view(request, note=_(str(exc)), status=400, form=form)
    zone = ZoneInfo(visitor.timezone)
    async with request.app[SESSIONS]() as session:
        hostname = await request.app[LINKS].hostname_of(session, user)
    response = respond(request, "booked.html", {
        "host": user, "page": page, "lang": lang, "status": made.status,
        "when": format_datetime(made.start.astimezone(zone), "full", locale=locale_of(lang)),
        "manage": request.app[LINKS].manage(made.manage_token, hostname=hostname), "email": visitor.email,
        "embed": _embedded(request, page),
    })
    await remember_visitor(request, response, visitor)
    return _framed(response, _embedded(request, page))
