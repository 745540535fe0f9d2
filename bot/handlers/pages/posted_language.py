"""The language a visitor filled a form in, which every message about their booking is then in."""

from __future__ import annotations

from aiohttp import web

from bot.handlers.pages.visitor import LANGUAGES, language


def posted_language(request: web.Request, form: dict[str, str], preferred: str | None) -> str:
    """The form's own ``lang`` (the page's language picker, or in the website widget the
    conversation's language), else the page view's language (:func:`~bot.handlers.pages.visitor.language`:
    ``?lang=``, the page's language, the browser's)."""
    posted = form.get("lang")
    return posted if posted in LANGUAGES else language(request, preferred)
