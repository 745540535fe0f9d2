"""The fake Google's Calendar API v3: ``calendarList``, ``freeBusy``, ``events`` (mixed into FakeGoogle).

The answers follow Google's: the 50-calendar and 90-day ``freeBusy`` limits, per-calendar
``notFound``, paging of the calendar list, ``409 duplicate`` for a reused event id, ``410`` for
an event deleted already, and Google's JSON error bodies (:func:`google_error`).
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

_S = "https://www.googleapis.com/auth/"
CALENDAR = _S + "calendar"
CALENDAR_READONLY = _S + "calendar.readonly"

# Scopes Google accepts per method (from the Calendar v3 discovery document).
METHOD_SCOPES: dict[str, frozenset[str]] = {
    "calendarList.list": frozenset(
        {CALENDAR, _S + "calendar.calendarlist", _S + "calendar.calendarlist.readonly", CALENDAR_READONLY}
    ),
    "calendarList.get": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.calendarlist",
            _S + "calendar.calendarlist.readonly",
            CALENDAR_READONLY,
        }
    ),
    "freebusy.query": frozenset(
        {CALENDAR, _S + "calendar.events.freebusy", _S + "calendar.freebusy", CALENDAR_READONLY}
    ),
    "events.list": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.events",
            _S + "calendar.events.freebusy",
            _S + "calendar.events.owned",
            _S + "calendar.events.owned.readonly",
            _S + "calendar.events.public.readonly",
            _S + "calendar.events.readonly",
            CALENDAR_READONLY,
        }
    ),
    "events.get": frozenset(
        {
            CALENDAR,
            _S + "calendar.app.created",
            _S + "calendar.events",
            _S + "calendar.events.owned",
            _S + "calendar.events.owned.readonly",
            _S + "calendar.events.readonly",
            CALENDAR_READONLY,
        }
    ),
    "events.insert": frozenset(
        {CALENDAR, _S + "calendar.app.created", _S + "calendar.events", _S + "calendar.events.owned"}
    ),
    "events.delete": frozenset(
        {CALENDAR, _S + "calendar.app.created", _S + "calendar.events", _S + "calendar.events.owned"}
    ),
}

FREEBUSY_MAX_CALENDARS = 50
FREEBUSY_MAX_SPAN = timedelta(days=90)
_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")
_BEARER_CHALLENGE = 'Bearer realm="https://accounts.google.com/", error="invalid_token"'
_UNAUTHENTICATED = {
    "error": {
        "code": 401,
        "message": "Request had invalid authentication credentials. Expected OAuth 2 access token, "
        "login cookie or other valid authentication credential.",
        "errors": [
            {
                "message": "Invalid Credentials",
                "domain": "global",
                "reason": "authError",
                "location": "Authorization",
                "locationType": "header",
            }
        ],
        "status": "UNAUTHENTICATED",
    }
}


def google_error(
    code: int, reason: str, message: str, domain: str = "global", **extra: Any
) -> dict[str, Any]:
    """Google's JSON error body for the Calendar API."""
    error: dict[str, Any] = {
        "errors": [{"domain": domain, "reason": reason, "message": message}],
        "code": code,
        "message": message,
    }
    error.update(extra)
    return {"error": error}


@dataclass
class FakeCalendar:
    """One calendar of the fake account."""

    id: str
    summary: str
    access_role: str = "owner"
    primary: bool = False
    time_zone: str = "UTC"
    summary_override: str | None = None
    events: dict[str, dict[str, Any]] = field(default_factory=dict)
    lost: int | None = None  # 403 or 404 once access is lost


Answer = tuple[int, dict[str, str], Any]
"""Status, extra headers and body (JSON-able, text for HTML, or None)."""


class CalendarApi:
    """The Calendar API half of FakeGoogle: its calendars and how it answers API calls."""

    account_email: str
    calendars: dict[str, FakeCalendar]
    send_updates: dict[str, str | None]
    _lock: threading.RLock

    def _next_id(self) -> int:
        raise NotImplementedError

    def _calendar(self, calendar_id: str) -> FakeCalendar | Answer:
        if calendar_id == "primary":
            calendar_id = self.account_email
        cal = self.calendars.get(calendar_id)
        if cal is None or cal.lost == 404:
            return 404, {}, google_error(404, "notFound", "Not Found")
        if cal.lost == 403:
            return 403, {}, google_error(403, "forbidden", "Forbidden")
        return cal

    def _dispatch(
        self, name: str, method: str, path: str, query: Mapping[str, str], body: Any
    ) -> Answer:
        parts = [unquote(p) for p in path.split("/")]
        if name == "calendarList.list":
            return self._calendar_list(query)
        if name == "freebusy.query":
            return self._freebusy(body)
        found = self._calendar(parts[1] if parts[0] == "calendars" else parts[3])
        if not isinstance(found, FakeCalendar):
            return found
        cal = found
        if name == "calendarList.get":
            return 200, {}, _list_entry(cal)
        if name == "events.list":
            return self._events_list(cal, query)
        if name == "events.insert":
            return self._insert(cal, query, body)
        event = cal.events.get(parts[3])
        if event is None:
            return 404, {}, google_error(404, "notFound", "Not Found")
        if name == "events.get":
            return 200, {}, event
        # events.delete
        if cal.access_role not in ("owner", "writer"):
            return 403, {}, google_error(403, "forbidden", "Forbidden")
        if event.get("status") == "cancelled":
            return 410, {}, google_error(410, "deleted", "Resource has been deleted")
        event["status"] = "cancelled"
        return 204, {}, None

    def _calendar_list(self, query: Mapping[str, str]) -> Answer:
        entries = [c for c in self.calendars.values() if c.lost is None]
        max_results = min(int(query.get("maxResults", "100")), 250)
        offset = 0
        if "pageToken" in query:
            try:
                offset = int(
                    base64.urlsafe_b64decode(query["pageToken"].encode()).decode().removeprefix("o:")
                )
            except ValueError:
                return 400, {}, google_error(400, "invalid", "Invalid page token value.")
        page = entries[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#calendarList",
            "etag": '"fake"',
            "items": [_list_entry(c) for c in page],
        }
        if offset + max_results < len(entries):
            body["nextPageToken"] = base64.urlsafe_b64encode(f"o:{offset + max_results}".encode()).decode()
        else:
            body["nextSyncToken"] = "fake-sync"
        return 200, {}, body

    def _freebusy(self, body: Any) -> Answer:
        if not isinstance(body, dict) or "timeMin" not in body or "timeMax" not in body:
            missing = "timeMin" if not isinstance(body, dict) or "timeMin" not in body else "timeMax"
            return 400, {}, google_error(400, "required", f"Missing {missing}.")
        try:
            t0 = _parse_instant(body["timeMin"])
            t1 = _parse_instant(body["timeMax"])
        except ValueError:
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        if t1 <= t0:
            return (
                400,
                {},
                google_error(400, "timeRangeEmpty", "The specified time range is empty.", "calendar"),
            )
        if t1 - t0 > FREEBUSY_MAX_SPAN:
            return (
                400,
                {},
                google_error(400, "timeRangeTooLong", "The requested time range is too long.", "calendar"),
            )
        items = body.get("items") or []
        calendars: dict[str, Any] = {}
        too_many = len(items) > FREEBUSY_MAX_CALENDARS
        for item in items:
            cid = item["id"]
            # Beyond the limit Google answers 200 but reads nothing: every calendar carries an error.
            if too_many:
                calendars[cid] = {
                    "errors": [{"domain": "usageLimits", "reason": "tooManyCalendarsRequested"}],
                    "busy": [],
                }
                continue
            cal = self.calendars.get(self.account_email if cid == "primary" else cid)
            if cal is None or cal.lost is not None:
                calendars[cid] = {"errors": [{"domain": "global", "reason": "notFound"}], "busy": []}
                continue
            calendars[cid] = {"busy": [{"start": _z(s), "end": _z(e)} for s, e in _busy(cal, t0, t1)]}
        return (
            200,
            {},
            {
                "kind": "calendar#freeBusy",
                "timeMin": _z(t0),
                "timeMax": _z(t1),
                "calendars": calendars,
            },
        )

    def _events_list(self, cal: FakeCalendar, query: Mapping[str, str]) -> Answer:
        t0 = _parse_instant(query["timeMin"]) if "timeMin" in query else None
        t1 = _parse_instant(query["timeMax"]) if "timeMax" in query else None
        items = []
        for event in cal.events.values():
            if event.get("status") == "cancelled" and query.get("showDeleted") != "true":
                continue
            start, end = _event_instants(event)
            if (t1 is not None and start >= t1) or (t0 is not None and end <= t0):
                continue
            items.append(event)
        return (
            200,
            {},
            {"kind": "calendar#events", "summary": cal.summary, "timeZone": cal.time_zone, "items": items},
        )

    def _insert(
        self, cal: FakeCalendar, query: Mapping[str, str], body: Any
    ) -> Answer:
        if cal.access_role not in ("owner", "writer"):
            return (
                403,
                {},
                google_error(403, "requiredAccessLevel", "You need to have writer access to this calendar."),
            )
        if not isinstance(body, dict):
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        for key, message in (("start", "Missing start time."), ("end", "Missing end time.")):
            if not isinstance(body.get(key), dict) or not ({"date", "dateTime"} & set(body[key])):
                return 400, {}, google_error(400, "required", message)
        try:
            start, end = _event_instants(body)
        except ValueError:
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        if end <= start:
            return (
                400,
                {},
                google_error(400, "timeRangeEmpty", "The specified time range is empty.", "calendar"),
            )
        event_id = body.get("id")
        if event_id is not None:
            if not (5 <= len(event_id) <= 1024 and set(event_id) <= _BASE32HEX):
                return 400, {}, google_error(400, "invalid", "Invalid resource id value.")
            if event_id in cal.events:
                return 409, {}, google_error(409, "duplicate", "The requested identifier already exists.")
        else:
            event_id = f"fake{self._next_id():06d}"
        now = _z(datetime.now(UTC))
        event = {
            **body,
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://calendar.google.com/calendar/event?eid={event_id}",
            "created": now,
            "updated": now,
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "creator": {"email": self.account_email, "self": True},
            "organizer": {"email": cal.id, "self": True},
            "attendees": [
                {**a, "responseStatus": a.get("responseStatus", "needsAction")}
                for a in body.get("attendees", [])
            ],
        }
        cal.events[event_id] = event
        self.send_updates[event_id] = query.get("sendUpdates")
        return 200, {}, event


def method_name(method: str, path: str) -> str | None:
    parts = path.split("/")
    if path == "freeBusy" and method == "POST":
        return "freebusy.query"
    if parts[:2] == ["users", "me"] and len(parts) >= 3 and parts[2] == "calendarList":
        if len(parts) == 3 and method == "GET":
            return "calendarList.list"
        if len(parts) == 4 and method == "GET":
            return "calendarList.get"
        return None
    if parts[0] == "calendars" and len(parts) >= 3 and parts[2] == "events":
        if len(parts) == 3:
            return {"GET": "events.list", "POST": "events.insert"}.get(method)
        if len(parts) == 4:
            return {"GET": "events.get", "DELETE": "events.delete"}.get(method)
    return None


def _list_entry(cal: FakeCalendar) -> dict[str, Any]:
    entry: dict[str, Any] = {
        "kind": "calendar#calendarListEntry",
        "etag": '"fake"',
        "id": cal.id,
        "summary": cal.summary,
        "timeZone": cal.time_zone,
        "accessRole": cal.access_role,
        "backgroundColor": "#9fe1e7",
        "foregroundColor": "#000000",
        "defaultReminders": [],
    }
    if cal.summary_override:
        entry["summaryOverride"] = cal.summary_override
    if cal.primary:
        entry["primary"] = True
    return entry


def _parse_instant(text: str) -> datetime:
    value = datetime.fromisoformat(text)
    if value.tzinfo is None:
        raise ValueError("RFC 3339 needs an offset")
    return value.astimezone(UTC)


def _z(value: datetime) -> str:
    return value.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _event_instants(event: Mapping[str, Any]) -> tuple[datetime, datetime]:
    def one(part: Mapping[str, Any]) -> datetime:
        if "dateTime" in part:
            return _parse_instant(part["dateTime"])
        return datetime.combine(date.fromisoformat(part["date"]), datetime.min.time(), UTC)

    return one(event["start"]), one(event["end"])


def _busy(cal: FakeCalendar, t0: datetime, t1: datetime) -> list[tuple[datetime, datetime]]:
    """Busy intervals as Google computes them: opaque, not cancelled, not declined; merged, clipped."""
    spans = []
    for event in cal.events.values():
        if event.get("status") == "cancelled" or event.get("transparency") == "transparent":
            continue
        if any(a.get("self") and a.get("responseStatus") == "declined" for a in event.get("attendees", [])):
            continue
        start, end = _event_instants(event)
        start, end = max(start, t0), min(end, t1)
        if start < end:
            spans.append((start, end))
    merged: list[tuple[datetime, datetime]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged


def quote_id(calendar_id: str) -> str:
    """A calendar id as it appears in a request path."""
    return quote(calendar_id, safe="")
