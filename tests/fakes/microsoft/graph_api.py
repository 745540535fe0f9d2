"""The fake Microsoft Graph v1.0 calendar reads (mixed into FakeMicrosoft) and its mailbox data.

``/me``, ``/me/calendars``, ``/me/calendars/{id}/calendarView`` (``$select``, ``$top``,
``$expand=singleValueExtendedProperties($filter=id eq '...')``, ``Prefer: outlook.timezone``,
``@odata.nextLink`` paging with a small page size); bearer checks and permission checks per
endpoint; Graph's error bodies. Writes are in :mod:`tests.fakes.microsoft.events_api`, delta in
:mod:`tests.fakes.microsoft.delta_api`, subscriptions in :mod:`tests.fakes.microsoft.subscriptions`.
"""

from __future__ import annotations

import base64
import datetime as dt
import itertools
import re
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import quote, urlencode
from zoneinfo import ZoneInfo

from aiohttp import web

from tests.fakes.base import CALL, Fault, Recorded
from tests.fakes.microsoft.model import (
    FakeCalendar,
    FakeEvent,
    FakeUser,
    GraphCall,
    _graph_id,
    _stamp,
    _utcnow,
)
from tests.fakes.oauth import AccessGrant

__all__ = [
    "FakeCalendar",
    "FakeEvent",
    "FakeUser",
    "GraphApi",
    "GraphCall",
    "_graph_id",
    "_stamp",
    "_utcnow",
]

UTC = dt.UTC


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _permission(scope: str) -> str:
    return scope.rsplit("/", 1)[-1].lower()


def _graph_error(status: int, code: str, message: str, headers: dict[str, str] | None = None) -> web.Response:
    body = {
        "error": {
            "code": code,
            "message": message,
            "innerError": {"date": dt.datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S"), "request-id": "fake"},
        }
    }
    return web.json_response(body, status=status, headers=headers)


def _oauth_error(status: int, error: str, description: str, code: int) -> web.Response:
    return web.json_response(
        {
            "error": error,
            "error_description": f"AADSTS{code}: {description}",
            "error_codes": [code],
            "timestamp": dt.datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%SZ"),
            "trace_id": "00000000-0000-0000-0000-000000000000",
            "correlation_id": "00000000-0000-0000-0000-000000000000",
        },
        status=status,
    )


def _parse_iso(text: str) -> dt.datetime:
    value = text.strip().replace("Z", "+00:00")
    if "." in value:
        head, rest = value.split(".", 1)
        digits = "".join(itertools.takewhile(str.isdigit, rest))
        value = f"{head}.{digits[:6]}{rest[len(digits) :]}"
    moment = dt.datetime.fromisoformat(value)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def _zone(name: str) -> dt.tzinfo:
    if name.strip().lower() in ("utc", "etc/utc", "gmt"):
        return UTC
    return ZoneInfo(name.strip())


def _render(moment: dt.datetime | dt.date, zone: dt.tzinfo, zone_name: str) -> dict[str, str]:
    if isinstance(moment, dt.datetime):
        local = moment.astimezone(zone)
        return {"dateTime": local.strftime("%Y-%m-%dT%H:%M:%S.") + "0000000", "timeZone": zone_name}
    # All-day events are floating whole dates: midnight of the date in whatever zone is asked.
    return {"dateTime": moment.strftime("%Y-%m-%dT00:00:00.0000000"), "timeZone": zone_name}


class GraphApi:
    """The Graph half of FakeMicrosoft: how it answers Graph requests for its users' mailboxes."""

    users: dict[str, FakeUser]
    calls: list[GraphCall]
    in_flight: dict[str, int]
    max_in_flight: dict[str, int]
    invitations: list[tuple[str, str]]
    cancellations: list[str]
    page_size: int
    tokens: Any  # TokenAuthority
    base_url: str
    graph_base: str

    def take_fault(self, call: Recorded) -> Fault | None:
        raise NotImplementedError

    async def pause(self, fault: Fault | None = None, latency: float | None = None) -> None:
        raise NotImplementedError

    def _graph(
        self, handler: Callable[[web.Request, FakeUser, AccessGrant], Awaitable[web.StreamResponse]]
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def wrapped(request: web.Request) -> web.StreamResponse:
            grant = self.tokens.bearer(request.headers.get("Authorization", ""))
            mailbox = grant.subject.email if grant else None
            body = request[CALL].body
            call = GraphCall(
                method=request.method,
                path=request.path,
                query=dict(request.query),
                headers={k: v for k, v in request.headers.items() if k.lower() in ("prefer", "content-type")},
                mailbox=mailbox,
                body=body,
            )
            self.calls.append(call)
            key = mailbox or "?"
            self.in_flight[key] += 1
            self.max_in_flight[key] = max(self.max_in_flight[key], self.in_flight[key])
            try:
                response = await self._answer(request, grant, handler)
            finally:
                self.in_flight[key] -= 1
            call.status = response.status
            return response

        return wrapped

    async def _answer(
        self,
        request: web.Request,
        grant: AccessGrant | None,
        handler: Callable[[web.Request, FakeUser, AccessGrant], Awaitable[web.StreamResponse]],
    ) -> web.StreamResponse:
        if grant is None or not grant.valid():
            await self.pause()
            return _graph_error(
                401, "InvalidAuthenticationToken", "Access token has expired or is not yet valid."
            )
        fault = self.take_fault(request[CALL])
        await self.pause(fault)
        if fault is not None and fault.status is not None:
            return _graph_error(
                fault.status, fault.detail["code"], "Fault injected by the test.", fault.headers
            )
        return await handler(request, grant.subject, grant)

    @staticmethod
    def _has(grant: AccessGrant, *permissions: str) -> bool:
        held = {_permission(s) for s in grant.scopes}
        return any(p.lower() in held for p in permissions)

    def _page(self, request: web.Request, items: list[dict[str, Any]], context: str) -> web.Response:
        top = int(request.query.get("$top", "10"))
        size = max(1, min(top, self.page_size))
        skip = int(request.query.get("$skip", "0"))
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_base}/$metadata#{context}",
            "value": items[skip : skip + size],
        }
        if skip + size < len(items):
            params = dict(request.query)
            params["$skip"] = str(skip + size)
            body["@odata.nextLink"] = (
                f"{self.base_url}{quote(request.path)}?{urlencode(params, quote_via=quote, safe='$,:')}"
            )
        return web.json_response(body)

    @staticmethod
    def _select(item: dict[str, Any], request: web.Request) -> dict[str, Any]:
        wanted = request.query.get("$select")
        if not wanted:
            return item
        keep = {f.strip() for f in wanted.split(",")} | {"id", "@odata.etag"}
        return {k: v for k, v in item.items() if k in keep}

    async def _me(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        if not self._has(grant, "User.Read", "User.ReadBasic.All", "User.Read.All"):
            return _graph_error(403, "Authorization_RequestDenied", "Insufficient privileges.")
        item = {
            "@odata.context": f"{self.graph_base}/$metadata#users/$entity",
            "id": user.oid,
            "displayName": user.name,
            "mail": user.mail,
            "userPrincipalName": user.email,
        }
        return web.json_response(self._select(item, request))

    async def _calendars(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        if not self._has(grant, "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite"):
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        items = [self._select(self._calendar_json(c, user), request) for c in user.calendars]
        return self._page(request, items, "users('me')/calendars")

    @staticmethod
    def _calendar_json(c: FakeCalendar, user: FakeUser) -> dict[str, Any]:
        return {
            "@odata.etag": 'W/"fake"',
            "id": c.id,
            "name": c.name,
            "color": "auto",
            "hexColor": "",
            "isDefaultCalendar": c.is_default,
            "canShare": c.owner_email == user.email,
            "canViewPrivateItems": c.owner_email == user.email,
            "canEdit": c.can_edit,
            "allowedOnlineMeetingProviders": list(c.online_meeting_providers),
            "isRemovable": not c.is_default,
            "owner": {"name": c.owner_name, "address": c.owner_email},
        }

    def _calendar_for(
        self, user: FakeUser, grant: AccessGrant, calendar_id: str, *, write: bool
    ) -> FakeCalendar | web.Response:
        calendar = user.calendar(calendar_id)
        if calendar is None or calendar.fault == 404:
            return _graph_error(404, "ErrorItemNotFound", "The specified object was not found in the store.")
        if calendar.fault == 403:
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        shared = calendar.owner_email != user.email
        if write:
            allowed = calendar.can_edit and (
                self._has(grant, "Calendars.ReadWrite.Shared")
                if shared
                else self._has(grant, "Calendars.ReadWrite")
            )
        elif shared:
            allowed = self._has(grant, "Calendars.Read.Shared", "Calendars.ReadWrite.Shared")
        else:
            allowed = self._has(grant, "Calendars.ReadBasic", "Calendars.Read", "Calendars.ReadWrite")
        if not allowed:
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        return calendar

    async def _calendar_view(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        found = self._calendar_for(user, grant, request.match_info["calendar"], write=False)
        if isinstance(found, web.Response):
            return found
        try:
            start = _parse_iso(request.query["startDateTime"])
            end = _parse_iso(request.query["endDateTime"])
        except (KeyError, ValueError):
            return _graph_error(400, "ErrorInvalidParameter", "startDateTime and endDateTime are required.")
        prefer = request.headers.get("Prefer", "")
        zone_name = "UTC"
        for part in prefer.split(","):
            name, _, value = part.strip().partition("=")
            if name.strip().lower() == "outlook.timezone":
                zone_name = value.strip().strip('"')
        zone = _zone(zone_name)
        events = sorted(
            (e for e in found.events if e.utc_range()[0] < end and e.utc_range()[1] > start),
            key=lambda e: e.utc_range()[0],
        )
        expand = _expansion(request.query.get("$expand"))
        if expand is None:
            return _bad_expand(request.query["$expand"])
        items = [self._select(self._event_json(e, zone, zone_name, expand), request) for e in events]
        return self._page(request, items, f"users('me')/calendars('{found.id}')/calendarView")

    def _event_json(
        self, event: FakeEvent, zone: dt.tzinfo, zone_name: str, expand: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        item = {
            "@odata.etag": f'W/"{event.change_key}"',
            "id": event.id,
            "createdDateTime": _stamp(event.created),
            "lastModifiedDateTime": _stamp(event.last_modified),
            "changeKey": event.change_key,
            "iCalUId": event.ical_uid,
            "subject": event.subject,
            "bodyPreview": event.body[:255],
            "body": {"contentType": "text", "content": event.body},
            "showAs": event.show_as,
            "isCancelled": event.is_cancelled,
            "isAllDay": event.is_all_day,
            "isOrganizer": event.response == "organizer",
            "type": event.event_type,
            "seriesMasterId": event.series_master_id,
            "organizer": {"emailAddress": dict(event.organizer or {})},
            "responseStatus": {"response": event.response, "time": "0001-01-01T00:00:00Z"},
            "start": _render(event.start, zone, zone_name),
            "end": _render(event.end, zone, zone_name),
            "location": {"displayName": event.location},
            "isOnlineMeeting": event.join_url is not None,
            "onlineMeetingProvider": event.online_meeting_provider,
            "onlineMeeting": None if event.join_url is None else {"joinUrl": event.join_url},
            "onlineMeetingUrl": None,
            "attendees": event.attendees,
            "transactionId": event.transaction_id,
            "webLink": f"https://outlook.example/calendar/item/{quote(event.id, safe='')}",
        }
        found = [
            {"id": key, "value": value}
            for key, value in event.extended_properties.items()
            if key.lower() in expand
        ]
        if found:  # Graph leaves the property out when the filter matches none
            item["singleValueExtendedProperties"] = found
        return item


_EXPAND = re.compile(r"\s*singleValueExtendedProperties\s*\(\s*\$filter\s*=(.*)\)\s*", re.IGNORECASE)


def _expansion(expand: str | None) -> tuple[str, ...] | None:
    """The extended property ids a ``$expand`` asks for (lower case; () for none; None: unsupported)."""
    if not expand:
        return ()
    match = _EXPAND.fullmatch(expand)
    if match is None:
        return None
    return tuple(i.lower() for i in re.findall(r"id\s+eq\s+'([^']*)'", match.group(1), re.IGNORECASE))


def _bad_expand(expand: str) -> web.Response:
    message = f"Parsing OData Select and Expand failed: unsupported $expand '{expand}'."
    return _graph_error(400, "BadRequest", message)
