"""The fake Graph's writes and single-event reads, each write a change that delta and subscriptions see.

``POST /me/calendars`` (``{name}``: a calendar the user owns, ``canEdit`` true; 409
``ErrorFolderExists`` for a name taken), ``DELETE /me/calendars/{id}`` (not the default calendar),
``POST /me/events`` and ``/me/calendars/{id}/events`` (``transactionId`` makes a retry return the
first event; ``singleValueExtendedProperties`` stored; ``isOnlineMeeting`` with an
``onlineMeetingProvider`` the calendar allows makes a meeting, ``onlineMeeting.joinUrl``
``https://teams.microsoft.com/l/meetup-join/...``, one it does not allow leaves the event without
one, as Graph does, and a value outside the enum answers 400), ``GET``/``PATCH``/``DELETE`` on
``/me/events/{id}`` and ``/me/calendars/{id}/events/{id}`` (``$select``, ``$expand`` of extended
properties, ``Prefer: outlook.timezone``). Every change (API or knob) gets a new ``changeKey``
and ``lastModifiedDateTime``, the next change serial in its calendar's ``changes``, and goes to
:meth:`EventsApi._notify` (the subscriptions).
"""

from __future__ import annotations

import datetime as dt
import secrets
from typing import Any

from aiohttp import web

from tests.fakes.microsoft.graph_api import (
    UTC,
    FakeCalendar,
    FakeEvent,
    FakeUser,
    GraphApi,
    _bad_expand,
    _expansion,
    _graph_error,
    _graph_id,
    _utcnow,
    _zone,
)
from tests.fakes.microsoft.model import DEFAULT_EMAIL, _change_key
from tests.fakes.oauth import AccessGrant

_NOT_FOUND = ("ErrorItemNotFound", "The specified object was not found in the store.")
_MEETING_PROVIDERS = ("unknown", "skypeForBusiness", "skypeForConsumer", "teamsForBusiness")
"""Graph's onlineMeetingProviderType values."""


def _online_meeting(body: dict[str, Any], calendar: FakeCalendar) -> tuple[str, str | None] | web.Response:
    """The provider and join URL an event body asks for (Graph makes none the calendar does not
    allow: the event is created with ``isOnlineMeeting`` false)."""
    provider = body.get("onlineMeetingProvider", "unknown")
    if provider not in _MEETING_PROVIDERS:
        return _graph_error(400, "RequestBodyRead", f"Requested value '{provider}' was not found.")
    if body.get("isOnlineMeeting") is not True or provider not in calendar.online_meeting_providers:
        return "unknown", None
    thread = secrets.token_hex(16)
    return provider, (
        f"https://teams.microsoft.com/l/meetup-join/19%3ameeting_{thread}%40thread.v2/0"
        f"?context=%7b%22Tid%22%3a%22{secrets.token_hex(8)}%22%7d"
    )


def preferences(request: web.Request) -> tuple[dt.tzinfo, str, int | None]:
    """``Prefer: outlook.timezone="..."`` (UTC if absent) and ``odata.maxpagesize=N``."""
    zone_name, size = "UTC", None
    for part in request.headers.get("Prefer", "").split(","):
        name, _, value = part.strip().partition("=")
        if name.strip().lower() == "outlook.timezone":
            zone_name = value.strip().strip('"')
        elif name.strip().lower() == "odata.maxpagesize" and value.strip().isdigit():
            size = max(1, int(value.strip()))
    return _zone(zone_name), zone_name, size


def _attendees(raw: Any) -> list[dict[str, Any]]:
    return [
        {
            "type": a.get("type", "required"),
            "status": {"response": "none", "time": "0001-01-01T00:00:00Z"},
            "emailAddress": a.get("emailAddress", {}),
        }
        for a in raw or []
    ]


def _times(body: dict[str, Any]) -> tuple[dt.datetime, dt.datetime]:
    start_zone, end_zone = _zone(body["start"]["timeZone"]), _zone(body["end"]["timeZone"])
    start = dt.datetime.fromisoformat(body["start"]["dateTime"]).replace(tzinfo=start_zone)
    end = dt.datetime.fromisoformat(body["end"]["dateTime"]).replace(tzinfo=end_zone)
    return start, end


class EventsApi(GraphApi):
    """Graph writes (see the module docstring)."""

    _serial = 0

    # -- changes --------------------------------------------------------------------------------

    def _touch(self, calendar: FakeCalendar, event: FakeEvent, change_type: str) -> None:
        """Record a change (``created``, ``updated`` or ``deleted``) and tell the subscriptions."""
        self._serial += 1
        calendar.changes[event.id] = self._serial
        if change_type != "deleted":
            event.change_key = _change_key()
            event.last_modified = _utcnow()
        self._notify(calendar, event, change_type)

    def _notify(self, calendar: FakeCalendar, event: FakeEvent, change_type: str) -> None:
        """Overridden by the subscriptions."""

    def _locate(self, event: FakeEvent | str) -> tuple[FakeCalendar, FakeEvent]:
        wanted = event if isinstance(event, str) else event.id
        for user in self.users.values():
            for calendar in user.calendars:
                for candidate in calendar.events:
                    if candidate.id == wanted:
                        return calendar, candidate
        raise KeyError(wanted)

    # -- knobs ----------------------------------------------------------------------------------

    def add_calendar(
        self,
        email: str = DEFAULT_EMAIL,
        *,
        name: str,
        owner_email: str | None = None,
        can_edit: bool | None = None,
    ) -> FakeCalendar:
        """Add a calendar to ``email``'s list; with another ``owner_email`` it is a shared one."""
        owner = owner_email or email
        calendar = FakeCalendar(
            id=_graph_id("cal"),
            name=name,
            owner_email=owner,
            owner_name=owner.split("@")[0].title(),
            can_edit=(owner == email) if can_edit is None else can_edit,
        )
        self.users[email].calendars.append(calendar)
        return calendar

    def add_event(
        self,
        calendar: FakeCalendar,
        start: dt.datetime | dt.date,
        end: dt.datetime | dt.date,
        *,
        subject: str = "Busy",
        show_as: str = "busy",
        is_cancelled: bool = False,
        response: str = "organizer",
        **fields: Any,
    ) -> FakeEvent:
        """Put an event in ``calendar`` as its owner would in Outlook (a change: delta and
        subscriptions see it). ``fields``: other :class:`FakeEvent` fields (``attendees``,
        ``organizer``, ``ical_uid``, ``event_type``, ``series_master_id``, ``extended_properties``,
        ``body``, ``location``...); the organizer defaults to the calendar's owner."""
        fields.setdefault("organizer", {"name": calendar.owner_name, "address": calendar.owner_email})
        event = FakeEvent(
            id=_graph_id("evt"),
            subject=subject,
            start=start,
            end=end,
            show_as=show_as,
            is_cancelled=is_cancelled,
            response=response,
            **fields,
        )
        calendar.events.append(event)
        self._touch(calendar, event, "created")
        return event

    def update_event(self, event: FakeEvent | str, **changes: Any) -> FakeEvent:
        """Change an event as its owner would in Outlook (``changes``: :class:`FakeEvent` fields,
        e.g. ``subject``, ``start``, ``end``, ``show_as``, ``is_cancelled``, ``attendees``,
        ``extended_properties``); a change notification and a delta entry follow."""
        calendar, found = self._locate(event)
        for name, value in changes.items():
            if not hasattr(found, name):
                raise TypeError(f"FakeEvent has no field {name!r}")
            setattr(found, name, value)
        self._touch(calendar, found, "updated")
        return found

    def delete_event(self, event: FakeEvent | str) -> None:
        """Delete an event as its owner would in Outlook."""
        calendar, found = self._locate(event)
        calendar.events.remove(found)
        self._touch(calendar, found, "deleted")

    # -- calendars ------------------------------------------------------------------------------

    async def _create_calendar(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.Response:
        if not self._has(grant, "Calendars.ReadWrite"):
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        body = await request.json()
        name = str(body.get("name") or "").strip() if isinstance(body, dict) else ""
        if not name:
            return _graph_error(400, "ErrorInvalidRequest", "The calendar name is required.")
        if any(c.name.lower() == name.lower() and c.owner_email == user.email for c in user.calendars):
            return _graph_error(409, "ErrorFolderExists", "A folder with the specified name already exists.")
        calendar = FakeCalendar(id=_graph_id("cal"), name=name, owner_email=user.email, owner_name=user.name)
        user.calendars.append(calendar)
        item = {"@odata.context": f"{self.graph_base}/$metadata#users('me')/calendars/$entity"}
        return web.json_response({**item, **self._calendar_json(calendar, user)}, status=201)

    async def _delete_calendar(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.StreamResponse:
        found = self._calendar_for(user, grant, request.match_info["calendar"], write=True)
        if isinstance(found, web.Response):
            return found
        if found.is_default:
            return _graph_error(
                400, "ErrorDeleteDistinguishedFolder", "Distinguished folders cannot be deleted."
            )
        if found.owner_email != user.email:
            return _graph_error(
                403, "ErrorAccessDenied", "Access is denied. Check credentials and try again."
            )
        for event in list(found.events):
            found.events.remove(event)
            self._touch(found, event, "deleted")
        user.calendars.remove(found)
        return web.Response(status=204)

    # -- events ---------------------------------------------------------------------------------

    async def _create_event(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        calendar_id = request.match_info.get("calendar") or user.default_calendar.id
        found = self._calendar_for(user, grant, calendar_id, write=True)
        if isinstance(found, web.Response):
            return found
        body = await request.json()
        transaction = body.get("transactionId")
        if transaction:
            for calendar in user.calendars:
                for existing in calendar.events:
                    if existing.transaction_id == transaction:
                        return web.json_response(self._event_json(existing, UTC, "UTC"), status=201)
        try:
            start, end = _times(body)
        except (KeyError, TypeError, ValueError):
            return _graph_error(
                400, "ErrorInvalidRequest", "Your request is invalid: start and end are required."
            )
        meeting = _online_meeting(body, found)
        if isinstance(meeting, web.Response):
            return meeting
        event = FakeEvent(
            id=_graph_id("evt"),
            subject=str(body.get("subject", "")),
            start=start,
            end=end,
            show_as=str(body.get("showAs", "busy")),
            attendees=_attendees(body.get("attendees")),
            body=str((body.get("body") or {}).get("content", "")),
            location=str((body.get("location") or {}).get("displayName", "")),
            transaction_id=transaction,
            created_with=body,
            organizer={"name": found.owner_name, "address": found.owner_email},
            extended_properties={
                str(p["id"]): str(p.get("value", "")) for p in body.get("singleValueExtendedProperties") or []
            },
            online_meeting_provider=meeting[0],
            join_url=meeting[1],
        )
        found.events.append(event)
        self._touch(found, event, "created")
        for attendee in event.attendees:
            self.invitations.append((event.id, str(attendee["emailAddress"].get("address", ""))))
        return web.json_response(self._event_json(event, UTC, "UTC"), status=201)

    def _event_for(
        self, request: web.Request, user: FakeUser, grant: AccessGrant, *, write: bool
    ) -> tuple[FakeCalendar, FakeEvent] | web.Response:
        event_id = request.match_info["event"]
        wanted = request.match_info.get("calendar")
        for calendar in user.calendars:
            if wanted is not None and calendar.id != wanted:
                continue
            for event in calendar.events:
                if event.id == event_id:
                    found = self._calendar_for(user, grant, calendar.id, write=write)
                    return found if isinstance(found, web.Response) else (calendar, event)
        return _graph_error(404, *_NOT_FOUND)

    async def _get_event(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        found = self._event_for(request, user, grant, write=False)
        if isinstance(found, web.Response):
            return found
        expand = _expansion(request.query.get("$expand"))
        if expand is None:
            return _bad_expand(request.query["$expand"])
        zone, zone_name, _ = preferences(request)
        return web.json_response(self._select(self._event_json(found[1], zone, zone_name, expand), request))

    async def _patch_event(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        found = self._event_for(request, user, grant, write=True)
        if isinstance(found, web.Response):
            return found
        calendar, event = found
        body = await request.json()
        if not isinstance(body, dict):
            return _graph_error(400, "ErrorInvalidRequest", "Your request is invalid.")
        try:
            if "start" in body or "end" in body:
                event.start, event.end = _times(
                    {
                        "start": body.get("start") or _wire(event.start),
                        "end": body.get("end") or _wire(event.end),
                    }
                )
        except (KeyError, TypeError, ValueError):
            return _graph_error(400, "ErrorInvalidRequest", "Your request is invalid: bad start or end.")
        if "subject" in body:
            event.subject = str(body["subject"] or "")
        if "showAs" in body:
            event.show_as = str(body["showAs"])
        if "body" in body:
            event.body = str((body["body"] or {}).get("content", ""))
        if "location" in body:
            event.location = str((body["location"] or {}).get("displayName", ""))
        if "attendees" in body:
            event.attendees = _attendees(body["attendees"])
        for prop in body.get("singleValueExtendedProperties") or []:
            event.extended_properties[str(prop["id"])] = str(prop.get("value", ""))
        self._touch(calendar, event, "updated")
        return web.json_response(self._event_json(event, UTC, "UTC"))

    async def _delete_event(
        self, request: web.Request, user: FakeUser, grant: AccessGrant
    ) -> web.StreamResponse:
        found = self._event_for(request, user, grant, write=True)
        if isinstance(found, web.Response):
            return found
        calendar, event = found
        calendar.events.remove(event)
        if event.attendees:
            self.cancellations.append(event.id)
        self._touch(calendar, event, "deleted")
        return web.Response(status=204)

    def _write_routes(self, app: web.Application) -> None:
        app.router.add_post("/v1.0/me/calendars", self._graph(self._create_calendar))
        app.router.add_delete("/v1.0/me/calendars/{calendar}", self._graph(self._delete_calendar))
        app.router.add_post("/v1.0/me/events", self._graph(self._create_event))
        app.router.add_post("/v1.0/me/calendars/{calendar}/events", self._graph(self._create_event))
        for base in ("/v1.0/me/events/{event}", "/v1.0/me/calendars/{calendar}/events/{event}"):
            app.router.add_get(base, self._graph(self._get_event))
            app.router.add_patch(base, self._graph(self._patch_event))
            app.router.add_delete(base, self._graph(self._delete_event))


def _wire(moment: dt.datetime | dt.date) -> dict[str, str]:
    if isinstance(moment, dt.datetime):
        return {"dateTime": moment.astimezone(UTC).replace(tzinfo=None).isoformat(), "timeZone": "UTC"}
    return {"dateTime": f"{moment.isoformat()}T00:00:00", "timeZone": "UTC"}
