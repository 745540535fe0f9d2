"""The dashboard's pages section through the running app, and the page form's checks."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import SESSIONS, TOKENS
from bot.pages.settings import PageSettingsError, page_form, parse_page_form
from storage.models import SchedulingPage, User
from tests.conftest import AppClient

GOOD = {
    "title": "Sales demo", "slug": "sales", "description": "Thirty minutes with us.",
    "length_30": "on", "length_45": "on", "lengths_other": "", "lengths_order": "30,45",
    "day_mon": "on", "mon_start_0": "09:00", "mon_end_0": "12:00", "mon_start_1": "13:00",
    "mon_end_1": "17:00", "day_tue": "on", "tue_start_0": "10:00", "tue_end_0": "16:00",
    "override_date_0": "2026-12-24", "override_off_0": "on",
    "override_date_1": "2026-12-27", "override_start_1": "10:00", "override_end_1": "12:00",
    "buffer_before": "5", "buffer_after": "10", "notice": "120",
    "horizon_days": "30", "max_per_day": "4", "increment": "15",
    "question_0": "Company", "question_required_0": "on", "question_1": "Phone",
    "language": "da", "enabled": "on", "in_widget": "on",
}


def test_the_page_form_round_trips() -> None:
    values = parse_page_form(GOOD)
    assert values.durations == [30, 45] and values.language == "da" and values.in_widget
    assert values.rules["weekly"] == {"mon": ["09:00-12:00", "13:00-17:00"], "tue": ["10:00-16:00"]}
    assert values.rules["overrides"] == {"2026-12-24": [], "2026-12-27": ["10:00-12:00"]}
    assert values.questions == [{"label": "Company", "required": True}, {"label": "Phone", "required": False}]
    page = SchedulingPage(title=values.title, slug=values.slug, description=values.description,
                          durations=values.durations, rules=values.rules, questions=values.questions,
                          language=values.language, enabled=True, in_widget=True)
    again = parse_page_form(page_form(page))
    assert again == values


def test_every_problem_of_the_page_form_is_listed() -> None:
    bad = {**GOOD, "title": "", "slug": "Not a slug!", "lengths_other": "1000", "day_wed": "on",
           "wed_start_0": "17:00", "wed_end_0": "09:00", "override_date_0": "christmas",
           "notice": "-5", "language": "fr"}
    with pytest.raises(PageSettingsError) as caught:
        parse_page_form(bad)
    text = " ".join(caught.value.problems)
    for expected in ("title", "page address", "5 to 480", "Wed", "2026-12-24", "Notice", "language"):
        assert expected.lower() in text.lower(), expected


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True)


async def _sign_in(client: TestClient, slug: str = "demo") -> str:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        user_id = (await session.execute(select(User.id).where(User.slug == slug))).scalar_one()
    token = await client.app[TOKENS].login_link_token(user_id)
    await client.get(f"/dashboard/login?token={token}")
    page = await (await client.get("/dashboard/pages")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf
    return csrf.group(1)


async def _pages(client: TestClient) -> list[SchedulingPage]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return list((await session.execute(select(SchedulingPage).order_by(SchedulingPage.id))).scalars())


async def test_create_edit_preview_default_and_delete(client: TestClient) -> None:
    csrf = await _sign_in(client)
    assert (await client.post("/dashboard/pages/new", data=GOOD)).status == 403  # no CSRF token
    refused = await client.post("/dashboard/pages/new", data={**GOOD, "csrf": csrf, "lengths_other": "x"})
    body = await refused.text()
    assert refused.status == 400 and "Nothing was saved" in body and 'value="Sales demo"' in body
    assert len(await _pages(client)) == 1
    created = await client.post("/dashboard/pages/new", data={**GOOD, "csrf": csrf}, allow_redirects=False)
    assert created.status == 303
    pages = await _pages(client)
    sales = pages[1]
    assert (sales.slug, sales.is_default, sales.questions[0]["label"]) == ("sales", False, "Company")
    clash = await client.post("/dashboard/pages/new", data={**GOOD, "csrf": csrf, "slug": "intro"})
    assert clash.status == 400 and "already have a page" in await clash.text()

    visitor = await client.get("/meetings/demo/sales")
    text = await visitor.text()
    assert visitor.status == 200 and "Sales demo" in text and 'lang="da"' in text  # the page's language

    edited = await client.post(f"/dashboard/pages/{sales.id}",
                               data={**GOOD, "csrf": csrf, "title": "Sales call", "enabled": ""})
    assert edited.status == 200  # followed the redirect to the list
    danish = await (await client.get("/meetings/demo/sales")).text()
    assert "tager ikke imod bookinger" in danish  # the page's own language
    preview = await (await client.get(f"/dashboard/pages/{sales.id}/preview?lang=en")).text()
    assert "Preview" in preview and "Sales call" in preview and "Book this time" not in preview

    await client.post(f"/dashboard/pages/{sales.id}/default", data={"csrf": csrf})
    assert [p.is_default for p in await _pages(client)] == [False, True]
    await client.post(f"/dashboard/pages/{sales.id}/delete", data={"csrf": csrf, "confirm": "yes"})
    remaining = await _pages(client)
    assert len(remaining) == 1 and remaining[0].is_default
    assert (await client.get("/meetings/demo/sales")).status == 404


async def test_slug_change_switch_off_and_domains(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(User(display_name="Other", email="o@example.com", slug="taken", timezone="UTC"))
    csrf = await _sign_in(client)
    clash = await client.post("/dashboard/pages/profile",
                              data={"csrf": csrf, "slug": "taken", "timezone": "Europe/Copenhagen"})
    assert clash.status == 400 and "taken on every domain" in await clash.text()
    bad_zone = await client.post("/dashboard/pages/profile",
                                 data={"csrf": csrf, "slug": "ana", "timezone": "Mars/Base"})
    assert bad_zone.status == 400 and "not a time zone" in await bad_zone.text()
    moved = await client.post("/dashboard/pages/profile",
                              data={"csrf": csrf, "slug": "ana", "timezone": "Europe/Copenhagen"})
    assert moved.status == 200 and "/meetings/ana" in await moved.text()
    assert (await client.get("/meetings/demo")).status == 404
    assert (await client.get("/meetings/ana/intro")).status == 200

    await client.post("/dashboard/pages/switch", data={"csrf": csrf, "enabled": "off", "confirm": "yes"})
    assert "not taking bookings" in await (await client.get("/meetings/ana")).text()
    assert len(await _pages(client)) == 1  # nothing deleted
    await client.post("/dashboard/pages/switch", data={"csrf": csrf, "enabled": "on"})
    back_on = await (await client.get("/meetings/ana")).text()
    assert "not taking bookings" not in back_on and "Show times" in back_on

    added = await client.post("/dashboard/domains", data={"csrf": csrf, "hostname": "meet.example.com"})
    assert added.status == 200 and "meet.example.com serves" in await added.text()
    listing = await (await client.get("/dashboard/pages")).text()
    domain_id = re.search(r'<option value="(\d+)">meet\.example\.com</option>', listing)
    assert domain_id
    await client.post("/dashboard/pages/profile", data={"csrf": csrf, "slug": "ana", "timezone": "UTC",
                                                        "domain": domain_id.group(1)})
    assert "http://meet.example.com/meetings/ana" in await (await client.get("/dashboard/pages")).text()


async def test_only_admins_manage_domains_and_pages_are_private(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        session.add(User(display_name="Guest", email="g@example.com", slug="guest", timezone="UTC"))
    csrf = await _sign_in(client, "guest")
    refused = await client.post("/dashboard/domains", data={"csrf": csrf, "hostname": "x.example.com"})
    assert refused.status == 403
    demo_page = (await _pages(client))[0]
    assert (await client.get(f"/dashboard/pages/{demo_page.id}")).status == 404
    assert (await client.get(f"/dashboard/pages/{demo_page.id}/preview")).status == 404
    deleted = await client.post(f"/dashboard/pages/{demo_page.id}/delete",
                                data={"csrf": csrf, "confirm": "yes"})
    assert deleted.status == 404 and len(await _pages(client)) == 1
