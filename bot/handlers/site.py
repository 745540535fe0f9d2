"""Site-wide routes: the start page, ``/healthz``, ``/robots.txt`` and static files."""

from __future__ import annotations

import logging

from aiohttp import web

from bot import templating
from bot.keys import ENGINE, SETTINGS, START_LINKS, TEMPLATES
from storage.readiness import readiness

log = logging.getLogger(__name__)

STATIC_DIR = templating.STATIC_DIR
IMMUTABLE = "public, max-age=31536000, immutable"
"""Cache-Control of a static file asked for by its current hash: that address never changes."""
REVALIDATE = "no-cache"
"""Cache-Control of a static file asked for by its plain name (``widget.js`` on customer sites) or an
old hash: kept, but checked (If-Modified-Since / ETag) before each use."""
ROBOTS_TXT = "User-agent: *\nDisallow: /meetings*\n"


def setup(app: web.Application) -> None:
    """Add the site-wide routes to ``app``."""
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/robots.txt", robots)
    app.router.add_get("/static/{name}", static_file)


async def static_file(request: web.Request) -> web.StreamResponse:
    """A file of ``bot/static``; cached for a year when asked for by its current hash
    (``?v=``, as :meth:`~bot.templating.StaticFiles.url` writes it), else revalidated each time."""
    files = request.app[TEMPLATES].static
    name = request.match_info["name"]
    path = files.path(name)
    if path is None:
        raise web.HTTPNotFound()
    response = web.FileResponse(path)
    response.headers["Cache-Control"] = IMMUTABLE if files.current(name, request.query.get("v", "")) \
        else REVALIDATE
    return response


async def healthz(request: web.Request) -> web.Response:
    """Readiness: 200 when bookings can work, else 503 naming the database's problem
    (``unreachable``, ``not migrated``, ``damaged`` or ``read-only``; the details go to the log)."""
    state = await readiness(request.app[ENGINE])
    if state.ready:
        return web.json_response({"status": "ok", "database": "ok"})
    log.warning("not ready", extra={"problem": state.problem, "detail": state.detail})
    return web.json_response({"status": "degraded", "database": state.problem}, status=503)


async def robots(request: web.Request) -> web.Response:
    """Keep scheduling pages out of search engines, on every served host."""
    return web.Response(text=ROBOTS_TXT, content_type="text/plain")


async def index(request: web.Request) -> web.Response:
    """The start page: what is running here and where to go next."""
    settings = request.app[SETTINGS]
    links = request.app.get(START_LINKS, [])
    return request.app[TEMPLATES].response(
        "index.html", {"demo": settings.demo, "base_url": settings.base_url, "links": links}
    )


def add_start_link(app: web.Application, href: str, title: str, description: str) -> None:
    """List a page on the start page (each feature adds its own)."""
    app.setdefault(START_LINKS, []).append((href, title, description))
