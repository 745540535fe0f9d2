"""Branding routes: the favicon, a page colour's style sheet, and a custom domain's root.

* ``/favicon.ico`` answers with ``bot/static/favicon.svg`` (``base.html`` links the SVG itself;
  this is for clients that ask the old address).
* ``/meetings-theme/<rrggbb>.css`` is ``:root{--accent:...}`` for a page colour
  (:func:`bot.pages.theme.theme_css`: a readable shade and the text colour to put on it). CSP
  forbids inline styles, so ``base.html`` links this sheet; the address names the colour, so it is
  cached for a year. Anything but six hex digits is a 404.
* ``/`` on a custom domain (:func:`domain_root`, called by ``bot.app``'s custom-domain
  middleware): with exactly one host using the domain, a redirect to that host's page; otherwise a
  short page saying to open the link the host shared (no list: nothing about other hosts leaks).
"""

from __future__ import annotations

from aiohttp import web

from bot.handlers.pages.visitor import language, respond, translator
from bot.handlers.site import STATIC_DIR
from bot.keys import READ_SESSIONS
from bot.pages.domain_hosts import hosts_on
from bot.pages.theme import parse_hex, theme_css

FAVICON = STATIC_DIR / "favicon.svg"
YEAR = 365 * 24 * 3600
THEME_PREFIX = "/meetings-theme/"


def setup(app: web.Application) -> None:
    """Add the favicon and theme routes."""
    app.router.add_get("/favicon.ico", favicon)
    app.router.add_get(THEME_PREFIX + "{name}", theme)


def theme_href(colour: str | None) -> str | None:
    """The address of the style sheet of a page ``colour`` (None: no colour, or not ``#rrggbb``)."""
    parsed = None if colour is None else parse_hex(colour)
    return None if parsed is None else f"{THEME_PREFIX}{parsed[1:]}.css"


async def favicon(request: web.Request) -> web.StreamResponse:
    """The site icon (the SVG), cached for a day."""
    return web.Response(body=FAVICON.read_bytes(), content_type="image/svg+xml",
                        headers={"Cache-Control": "public, max-age=86400"})


async def theme(request: web.Request) -> web.Response:
    """The accent style sheet of ``<rrggbb>.css`` (lower-case hex only: one address per colour)."""
    name = request.match_info["name"]
    stem, dot, extension = name.rpartition(".")
    colour = parse_hex(stem) if dot and extension == "css" and stem == stem.lower() else None
    if colour is None or stem.startswith("#"):
        raise web.HTTPNotFound()
    return web.Response(text=theme_css(colour), content_type="text/css",
                        headers={"Cache-Control": f"public, max-age={YEAR}, immutable"})


async def domain_root(request: web.Request) -> web.Response:
    """``/`` on a custom domain: its one host's page, or a sentence on how to find a page."""
    async with request.app[READ_SESSIONS]() as session:
        slugs = await hosts_on(session, request.host)
    if len(slugs) == 1:
        raise web.HTTPFound(f"/meetings/{slugs[0]}")
    lang = language(request)
    _ = translator(lang)
    return respond(request, "page_message.html", {
        "title": _("Scheduling pages"),
        "text": _("To book a time, open the link your host shared with you."),
        "lang": lang,
    })
