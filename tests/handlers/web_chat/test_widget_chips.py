"""The widget's free times: chips in the visitor's zone, each opening the page's form at its time.

Through the running app (aiohttp test client) against the seeded demo: the browser's zone words the
times (a zone that is no zone falls back to the host's, and the reply says so), the chips are the
page's own first free times (its length, rules and horizon), and a chip's address opens the page's
form at that time, or, for a time no longer free, the calendar with a sentence. Pure parts: the
zone's validation and how a reply's chips become one block per day.
"""

from __future__ import annotations

import json
import re
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from babel.dates import format_skeleton, format_time
from sqlalchemy import update

from bot.conversation.reply import Button, Reply, Section, Text
from bot.handlers.web_chat import visitor
from bot.handlers.web_chat.render import SLOT_ACTION, embed_url, reply_view
from bot.keys import SESSIONS
from storage.models import SchedulingPage
from tests.conftest import AppClient
from tests.support.chat_calendar import EVERY_DAY, ZONE, known_tomorrow

ORIGIN = "http://127.0.0.1:8080"
TOKYO = ZoneInfo("Asia/Tokyo")


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    client = await app_client(seed_demo=True, SLOTBOT_DEMO="true")
    assert client.app is not None
    await known_tomorrow(client.app[SESSIONS])
    return client


async def _visit(client: TestClient, **body: Any) -> dict[str, Any]:
    response = await client.post("/widget/messages", data=json.dumps({"page": "demo/intro", **body}),
                                 headers={"Content-Type": "application/json"})
    assert response.status == 200, await response.text()
    data: dict[str, Any] = await response.json()
    return data


def _groups(data: dict[str, Any]) -> list[dict[str, Any]]:
    return [b for b in data["reply"]["blocks"] if b["type"] == "chips"]


def _texts(data: dict[str, Any]) -> list[str]:
    return ["".join(p.get("text", "") for p in b["parts"])
            for b in data["reply"]["blocks"] if b["type"] == "text"]


async def _page_starts(client: TestClient, zone: str, minutes: int = 30) -> list[datetime]:
    """Every start the scheduling page itself offers this month and the next (its slot data)."""
    today = datetime.now(ZoneInfo(zone)).date().replace(day=1)
    following = (today + timedelta(days=32)).replace(day=1)
    starts: list[datetime] = []
    for month in (today, following):
        page = await (await client.get(
            f"/meetings/demo?tz={zone}&d={minutes}&month={month:%Y-%m}")).text()
        found = re.search(r'<script type="application/json" id="slot-data">(.*?)</script>', page, re.S)
        assert found, page
        starts += [datetime.fromisoformat(s) for s in json.loads(found.group(1))["starts"]]
    return sorted(set(starts))


def _expected(starts: list[datetime], zone: ZoneInfo) -> list[list[datetime]]:
    """The first days' first times, grouped by the visitor's local day (as the widget should)."""
    days: dict[object, list[datetime]] = {}
    for start in starts:
        day = start.astimezone(zone).date()
        if day not in days and len(days) == visitor.CHIP_DAYS:
            break
        days.setdefault(day, [])
        if len(days[day]) < visitor.CHIPS_PER_DAY:
            days[day].append(start)
    return list(days.values())


async def test_free_times_are_chips_worded_in_the_browsers_zone(client: TestClient) -> None:
    data = await _visit(client, text="can I book a meeting?", lang="en-US", tz="Asia/Tokyo")
    assert "The times are in Japan Time (Asia/Tokyo)." in _texts(data)
    groups = _groups(data)
    expected = _expected(await _page_starts(client, "Asia/Tokyo"), TOKYO)
    assert [[datetime.fromisoformat(c["start"]) for c in g["chips"]] for g in groups] == expected
    assert len(groups) == visitor.CHIP_DAYS
    for group in groups:
        for chip in group["chips"]:
            local = datetime.fromisoformat(chip["start"]).astimezone(TOKYO)
            day = format_skeleton("MMMEd", local.date(), locale="en")
            clock = format_time(local, "h:mm a", locale="en")
            assert group["heading"] == day and chip["label"] == clock
            assert chip["name"] == f"{day} at {clock}"
            assert chip["embed"].startswith(f"{ORIGIN}/meetings/demo?embed=1&lang=en&start=")
            assert chip["embed"].endswith("&tz=Asia%2FTokyo&d=30#book")
    # Tomorrow in Copenhagen is free from 08:00: 16:00 in Tokyo, a time no Copenhagen wording has.
    tomorrow_8 = datetime.combine(datetime.now(ZONE).date() + timedelta(days=1),
                                  datetime.min.time().replace(hour=8), ZONE)
    chips = {c["start"]: c for g in groups for c in g["chips"]}
    if tomorrow_8.isoformat() in chips:
        assert chips[tomorrow_8.isoformat()]["label"] == "4:00 PM"


@pytest.mark.parametrize(("lang", "ask", "sentence", "joiner", "pattern"), [
    ("pt-BR", "quando?", "Os horários estão em", "às", "HH:mm"),
    ("da", "hvornår?", "Tiderne er i", "kl.", "HH:mm"),  # the page's own clock
])
async def test_chips_speak_the_visitors_language(client: TestClient, lang: str, ask: str, sentence: str,
                                                 joiner: str, pattern: str) -> None:
    data = await _visit(client, text="", lang=lang, tz="America/Sao_Paulo")
    assert _groups(data) == []  # a greeting offers no times
    data = await _visit(client, text=ask, lang=lang, tz="America/Sao_Paulo")
    assert _groups(data)
    locale = {"pt-BR": "pt_BR", "da": "da"}[lang]
    assert any(t.startswith(sentence) and "(America/Sao_Paulo)" in t for t in _texts(data))
    zone = ZoneInfo("America/Sao_Paulo")
    for group in _groups(data):
        for chip in group["chips"]:
            local = datetime.fromisoformat(chip["start"]).astimezone(zone)
            clock = format_time(local, pattern, locale=locale)
            assert chip["label"] == clock and chip["name"] == f"{group['heading']} {joiner} {clock}"


@pytest.mark.parametrize("sent", ["Mars/Olympus", "Europe/../etc/passwd", 42, "x" * 300])
async def test_a_zone_that_is_no_zone_falls_back_to_the_hosts_and_says_so(client: TestClient,
                                                                         sent: object) -> None:
    data = await _visit(client, text="can I book a meeting?", lang="en", tz=sent)
    shown = str(sent) if len(str(sent)) <= 40 else str(sent)[:40] + "…"
    assert (f"“{shown}” is not a time zone I know, so the times are in Denmark Time "
            "(Europe/Copenhagen).") in _texts(data)
    groups = _groups(data)
    assert groups
    for group in groups:
        for chip in group["chips"]:
            local = datetime.fromisoformat(chip["start"]).astimezone(ZONE)
            assert chip["label"] == format_time(local, "h:mm a", locale="en")
            assert "&tz=Europe%2FCopenhagen&" in chip["embed"]


async def test_without_a_zone_the_hosts_is_used_and_named(client: TestClient) -> None:
    data = await _visit(client, text="can I book a meeting?", lang="en")
    assert "The times are in Denmark Time (Europe/Copenhagen)." in _texts(data)


async def test_chips_follow_the_pages_length_and_horizon(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(
            durations=[60, 30], rules={"weekly": EVERY_DAY, "horizon_days": 2}))
    data = await _visit(client, text="can I book a meeting?", lang="en", tz="Asia/Tokyo")
    starts = [datetime.fromisoformat(c["start"]) for g in _groups(data) for c in g["chips"]]
    assert starts and all(c["embed"].endswith("&d=60#book") for g in _groups(data) for c in g["chips"])
    page = await _page_starts(client, "Asia/Tokyo", minutes=60)
    assert [s for group in _expected(page, TOKYO) for s in group] == starts
    last_day = datetime.now(ZONE).date() + timedelta(days=1)  # horizon 2: today and tomorrow
    assert all(s.astimezone(ZONE).date() <= last_day for s in starts)


async def test_a_chip_opens_the_pages_form_at_its_time(client: TestClient) -> None:
    data = await _visit(client, text="kan jeg booke et møde?", lang="da", tz="Asia/Tokyo")
    chip = _groups(data)[0]["chips"][0]
    response = await client.get(chip["embed"].removeprefix(ORIGIN))
    assert response.status == 200
    assert "frame-ancestors *" in response.headers["Content-Security-Policy"]
    page = await response.text()
    assert f'name="start" value="{chip["start"]}"' in page
    assert 'name="tz" value="Asia/Tokyo"' in page and '<html lang="da"' in page
    assert "That time is no longer available" not in page


async def test_a_time_no_longer_free_shows_the_calendar_with_a_sentence(client: TestClient) -> None:
    # Tomorrow 10:00-11:00 Copenhagen is taken (known_tomorrow): the address a chip would have.
    taken = datetime.combine(datetime.now(ZONE).date() + timedelta(days=1),
                             datetime.min.time().replace(hour=10), ZONE)
    url = embed_url(visitor.booking_url(f"{ORIGIN}/meetings/demo", taken, "Asia/Tokyo", 30), "en")
    response = await client.get(url.removeprefix(ORIGIN))
    assert response.status == 200
    page = await response.text()
    assert "That time is no longer available. Please pick another one." in page
    assert 'name="start"' not in page and 'class="slot' in page  # the calendar, no form


# --- pure parts ---------------------------------------------------------------------------------

def test_the_zone_sent_is_validated() -> None:
    assert visitor.visitor_zone("Asia/Tokyo", "Europe/Copenhagen") == visitor.VisitorZone("Asia/Tokyo")
    assert visitor.visitor_zone(None, "Europe/Copenhagen") == visitor.VisitorZone("Europe/Copenhagen")
    assert visitor.visitor_zone("", "Europe/Copenhagen") == visitor.VisitorZone("Europe/Copenhagen")
    assert visitor.visitor_zone("Nowhere/Else", "Europe/Copenhagen") == visitor.VisitorZone(
        "Europe/Copenhagen", "Nowhere/Else")
    assert visitor.visitor_zone(["Asia/Tokyo"], "UTC") == visitor.VisitorZone("UTC", "['Asia/Tokyo']")


def test_a_days_times_become_one_chips_block() -> None:
    start = datetime(2030, 5, 6, 7, 0, tzinfo=ZoneInfo("UTC"))
    url = visitor.booking_url("https://s.example/meetings/ana", start, "Asia/Tokyo", 45)
    assert url == ("https://s.example/meetings/ana?start=2030-05-06T07%3A00%3A00%2B00%3A00"
                   "&tz=Asia%2FTokyo&d=45#book")
    reply = Reply((
        Text("Pick one"), Section("Mon, May 6"),
        Button("4:00 PM", url=url, action=SLOT_ACTION, value=start.isoformat()),
        Button("Evil", url="javascript:alert(1)", action=SLOT_ACTION, value="x"),
        Section("Tue, May 7", ("a line",)),
        Button("5:00 PM", url=url, action=SLOT_ACTION, value=start.isoformat()),
    ), private=False)
    blocks = reply_view(reply, "pt_BR")["blocks"]
    assert [b["type"] for b in blocks] == ["text", "chips", "section", "chips"]
    assert blocks[1] == {"type": "chips", "heading": "Mon, May 6", "chips": [{
        "label": "4:00 PM", "name": "Mon, May 6 às 4:00 PM", "start": start.isoformat(),
        "embed": "https://s.example/meetings/ana?embed=1&lang=pt&start=2030-05-06T07%3A00%3A00%2B00%3A00"
                 "&tz=Asia%2FTokyo&d=45#book"}]}
    assert blocks[3]["heading"] is None and blocks[3]["chips"][0]["name"] == "5:00 PM"
    assert embed_url("https://s.example/meetings/ana?lang=da&embed=0", "da") == (
        "https://s.example/meetings/ana?embed=1&lang=da")
