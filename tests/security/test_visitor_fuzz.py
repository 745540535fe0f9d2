"""Every public visitor input, fuzzed: never a 5xx, never a traceback in the body.

Hypothesis draws what a visitor (or anyone) can send -- the scheduling page's query string, the
booking form (with and without a valid form token, embedded or not), the manage link's page and
forms, the website widget's JSON API, and raw bodies of any content type -- and the real app,
started once per database, answers each. Text comes from all of Unicode (control characters, line
separators and NUL included); times, zones and lengths mix plausible values with junk. Runs are
bounded (a few dozen examples per surface, no example database) so each database takes seconds.
"""

from __future__ import annotations

import json
import re
from typing import Any
from urllib.parse import quote

import pytest
from aiohttp.test_utils import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.conftest import AppClient
from tests.support.page_client import offered_starts

FUZZ = settings(max_examples=40, deadline=None, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ANY_TEXT = st.text(st.characters(exclude_categories=("Cs",)), max_size=80)  # all but lone surrogates
WEIRD = st.sampled_from(["\x00", "\u2028", "\u2029", "\x85", "\x0b", "\x0c", "\r\n", "\x1b", "\ufeff",
                         "\u202e", "%00", "%FF", "../", "<script>", "'\"", "A" * 300])
TEXT = st.one_of(ANY_TEXT, WEIRD, st.builds(lambda a, b: a + b, ANY_TEXT, WEIRD))
MOMENT = st.one_of(
    st.datetimes(timezones=st.timezones()).map(lambda moment: moment.isoformat()),
    st.sampled_from(["9999-12-31T23:59:59-05:00", "0001-01-01T00:00:00+14:00", "2031-01-06T10:00:00",
                     "2026-13-45T99:99:99+00:00", "soon", ""]),
    TEXT,
)
ZONE = st.one_of(st.timezones().map(str), st.sampled_from(["Mars/Olympus", "Europe", "/etc/passwd"]), TEXT)
LENGTH = st.one_of(st.sampled_from(["30", "45", "0", "-30", "1e9", "٣٠", "9" * 5000]), TEXT)
ADDRESS = st.ip_addresses(v=4).map(str)


def _ok(status: int, body: str) -> None:
    assert status < 500, body[:500]
    assert "Traceback" not in body and 'File "' not in body


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_TRUSTED_PROXIES="127.0.0.1",
                            SLOTBOT_BOOKING_LIMIT_PER_IP="1000000", SLOTBOT_BOOKING_LIMIT_PER_PAGE="1000000")


@pytest.fixture
async def offered(client: TestClient) -> list[str]:
    """The times the demo page offers now (so some posts are real bookings)."""
    return [start.isoformat() for start in offered_starts(await (await client.get("/meetings/demo")).text())]


def _token(client: TestClient) -> str:
    return next((c.value for c in client.session.cookie_jar if c.key == "slotbot_form"), "")


@FUZZ
@given(user=st.one_of(st.just("demo"), TEXT), page=st.one_of(st.none(), st.just("intro"), TEXT),
       query=st.dictionaries(st.sampled_from(["tz", "d", "start", "lang", "embed", "name", "email", "note"]),
                             st.one_of(TEXT, MOMENT, ZONE, LENGTH), max_size=6),
       address=ADDRESS)
async def test_the_scheduling_page(client: TestClient, user: str, page: str | None,
                                   query: dict[str, str], address: str) -> None:
    path = "/meetings/" + quote(user, safe="") + ("" if page is None else "/" + quote(page, safe=""))
    response = await client.get(path, params=query, headers={"X-Forwarded-For": address})
    _ok(response.status, await response.text())


@FUZZ
@given(data=st.data(), embed=st.booleans(), fields=st.dictionaries(
    st.sampled_from(["name", "email", "note", "q1", "mode", "lang", "tz", "d"]),
    st.one_of(TEXT, ZONE, LENGTH, st.just("leave_details")), max_size=8),
    address=ADDRESS, token=st.sampled_from(["cookie", "none", "junk"]))
async def test_the_booking_form(client: TestClient, offered: list[str], data: st.DataObject, embed: bool,
                                fields: dict[str, str], address: str, token: str) -> None:
    start = data.draw(st.one_of(st.sampled_from(offered), MOMENT) if offered else MOMENT)
    form = {"name": "Ana", "email": "ana@example.com", "d": "30", "tz": "Europe/Lisbon", **fields,
            "start": start, "csrf": {"cookie": _token(client), "none": "", "junk": "e1.1.x"}[token]}
    path = "/meetings/demo/intro" + ("?embed=1" if embed else "")
    response = await client.post(path, data=form, headers={"X-Forwarded-For": address})
    _ok(response.status, await response.text())


@pytest.fixture
async def manage_path(client: TestClient, offered: list[str]) -> str:
    """A real manage link (a booking of the last offered time)."""
    booked = await client.post("/meetings/demo", data={
        "csrf": _token(client), "start": offered[-1], "d": "30", "tz": "Europe/Lisbon", "name": "Ana",
        "email": "ana@example.com"})
    found = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"]+)"', await booked.text())
    assert found
    return found.group(1)


@FUZZ
@given(real=st.booleans(), token=TEXT, action=st.sampled_from(["", "/cancel", "/reschedule"]),
       start=MOMENT, zone=ZONE, csrf=st.booleans(), lang=TEXT)
async def test_the_manage_link(client: TestClient, manage_path: str, real: bool, token: str, action: str,
                               start: str, zone: str, csrf: bool, lang: str) -> None:
    path = (manage_path if real else "/meetings-manage/" + quote(token, safe="")) + action
    if action:
        response = await client.post(path, params={"lang": lang},
                                     data={"csrf": _token(client) if csrf else "x", "start": start})
    else:
        response = await client.get(path, params={"tz": zone, "lang": lang})
    _ok(response.status, await response.text())


JSON_VALUE = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False), TEXT),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(TEXT, inner, max_size=3)),
    max_leaves=8,
)


@FUZZ
@given(body=st.one_of(
    st.fixed_dictionaries({"page": st.one_of(st.sampled_from(["demo/intro", "demo", "demo/"]), TEXT)},
                          optional={"text": st.one_of(TEXT, JSON_VALUE),
                                    "lang": st.one_of(TEXT, JSON_VALUE)}),
    JSON_VALUE), address=ADDRESS)
async def test_the_widget_api(client: TestClient, body: Any, address: str) -> None:
    response = await client.post("/widget/messages", data=json.dumps(body),
                                 headers={"Content-Type": "application/json", "X-Forwarded-For": address})
    _ok(response.status, await response.text())
    assert response.content_type == "application/json"


@FUZZ
@given(path=st.sampled_from(["/meetings/demo", "/meetings/demo/intro?embed=1", "/widget/messages",
                             "/meetings-manage/abc/cancel", "/meetings-manage/abc/reschedule"]),
       content_type=st.sampled_from(["application/x-www-form-urlencoded", "multipart/form-data",
                                     "multipart/form-data; boundary=xx", "application/json",
                                     "text/plain", "application/x-www-form-urlencoded; charset=latin-9"]),
       body=st.binary(max_size=300), address=ADDRESS)
async def test_raw_bodies(client: TestClient, path: str, content_type: str, body: bytes,
                          address: str) -> None:
    response = await client.post(path, data=body, headers={"Content-Type": content_type,
                                                           "X-Forwarded-For": address})
    _ok(response.status, await response.text())
