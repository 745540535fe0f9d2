"""Where Google and Microsoft Graph push calendar change notifications (calendar sync).

* ``POST /hooks/google/calendar``: a watch channel's notification. Google sends no body, only
  ``X-Goog-Channel-ID``, ``X-Goog-Channel-Token`` (the channel's secret), ``X-Goog-Resource-State``
  (``sync`` when the channel opens, ``exists`` on a change) and ``X-Goog-Message-Number``. The
  ``sync`` message is answered 200 and does nothing: it can come before the channel is stored.
* ``POST /hooks/microsoft/calendar``: Graph's validation handshake (``?validationToken=``, echoed
  as text/plain within 10 s) or change notifications (``{"value": [...]}``, each with its
  ``subscriptionId`` and ``clientState``), answered 202.
* ``POST /hooks/microsoft/lifecycle``: the same handshake, or lifecycle notifications
  (``reauthorizationRequired``, ``subscriptionRemoved``, ``missed``).

Every notification is checked against the channel's secret before anything happens; one that
fails the check is refused (401) and changes nothing. A checked change enqueues a sync of that
calendar through the outbox and wakes it.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web

from bot.keys import OUTBOX, SYNC
from bot.sync.push import HOOK_PATHS, LIFECYCLE_PATH, PushChannels

VALIDATION_LIMIT = 1024  # a validation token is short; anything longer is not one


def setup(app: web.Application) -> None:
    """Add the three notification endpoints."""
    app.router.add_post(HOOK_PATHS["google"], google)
    app.router.add_post(HOOK_PATHS["microsoft"], microsoft)
    app.router.add_post(LIFECYCLE_PATH, lifecycle)


def _push(request: web.Request) -> PushChannels:
    push = request.app[SYNC].push
    if push is None or not push.enabled:
        raise web.HTTPNotFound(text="Push notifications are not used on this server.")
    return push


async def google(request: web.Request) -> web.StreamResponse:
    """A Google watch channel's notification."""
    push = _push(request)
    headers = request.headers
    channel = headers.get("X-Goog-Channel-ID", "")
    state = headers.get("X-Goog-Resource-State", "")
    number = headers.get("X-Goog-Message-Number", "")
    if state == "sync":
        # Google's first message on a new channel says only that it works; it may arrive before
        # ``events.watch`` has answered and the channel is stored. Nothing happens for it.
        return web.Response(status=200)
    checked = await push.notified(channel, headers.get("X-Goog-Channel-Token", ""),
                                  dedupe=f"google:{channel}:{number}:{state}")
    if checked is None:
        raise web.HTTPUnauthorized(text="Unknown channel or wrong token.")
    request.app[OUTBOX].wake()
    return web.Response(status=200)


def _validation(request: web.Request) -> web.Response | None:
    token = request.query.get("validationToken")
    if token is None:
        return None
    if len(token) > VALIDATION_LIMIT:
        raise web.HTTPBadRequest(text="That is not a validation token.")
    return web.Response(text=token, content_type="text/plain")


async def _items(request: web.Request) -> list[dict[str, Any]]:
    try:
        body = json.loads(await request.text())
    except ValueError:
        raise web.HTTPBadRequest(text="Expected Graph's JSON notification.") from None
    items = body.get("value") if isinstance(body, dict) else None
    if not isinstance(items, list):
        raise web.HTTPBadRequest(text="Expected Graph's JSON notification.")
    return [item for item in items if isinstance(item, dict)]


async def microsoft(request: web.Request) -> web.StreamResponse:
    """Graph's validation handshake, or change notifications."""

    async def change(push: PushChannels, item: dict[str, Any]) -> object:
        data = item.get("resourceData")
        etag = data.get("@odata.etag") if isinstance(data, dict) else None
        identity = json.dumps([item.get(k) for k in ("subscriptionId", "changeType", "resource")] + [etag])
        return await push.notified(str(item.get("subscriptionId", "")), str(item.get("clientState", "")),
                                   dedupe=f"microsoft:{identity}")

    return await _graph(request, change)


async def lifecycle(request: web.Request) -> web.StreamResponse:
    """Graph's validation handshake, or lifecycle notifications."""

    async def event(push: PushChannels, item: dict[str, Any]) -> object:
        return await push.lifecycle(str(item.get("subscriptionId", "")), str(item.get("clientState", "")),
                                    str(item.get("lifecycleEvent", "")))

    return await _graph(request, event)


async def _graph(request: web.Request,
                 handle: Callable[[PushChannels, dict[str, Any]], Awaitable[object]]) -> web.StreamResponse:
    """A Graph notification endpoint: the handshake, else each item checked by ``handle``."""
    answer = _validation(request)
    if answer is not None:
        return answer
    push = _push(request)
    accepted = 0
    for item in await _items(request):
        accepted += await handle(push, item) is not None
    if not accepted:
        raise web.HTTPUnauthorized(text="Unknown subscription or wrong client state.")
    request.app[OUTBOX].wake()
    return web.Response(status=202)
