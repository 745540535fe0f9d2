"""Demo only: sign in to the dashboard as the demo host (in production the link comes from chat)."""

from __future__ import annotations

from aiohttp import web
from sqlalchemy import select

from bot.demo.seed import DEMO_SLUG
from bot.keys import SESSIONS, START_LINKS, TOKENS
from storage.models import User


def setup(app: web.Application) -> None:
    """Add ``/demo/login`` and list the dashboard on the start page."""
    app.router.add_get("/demo/login", demo_login)
    app.setdefault(START_LINKS, []).append(
        ("/demo/login", "Dashboard", "The demo host's calendar settings (signed in with a one-time link)")
    )
    app.setdefault(START_LINKS, []).append(
        ("/meetings/demo", "Scheduling page", "Book the demo host: the event lands in the demo calendar")
    )


async def demo_login(request: web.Request) -> web.StreamResponse:
    """Mint a one-time login link for the demo host and follow it."""
    async with request.app[SESSIONS]() as session:
        user_id = (
            await session.execute(select(User.id).where(User.slug == DEMO_SLUG))
        ).scalar_one_or_none()
    if user_id is None:
        raise web.HTTPNotFound(reason="The demo host does not exist (run slotbot demo)")
    token = await request.app[TOKENS].login_link_token(user_id)
    raise web.HTTPSeeOther(f"/dashboard/login?token={token}")
