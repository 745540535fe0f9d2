"""Scheduling pages: ``/meetings/<user slug>`` and ``/meetings/<user slug>/<page slug>``.

Server-rendered and usable without JavaScript (a small script only detects the visitor's zone).
Free slots are grouped by day in the visitor's zone and formatted with Babel in the visitor's
language (``?lang=``, else Accept-Language). Picking a slot shows the form; posting it goes
through :meth:`bot.booking.Bookings.book`. Forms carry a double-submit CSRF token; booking POSTs
are rate limited per IP and per page. Every response says ``X-Robots-Tag: noindex``.
Manage links live under ``/meetings-manage/<token>``.
"""

from __future__ import annotations

import secrets as random_secrets
import time as monotonic
from collections import deque
from datetime import UTC, date, datetime, time, timedelta
from itertools import groupby
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from aiohttp import web
from babel import Locale
from babel.dates import format_date, format_datetime, format_time
from sqlalchemy import select

from bot.availability import Slot
from bot.booking import (
    BookingBlocked,
    BookingError,
    InvalidVisitor,
    PagesOff,
    SlotTaken,
    SlotUnavailable,
    Visitor,
)
from bot.keys import BOOKINGS, SCHEDULER, SESSIONS, TEMPLATES
from bot.rules import RulesError, rules_from_json
from storage.models import CalendarConnection, SchedulingPage, User

LANGUAGES = {"en": "en", "pt": "pt_BR", "da": "da"}
CSRF_COOKIE = "slotbot_form"
DAYS_SHOWN = 14


class RateLimiter:
    """At most ``limit`` events per ``window`` seconds per key (in memory, per process)."""

    def __init__(self, limit: int, window: float) -> None:
        self._limit, self._window = limit, window
        self._events: dict[str, deque[float]] = {}

    def allow(self, key: str, now: float | None = None) -> bool:
        """Record an event for ``key``; False when over the limit."""
        moment = monotonic.monotonic() if now is None else now
        events = self._events.setdefault(key, deque())
        while events and events[0] <= moment - self._window:
            events.popleft()
        if len(events) >= self._limit:
            return False
        events.append(moment)
        if len(self._events) > 10_000:
            self._events = {k: v for k, v in self._events.items() if v}
        return True


PER_IP = web.AppKey("pages_per_ip", RateLimiter)
PER_PAGE = web.AppKey("pages_per_page", RateLimiter)


def setup(app: web.Application) -> None:
    """Add the page routes."""
    app[PER_IP] = RateLimiter(10, 60.0)
    app[PER_PAGE] = RateLimiter(60, 60.0)
    app.router.add_get("/meetings/{user}", page_view)
    app.router.add_get("/meetings/{user}/{page}", page_view)
    app.router.add_post("/meetings/{user}", page_post)
    app.router.add_post("/meetings/{user}/{page}", page_post)
    app.router.add_get("/meetings-manage/{token}", manage_view)
    app.router.add_post("/meetings-manage/{token}/cancel", manage_cancel)


def _language(request: web.Request) -> str:
    asked = request.query.get("lang")
    if asked in LANGUAGES:
        return asked
    header = request.headers.get("Accept-Language", "")
    for part in header.split(","):
        code = part.split(";")[0].strip().lower()[:2]
        if code in LANGUAGES:
            return code
    return "en"


def _zone(text: str | None, fallback: str) -> str:
    if text:
        try:
            ZoneInfo(text)
            return text
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return fallback


def _respond(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    response = request.app[TEMPLATES].response(name, context, status=status)
    response.headers["X-Robots-Tag"] = "noindex, nofollow"
    response.headers["Cache-Control"] = "no-store"
    return response


def _not_found(request: web.Request) -> web.Response:
    return _respond(
        request,
        "page_message.html",
        {"title": "Page not found", "text": "There is no scheduling page at this address.",
         "lang": _language(request)},
        404,
    )


async def _load(request: web.Request) -> tuple[User, SchedulingPage] | None:
    async with request.app[SESSIONS]() as session:
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
    return None if page is None else (user, page)


async def _blocked(request: web.Request, user: User) -> tuple[bool, bool]:
    """(offline, blocked): no connection at all; some connection cannot be read."""
    async with request.app[SESSIONS]() as session:
        statuses = (
            await session.execute(
                select(CalendarConnection.status).where(CalendarConnection.user_id == user.id)
            )
        ).scalars().all()
    return (not statuses, any(s != "active" for s in statuses))


async def page_view(request: web.Request, *, message: str = "", status: int = 200,
                    form: dict[str, str] | None = None) -> web.Response:
    """The page: free slots by day, or the booking form for a chosen slot."""
    loaded = await _load(request)
    if loaded is None:
        return _not_found(request)
    user, page = loaded
    lang = _language(request)
    locale = Locale.parse(LANGUAGES[lang])
    source = form or {}
    zone_name = _zone(source.get("tz") or request.query.get("tz"), user.timezone)
    zone = ZoneInfo(zone_name)
    durations = [int(d) for d in page.durations] or [30]
    try:
        duration = int(source.get("d") or request.query.get("d") or durations[0])
    except ValueError:
        duration = durations[0]
    if duration not in durations:
        duration = durations[0]
    base: dict[str, Any] = {
        "host": user, "page": page, "lang": lang, "tz": zone_name, "duration": duration,
        "durations": durations, "message": message, "path": request.path,
    }
    if not (user.pages_enabled and page.enabled):
        return _respond(request, "page_off.html", base, 200 if status == 200 else status)
    offline, blocked = await _blocked(request, user)
    csrf = request.cookies.get(CSRF_COOKIE) or random_secrets.token_urlsafe(24)
    base.update({"offline": offline, "blocked": blocked, "csrf": csrf})
    prefill = {k: source.get(k) or request.query.get(k, "") for k in ("name", "email", "note")}
    base["prefill"] = prefill
    if blocked:
        response = _respond(request, "page_blocked.html", base, status)
    else:
        now = datetime.now(UTC)
        try:
            rules = rules_from_json(page.rules, timezone=user.timezone, durations=durations)
        except RulesError:
            return _respond(request, "page_message.html", {
                "title": page.title, "lang": lang,
                "text": "This page is being set up and cannot take bookings yet."}, 503)
        first = now.astimezone(ZoneInfo(user.timezone)).date()
        answer = await request.app[SCHEDULER].availability(
            user.id,
            start=datetime.combine(first, time(0), ZoneInfo(user.timezone)),
            end=datetime.combine(first + timedelta(days=DAYS_SHOWN), time(0), ZoneInfo(user.timezone)),
            now=now,
            rules=rules,
            duration_minutes=duration,
        )
        chosen = source.get("start") or request.query.get("start", "")
        slots = list(answer.result.slots)
        picked = next((s for s in slots if s.start.isoformat() == chosen), None)
        base.update({
            "days": _days(slots, zone, locale),
            "complete": answer.complete,
            "picked": None if picked is None else {
                "start": picked.start.isoformat(),
                "label": format_datetime(picked.start.astimezone(zone), "full", locale=locale),
            },
            "chosen_missing": bool(chosen) and picked is None,
        })
        response = _respond(request, "page.html", base, status)
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict",
                        path="/meetings", secure=request.secure)
    return response


def _days(slots: list[Slot], zone: ZoneInfo, locale: Locale) -> list[dict[str, Any]]:
    def local_day(slot: Slot) -> date:
        return slot.start.astimezone(zone).date()

    return [
        {
            "label": format_date(day, "full", locale=locale),
            "slots": [
                {"start": s.start.isoformat(),
                 "label": format_time(s.start.astimezone(zone), "short", locale=locale)}
                for s in items
            ],
        }
        for day, items in groupby(slots, key=local_day)
    ]


async def page_post(request: web.Request) -> web.Response:
    """Book the chosen slot (or, when booking is blocked, leave details for the host)."""
    loaded = await _load(request)
    if loaded is None:
        return _not_found(request)
    user, page = loaded
    data = await request.post()
    form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    cookie = request.cookies.get(CSRF_COOKIE)
    if not cookie or not random_secrets.compare_digest(cookie, form.get("csrf", "")):
        return await page_view(request, message="The form expired. Please try again.", status=403,
                               form=form)
    ip = request.remote or "unknown"
    if not request.app[PER_IP].allow(ip) or not request.app[PER_PAGE].allow(f"page:{page.id}"):
        return await page_view(request, message="Too many attempts. Please wait a minute.",
                               status=429, form=form)
    visitor = Visitor(name=form.get("name", ""), email=form.get("email", ""),
                      timezone=_zone(form.get("tz"), user.timezone), note=form.get("note", ""))
    bookings = request.app[BOOKINGS]
    if form.get("mode") == "leave_details":
        try:
            visitor = visitor.validated()
        except InvalidVisitor as exc:
            return await page_view(request, message=str(exc), status=400, form=form)
        await bookings.keep_attempt(page, user, visitor, None, "left_details")
        return _respond(request, "page_message.html", {
            "title": "Thank you", "lang": _language(request),
            "text": f"{user.display_name} has your details and will get back to you."})
    try:
        start = datetime.fromisoformat(form.get("start", ""))
        if start.tzinfo is None:
            raise ValueError("naive")
        duration = int(form.get("d", ""))
    except ValueError:
        return await page_view(request, message="Please pick a time from the list.", status=400,
                               form={**form, "start": ""})
    try:
        made = await bookings.book(page.id, start=start, duration_minutes=duration,
                                   visitor=visitor, now=datetime.now(UTC))
    except InvalidVisitor as exc:
        return await page_view(request, message=str(exc), status=400, form=form)
    except SlotTaken as exc:
        return await page_view(request, message=str(exc), status=409, form={**form, "start": ""})
    except (SlotUnavailable, PagesOff) as exc:
        return await page_view(request, message=str(exc), status=400, form={**form, "start": ""})
    except BookingBlocked as exc:
        return _respond(request, "page_message.html",
                        {"title": "Booking is paused", "text": str(exc), "lang": _language(request)}, 503)
    except BookingError as exc:
        return await page_view(request, message=str(exc), status=400, form=form)
    zone = ZoneInfo(visitor.timezone)
    locale = Locale.parse(LANGUAGES[_language(request)])
    return _respond(request, "booked.html", {
        "host": user, "page": page, "lang": _language(request), "status": made.status,
        "when": format_datetime(made.start.astimezone(zone), "full", locale=locale),
        "manage": f"/meetings-manage/{made.manage_token}", "email": visitor.email,
    })


async def manage_view(request: web.Request) -> web.Response:
    """What a manage link shows: the booking and a cancel button."""
    found = await request.app[BOOKINGS].by_token(request.match_info["token"])
    if found is None:
        return _respond(request, "page_message.html", {
            "title": "Link not valid", "lang": "en",
            "text": "This link does not belong to a booking."}, 404)
    booking, host, page = found
    zone = ZoneInfo(booking.timezone)
    csrf = request.cookies.get(CSRF_COOKIE) or random_secrets.token_urlsafe(24)
    response = _respond(request, "manage.html", {
        "booking": booking, "host": host, "title": page.title if page else "Meeting", "lang": "en",
        "when": format_datetime(booking.start_at.astimezone(zone), "full", locale="en"),
        "csrf": csrf, "path": request.path,
    })
    response.set_cookie(CSRF_COOKIE, csrf, httponly=True, samesite="Strict", path="/meetings-manage",
                        secure=request.secure)
    return response


async def manage_cancel(request: web.Request) -> web.Response:
    """Cancel through a manage link."""
    data = await request.post()
    cookie = request.cookies.get(CSRF_COOKIE)
    submitted = data.get("csrf")
    if not cookie or not isinstance(submitted, str) or not random_secrets.compare_digest(cookie, submitted):
        return _respond(request, "page_message.html", {
            "title": "Form expired", "lang": "en", "text": "Reload the page and try again."}, 403)
    try:
        await request.app[BOOKINGS].cancel(request.match_info["token"])
    except BookingError as exc:
        return _respond(request, "page_message.html", {"title": "Not cancelled", "lang": "en",
                                                       "text": str(exc)}, 404)
    return _respond(request, "page_message.html", {
        "title": "Cancelled", "lang": "en",
        "text": "The meeting is cancelled and both of you have been told."})
