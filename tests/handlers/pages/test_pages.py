"""Scheduling pages through the running app: view, book, race loser, CSRF, limits, off, blocked."""

from __future__ import annotations

import re
from zoneinfo import ZoneInfo

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.keys import SESSIONS
from storage.models import Booking, BookingAttempt, CalendarConnection, SchedulingPage, User
from tests.conftest import AppClient
from tests.support.page_client import offered_starts


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True)


async def _form(client: TestClient, query: str = "") -> tuple[str, str]:
    page = await (await client.get("/meetings/demo" + query)).text()
    start = offered_starts(page)[2].isoformat()
    form = await (await client.get("/meetings/demo", params={"start": start, "d": "30",
                                                         "tz": "Europe/Lisbon"})).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', form)
    assert csrf and 'name="start"' in form
    return start, csrf.group(1)


async def test_page_lists_days_in_the_visitor_zone_and_language(client: TestClient) -> None:
    response = await client.get("/meetings/demo?tz=America/Sao_Paulo&lang=da")
    assert response.status == 200
    assert response.headers["X-Robots-Tag"].startswith("noindex")
    body = await response.text()
    assert "mandag" in body  # Danish day names
    # A later day's times (today's may have begun): 09:00 Copenhagen is 05:00 in São Paulo.
    later = sorted({s.astimezone(ZoneInfo("America/Sao_Paulo")).date() for s in offered_starts(body)})[1]
    day = await (await client.get(f"/meetings/demo?tz=America/Sao_Paulo&lang=da&day={later}")).text()
    assert "05.00" in day or "05:00" in day
    named = await client.get("/meetings/demo/intro", headers={"Accept-Language": "pt-BR,pt;q=0.9"})
    assert "segunda-feira" in await named.text()


async def test_booking_through_the_page_and_the_loser_of_a_race(client: TestClient) -> None:
    start, csrf = await _form(client)
    data = {"csrf": csrf, "start": start, "d": "30", "tz": "Europe/Lisbon", "name": "Ana",
            "email": "ana@example.com", "note": "<script>alert(1)</script>"}
    booked = await client.post("/meetings/demo", data=data)
    body = await booked.text()
    assert booked.status == 200 and "booked" in body
    manage = re.search(r'href="https?://[^/"]+(/meetings-manage/[^"]+)"', body)
    assert manage
    again = await client.post("/meetings/demo", data={**data, "email": "bo@example.com"})
    assert again.status == 409
    assert "no longer available" in await again.text()
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = (await session.execute(select(Booking))).scalars().all()
    assert len(rows) == 1 and rows[0].note == "<script>alert(1)</script>"
    view = await (await client.get(manage.group(1))).text()
    assert "<script>alert(1)</script>" not in view
    asking = await (await client.get(manage.group(1), params={"cancel": "1"})).text()
    cancel_csrf = re.search(r'name="csrf" value="([^"]+)"', asking)
    assert cancel_csrf
    cancelled = await client.post(manage.group(1) + "/cancel", data={"csrf": cancel_csrf.group(1)})
    assert cancelled.status == 200 and "cancelled" in (await cancelled.text()).lower()
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(Booking.status))).scalar_one() == "cancelled"


@pytest.mark.parametrize(
    ("change", "status"),
    [
        ({"csrf": "forged"}, 403),
        ({"start": "tomorrow at noon"}, 400),
        ({"start": "2020-01-06T10:00:00+00:00"}, 409),
        ({"d": "45"}, 400),
        ({"email": "nobody"}, 400),
        ({"name": "Eve\r\nBcc: x@example.com"}, 400),
        ({"name": "x" * 5000}, 400),
    ],
)
async def test_bad_posts_get_readable_pages_and_store_nothing(client: TestClient,
                                                              change: dict[str, str],
                                                              status: int) -> None:
    start, csrf = await _form(client)
    data = {"csrf": csrf, "start": start, "d": "30", "tz": "Europe/Lisbon", "name": "Ana",
            "email": "ana@example.com", **change}
    response = await client.post("/meetings/demo", data=data)
    assert response.status == status
    assert response.content_type == "text/html" and "Traceback" not in await response.text()
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(Booking))).first() is None


async def test_unknown_slugs_are_404_pages(client: TestClient) -> None:
    for path in ("/meetings/nobody", "/meetings/demo/nothing", "/meetings-manage/not-a-token"):
        response = await client.get(path)
        assert response.status == 404 and response.content_type == "text/html"


async def test_pages_off_and_blocked_booking(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).values(pages_enabled=False))
    off = await client.get("/meetings/demo")
    assert "not taking bookings" in await off.text()
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).values(pages_enabled=True))
        await session.execute(update(CalendarConnection).values(status="inactive"))
        assert (await session.execute(select(SchedulingPage))).first() is not None
    blocked = await client.get("/meetings/demo")
    text = await blocked.text()
    assert "temporarily unavailable" in text
    csrf = re.search(r'name="csrf" value="([^"]+)"', text)
    assert csrf
    left = await client.post("/meetings/demo", data={"csrf": csrf.group(1), "mode": "leave_details",
                                                     "name": "Bo", "email": "bo@example.com",
                                                     "note": "call me"})
    assert left.status == 200
    async with client.app[SESSIONS]() as session:
        attempt = (await session.execute(select(BookingAttempt))).scalar_one()
    assert (attempt.visitor_email, attempt.note) == ("bo@example.com", "call me")


async def test_booking_posts_are_rate_limited_per_ip(client: TestClient) -> None:
    start, csrf = await _form(client)
    statuses = []
    for _ in range(12):
        response = await client.post("/meetings/demo", data={"csrf": csrf, "start": start, "d": "30",
                                                             "name": "A", "email": "bad"})
        statuses.append(response.status)
    assert statuses[:10] == [400] * 10 and statuses[10:] == [429, 429]


def test_the_pages_catalogs_translate_every_message() -> None:
    from babel.messages.pofile import read_po

    from bot.i18n import catalog_root, load

    template = catalog_root().joinpath("pages.pot")
    wanted = {m.id for m in read_po(template.open("rb")) if m.id}
    assert len(wanted) > 50
    for locale in ("pt_BR", "da"):
        po = catalog_root().joinpath(locale, "LC_MESSAGES", "pages.po")
        catalog = read_po(po.open("rb"))
        done = {m.id for m in catalog if m.id and m.string}
        assert wanted <= done, (locale, sorted(wanted - done))
        translated = load(catalog_root(), locale, "pages")
        for message in wanted:
            assert set(re.findall(r"{\w+}", translated.gettext(str(message)))) == set(
                re.findall(r"{\w+}", str(message))), (locale, message)


async def test_pages_speak_the_visitors_language(client: TestClient) -> None:
    danish = await (await client.get("/meetings/demo?lang=da")).text()
    assert "Vis tider" in danish and "Intro call med Demo Host" in danish and 'lang="da"' in danish
    portuguese = await client.get("/meetings/demo", headers={"Accept-Language": "pt-BR"})
    assert "Mostrar horários" in await portuguese.text()
    missing = await (await client.get("/meetings/nobody?lang=da")).text()
    assert "Siden blev ikke fundet" in missing
    start, csrf = await _form(client)
    wrong = await client.post("/meetings/demo?lang=pt", data={"csrf": csrf, "start": start, "d": "30",
                                                              "name": "Ana", "email": "nope"})
    assert wrong.status == 400 and "Informe um endereço de e-mail válido." in await wrong.text()


async def test_only_widget_pages_may_be_framed_by_other_sites(client: TestClient) -> None:
    framed = await client.get("/meetings/demo/intro?embed=1")  # the demo page is in the widget
    policy = framed.headers["Content-Security-Policy"]
    assert "frame-ancestors *" in policy and "script-src 'self'" in policy
    assert "embed=1" in await framed.text()
    plain = await client.get("/meetings/demo/intro")
    assert "frame-ancestors 'self'" in plain.headers["Content-Security-Policy"]
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(in_widget=False))
    refused = await client.get("/meetings/demo/intro?embed=1")
    assert "frame-ancestors 'self'" in refused.headers["Content-Security-Policy"]


async def test_booking_limits_are_settings(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_BOOKING_LIMIT_PER_IP="2")
    start, csrf = await _form(client)
    statuses = [(await client.post("/meetings/demo", data={"csrf": csrf, "start": start, "d": "30",
                                                           "name": "A", "email": "bad"})).status
                for _ in range(3)]
    assert statuses == [400, 400, 429]
