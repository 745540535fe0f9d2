"""Scheduling pages: ``/meetings/<user slug>`` and ``/meetings/<user slug>/<page slug>``.

Server-rendered and usable without JavaScript (a small script only detects the visitor's zone).
Free slots are grouped by day in the visitor's zone and formatted with Babel in the visitor's
language (``?lang=``, else the page's language, else Accept-Language). Picking a slot shows the
form (name, e-mail, note and the page's own questions; prefilled from the query string, and on a
custom domain from the visitor's previous submission, kept in a sealed first-party cookie);
posting it goes through :meth:`bot.booking.service.Bookings.book`. Forms carry a token
(:mod:`bot.handlers.pages.form_token`: double submit, or signed on embedded pages); booking POSTs
are limited per client and, past a per-page limit, slowed down (never refused). Every response
says ``X-Robots-Tag: noindex``. Manage links live in :mod:`bot.handlers.pages.manage`.

A page view reads the page's public view (one read) and takes its free times, formatted, from the
slot cache (:mod:`bot.pages.slot_cache`, :data:`SLOT_CACHE`; the scheduler's ``forget`` empties
a host's entries). The plain list (no chosen time, nothing of the visitor in it) is kept rendered
with an ETag: ``If-None-Match`` gets a 304, and the browser may keep it (``private, no-cache``);
every other answer stays ``no-store``. :meth:`bot.pages.slot_cache.SlotCache.wall_clock` is the
page's "now".
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Hashable
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel import Locale

from bot.booking.location_text import VISITOR_PHONE_ANSWER, callable_number
from bot.booking.visitor import (
    BookingBlocked,
    BookingError,
    BookingOpen,
    InvalidVisitor,
    PagesOff,
    SlotTaken,
    SlotUnavailable,
    Visitor,
)
from bot.handlers.pages import ics_download, manage
from bot.handlers.pages.confirmation import confirmation_page, just_booked
from bot.handlers.pages.form_token import csrf_ok, csrf_token, set_csrf
from bot.handlers.pages.month import choose_month, clock_of, day_times, month_grid, slot_summary
from bot.handlers.pages.posted_language import posted_language
from bot.handlers.pages.prefill import remember_visitor, remembered_visitor
from bot.handlers.pages.visitor import (
    RateLimiter,
    allow_framing,
    locale_of,
    message,
    not_found,
    offered,
    offers,
    respond,
    translator,
    visitor_moment,
    zone_note,
    zone_or,
)
from bot.keys import BOOKINGS, LINKS, PUBLIC_PAGES, SCHEDULER, SETTINGS
from bot.pages.location import LocationKind
from bot.pages.public import Mode, PublicPage, PublicView, booking_mode
from bot.pages.slot_cache import SlotCache, SlotData, SlotKey
from bot.zone_names import zone_choices, zone_label

FIELD_OF = {"Please tell us your name.": "name", "Please enter a valid e-mail address.": "email"}
"""The form field each refusal of :meth:`bot.booking.visitor.Visitor.validated` is about."""

PER_IP = web.AppKey("pages_per_ip", RateLimiter)
PER_PAGE = web.AppKey("pages_per_page", RateLimiter)
SLOT_CACHE = web.AppKey("pages_slot_cache", SlotCache)
KEPT_CACHE_CONTROL = "private, no-cache"  # the plain list: the browser may keep it, and asks first


def setup(app: web.Application) -> None:
    """Add the page routes."""
    settings = app[SETTINGS]
    app[PER_IP] = RateLimiter(settings.booking_limit_per_ip, 60.0)
    app[PER_PAGE] = RateLimiter(settings.booking_limit_per_page, 60.0)
    cache = app[SLOT_CACHE] = SlotCache()
    app[SCHEDULER].on_forget(cache.invalidate_user)  # bookings, moves, cancels, calendar changes
    app.router.add_get("/meetings/{user}", page_view)
    app.router.add_get("/meetings/{user}/{page}", page_view)
    app.router.add_post("/meetings/{user}", page_post)
    app.router.add_post("/meetings/{user}/{page}", page_post)
    manage.setup(app)
    ics_download.setup(app)


async def _view(request: web.Request) -> PublicView | None:
    """The host, page, connection states and rules this request is about (one read)."""
    return await request.app[PUBLIC_PAGES].view(request.match_info["user"], request.match_info.get("page"))


async def _prefill(request: web.Request, source: dict[str, str]) -> dict[str, str]:
    """Form values: what was posted, else the query string, else (custom domains) the cookie."""
    remembered = await remembered_visitor(request)
    return {
        key: source.get(key) or request.query.get(key, "") or remembered.get(key, "")
        for key in ("name", "email", "note")
    }


async def page_view(request: web.Request) -> web.Response:
    """The page: free slots by day, or the booking form for a chosen slot."""
    view = await _view(request)
    if view is None:
        return not_found(request)
    return await render_page(request, view)


async def render_page(request: web.Request, view: PublicView, *, note: str = "", status: int = 200,
                      form: dict[str, str] | None = None, preview: bool = False,
                      listed: bool = True, errors: dict[str, str] | None = None) -> web.Response:
    """Render the page of ``view`` (``preview``: for its host, whether or not pages are on).

    ``listed=False`` (a refused post) shows no free times, so none are computed: the chosen time's
    form comes back as posted (booking checks it again) and "Show times" leads back to the list.
    ``errors``: a sentence per form field, shown beside it.
    """
    host, page = view.host, view.page
    source = form or {}
    lang = posted_language(request, source, page.language)  # a refused post keeps its language
    _ = translator(lang)
    locale = locale_of(lang)
    asked_zone = source.get("tz") or request.query.get("tz")
    zone_name = zone_or(asked_zone, host.timezone)
    note = " ".join(part for part in (note, zone_note(lang, asked_zone, zone_name)) if part)
    zone = ZoneInfo(zone_name)
    durations = list(page.durations)
    try:
        duration = int(source.get("d") or request.query.get("d") or durations[0])
    except ValueError:
        duration = durations[0]
    if duration not in durations:
        duration = durations[0]
    embedded = _embedded(request, page)
    base: dict[str, Any] = {
        "host": host, "page": page, "lang": lang, "tz": zone_name, "duration": duration,
        "durations": durations, "message": note, "path": request.path, "preview": preview,
        "questions": page.questions, "ask_phone": page.location_kind is LocationKind.VISITOR_PHONE,
        "answers": source, "embed": embedded, "listed": listed,
        "query": _query(request, zone_name, duration, lang, embedded),
    }
    if view.mode is Mode.OFF and not preview:
        return _framed(respond(request, "page_off.html", base, status), embedded)
    mode = booking_mode(view.states) if preview else view.mode
    csrf = csrf_token(request, embedded_page=page.id if embedded else None)
    prefill = await _prefill(request, source)
    base.update({"offline": mode is Mode.OFFLINE, "blocked": mode is Mode.BLOCKED, "csrf": csrf,
                 "prefill": prefill})
    if mode is Mode.BLOCKED:
        response = respond(request, "page_blocked.html", base, status)
    elif view.rules is None:
        setting_up = _("This page is being set up and cannot take bookings yet.")
        return _framed(message(request, lang, page.title, setting_up, 503), embedded)
    else:
        chosen = source.get("start") or request.query.get("start", "")
        picked = visitor_moment(chosen)
        entry: SlotData | None = None
        if listed:
            entry = await _month_picker(request, view, duration, zone, lang, locale, focus=picked)
            base.update(entry.context)
            picked = next((datetime.fromisoformat(t["start"]) for t in base["times"] if t["start"] == chosen),
                          None)
        else:
            base["clock"] = clock_of(request.query.get("clock"), locale)
        base.update({
            "picked": None if picked is None else {
                "start": picked.isoformat(),
                "label": slot_summary(picked, duration, zone, locale, base["clock"], _),
            },
            "chosen_missing": bool(chosen) and picked is None,
            "errors": errors or {},
        })
        plain = (entry is not None and not chosen and not preview and not form and not note
                 and status == 200 and not any(prefill.values()))
        if entry is not None and plain:
            response = _kept_page(request, entry, (request.path, tuple(base["query"].items()), mode), base)
        else:
            response = respond(request, "page.html", base, status)
    set_csrf(request, response, csrf, "/meetings", embedded=embedded)
    return _framed(response, embedded)


def _kept_page(request: web.Request, entry: SlotData, options: Hashable,
               context: dict[str, Any]) -> web.Response:
    """The plain list (nothing of the visitor in it: no chosen time, no form values, no token),
    rendered once per slot list and options and kept with its ETag; 304 when the browser has it."""
    kept = entry.page(options)
    if kept is None:
        body = respond(request, "page.html", context).body
        assert isinstance(body, bytes)
        kept = (body, '"' + hashlib.blake2b(body, digest_size=16).hexdigest() + '"')
        entry.keep_page(options, *kept)
    body, etag = kept
    headers = {"ETag": etag, "Cache-Control": KEPT_CACHE_CONTROL, "X-Robots-Tag": "noindex, nofollow"}
    if any(tag.value == etag[1:-1] for tag in request.if_none_match or ()):
        return web.Response(status=304, headers=headers)
    return web.Response(body=body, headers=headers, content_type="text/html", charset="utf-8")


def _view_digest(view: PublicView) -> str:
    """A digest of everything read for the page (its repr: every field, rules and states too)."""
    return hashlib.blake2b(repr(view).encode("utf-8"), digest_size=16).hexdigest()


async def _month_picker(request: web.Request, view: PublicView, duration: int, zone: ZoneInfo, lang: str,
                        locale: Locale, *, focus: datetime | None) -> SlotData:
    """The month calendar's context (:func:`bot.handlers.pages.visitor.month_picker`'s), from the
    slot cache, else computed (one availability call covering the visible month) and kept."""
    host, rules = view.host, view.rules
    assert rules is not None
    cache = request.app[SLOT_CACHE]
    now = cache.wall_clock()
    clock = clock_of(request.query.get("clock"), locale)
    day = focus.astimezone(zone).date().isoformat() if focus else request.query.get("day")
    choice = choose_month(request.query.get("month"), day, rules=rules, now=now,
                          zone=zone, host_zone=ZoneInfo(host.timezone))
    key = SlotKey(user_id=host.id, page_id=view.page.id, view=_view_digest(view), duration=duration,
                  zone=zone.key, lang=lang, clock=clock, month=choice.month, day=choice.asked_day,
                  today=choice.today, last=choice.last)
    entry = cache.get(key, now)
    if entry is not None:
        return entry
    generation = cache.generation(host.id)  # before asking: a change meanwhile is not kept
    answer = await offered(request, host, rules, duration, now, start=choice.start, end=choice.end)
    starts = [slot.start for slot in answer.result.slots]
    grid = month_grid(choice, starts, zone, locale)
    context = {
        "calendar": grid, "clock": clock, "complete": answer.complete,
        "times": day_times(starts, grid["selected"], zone, locale, clock),
        "zone_label": zone_label(zone.key, locale, now), "zones": zone_choices(locale, now),
        "slot_data": {"starts": [start.isoformat() for start in starts], "clock": clock,
                      "day": None if grid["selected"] is None else grid["selected"].isoformat(),
                      "locale": str(locale).replace("_", "-")},
    }
    return cache.put(key, context=context, starts=tuple(starts),
                     notice=timedelta(minutes=rules.minimum_notice_minutes), generation=generation,
                     fresh_for=request.app[SCHEDULER].fresh_for(host.id, choice.start, choice.end))


def _query(request: web.Request, zone: str, duration: int, lang: str, embedded: bool) -> dict[str, str]:
    """The options every link of the page carries (zone, length, language, clock, embedding)."""
    query = {"tz": zone, "d": str(duration), "lang": lang}
    if request.query.get("clock") in ("12", "24"):
        query["clock"] = request.query["clock"]
    if embedded:
        query["embed"] = "1"
    return query


def _chosen(form: dict[str, str]) -> tuple[datetime, int] | None:
    """The posted time and length, or None when they are not a time and a number."""
    start = visitor_moment(form.get("start", ""))
    try:
        return None if start is None else (start, int(form.get("d", "")))
    except ValueError:
        return None


async def _pace(request: web.Request, view: PublicView, start: datetime, minutes: int) -> None:
    """Past the page's limit, a plausible attempt (a time the page's rules offer) waits a moment.

    Junk costs its sender's budget only (:data:`PER_IP`); the page never closes for everyone.
    """
    if view.rules is None or not offers(view.rules, start, minutes, datetime.now(UTC)):
        return
    wait = request.app[PER_PAGE].slowdown(f"page:{view.page.id}")
    if wait:
        await asyncio.sleep(wait)


def _embedded(request: web.Request, page: PublicPage) -> bool:
    """Whether this is the page shown inside the website chat widget (``?embed=1``, opted in)."""
    return request.query.get("embed") == "1" and page.in_widget


def _framed(response: web.Response, embedded: bool) -> web.Response:
    if embedded:
        allow_framing(response)
    return response


async def page_post(request: web.Request) -> web.Response:
    """Book the chosen slot (or, when booking is blocked, leave details for the host).

    Refusals come first and cost no availability: a failed form token (403) and the per-client
    limit (429) answer before anything else is done; unusable details (400) before the slot is
    checked. Past the page's limit a plausible attempt waits a moment (:func:`_pace`).
    """
    view = await _view(request)
    if view is None:
        return not_found(request)
    host, page = view.host, view.page
    data = await request.post()
    form = {k: str(v) for k, v in data.items() if isinstance(v, str)}
    lang = posted_language(request, form, page.language)
    _ = translator(lang)
    embedded = _embedded(request, page)
    if not csrf_ok(request, form.get("csrf"), embedded_page=page.id if embedded else None):
        return await render_page(request, view, note=_("The form expired. Please try again."), status=403,
                                 form=form, listed=False)
    if not request.app[PER_IP].allow(request.remote or "unknown"):
        return await render_page(request, view, note=_("Too many attempts. Please wait a minute."),
                                 status=429, form=form, listed=False)
    missing = [q.label for q in page.questions if q.required and not form.get(q.name, "").strip()]
    answers = {q.label: form.get(q.name, "").strip() for q in page.questions if form.get(q.name, "").strip()}
    phone = form.get("phone", "").strip()
    if page.location_kind is LocationKind.VISITOR_PHONE:
        if not callable_number(phone) and form.get("mode") != "leave_details":
            problem = _("Please give a phone number the host can call.")
            return await render_page(request, view, note=problem, status=400, form=form,
                                     errors={"phone": problem})
        answers[VISITOR_PHONE_ANSWER] = phone
    visitor = Visitor(name=form.get("name", ""), email=form.get("email", ""),
                      timezone=zone_or(form.get("tz"), host.timezone), note=form.get("note", ""),
                      answers=answers, language=lang)
    bookings = request.app[BOOKINGS]
    if form.get("mode") == "leave_details":
        try:
            await bookings.leave_details(view, visitor)
        except BookingOpen as exc:
            return await render_page(request, view, note=_(str(exc)), status=409, form=form)
        except BookingError as exc:
            return await render_page(request, view, note=_(str(exc)), status=400, form=form)
        return _framed(message(request, lang, _("Thank you"), _(
            "{host} has your details and will get back to you.").format(host=host.display_name)),
            embedded)
    if missing:
        return await render_page(request, view, note=_("Please answer: {questions}").format(
            questions=", ".join(missing)), status=400, form=form, errors={
                q.name: _("Please answer this question.") for q in page.questions
                if q.required and not form.get(q.name, "").strip()})
    chosen = _chosen(form)
    if chosen is None:
        return await render_page(request, view, note=_("Please pick a time from the list."), status=400,
                                 form={**form, "start": ""})
    start, duration = chosen
    try:
        visitor = visitor.validated()
    except InvalidVisitor as exc:
        field = FIELD_OF.get(str(exc))
        return await render_page(request, view, note=_(str(exc)), status=400, form=form,
                                 errors={field: _(str(exc))} if field else None)
    await _pace(request, view, start, duration)
    try:
        made = await bookings.book(view, start=start, duration_minutes=duration,
                                   visitor=visitor, now=datetime.now(UTC))
    except SlotTaken as exc:
        return await render_page(request, view, note=_(str(exc)), status=409, form={**form, "start": ""})
    except (SlotUnavailable, PagesOff) as exc:
        return await render_page(request, view, note=_(str(exc)), status=400, form={**form, "start": ""})
    except BookingBlocked:
        return _framed(message(request, lang, _("Booking is paused"), _(
            "Booking is temporarily unavailable. We kept your details and told {host}, "
            "who will get back to you.").format(host=host.display_name), 503), embedded)
    except BookingError as exc:
        return await render_page(request, view, note=_(str(exc)), status=400, form=form)
    manage_link = request.app[LINKS].manage(made.manage_token, hostname=host.hostname)
    response = confirmation_page(request, just_booked(view, made, visitor), title=page.title,
                                 manage=manage_link, lang=lang, embedded=embedded)
    await remember_visitor(request, response, visitor)
    return _framed(response, embedded)
