"""The dashboard's "Calendar sync" switch and each calendar's sync state (push or polling)."""

from __future__ import annotations

from typing import Any
from zoneinfo import ZoneInfo

from aiohttp import web
from babel.dates import format_time

from bot.accounts.tokens import Session
from bot.handlers.dashboard_base import locale_of, signed_in, translator
from bot.keys import SYNC
from bot.sync.service import SYNCED_KINDS


def setup(app: web.Application) -> None:
    """Add the switch's route."""
    app.router.add_post("/dashboard/sync", signed_in(switch))


async def switch(request: web.Request, session: Session) -> web.StreamResponse:
    """Turn calendar sync on or off, then back to the dashboard with a notice."""
    form = await request.post()
    enabled = form.get("enabled") == "on"
    await request.app[SYNC].set_enabled(session.user_id, enabled)
    raise web.HTTPSeeOther(f"/dashboard?notice={'sync-on' if enabled else 'sync-off'}")


async def add_views(request: web.Request, connections: list[dict[str, Any]], zone: str) -> None:
    """Give each synced calendar of the dashboard's entries its ``sync`` sentence."""
    sync = request.app[SYNC]
    calendars = [cal for c in connections if c["provider"] in SYNCED_KINDS for cal in c["calendars"]]
    views = await sync.views([cal.id for cal in calendars])
    place = ZoneInfo(zone)
    catalog, locale = translator(request), locale_of(request)
    _, ngettext = catalog.gettext, catalog.ngettext
    for entry in connections:
        entry["sync"] = {}
        for cal in entry["calendars"]:
            view = views.get(cal.id)
            if view is None:
                continue
            minutes = sync.poll_minutes
            how = (_("updated by push within seconds") if view.mode == "push"
                   else ngettext("read every {minutes} min", "read every {minutes} min", minutes).format(
                       minutes=minutes))
            when = (_(", last {time}").format(time=format_time(view.synced_at.astimezone(place), "short",
                                                                locale=locale))
                    if view.synced_at is not None else _(", not read yet"))
            problem = _(" (last try failed: {problem})").format(problem=view.problem) if view.problem else ""
            entry["sync"][cal.id] = _("Synced to contacts: {how}{when}{problem}").format(
                how=how, when=when, problem=problem)
