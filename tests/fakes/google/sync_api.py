"""The fake Google's change-aware Calendar API: incremental sync, event writes, calendar writes.

Mixed into FakeGoogle above :class:`~tests.fakes.google.calendar_api.CalendarApi`. Every change to
an event (through the API or a knob) gets a serial number in its calendar's ``changes``, a new
``etag`` and ``updated`` (and a higher ``sequence`` when its time, place, recurrence or status
changed), and rings the calendar's push channels (:mod:`tests.fakes.google.push`).

``events.list`` is Google's: ``maxResults`` (default 250, at most 2500) with ``nextPageToken``,
``nextSyncToken`` only on the last page; with ``syncToken`` it answers the events changed since the
token was issued, deleted ones as ``{"kind", "etag", "id", "status": "cancelled"}`` (plus
``recurringEventId``/``originalStartTime`` for instances); the parameters Google refuses beside a
sync token, and ``showDeleted=false``, answer 400; an invalidated token answers 410
``fullSyncRequired``. Writes: ``events.insert``, ``events.patch`` (objects merged, lists replaced),
``events.update`` (the whole resource), ``events.delete`` (``sendUpdates`` recorded for each),
``calendars.insert``/``get``/``delete``. ``conferenceData`` on an insert:
:mod:`tests.fakes.google.conference`.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import unquote

from tests.fakes.google.calendar_api import (
    _BASE32HEX,
    Answer,
    CalendarApi,
    FakeCalendar,
    _event_instants,
    _invalid_times,
    _parse_instant,
)
from tests.fakes.google.calendars import CalendarWrites
from tests.fakes.google.conference import Conferencing
from tests.fakes.google.push import PushApi
from tests.fakes.google.wire import google_error

NOT_WITH_SYNC_TOKEN = (
    "iCalUID",
    "orderBy",
    "privateExtendedProperty",
    "q",
    "sharedExtendedProperty",
    "timeMin",
    "timeMax",
    "updatedMin",
)
"""Parameters Google refuses beside ``syncToken`` (events.list reference)."""

FULL_SYNC_REQUIRED = google_error(
    410, "fullSyncRequired", "Sync token is no longer valid, a full sync is required."
)
_SIGNIFICANT = frozenset({"start", "end", "recurrence", "location", "status"})
_FIXED = ("kind", "id", "created", "iCalUID", "creator", "organizer", "htmlLink", "recurringEventId")
_OWN = frozenset(
    {
        "events.list",
        "events.insert",
        "events.patch",
        "events.update",
        "events.delete",
        "events.watch",
        "channels.stop",
        "calendars.insert",
        "calendars.get",
        "calendars.delete",
    }
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _pack(value: dict[str, Any]) -> str:
    return base64.urlsafe_b64encode(json.dumps(value, separators=(",", ":")).encode()).decode()


def _unpack(token: str) -> dict[str, Any] | None:
    try:
        value = json.loads(base64.urlsafe_b64decode(token.encode()))
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _merge(target: dict[str, Any], patch: Mapping[str, Any]) -> None:
    """Google's patch semantics: objects merge field by field, everything else is replaced."""
    for key, value in patch.items():
        if isinstance(value, dict) and isinstance(target.get(key), dict):
            _merge(target[key], value)
        else:
            target[key] = value


def minimal(event: Mapping[str, Any]) -> dict[str, Any]:
    """A deleted event as Google lists it: only ``id`` (and its identity) is guaranteed."""
    keep = ("kind", "etag", "id", "status", "recurringEventId", "originalStartTime")
    return {k: event[k] for k in keep if k in event}


class SyncApi(CalendarWrites, PushApi, CalendarApi):
    """Incremental sync and writes of the fake Calendar API (see the module docstring)."""

    _serial: int
    sent_updates: list[tuple[str, str, str | None]]

    def _init_sync(self) -> None:
        self._serial = 0
        self.conferencing = Conferencing()  # conferenceData on events.insert (conference.py)
        self.sent_updates = []  # (method id, event id, sendUpdates) for every write
        self._init_push()

    # -- changes --------------------------------------------------------------------------------

    def _touch(self, cal: FakeCalendar, event: dict[str, Any], *, bump_sequence: bool = False) -> None:
        """Record a change to ``event``: new etag and ``updated``, the next serial, push channels."""
        self._serial += 1
        event["updated"] = _now()
        event["etag"] = f'"{3_400_000_000_000_000 + self._serial}"'
        if bump_sequence:
            event["sequence"] = int(event.get("sequence", 0)) + 1
        cal.changes[event["id"]] = self._serial
        self._notify_change(cal)

    def _complete(self, cal: FakeCalendar, resource: Mapping[str, Any], event_id: str) -> dict[str, Any]:
        """A new event resource with the fields Google fills in, stored and recorded as a change."""
        now = _now()
        organizer = {"email": cal.id, "self": True}
        if cal.id != self.account_email:
            organizer["displayName"] = cal.summary
        event: dict[str, Any] = {
            "kind": "calendar#event",
            "id": event_id,
            "status": "confirmed",
            "htmlLink": f"https://calendar.google.com/calendar/event?eid={event_id}",
            "created": now,
            "iCalUID": f"{event_id}@google.com",
            "sequence": 0,
            "creator": {"email": self.account_email, "self": True},
            "organizer": organizer,
            "eventType": "default",
            **resource,
        }
        event["attendees"] = self._attendees(event)
        if not event["attendees"]:
            del event["attendees"]
        cal.events[event_id] = event
        self._touch(cal, event)
        return event

    def _attendees(self, event: Mapping[str, Any]) -> list[dict[str, Any]]:
        organizer = (event.get("organizer") or {}).get("email")
        out = []
        for attendee in event.get("attendees") or []:
            entry = {**attendee, "responseStatus": attendee.get("responseStatus", "needsAction")}
            if entry.get("email") == self.account_email:
                entry["self"] = True
            if organizer and entry.get("email") == organizer:
                entry["organizer"] = True
            out.append(entry)
        return out

    def _change(
        self, cal: FakeCalendar, event: dict[str, Any], changes: Mapping[str, Any], *, replace: bool
    ) -> None:
        if replace:
            significant = any(
                event.get(k) != changes.get(k, event.get(k) if k == "status" else None) for k in _SIGNIFICANT
            )
        else:
            significant = any(k in _SIGNIFICANT and event.get(k) != v for k, v in changes.items())
        if replace:
            kept = {k: event[k] for k in (*_FIXED, "sequence") if k in event}
            event.clear()
            event.update({**changes, **kept})
            event.setdefault("status", "confirmed")
        else:
            _merge(event, changes)
        if "attendees" in changes:
            event["attendees"] = self._attendees(event)
        self._touch(cal, event, bump_sequence=significant)

    # -- knobs ----------------------------------------------------------------------------------

    def update_event(self, calendar_id: str, event_id: str, **changes: Any) -> dict[str, Any]:
        """Change an event as its owner would in Google Calendar; returns the stored resource.

        ``changes`` are resource fields, merged as ``events.patch`` merges them (``start``/``end``
        may be datetimes or dates, for ``{"dateTime": ...}`` / ``{"date": ...}``).
        """
        for key in ("start", "end"):
            value = changes.get(key)
            if isinstance(value, datetime):
                changes[key] = {"dateTime": value.isoformat()}
            elif value is not None and not isinstance(value, dict):
                changes[key] = {"date": value.isoformat()}
        with self._lock:
            cal = self.calendars[calendar_id]
            event = cal.events[event_id]
            self._change(cal, event, changes, replace=False)
            return event

    def delete_event(self, calendar_id: str, event_id: str) -> dict[str, Any]:
        """Delete an event as its owner would: it becomes ``cancelled`` (and listed so in syncs)."""
        with self._lock:
            cal = self.calendars[calendar_id]
            event = cal.events[event_id]
            self._change(cal, event, {"status": "cancelled"}, replace=False)
            return event

    def expire_sync_tokens(self, calendar_id: str | None = None) -> None:
        """Invalidate the sync tokens issued so far (of one calendar, or all): they answer 410."""
        with self._lock:
            for cal in self.calendars.values():
                if calendar_id is None or cal.id == calendar_id:
                    cal.sync_generation += 1

    def sync_token(self, calendar_id: str) -> str:
        """A valid sync token for the calendar's current state (what a full sync would end with)."""
        with self._lock:
            return self._sync_token(self.calendars[calendar_id], self._serial)

    # -- dispatch -------------------------------------------------------------------------------

    def _dispatch(self, name: str, method: str, path: str, query: Mapping[str, str], body: Any) -> Answer:
        if name not in _OWN:
            return super()._dispatch(name, method, path, query, body)
        parts = [unquote(p) for p in path.split("/")]
        if name == "channels.stop":
            return self._stop(body)
        if name == "calendars.insert":
            return self._insert_calendar(body)
        found = self._calendar(parts[1])
        if not isinstance(found, FakeCalendar):
            return found
        cal = found
        if name == "calendars.get":
            return 200, {}, self._calendar_resource(cal)
        if name == "calendars.delete":
            return self._delete_calendar(cal)
        if name == "events.list":
            return self._events_list(cal, query)
        if name == "events.watch":
            return self._watch(cal, parts[1], body)
        if cal.access_role not in ("owner", "writer"):
            return (
                403,
                {},
                google_error(403, "requiredAccessLevel", "You need to have writer access to this calendar."),
            )
        if name == "events.insert":
            return self._insert(cal, query, body)
        event = cal.events.get(parts[3])
        if event is None:
            return 404, {}, google_error(404, "notFound", "Not Found")
        self.sent_updates.append((name, event["id"], query.get("sendUpdates")))
        if name == "events.delete":
            if event.get("status") == "cancelled":
                return 410, {}, google_error(410, "deleted", "Resource has been deleted")
            self._change(cal, event, {"status": "cancelled"}, replace=False)
            return 204, {}, None
        if not isinstance(body, dict):
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        if name == "events.update":
            invalid = _invalid_times(body)
            if invalid is not None:
                return invalid
        self._change(cal, event, body, replace=name == "events.update")
        return 200, {}, event

    # -- events ---------------------------------------------------------------------------------

    def _sync_token(self, cal: FakeCalendar, serial: int) -> str:
        return _pack({"c": cal.id, "g": cal.sync_generation, "s": serial})

    def _events_list(self, cal: FakeCalendar, query: Mapping[str, str]) -> Answer:
        since: int | None = None
        if "syncToken" in query:
            if any(p in query for p in NOT_WITH_SYNC_TOKEN) or query.get("showDeleted") == "false":
                return (
                    400,
                    {},
                    google_error(
                        400,
                        "syncTokenWithRequestRestrictions",
                        "Sync token cannot be used with other request restrictions.",
                        "calendar",
                    ),
                )
            token = _unpack(query["syncToken"])
            if token is None or not isinstance(token.get("s"), int):
                return 400, {}, google_error(400, "invalid", "Invalid sync token value.")
            if token.get("c") != cal.id or token.get("g") != cal.sync_generation:
                return 410, {}, FULL_SYNC_REQUIRED
            since = token["s"]
        try:
            max_results = min(int(query.get("maxResults", "250")), 2500)
            page = _unpack(query["pageToken"]) if "pageToken" in query else {"o": 0, "u": self._serial}
            assert page is not None and max_results > 0
            offset, upto = int(page["o"]), int(page["u"])
        except (AssertionError, KeyError, ValueError):
            return 400, {}, google_error(400, "invalid", "Invalid Value")
        if since is not None:
            changed = sorted((s, eid) for eid, s in cal.changes.items() if since < s <= upto)
            items = [cal.events[eid] for _, eid in changed if eid in cal.events]
        else:
            found = self._full_list(cal, query)
            if isinstance(found, tuple):
                return found
            items = found
        page_items = items[offset : offset + max_results]
        body: dict[str, Any] = {
            "kind": "calendar#events",
            "etag": f'"{3_400_000_000_000_000 + upto}"',
            "summary": cal.summary,
            "updated": _now(),
            "timeZone": cal.time_zone,
            "accessRole": cal.access_role,
            "defaultReminders": [],
            "items": [minimal(e) if e.get("status") == "cancelled" else e for e in page_items],
        }
        if offset + max_results < len(items):
            body["nextPageToken"] = _pack({"o": offset + max_results, "u": upto})
        else:
            body["nextSyncToken"] = self._sync_token(cal, upto)
        return 200, {}, body

    def _full_list(self, cal: FakeCalendar, query: Mapping[str, str]) -> list[dict[str, Any]] | Answer:
        try:
            t0 = _parse_instant(query["timeMin"]) if "timeMin" in query else None
            t1 = _parse_instant(query["timeMax"]) if "timeMax" in query else None
            since = _parse_instant(query["updatedMin"]) if "updatedMin" in query else None
        except ValueError:
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        order = query.get("orderBy")
        if order == "startTime" and query.get("singleEvents") != "true":
            return (
                400,
                {},
                google_error(
                    400, "badRequest", "The requested ordering is not available for the particular query."
                ),
            )
        text = query.get("q", "").lower()
        private = query.get("privateExtendedProperty", "").partition("=")
        shared = query.get("sharedExtendedProperty", "").partition("=")
        items = []
        for event in cal.events.values():
            if event.get("status") == "cancelled" and query.get("showDeleted") != "true":
                continue
            if "start" in event and "end" in event:
                start, end = _event_instants(event)
                if (t1 is not None and start >= t1) or (t0 is not None and end <= t0):
                    continue
            if since is not None and _parse_instant(event["updated"].replace("Z", "+00:00")) < since:
                continue
            if "iCalUID" in query and event.get("iCalUID") != query["iCalUID"]:
                continue
            words = " ".join(str(event.get(k, "")) for k in ("summary", "description", "location"))
            if text and text not in words.lower():
                continue
            props = event.get("extendedProperties") or {}
            if private[0] and (props.get("private") or {}).get(private[0]) != private[2]:
                continue
            if shared[0] and (props.get("shared") or {}).get(shared[0]) != shared[2]:
                continue
            items.append(event)
        if order == "startTime":
            items.sort(key=lambda e: _event_instants(e)[0])
        elif order == "updated":
            items.sort(key=lambda e: e["updated"])
        return items

    def _insert(self, cal: FakeCalendar, query: Mapping[str, str], body: Any) -> Answer:
        if not isinstance(body, dict):
            return 400, {}, google_error(400, "badRequest", "Bad Request")
        invalid = _invalid_times(body)
        if invalid is not None:
            return invalid
        event_id = body.get("id")
        if event_id is not None:
            if not (5 <= len(event_id) <= 1024 and set(event_id) <= _BASE32HEX):
                return 400, {}, google_error(400, "invalid", "Invalid resource id value.")
            if event_id in cal.events:
                return 409, {}, google_error(409, "duplicate", "The requested identifier already exists.")
        else:
            event_id = f"fake{self._next_id():06d}"
        fields = {k: v for k, v in body.items() if k not in ("id", "status", "hangoutLink")}
        answered, refused = self.conferencing.apply(fields, query, cal.allowed_conference_types)
        if refused is not None:
            return refused
        event = self._complete(cal, {"status": body.get("status", "confirmed"), **fields}, event_id)
        self.send_updates[event_id] = query.get("sendUpdates")
        self.sent_updates.append(("events.insert", event_id, query.get("sendUpdates")))
        return 200, {}, self.conferencing.answer(event, answered)
