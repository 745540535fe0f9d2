"""What every dashboard page shares: the session cookie, the signed-in check, the host's language,
page and message answers.

A host arrives through a one-time login link from chat, which becomes a session cookie (HttpOnly,
SameSite=Lax, Secure on https); :func:`signed_in` lets a handler run for a signed-in host only and
checks every POST's CSRF token.

The dashboard speaks the host's language (the ``dashboard`` catalog): :func:`choose_locale` is the
one rule (the language chosen in chat, else the chat account's, else the browser's, else English).
:func:`signed_in` settles it once per request; :func:`translator` gives a handler its ``_`` and
:func:`page` gives every template ``_``, ``ngettext``, ``lang`` and the date formatters.
"""

from __future__ import annotations

import gettext
from collections.abc import Awaitable, Callable
from datetime import UTC, date, datetime, tzinfo
from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_date, format_datetime
from markupsafe import Markup, escape
from sqlalchemy import select

from bot.accounts.tokens import Session
from bot.i18n import DEFAULT_LOCALE, supported_locale, translations
from bot.keys import SESSIONS, TEMPLATES, TOKENS
from bot.zones import zone_named
from storage.models import ChatIdentity, User

COOKIE = "slotbot_session"
DOMAIN = "dashboard"
LOCALE_KEY = "slotbot.dashboard_locale"
Handler = Callable[[web.Request, Session], Awaitable[web.StreamResponse]]
_KNOWN = {"en", "pt", "da"}  # the languages of bot.i18n.LOCALES, by their language code


def N_(message: str) -> str:
    """Mark a sentence for the ``dashboard`` catalog; it is translated where shown."""
    return message


def browser_locale(accept_language: str | None) -> str:
    """The supported locale a browser asks for first (``Accept-Language``, by its q values), else
    English."""
    asked: list[tuple[float, int, str]] = []
    for position, part in enumerate((accept_language or "").split(",")):
        tag, _, params = part.strip().partition(";")
        weight = 1.0
        if params.strip().startswith("q="):
            try:
                weight = float(params.strip()[2:])
            except ValueError:
                weight = 0.0
        if tag and weight > 0:
            asked.append((-weight, position, tag.strip()))
    for _, _, tag in sorted(asked):
        if tag.replace("-", "_").lower().split("_")[0] in _KNOWN:
            return supported_locale(tag)
    return DEFAULT_LOCALE


def choose_locale(chosen: str | None, account: str | None, accept_language: str | None) -> str:
    """The dashboard's locale for a host: the language they chose in chat ("language pt"), else
    their chat account's (the Slack or Teams profile), else the browser's, else English.

    An account locale of English is the column's default as well as a choice, so it does not
    outvote the browser.
    """
    if chosen:
        return supported_locale(chosen)
    if account and supported_locale(account) != DEFAULT_LOCALE:
        return supported_locale(account)
    return browser_locale(accept_language)


async def host_locale(request: web.Request, user_id: int) -> str:
    """The signed-in host's dashboard locale (:func:`choose_locale`, read from the database)."""
    async with request.app[SESSIONS]() as db:
        chosen = (
            await db.execute(
                select(ChatIdentity.locale)
                .where(ChatIdentity.user_id == user_id, ChatIdentity.locale.is_not(None))
                .order_by(ChatIdentity.id)
                .limit(1)
            )
        ).scalar_one_or_none()
        user = await db.get(User, user_id)
    return choose_locale(chosen, user.locale if user else None, request.headers.get("Accept-Language"))


def locale_of(request: web.Request) -> str:
    """The locale this dashboard response speaks: the signed-in host's, else the browser's."""
    settled = request.get(LOCALE_KEY)
    return settled if isinstance(settled, str) else browser_locale(request.headers.get("Accept-Language"))


def translator(request: web.Request) -> gettext.NullTranslations:
    """The ``dashboard`` catalog in the response's locale (``translator(request).gettext`` is a
    handler's ``_``)."""
    return translations(locale_of(request), DOMAIN)


def html_lang(locale: str) -> str:
    """The ``<html lang>`` of a locale (``pt_BR`` -> ``pt-BR``)."""
    return locale.replace("_", "-")


def fill(text: str, **parts: object) -> Markup:
    """A translated sentence with its ``{placeholders}`` filled, escaped; parts that are markup
    (a link built in the template) stay markup."""
    return escape(text).format(**parts)


def _formatters(locale: str) -> dict[str, Callable[..., str]]:
    def when(moment: datetime, form: str = "medium", zone: tzinfo | str | None = None) -> str:
        """A date and time in the host's locale, in ``zone`` (a zone or its IANA name), else in the
        moment's own (a naive moment is UTC, as the database keeps it)."""
        aware = moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)
        named = zone_named(zone) if isinstance(zone, str) else None
        shown = ZoneInfo(named) if named else (zone if isinstance(zone, tzinfo) else None)
        return format_datetime(aware, form, tzinfo=shown or aware.tzinfo, locale=locale)

    def day(value: date | datetime, form: str = "medium") -> str:
        """A date in the host's locale."""
        return format_date(value, form, locale=locale)

    return {"when": when, "day": day}


def page(request: web.Request, name: str, context: dict[str, Any], status: int = 200) -> web.Response:
    """A dashboard template in the host's language, never cached."""
    locale = locale_of(request)
    catalog = translator(request)
    context.setdefault("_", catalog.gettext)
    context.setdefault("ngettext", catalog.ngettext)
    context.setdefault("lang", html_lang(locale))
    context.setdefault("fill", fill)
    for key, function in _formatters(locale).items():
        context.setdefault(key, function)
    response = request.app[TEMPLATES].response(name, context, status=status)
    response.headers["Cache-Control"] = "no-store"
    return response


def message(request: web.Request, title: str, text: str, status: int) -> web.Response:
    """A one-sentence page (a refusal, a failure) with ``status``; ``title`` and ``text`` are
    already translated."""
    return page(request, "message.html", {"title": title, "text": text}, status)


async def session_of(request: web.Request) -> Session | None:
    """The signed-in host's session, from the cookie, or None."""
    return await request.app[TOKENS].session(request.cookies.get(COOKIE))


def signed_in(handler: Handler) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Run ``handler`` for a signed-in host only, in their language; POSTs must carry the session's
    CSRF token."""

    async def wrapped(request: web.Request) -> web.StreamResponse:
        session = await session_of(request)
        if session is None:
            _ = translator(request).gettext
            return message(
                request,
                _("Please sign in"),
                _("Ask Slotbot in chat for your settings link (“settings”): it signs you in here."),
                401,
            )
        request[LOCALE_KEY] = await host_locale(request, session.user_id)
        if request.method == "POST":
            form = await request.post()
            submitted = form.get("csrf")
            if not session.csrf_ok(submitted if isinstance(submitted, str) else None):
                _ = translator(request).gettext
                return message(
                    request, _("Form expired"), _("Reload the dashboard and try again."), 403
                )
        return await handler(request, session)

    return wrapped


def reconnect_id(value: object) -> int | None:
    """The connection a form reconnects (its ``reconnect`` field or query value), if any."""
    return int(value) if isinstance(value, str) and value.isdigit() else None
