"""The fake Google's Calendar API v3 reads: ``calendarList``, ``freeBusy``, ``events.get``, and its data.

The answers follow Google's: the 50-calendar and 90-day ``freeBusy`` limits, per-calendar
``notFound``, paging of the calendar list, and Google's JSON error bodies (:func:`google_error`).
``events.list`` and every write live in :mod:`tests.fakes.google.sync_api` (each write is a
change that sync tokens and push channels see); scopes and method names in
:mod:`tests.fakes.google.wire`.
"""

from __future__ import annotations

import base64
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import quote, unquote

from tests.fakes.google.wire import (
    _BEARER_CHALLENGE,
    _UNAUTHENTICATED,
    CALENDAR,
    CALENDAR_READONLY,
    METHOD_SCOPES,
    google_error,
    method_name,
)

__all__ = [
    "CALENDAR",
    "CALENDAR_READONLY",
    "METHOD_SCOPES",
    "_BEARER_CHALLENGE",
    "_UNAUTHENTICATED",
    "CalendarApi",
    "FakeCalendar",
    "google_error",
    "method_name",
    "quote_id",
]

FREEBUSY_MAX_CALENDARS = 50
FREEBUSY_MAX_SPAN = timedelta(days=90)
_BASE32HEX = frozenset("0123456789abcdefghijklmnopqrstuv")


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
    changes: dict[str, int] = field(default_factory=dict)  # event id -> serial of its last change
    sync_generation: int = 0  # bumped when the calendar's sync tokens are invalidated
    allowed_conference_types: tuple[str, ...] = ("hangoutsMeet",)  # conferenceProperties


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

    def _dispatch(self, name: str, method: str, path: str, query: Mapping[str, str], body: Any) -> Answer:
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
        event = cal.events.get(parts[3])
        if event is None:
            return 404, {}, google_error(404, "notFound", "Not Found")
        return 200, {}, event  # events.get

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
        "conferenceProperties": {"allowedConferenceSolutionTypes": list(cal.allowed_conference_types)},
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


def _invalid_times(body: Mapping[str, Any]) -> Answer | None:
    """Google's 400 for an event resource without a valid, non-empty start and end (or None)."""
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
    return None


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
