"""The fake Graph's change notifications: ``/subscriptions`` and the notifications it POSTs.

``POST /v1.0/subscriptions`` (``changeType`` of ``created,updated,deleted``, ``notificationUrl``,
``lifecycleNotificationUrl``, ``resource`` ``me/events``, ``me/calendar/events``,
``me/calendars/{id}/events`` or the ``users/{id|upn}/...`` forms, ``expirationDateTime``,
``clientState``) first does Graph's validation handshake: a POST to
``notificationUrl?validationToken=<token>`` (and to the lifecycle URL when given) that must
answer 200 ``text/plain`` with the (URL-decoded) token within ``validation_timeout`` (10 s), else
400 ``ValidationError`` and nothing is created. An expiration beyond ``max_subscription_minutes``
(10080, Outlook events under 7 days) or in the past answers 400. ``GET /subscriptions``,
``GET``/``PATCH`` (renew ``expirationDateTime``; a new ``notificationUrl`` is validated again) /
``DELETE`` ``/subscriptions/{id}`` (404 ``ResourceNotFound`` for unknown or expired ones),
``POST /subscriptions/{id}/reauthorize``. Graph requires https URLs; the fake accepts http while
``allow_http_notification_urls`` is True (the default).

Every change to an event a subscription covers POSTs ``{"value": [{subscriptionId,
subscriptionExpirationDateTime, changeType, resource: "Users/{userId}/Events/{id}", resourceData:
{"@odata.type": "#Microsoft.Graph.Event", "@odata.id", "@odata.etag", "id"}, clientState,
tenantId}]}``; a 2xx answer (Graph expects 202) is delivered, anything else or no answer within
``delivery_timeout`` is retried after each of ``retry_delays``. ``send_lifecycle(id, event)``
POSTs a lifecycle notification (``reauthorizationRequired``, ``subscriptionRemoved`` (the
subscription is gone after it), ``missed``) to the lifecycle URL.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.microsoft.delta_api import DeltaApi
from tests.fakes.microsoft.graph_api import (
    UTC,
    FakeCalendar,
    FakeEvent,
    FakeUser,
    _graph_error,
    _parse_iso,
    _stamp,
)
from tests.fakes.oauth import AccessGrant
from tests.fakes.webhooks import Notifier

_CHANGES = frozenset({"created", "updated", "deleted"})
_LIFECYCLE = frozenset({"reauthorizationRequired", "subscriptionRemoved", "missed"})
_VALIDATION_FAILED = (
    "Subscription validation request failed. Notification endpoint must respond with 200 OK to "
    "validation request."
)


@dataclasses.dataclass
class Subscription:
    """One subscription (``calendar_id`` None: every calendar the user owns, ``me/events``)."""

    id: str
    resource: str
    change_type: str
    notification_url: str
    lifecycle_url: str | None
    expiration: dt.datetime
    client_state: str | None
    email: str
    calendar_id: str | None
    application_id: str
    creator_id: str

    @property
    def active(self) -> bool:
        """Not expired."""
        return self.expiration > dt.datetime.now(UTC)

    def json(self) -> dict[str, Any]:
        """The subscription resource."""
        return {
            "id": self.id,
            "resource": self.resource,
            "applicationId": self.application_id,
            "changeType": self.change_type,
            "clientState": self.client_state,
            "notificationUrl": self.notification_url,
            "lifecycleNotificationUrl": self.lifecycle_url,
            "expirationDateTime": _stamp(self.expiration),
            "creatorId": self.creator_id,
            "includeResourceData": False,
            "latestSupportedTlsVersion": "v1_2",
            "encryptionCertificate": None,
            "encryptionCertificateId": None,
            "notificationUrlAppId": None,
        }


class SubscriptionsApi(Notifier, DeltaApi):
    """Subscriptions and change notifications (see the module docstring)."""

    client_id: str
    subscriptions: dict[str, Subscription]
    spawn: Callable[[Callable[[], Awaitable[Any]]], None]  # FakeServer's

    def _init_sync(self) -> None:
        self._init_delta()
        self._init_notifier(timeout=3.0, retry_delays=(0.05, 0.1, 0.2))
        self.subscriptions = {}
        self.allow_http_notification_urls = True
        self.max_subscription_minutes = 10080
        self.validation_timeout = 10.0

    def _sync_routes(self, app: web.Application) -> None:
        self._write_routes(app)
        self._delta_routes(app)
        app.router.add_post("/v1.0/subscriptions", self._graph(self._create_subscription))
        app.router.add_get("/v1.0/subscriptions", self._graph(self._list_subscriptions))
        one = "/v1.0/subscriptions/{subscription}"
        app.router.add_get(one, self._graph(self._get_subscription))
        app.router.add_patch(one, self._graph(self._patch_subscription))
        app.router.add_delete(one, self._graph(self._delete_subscription))
        app.router.add_post(one + "/reauthorize", self._graph(self._reauthorize))

    # -- knobs ----------------------------------------------------------------------------------

    def send_lifecycle(self, subscription_id: str, lifecycle_event: str) -> None:
        """POST a lifecycle notification to the subscription's ``lifecycleNotificationUrl``.

        ``subscriptionRemoved`` also removes the subscription, as Graph has then dropped it.
        """
        assert lifecycle_event in _LIFECYCLE, lifecycle_event
        sub = self.subscriptions[subscription_id]
        if sub.lifecycle_url is None:
            raise ValueError("the subscription has no lifecycleNotificationUrl")
        item: dict[str, Any] = {
            "subscriptionId": sub.id,
            "subscriptionExpirationDateTime": _stamp(sub.expiration),
            "tenantId": self.users[sub.email].tid,
            "clientState": sub.client_state,
            "lifecycleEvent": lifecycle_event,
        }
        if lifecycle_event == "subscriptionRemoved":
            del self.subscriptions[sub.id]
        self._send(sub.lifecycle_url, sub.id, "lifecycle", item)

    def expire_subscriptions(self, subscription_id: str | None = None) -> None:
        """Let subscriptions (one, or all) expire now: they notify no more and answer 404."""
        for sub in self.subscriptions.values():
            if subscription_id is None or sub.id == subscription_id:
                sub.expiration = dt.datetime.now(UTC) - dt.timedelta(seconds=1)

    # -- notifications --------------------------------------------------------------------------

    def _notify(self, calendar: FakeCalendar, event: FakeEvent, change_type: str) -> None:
        for sub in list(self.subscriptions.values()):
            user = self.users[sub.email]
            if not sub.active or change_type not in sub.change_type.split(","):
                continue
            if not any(c is calendar for c in user.calendars):
                continue
            if (sub.calendar_id is None and calendar.owner_email != user.email) or (
                sub.calendar_id is not None and sub.calendar_id != calendar.id
            ):
                continue
            resource = f"Users/{user.oid}/Events/{event.id}"
            item = {
                "subscriptionId": sub.id,
                "subscriptionExpirationDateTime": _stamp(sub.expiration),
                "changeType": change_type,
                "resource": resource,
                "resourceData": {
                    "@odata.type": "#Microsoft.Graph.Event",
                    "@odata.id": resource,
                    "@odata.etag": f'W/"{event.change_key}"',
                    "id": event.id,
                },
                "clientState": sub.client_state,
                "tenantId": user.tid,
            }
            self._send(sub.notification_url, sub.id, "change", item)

    def _send(self, url: str, key: str, kind: str, item: dict[str, Any]) -> None:
        body = json.dumps({"value": [item]}).encode()

        async def send() -> None:
            await self.post(
                url,
                kind=kind,
                key=key,
                headers={"Content-Type": "application/json; charset=utf-8"},
                body=body,
                ok=lambda status: 200 <= status < 300,
                retry=lambda status: True,
            )

        self.spawn(send)

    async def _validate(self, url: str, key: str) -> bool:
        token = (
            f"Validation: Testing client application reachability for subscription Request-Id: {uuid.uuid4()}"
        )
        sep = "&" if "?" in url else "?"
        delivery = await self.post(
            f"{url}{sep}validationToken={quote(token, safe='')}",
            kind="validation",
            key=key,
            headers={"Content-Type": "text/plain; charset=utf-8"},
            ok=lambda status: status == 200,
            seconds=self.validation_timeout,
            in_order=False,
        )
        return delivery.status == 200 and delivery.answer_type == "text/plain" and delivery.answer == token

    # -- the API --------------------------------------------------------------------------------

    def _resource(self, user: FakeUser, resource: str) -> tuple[str | None, bool]:
        """The calendar a resource path names (None: all the user's), and whether it is valid."""
        parts = resource.strip("/").split("/")
        if len(parts) >= 2 and parts[0].lower() == "users" and parts[1] in (user.email, user.oid):
            parts = ["me", *parts[2:]]
        lowered = [p.lower() for p in parts]
        if lowered == ["me", "events"]:
            return None, True
        if lowered == ["me", "calendar", "events"]:
            return user.default_calendar.id, True
        if len(parts) == 4 and lowered[:2] == ["me", "calendars"] and lowered[3] == "events":
            return parts[2], user.calendar(parts[2]) is not None
        return None, False

    def _expiry(self, text: Any, operation: str = "Create") -> dt.datetime | web.Response:
        try:
            expiration = _parse_iso(str(text))
        except ValueError:
            return _graph_error(400, "InvalidRequest", "expirationDateTime is not a valid date and time.")
        now = dt.datetime.now(UTC)
        if expiration <= now:
            return _graph_error(400, "InvalidRequest", "Subscription expiration must be in the future.")
        if expiration > now + dt.timedelta(minutes=self.max_subscription_minutes):
            reason = (
                f"Subscription expiration can only be {self.max_subscription_minutes} minutes in the future."
            )
            return _graph_error(
                400,
                "ExtensionError",
                f"Operation: {operation}; Exception: [Status Code: BadRequest; Reason: {reason}]",
            )
        return expiration

    def _url_refused(self, url: Any) -> web.Response | None:
        url = str(url or "")
        if url.startswith("https://") or (self.allow_http_notification_urls and url.startswith("http://")):
            return None
        return _graph_error(400, "ValidationError", "The Notification Url must use the https scheme.")

    async def _create_subscription(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.Response:
        body = await request.json()
        if not isinstance(body, dict):
            return _graph_error(400, "InvalidRequest", "The request body is not a subscription.")
        for name in ("changeType", "notificationUrl", "resource", "expirationDateTime"):
            if not body.get(name):
                return _graph_error(400, "InvalidRequest", f"The property '{name}' is required.")
        changes = [c.strip() for c in str(body["changeType"]).split(",")]
        if not changes or not set(changes) <= _CHANGES:
            return _graph_error(400, "InvalidRequest", f"Invalid change type '{body['changeType']}'.")
        calendar_id, valid = self._resource(user, str(body["resource"]))
        if not valid:
            return _graph_error(400, "InvalidRequest", f"Resource '{body['resource']}' is not supported.")
        if not self._has(grant, "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"):
            return _graph_error(
                403,
                "ExtensionError",
                "Operation: Create; Exception: [Status Code: Forbidden; "
                "Reason: Access is denied. Check credentials and try again.]",
            )
        client_state = body.get("clientState")
        if client_state is not None and len(str(client_state)) > 128:
            return _graph_error(400, "InvalidRequest", "clientState is longer than 128 characters.")
        expiration = self._expiry(body["expirationDateTime"])
        if isinstance(expiration, web.Response):
            return expiration
        lifecycle = body.get("lifecycleNotificationUrl") or None
        for url in (body["notificationUrl"], lifecycle):
            refused = None if url is None else self._url_refused(url)
            if refused is not None:
                return refused
        sub_id = str(uuid.uuid4())
        for url in (body["notificationUrl"], lifecycle):
            if url is not None and not await self._validate(str(url), sub_id):
                return _graph_error(400, "ValidationError", _VALIDATION_FAILED)
        sub = Subscription(
            sub_id,
            str(body["resource"]),
            ",".join(changes),
            str(body["notificationUrl"]),
            lifecycle,
            expiration,
            None if client_state is None else str(client_state),
            user.email,
            calendar_id,
            self.client_id,
            user.oid,
        )
        self.subscriptions[sub.id] = sub
        context = {"@odata.context": f"{self.graph_base}/$metadata#subscriptions/$entity"}
        return web.json_response({**context, **sub.json()}, status=201)

    def _own(self, request: web.Request, user: FakeUser) -> Subscription | web.Response:
        sub = self.subscriptions.get(request.match_info["subscription"])
        if sub is None or not sub.active or sub.email != user.email:
            return _graph_error(404, "ResourceNotFound", "The object was not found.")
        return sub

    async def _list_subscriptions(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.Response:
        items = [s.json() for s in self.subscriptions.values() if s.active and s.email == user.email]
        return web.json_response(
            {"@odata.context": f"{self.graph_base}/$metadata#subscriptions", "value": items}
        )

    async def _get_subscription(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.Response:
        found = self._own(request, user)
        return found if isinstance(found, web.Response) else web.json_response(found.json())

    async def _patch_subscription(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.Response:
        found = self._own(request, user)
        if isinstance(found, web.Response):
            return found
        body = await request.json()
        body = body if isinstance(body, dict) else {}
        expiration: dt.datetime | web.Response = found.expiration
        if "expirationDateTime" in body:
            expiration = self._expiry(body["expirationDateTime"], "Update")
        if isinstance(expiration, web.Response):
            return expiration
        url = body.get("notificationUrl")
        if url is not None:
            refused = self._url_refused(url)
            if refused is not None:
                return refused
            if not await self._validate(str(url), found.id):
                return _graph_error(400, "ValidationError", _VALIDATION_FAILED)
            found.notification_url = str(url)
        found.expiration = expiration
        return web.json_response(found.json())

    async def _delete_subscription(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.StreamResponse:
        found = self._own(request, user)
        if isinstance(found, web.Response):
            return found
        del self.subscriptions[found.id]
        return web.Response(status=204)

    async def _reauthorize(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.StreamResponse:
        found = self._own(request, user)
        return found if isinstance(found, web.Response) else web.Response(status=200)
