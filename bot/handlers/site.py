"""Site-wide routes: the start page, ``/healthz``, ``/robots.txt`` and static files."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from bot.keys import ENGINE, SETTINGS, START_LINKS, TEMPLATES
from storage.db import ping

STATIC_DIR = Path(__file__).resolve().parents[1] / "static"
ROBOTS_TXT = "User-agent: *\nDisallow: /meetings*\n"


def setup(app: web.Application) -> None:
    """Add the site-wide routes to ``app``."""
    app.router.add_get("/", index)
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/robots.txt", robots)
    app.router.add_static("/static/", STATIC_DIR, append_version=False)


async def healthz(request: web.Request) -> web.Response:
    """Report whether the service and its database are up (503 when the database is not)."""
    ok = await ping(request.app[ENGINE])
    body = {"status": "ok" if ok else "degraded", "database": "ok" if ok else "unreachable"}
    return web.json_response(body, status=200 if ok else 503)


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
