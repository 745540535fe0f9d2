"""The page editor's controls: weekly hours, overrides, questions, lengths, location, reminders and
colour load from a stored page and save back unchanged; bad values come back beside their field;
destructive actions on the pages section need confirming."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.keys import SESSIONS
from bot.pages.location import LocationKind
from bot.pages.settings import PageSettingsError, page_form, parse_page_form
from bot.rules import rules_from_json
from storage.calendar_models import CalendarConnection
from storage.models import CustomDomain, SchedulingPage, User
from tests.conftest import AppClient
from tests.handlers.pages.test_page_admin import GOOD, _pages, _sign_in
from tests.support.form_fields import form_fields

STORED_RULES = {
    "weekly": {"mon": ["09:00-12:00", "13:00-17:00"], "wed": ["18:00-24:00"], "sat": ["10:00-11:30"]},
    "overrides": {"2026-12-24": [], "2026-12-27": ["10:00-12:00", "14:00-15:00"]},
    "buffer_before": 5, "buffer_after": 10, "notice": 120, "horizon_days": 90, "max_per_day": None,
    "increment": 15,
}


def _stored_page() -> SchedulingPage:
    return SchedulingPage(
        title="Sales demo", slug="sales", description="Thirty minutes.", durations=[45, 20, 30],
        rules=STORED_RULES,
        questions=[{"label": "Company", "required": True}, {"label": "Phone", "required": False}],
        language="pt", enabled=True, in_widget=False, location_kind="link",
        location_value="https://zoom.example.com/j/123", reminders=[1440, 15], remind_host=True,
        colour="#aa3300",
    )


def test_a_stored_page_loads_into_the_controls_and_saves_unchanged() -> None:
    page = _stored_page()
    form = page_form(page)
    assert form["day_mon"] == "on" and form["day_tue"] == "" and form["wed_end_0"] == "00:00"
    lengths = (form["length_30"], form["length_45"], form["length_15"], form["lengths_other"])
    assert lengths == ("on", "on", "", "20")
    values = parse_page_form(form)
    assert values.rules == STORED_RULES
    assert values.durations == [45, 20, 30]  # the first length stays first
    assert values.questions == page.questions
    assert (values.location_kind, values.location_value) == (LocationKind.LINK, "https://zoom.example.com/j/123")
    assert (values.reminders, values.remind_host) == ([1440, 15], True)
    assert (values.colour, values.language) == ("#aa3300", "pt")


def test_controls_make_ranges_overrides_questions_and_lengths() -> None:
    values = parse_page_form({
        **GOOD, "day_tue": "", "day_fri": "on", "fri_start_0": "08:00:00", "fri_end_0": "09:30",
        "fri_start_3": "12:00", "fri_end_3": "00:00", "override_date_1": "",  # a cleared row is dropped
        "override_date_7": "2026-12-31", "override_off_7": "on",
        "question_5": "Topic", "question_required_5": "on", "question_2": "",
        "length_15": "on", "lengths_other": "120, 30", "lengths_order": "",
    })
    assert values.rules["weekly"] == {"mon": ["09:00-12:00", "13:00-17:00"],
                                      "fri": ["08:00-09:30", "12:00-24:00"]}
    assert values.rules["overrides"] == {"2026-12-24": [], "2026-12-31": []}
    assert [q["label"] for q in values.questions] == ["Company", "Phone", "Topic"]
    assert values.durations == [15, 30, 45, 120]


@pytest.mark.parametrize(("fields", "field", "words"), [
    ({"day_wed": "on", "wed_start_0": "", "wed_end_0": ""}, "hours_wed", "Wednesday is on"),
    ({"mon_start_0": "9am"}, "hours_mon", "start and an end time"),
    ({"override_date_2": "2026-12-24", "override_start_2": "10:00", "override_end_2": "11:00"},
     "overrides", "both unavailable and given hours"),
    ({"override_date_0": "2026-12-24", "override_off_0": "", "override_start_0": "12:00",
      "override_end_0": "10:00"}, "override_0", "ends before it starts"),
    ({"length_30": "", "length_45": ""}, "lengths", "at least one"),
    ({"location_kind": "link", "location_value": "http://zoom.example.com/j/1"}, "location_value", "https://"),
    ({"location_kind": "link", "location_value": "zoom meeting"}, "location_value", "https://"),
    ({"location_kind": "link", "location_value": "https://x.example/" + "a" * 999}, "location_value", "1000"),
    ({"location_kind": "phone", "location_value": "call me"}, "location_value", "country code"),
    ({"location_kind": "in_person", "location_value": ""}, "location_value", "address"),
    ({"location_kind": "carrier_pigeon"}, "location_kind", "from the list"),
    ({"colour": "red"}, "colour", "#2358c4"),
    ({"colour": "#12345"}, "colour", "#2358c4"),
])
def test_each_bad_value_is_named_for_its_field(fields: dict[str, str], field: str, words: str) -> None:
    with pytest.raises(PageSettingsError) as caught:
        parse_page_form({**GOOD, **fields})
    assert words in caught.value.fields[field]


def test_new_settings_are_checked_and_normalised() -> None:
    values = parse_page_form({**GOOD, "location_kind": "google_meet", "location_value": "left over",
                              "reminder_60": "on", "reminder_1440": "on", "colour": "#AA3300"})
    assert (values.location_kind, values.location_value) == (LocationKind.GOOGLE_MEET, "")
    assert values.reminders == [1440, 60] and values.colour == "#aa3300"
    assert parse_page_form({**GOOD, "colour": "#2358c4"}).colour is None  # the default accent
    phone = parse_page_form({**GOOD, "location_kind": "phone", "location_value": "+45 12 34 56 78"})
    assert phone.location_value == "+45 12 34 56 78"


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True)


async def _editor(client: TestClient, page_id: int) -> str:
    response = await client.get(f"/dashboard/pages/{page_id}")
    assert response.status == 200
    return await response.text()


async def test_posting_the_editor_unchanged_stores_the_same_page(client: TestClient) -> None:
    assert client.app is not None
    csrf = await _sign_in(client)
    demo = (await _pages(client))[0]
    stored = _stored_page()
    async with client.app[SESSIONS]() as session, session.begin():
        row = await session.get(SchedulingPage, demo.id)
        assert row is not None
        for name in ("durations", "questions", "location_kind", "location_value", "reminders",
                     "remind_host", "colour", "language", "description"):
            setattr(row, name, getattr(stored, name))
        row.rules = {**STORED_RULES, "extra_hours": {"2026-12-28": ["18:00-19:00"]}}
    form = form_fields(await _editor(client, demo.id), "page-editor")
    assert form["csrf"] == csrf
    saved = await client.post(f"/dashboard/pages/{demo.id}", data=form, allow_redirects=False)
    assert saved.status == 303
    after = (await _pages(client))[0]
    # The rules the editor does not show (extra hours) are kept.
    assert after.rules == {**STORED_RULES, "extra_hours": {"2026-12-28": ["18:00-19:00"]}}
    assert (after.durations, after.questions) == (stored.durations, stored.questions)
    assert (after.location_kind, after.location_value, after.reminders, after.remind_host, after.colour) == (
        "link", "https://zoom.example.com/j/123", [1440, 15], True, "#aa3300")


async def test_the_demo_page_without_stored_hours_saves_the_same_availability(client: TestClient) -> None:
    await _sign_in(client)
    demo = (await _pages(client))[0]
    before = rules_from_json(demo.rules, timezone="UTC", durations=demo.durations)
    form = form_fields(await _editor(client, demo.id), "page-editor")
    assert (await client.post(f"/dashboard/pages/{demo.id}", data=form, allow_redirects=False)).status == 303
    after = (await _pages(client))[0]
    assert rules_from_json(after.rules, timezone="UTC", durations=after.durations) == before
    assert after.durations == demo.durations


async def test_bad_values_come_back_beside_their_fields_with_what_was_typed(client: TestClient) -> None:
    csrf = await _sign_in(client)
    demo = (await _pages(client))[0]
    posted = {**GOOD, "csrf": csrf, "location_kind": "link", "location_value": "http://zoom.example.com/j/9",
              "colour": "blue", "question_3": "Budget?"}
    refused = await client.post(f"/dashboard/pages/{demo.id}", data=posted)
    body = await refused.text()
    assert refused.status == 400
    field = re.search(r'<input id="f-location-value"[^>]*>', body)
    assert field and 'value="http://zoom.example.com/j/9"' in field.group()
    assert 'aria-invalid="true" aria-describedby="err-location_value"' in field.group()
    assert re.search(r'id="err-location_value" class="field-error">[^<]*https://', body)
    assert 'aria-describedby="err-colour"' in body and 'value="Budget?"' in body
    assert (await _pages(client))[0].location_kind == ""  # nothing saved


async def test_reminders_are_stored_as_minutes(client: TestClient) -> None:
    csrf = await _sign_in(client)
    demo = (await _pages(client))[0]
    form = {**form_fields(await _editor(client, demo.id), "page-editor"), "reminder_1440": "on",
            "reminder_15": "on", "remind_host": "on", "location_kind": "in_person",
            "location_value": "Rua Augusta 1, Lisboa", "colour": "#115533", "csrf": csrf}
    assert (await client.post(f"/dashboard/pages/{demo.id}", data=form, allow_redirects=False)).status == 303
    page = (await _pages(client))[0]
    assert (page.reminders, page.remind_host) == ([1440, 15], True)
    assert (page.location_kind, page.location_value) == ("in_person", "Rua Augusta 1, Lisboa")
    assert page.colour == "#115533"
    again = await _editor(client, demo.id)
    assert 'name="reminder_1440" checked' in again and 'name="reminder_60" checked' not in again


def _warning(html: str, kind: str) -> str:
    found = re.search(rf'<p class="card warn" data-warn-for="{kind}"[^>]*>', html)
    assert found
    return found.group()


async def test_meet_warns_when_the_default_calendar_is_not_google(client: TestClient) -> None:
    assert client.app is not None
    await _sign_in(client)
    demo = (await _pages(client))[0]
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(location_kind="google_meet"))
    html = await _editor(client, demo.id)
    meet = _warning(html, "google_meet")
    assert "hidden" not in meet and 'data-applies="yes"' in meet
    assert "your default calendar is Slotbot" in html  # the demo's local calendar
    assert "hidden" in _warning(html, "teams")
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(CalendarConnection).values(provider="google"))
    assert "hidden" in _warning(await _editor(client, demo.id), "google_meet")
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(location_kind="teams"))
    teams = _warning(await _editor(client, demo.id), "teams")
    assert "hidden" not in teams and "your default calendar is Google" in await _editor(client, demo.id)


async def test_destructive_actions_ask_first(client: TestClient) -> None:
    assert client.app is not None
    csrf = await _sign_in(client)
    demo = (await _pages(client))[0]
    asked = await client.post(f"/dashboard/pages/{demo.id}/delete", data={"csrf": csrf})
    text = await asked.text()
    assert asked.status == 200 and f"Delete “{demo.title}”?" in text
    assert 'name="confirm" value="yes"' in text and f'action="/dashboard/pages/{demo.id}/delete"' in text
    assert len(await _pages(client)) == 1  # nothing deleted

    asked = await client.post("/dashboard/pages/switch", data={"csrf": csrf, "enabled": "off"})
    text = await asked.text()
    assert "Turn all your pages off?" in text and 'name="enabled" value="off"' in text
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(User.pages_enabled).where(User.slug == "demo"))).scalar_one()

    await client.post("/dashboard/domains", data={"csrf": csrf, "hostname": "meet.example.com"})
    asked = await client.post("/dashboard/domains", data={"csrf": csrf, "action": "remove",
                                                          "hostname": "meet.example.com"})
    text = await asked.text()
    assert "Remove meet.example.com?" in text and 'name="hostname" value="meet.example.com"' in text
    async with client.app[SESSIONS]() as session:
        assert (await session.execute(select(CustomDomain.active))).scalar_one()
    removed = await client.post("/dashboard/domains", data={"csrf": csrf, "action": "remove",
                                                            "hostname": "meet.example.com", "confirm": "yes"})
    assert "no longer serves pages" in await removed.text()

    listing = await (await client.get("/dashboard/pages")).text()
    assert re.search(r'data-confirm="Delete [^"]+"[^>]*><input[^>]+><button class="danger">', listing)
    assert '<button type="submit" class="danger">Turn all pages off</button>' in listing
