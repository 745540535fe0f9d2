"""The fake Graph's delta query on a calendar view: ``/me/calendarView/delta`` and
``/me/calendars/{id}/calendarView/delta``.

As Graph documents it (event: delta, v1.0): the first request carries ``startDateTime`` and
``endDateTime``; the answer pages with ``@odata.nextLink`` (``$skiptoken``) and ends with
``@odata.deltaLink`` (``$deltatoken``). The tokens are opaque and keep the window server-side:
the links carry nothing else. Following a deltaLink answers only what changed since: changed or
new events in the window in full, events deleted or outside the window as ``{"@odata.type",
"id", "@removed": {"reason": "deleted"}}``. ``Prefer: odata.maxpagesize=N`` is honoured (default
``delta_page_size``) and ``Prefer: outlook.timezone`` applies; ``$select``, ``$expand``,
``$filter``, ``$orderby``, ``$search`` and ``$top`` are refused with 400 ``ErrorInvalidUrlQuery``
(the reference: delta on a calendarView returns what ``GET /calendarView`` returns, no ``$select``).
An unknown or expired token (``expire_delta_tokens()``) answers 410 ``SyncStateNotFound``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import secrets
from typing import Any
from urllib.parse import quote

from aiohttp import web

from tests.fakes.microsoft.events_api import EventsApi, preferences
from tests.fakes.microsoft.graph_api import FakeCalendar, FakeEvent, FakeUser, _graph_error, _parse_iso
from tests.fakes.oauth import AccessGrant

_UNSUPPORTED = ("$select", "$expand", "$filter", "$orderby", "$search", "$top")
_UNSUPPORTED_MESSAGE = (
    "The following parameters are not supported with change tracking over the 'CalendarView' "
    "resource: '$orderby, $filter, $select, $expand, $search, $top'."
)


@dataclasses.dataclass(frozen=True)
class DeltaState:
    """What a delta token stands for: the view, and which changes its round covers."""

    email: str
    calendar_id: str
    start: dt.datetime
    end: dt.datetime
    since: int | None  # None: the first round (every event in the window)
    upto: int
    offset: int = 0


class DeltaApi(EventsApi):
    """Delta query over calendar views (see the module docstring)."""

    delta_tokens: dict[str, DeltaState]
    delta_page_size: int

    def _init_delta(self) -> None:
        self.delta_tokens = {}
        self.delta_page_size = 10

    def expire_delta_tokens(self) -> None:
        """Forget every skip and delta token issued so far: using one answers 410."""
        self.delta_tokens.clear()

    def _delta_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1.0/me/calendarView/delta", self._graph(self._delta))
        app.router.add_get("/v1.0/me/calendars/{calendar}/calendarView/delta", self._graph(self._delta))

    async def _delta(self, request: web.Request, user: FakeUser, grant: AccessGrant) -> web.Response:
        query = request.query
        token = query.get("$deltatoken") or query.get("$skiptoken")
        if token is not None:
            state = self.delta_tokens.get(token)
            if state is None or state.email != user.email:
                return _graph_error(
                    410,
                    "SyncStateNotFound",
                    "The sync state generation is not found. The delta token is "
                    "expired and data must be synchronized again.",
                )
            if "$deltatoken" in query:
                state = dataclasses.replace(state, upto=self._serial, offset=0)
        else:
            if any(p in query for p in _UNSUPPORTED):
                return _graph_error(400, "ErrorInvalidUrlQuery", _UNSUPPORTED_MESSAGE)
            lowered = {k.lower(): v for k, v in query.items()}
            try:
                start, end = _parse_iso(lowered["startdatetime"]), _parse_iso(lowered["enddatetime"])
            except (KeyError, ValueError):
                return _graph_error(
                    400,
                    "ErrorInvalidParameter",
                    "This request requires a time window specified by the "
                    "query string parameters StartDateTime and EndDateTime.",
                )
            calendar_id = request.match_info.get("calendar") or user.default_calendar.id
            state = DeltaState(user.email, calendar_id, start, end, None, self._serial)
        found = self._calendar_for(user, grant, state.calendar_id, write=False)
        if isinstance(found, web.Response):
            return found
        zone, zone_name, asked = preferences(request)
        size = asked or self.delta_page_size
        entries = self._delta_entries(found, state)
        items = [
            self._event_json(e, zone, zone_name) if isinstance(e, FakeEvent) else _removed(e)
            for e in entries[state.offset : state.offset + size]
        ]
        link = f"{self.base_url}{quote(request.path)}"
        body: dict[str, Any] = {
            "@odata.context": f"{self.graph_base}/$metadata#Collection(event)",
            "value": items,
        }
        new = secrets.token_urlsafe(24)
        if state.offset + size < len(entries):
            self.delta_tokens[new] = dataclasses.replace(state, offset=state.offset + size)
            body["@odata.nextLink"] = f"{link}?$skiptoken={new}"
        else:
            self.delta_tokens[new] = dataclasses.replace(state, since=state.upto, offset=0)
            body["@odata.deltaLink"] = f"{link}?$deltatoken={new}"
        applied = [f'outlook.timezone="{zone_name}"'] + ([f"odata.maxpagesize={asked}"] if asked else [])
        return web.json_response(body, headers={"Preference-Applied": ", ".join(applied)})

    @staticmethod
    def _delta_entries(calendar: FakeCalendar, state: DeltaState) -> list[FakeEvent | str]:
        """The round's entries in order: events (in full) or ids of removed ones."""

        def inside(event: FakeEvent) -> bool:
            first, last = event.utc_range()
            return first < state.end and last > state.start

        if state.since is None:
            window = sorted((e for e in calendar.events if inside(e)), key=lambda e: e.utc_range()[0])
            return list[FakeEvent | str](window)
        current = {e.id: e for e in calendar.events}
        changed = sorted((s, i) for i, s in calendar.changes.items() if state.since < s <= state.upto)
        out: list[FakeEvent | str] = []
        for _, event_id in changed:
            event = current.get(event_id)
            out.append(event if event is not None and inside(event) else event_id)
        return out


def _removed(event_id: str) -> dict[str, Any]:
    return {"@odata.type": "#microsoft.graph.event", "id": event_id, "@removed": {"reason": "deleted"}}
