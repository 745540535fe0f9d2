"""The fake Google's ``calendars`` resource: ``insert`` (a secondary calendar the user owns, in the
calendar list with ``accessRole`` owner), ``get`` and ``delete`` (not the primary calendar; owners
only). Mixed into FakeGoogle through :class:`~tests.fakes.google.sync_api.SyncApi`.
"""

from __future__ import annotations

import secrets
import threading
from collections.abc import Callable
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from tests.fakes.google.calendar_api import Answer, FakeCalendar
from tests.fakes.google.wire import google_error


class CalendarWrites:
    """``calendars.insert``/``get``/``delete`` of the fake Calendar API."""

    calendars: dict[str, FakeCalendar]
    _lock: threading.RLock
    _drop_channels: Callable[[str], None]  # PushApi's: a deleted calendar's channels stop

    def _calendar_resource(self, cal: FakeCalendar) -> dict[str, Any]:
        return {
            "kind": "calendar#calendar",
            "etag": f'"{3_400_000_000_000_000 + max(cal.changes.values(), default=0)}"',
            "id": cal.id,
            "summary": cal.summary,
            "timeZone": cal.time_zone,
            "conferenceProperties": {"allowedConferenceSolutionTypes": ["hangoutsMeet"]},
        }

    def _insert_calendar(self, body: Any) -> Answer:
        if not isinstance(body, dict) or not str(body.get("summary") or "").strip():
            return 400, {}, google_error(400, "required", "Missing title.")
        zone = str(body.get("timeZone") or "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            return 400, {}, google_error(400, "invalid", "Invalid time zone definition for calendar.")
        cal = FakeCalendar(f"c_{secrets.token_hex(16)}@group.calendar.google.com", str(body["summary"]))
        cal.time_zone = zone
        self.calendars[cal.id] = cal
        return 200, {}, self._calendar_resource(cal)

    def _delete_calendar(self, cal: FakeCalendar) -> Answer:
        if cal.primary:
            return (
                400,
                {},
                google_error(400, "cannotDeletePrimaryCalendar", "Cannot delete primary calendar."),
            )
        if cal.access_role != "owner":
            return 403, {}, google_error(403, "forbidden", "Forbidden")
        del self.calendars[cal.id]
        self._drop_channels(cal.id)
        return 204, {}, None
