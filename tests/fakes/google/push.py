"""The fake Google's push notifications: ``events.watch`` channels, ``channels.stop``, deliveries.

``POST calendars/{id}/events/watch`` with ``{id, type: "web_hook", address, token, expiration |
params.ttl}`` answers the Channel resource (``kind: "api#channel"``, ``id``, ``resourceId`` (one per
calendar), ``resourceUri``, ``token``, ``expiration`` in ms since the epoch, as a string). Right
after, the fake POSTs a ``sync`` message to the address, then an ``exists`` message on every change
to that calendar's events, with Google's headers (``X-Goog-Channel-ID``, ``X-Goog-Channel-Token``
when given, ``X-Goog-Channel-Expiration``, ``X-Goog-Resource-ID``, ``X-Goog-Resource-URI``,
``X-Goog-Resource-State``, ``X-Goog-Message-Number`` increasing per channel) and an empty body.
Deliveries go over HTTP from the fake's loop, one channel's in order; 200/201/202/204/102 count as
delivered, 500/502/503/504 and no answer are retried after each of ``retry_delays`` (Google backs
off exponentially, for longer), anything else is dropped. Channels stop at ``expiration`` (default
one week) or on ``channels.stop`` (``{id, resourceId}``; 404 for an unknown pair).

Google refuses a non-https ``address`` (400 ``push.webhookUrlNotHttps``); the fake accepts http
while ``allow_http_addresses`` is True (the default, so tests can listen on plain 127.0.0.1).
"""

from __future__ import annotations

import secrets
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from email.utils import formatdate
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from tests.fakes.google.calendar_api import Answer, FakeCalendar
from tests.fakes.google.wire import google_error
from tests.fakes.webhooks import Delivery, Notifier

DEFAULT_TTL = 7 * 24 * 3600
_DELIVERED = frozenset({102, 200, 201, 202, 204})
_RETRIED = frozenset({500, 502, 503, 504})


@dataclass
class Channel:
    """One notification channel (``expiration`` in ms since the epoch, as Google gives it)."""

    id: str
    resource_id: str
    resource_uri: str
    calendar_id: str
    address: str
    token: str | None
    expiration: int
    params: dict[str, str]
    messages: int = 0  # the last X-Goog-Message-Number used
    stopped: bool = False

    @property
    def active(self) -> bool:
        """Not stopped and not expired."""
        return not self.stopped and time.time() * 1000 < self.expiration

    def resource(self) -> dict[str, Any]:
        """The Channel resource Google answers a watch request with."""
        body: dict[str, Any] = {
            "kind": "api#channel",
            "id": self.id,
            "resourceId": self.resource_id,
            "resourceUri": self.resource_uri,
            "expiration": str(self.expiration),
        }
        if self.token is not None:
            body["token"] = self.token
        return body


class PushApi(Notifier):
    """Push channels of the fake Calendar API (see the module docstring)."""

    if TYPE_CHECKING:

        @property
        def base_url(self) -> str: ...  # FakeServer's

    spawn: Callable[[Callable[[], Awaitable[Any]]], None]  # FakeServer's
    account_email: str
    calendars: dict[str, FakeCalendar]
    _lock: threading.RLock

    def _init_push(self) -> None:
        self.channels: dict[str, Channel] = {}
        self.allow_http_addresses = True
        self._resource_ids: dict[str, str] = {}
        self._init_notifier(timeout=2.0, retry_delays=(0.05, 0.2))

    # -- knobs ----------------------------------------------------------------------------------

    def active_channels(self, calendar_id: str | None = None) -> list[Channel]:
        """Channels still notifying (of one calendar, or all)."""
        with self._lock:
            return [
                c
                for c in self.channels.values()
                if c.active and (calendar_id is None or c.calendar_id == calendar_id)
            ]

    def expire_channels(self, channel_id: str | None = None) -> None:
        """Let channels (one, or all) reach their expiration now: they notify no more."""
        with self._lock:
            for channel in self.channels.values():
                if channel_id is None or channel.id == channel_id:
                    channel.expiration = int(time.time() * 1000) - 1

    def resource_id(self, calendar_id: str) -> str:
        """The ``resourceId`` of a calendar's events collection (the same for all its channels)."""
        with self._lock:
            return self._resource_ids.setdefault(calendar_id, secrets.token_urlsafe(20))

    # -- the API --------------------------------------------------------------------------------

    def _watch(self, cal: FakeCalendar, requested_id: str, body: Any) -> Answer:
        if not isinstance(body, dict) or not body.get("id") or not body.get("address"):
            field = "id" if not isinstance(body, dict) or not body.get("id") else "address"
            return 400, {}, google_error(400, "required", f"Required: {field}")
        if body.get("type") not in ("web_hook", "webhook"):
            return 400, {}, google_error(400, "invalid", f"Invalid value for: type: {body.get('type')}")
        address = str(body["address"])
        if not address.startswith("https://") and not (
            self.allow_http_addresses and address.startswith("http://")
        ):
            return (
                400,
                {},
                google_error(
                    400, "push.webhookUrlNotHttps", f"WebHook callback must be HTTPS: {address}", "global"
                ),
            )
        channel_id = str(body["id"])
        if len(channel_id) > 64:
            return 400, {}, google_error(400, "invalid", "Channel id must be at most 64 characters.")
        if channel_id in self.channels and self.channels[channel_id].active:
            return 400, {}, google_error(400, "channelIdNotUnique", f"Channel id {channel_id} not unique")
        params = {str(k): str(v) for k, v in (body.get("params") or {}).items()}
        if body.get("expiration"):
            expiration = int(body["expiration"])
        else:
            expiration = int((time.time() + int(params.get("ttl", DEFAULT_TTL))) * 1000)
        channel = Channel(
            id=channel_id,
            resource_id=self.resource_id(cal.id),
            resource_uri=f"{self.base_url}/calendar/v3/calendars/{quote(requested_id, safe='')}"
            "/events?alt=json",
            calendar_id=cal.id,
            address=address,
            token=None if body.get("token") is None else str(body["token"]),
            expiration=expiration,
            params=params,
        )
        self.channels[channel_id] = channel
        self._ring(channel, "sync")
        return 200, {}, channel.resource()

    def _stop(self, body: Any) -> Answer:
        body = body if isinstance(body, dict) else {}
        channel = self.channels.get(str(body.get("id")))
        if channel is None or channel.stopped or channel.resource_id != body.get("resourceId"):
            message = f"Channel '{body.get('id')}' not found for project 'slotbot-test'"
            return 404, {}, google_error(404, "notFound", message)
        channel.stopped = True
        return 204, {}, None

    def _drop_channels(self, calendar_id: str) -> None:
        for channel in self.channels.values():
            if channel.calendar_id == calendar_id:
                channel.stopped = True

    # -- deliveries -----------------------------------------------------------------------------

    def _notify_change(self, cal: FakeCalendar) -> None:
        for channel in list(self.channels.values()):
            if channel.calendar_id == cal.id and channel.active:
                self._ring(channel, "exists")

    def _ring(self, channel: Channel, state: str) -> None:
        channel.messages += 1
        headers = {
            "X-Goog-Channel-ID": channel.id,
            "X-Goog-Channel-Expiration": formatdate(channel.expiration / 1000, usegmt=True),
            "X-Goog-Resource-ID": channel.resource_id,
            "X-Goog-Resource-URI": channel.resource_uri,
            "X-Goog-Resource-State": state,
            "X-Goog-Message-Number": str(channel.messages),
        }
        if channel.token is not None:
            headers["X-Goog-Channel-Token"] = channel.token

        async def send() -> Delivery:
            return await self.post(
                channel.address,
                kind=state,
                key=channel.id,
                headers=headers,
                ok=lambda status: status in _DELIVERED,
                retry=lambda status: status is None or status in _RETRIED,
            )

        self.spawn(send)
