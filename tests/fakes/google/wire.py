"""Google Calendar API v3 words the fake shares: scopes per method, method names, error bodies.

The scopes each method accepts are read from the discovery document google-api-python-client
ships (the one the real client is built from); :func:`method_name` tells a request's discovery
method id from its verb and path (after ``/calendar/v3/``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from aiohttp import web
from googleapiclient.discovery_cache import get_static_doc

from tests.fakes.base import Recorded

_S = "https://www.googleapis.com/auth/"
CALENDAR = _S + "calendar"
CALENDAR_READONLY = _S + "calendar.readonly"


def _discovery_scopes() -> dict[str, frozenset[str]]:
    document = json.loads(get_static_doc("calendar", "v3") or "{}")
    scopes: dict[str, frozenset[str]] = {}
    for resource in document["resources"].values():
        for method in resource.get("methods", {}).values():
            scopes[method["id"].removeprefix("calendar.")] = frozenset(method.get("scopes", ()))
    return scopes


METHOD_SCOPES: dict[str, frozenset[str]] = _discovery_scopes()
"""Scopes Google accepts per method id (``events.list``...), from the Calendar v3 discovery document."""

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


def method_name(method: str, path: str) -> str | None:
    """The discovery method id of a Calendar API request (``path`` after ``/calendar/v3/``)."""
    parts = path.split("/")
    if path == "freeBusy" and method == "POST":
        return "freebusy.query"
    if path == "channels/stop" and method == "POST":
        return "channels.stop"
    if parts[:2] == ["users", "me"] and len(parts) >= 3 and parts[2] == "calendarList":
        if len(parts) == 3 and method == "GET":
            return "calendarList.list"
        if len(parts) == 4 and method == "GET":
            return "calendarList.get"
        return None
    if parts == ["calendars"]:
        return "calendars.insert" if method == "POST" else None
    if parts[0] == "calendars" and len(parts) == 2:
        return {"GET": "calendars.get", "DELETE": "calendars.delete"}.get(method)
    if parts[0] == "calendars" and len(parts) >= 3 and parts[2] == "events":
        if len(parts) == 3:
            return {"GET": "events.list", "POST": "events.insert"}.get(method)
        if len(parts) == 4 and parts[3] == "watch":
            return "events.watch" if method == "POST" else None
        if len(parts) == 4:
            return {
                "GET": "events.get",
                "DELETE": "events.delete",
                "PATCH": "events.patch",
                "PUT": "events.update",
            }.get(method)
    return None


def _concerns(call: Recorded, path: str, calendar_id: str) -> bool:
    """Whether an API call asks about ``calendar_id`` (in a freeBusy body or its REST path)."""
    if path == "freeBusy" and isinstance(call.body, dict):
        return any(isinstance(i, dict) and i.get("id") == calendar_id for i in call.body.get("items") or [])
    return f"/{quote(calendar_id, safe='')}/" in f"/{path}/"


def _response(status: int, headers: Mapping[str, str], body: Any) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    if isinstance(body, str):
        return web.Response(status=status, headers=headers, text=body, content_type="text/html")
    return web.Response(
        status=status, headers=headers, body=json.dumps(body).encode(), content_type="application/json"
    )
