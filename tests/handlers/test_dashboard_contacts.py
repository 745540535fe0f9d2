"""Contacts in the dashboard, through the running app: add, edit, search, pages, delete, the
record page with the meetings of a real booking (moved, then cancelled, from its manage link),
the CSV upload, another host's contact (404) and a refused CSRF token (403)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import aiohttp
from aiohttp.test_utils import TestClient
from sqlalchemy import func, select

from bot.contacts.csv_import import MAX_BYTES
from bot.contacts.directory import ContactDetails
from bot.keys import CONTACTS, SESSIONS
from storage.models import Contact
from tests.conftest import AppClient
from tests.support.page_client import offered_starts
from tests.support.signing_in import add_user, demo_client, sign_in_for_csrf

CPH = ZoneInfo("Europe/Copenhagen")


async def _count(client: TestClient) -> int:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        return (await session.execute(select(func.count()).select_from(Contact))).scalar_one()


async def _add(client: TestClient, csrf: str, **fields: str) -> Any:
    return await client.post("/dashboard/contacts/new", data={"csrf": csrf, **fields}, allow_redirects=False)


async def test_add_edit_search_and_delete_a_contact(app_client: AppClient) -> None:
    client = await app_client()
    host = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, host)
    dashboard = await (await client.get("/dashboard")).text()
    assert 'href="/dashboard/contacts"' in dashboard and 'href="/dashboard/tasks"' in dashboard

    bad = await _add(client, csrf, email="ana@", name="Ana Lúcia", company="Pilot & Co")
    body = await bad.text()
    assert bad.status == 400 and "That is not a valid e-mail address." in body
    assert 'value="ana@"' in body and 'value="Ana Lúcia"' in body and 'value="Pilot &amp; Co"' in body
    assert await _count(client) == 0

    added = await _add(
        client,
        csrf,
        email=" Ana@Example.COM ",
        name="Ana Lúcia",
        company="Pilot & Co",
        phone="+45 11 22 33 44",
        notes="Met at the fair.\nLikes mornings.",
    )
    assert added.status == 303
    record_url = added.headers["Location"].split("?")[0]
    record = await (await client.get(added.headers["Location"])).text()
    assert "Contact added." in record and "ana@example.com" in record and "Likes mornings." in record
    assert "No meetings with Ana Lúcia yet." in record

    again = await _add(client, csrf, email="ANA@example.com")
    assert again.status == 400 and "already have a contact with this e-mail address" in await again.text()

    saved = await client.post(
        record_url,
        data={"csrf": csrf, "email": "ana@example.com", "name": "Ana L. Souza", "company": "Pilot & Co"},
        allow_redirects=False,
    )
    assert saved.status == 303 and "notice=saved" in saved.headers["Location"]
    refused = await client.post(record_url, data={"csrf": csrf, "email": "not an address", "name": "Kept"})
    text = await refused.text()
    assert refused.status == 400 and "not a valid e-mail address" in text and 'value="Kept"' in text

    await _add(client, csrf, email="bo@example.org", name="BO ØSTERGÅRD", company="Nordlys")
    for query, expected in (
        ("souza", ["Ana L. Souza"]),
        ("øster", ["BO ØSTERGÅRD"]),
        ("NORD", ["BO ØSTERGÅRD"]),
        ("EXAMPLE", ["Ana L. Souza", "BO ØSTERGÅRD"]),
        ("100%", []),
        ("_", []),
    ):
        found = await (await client.get("/dashboard/contacts", params={"q": query})).text()
        names = re.findall(r'<a href="/dashboard/contacts/\d+">([^<]+)</a>', found)
        assert names == expected, (query, names)

    confirm = await (await client.get(record_url + "/delete")).text()
    assert "Delete Ana L. Souza?" in confirm and 'action="' + record_url + '/delete"' in confirm
    assert await _count(client) == 2  # asking deletes nothing
    deleted = await client.post(record_url + "/delete", data={"csrf": csrf}, allow_redirects=False)
    assert deleted.status == 303 and await _count(client) == 1
    assert (await client.get(record_url)).status == 404


async def test_contacts_come_fifty_a_page(app_client: AppClient) -> None:
    client = await app_client()
    host = await add_user(client, "hannah", "hannah@example.com")
    await sign_in_for_csrf(client, host)
    assert client.app is not None
    for n in range(53):
        await client.app[CONTACTS].add(host, ContactDetails(f"p{n:02}@example.com", f"Person {n:02}"))
    first = await (await client.get("/dashboard/contacts")).text()
    assert "53 contacts · page 1 of 2" in first and "Person 49" in first and "Person 50" not in first
    assert 'href="/dashboard/contacts?page=2"' in first
    second = await (await client.get("/dashboard/contacts?page=2")).text()
    assert "Person 50" in second and "Person 52" in second and "Person 00" not in second
    beyond = await (await client.get("/dashboard/contacts?page=99")).text()
    assert "page 2 of 2" in beyond
    searched = await (await client.get("/dashboard/contacts?q=person%205")).text()
    assert "3 contacts match" in searched and "Next page" not in searched


async def test_another_hosts_contact_is_not_found_and_a_bad_csrf_token_is_refused(
    app_client: AppClient,
) -> None:
    client = await app_client()
    owner = await add_user(client, "olga", "olga@example.com")
    other = await add_user(client, "hannah", "hannah@example.com")
    assert client.app is not None
    theirs = await client.app[CONTACTS].add(owner, ContactDetails("secret@example.com", "Secret Person"))
    csrf = await sign_in_for_csrf(client, other)
    for response in (
        await client.get(f"/dashboard/contacts/{theirs}"),
        await client.get(f"/dashboard/contacts/{theirs}/delete"),
        await client.post(f"/dashboard/contacts/{theirs}", data={"csrf": csrf, "email": "x@example.com"}),
        await client.post(f"/dashboard/contacts/{theirs}/delete", data={"csrf": csrf}),
        await client.get(f"/dashboard/tasks/new?contact={theirs}"),
        await client.get("/dashboard/contacts/999999"),
    ):
        body = await response.text()
        assert response.status == 404 and "No such contact" in body and "Secret" not in body
    listing = await (await client.get("/dashboard/contacts?q=secret")).text()
    assert "Secret" not in listing

    mine = await client.app[CONTACTS].add(other, ContactDetails("mine@example.com", "Mine"))
    for path, data in (
        (f"/dashboard/contacts/{mine}/delete", {}),
        ("/dashboard/contacts/new", {"email": "n@example.com"}),
        (f"/dashboard/contacts/{mine}", {"email": "changed@example.com"}),
    ):
        forged = await client.post(path, data={"csrf": "forged", **data})
        assert forged.status == 403 and "Form expired" in await forged.text()
    assert (await client.app[CONTACTS].get(other, mine)).email == "mine@example.com"
    assert await _count(client) == 2
    signed_out = TestClient(client.server)
    await signed_out.start_server()
    try:
        assert (await signed_out.get(f"/dashboard/contacts/{mine}")).status == 401
    finally:
        await signed_out.close()


def _upload(csrf: str, data: bytes, name: str = "contacts.csv") -> aiohttp.FormData:
    form = aiohttp.FormData()
    form.add_field("csrf", csrf)
    form.add_field("file", data, filename=name, content_type="text/csv")
    return form


async def test_a_csv_upload_adds_updates_and_reports_bad_lines(app_client: AppClient) -> None:
    client = await app_client()
    host = await add_user(client, "hannah", "hannah@example.com")
    csrf = await sign_in_for_csrf(client, host)
    assert client.app is not None
    await client.app[CONTACTS].add(host, ContactDetails("ana@example.com", "Ana", phone="+45 1"))
    data = (
        "\ufeffFirst name;Last name;E-Mail Address;Company;Shoe size\r\n"
        "Ana;Souza;ANA@EXAMPLE.COM;Pilot;38\r\n"
        "Bo;Berg;bo@example.org;;44\r\n"
        "Cy;;not-an-address;;\r\n"
    ).encode()
    page = await client.post("/dashboard/contacts/import", data=_upload(csrf, data))
    body = await page.text()
    assert page.status == 200, body
    assert "1 added, 1 updated, 1 left out" in body and "Shoe size" in body
    assert re.search(r"<td class=\"nowrap\">4</td><td>“not-an-address”: That is not a valid e-mail", body), (
        body
    )
    ana = await client.app[CONTACTS].find(host, "ana@example.com")
    assert ana is not None and (ana.name, ana.company, ana.phone) == ("Ana Souza", "Pilot", "+45 1")
    assert await _count(client) == 2

    no_email = await client.post("/dashboard/contacts/import", data=_upload(csrf, b"name,phone\nAna,1\n"))
    assert no_email.status == 400 and "one of them “email”" in await no_email.text()
    latin1 = await client.post(
        "/dashboard/contacts/import", data=_upload(csrf, "email,name\nz@example.com,Zoë\n".encode("latin-1"))
    )
    assert latin1.status == 400 and "not UTF-8 text" in await latin1.text()
    big = await client.post(
        "/dashboard/contacts/import", data=_upload(csrf, b"email\n" + b"a" * (MAX_BYTES + 20_000))
    )
    text = await big.text()
    assert big.status == 413 and "larger than 200 KB" in text and 'name="file"' in text
    forged = await client.post(
        "/dashboard/contacts/import", data=_upload("forged", b"email\nq@example.com\n")
    )
    assert forged.status == 403
    nothing = await client.post("/dashboard/contacts/import", data={"csrf": csrf})
    assert nothing.status == 400 and "Choose a CSV file" in await nothing.text()
    assert await _count(client) == 2


def _starts(body: str) -> list[str]:
    return [start.isoformat() for start in offered_starts(body)]


async def _csrf_of(body: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', body)
    assert found, body
    return found.group(1)


async def _book(client: TestClient) -> tuple[str, str]:
    """Book the demo page as Ana through its form; the manage link's path and the start."""
    start = _starts(await (await client.get("/meetings/demo")).text())[1]
    form = await (await client.get("/meetings/demo", params={"start": start, "d": "30"})).text()
    booked = await client.post(
        "/meetings/demo",
        data={
            "csrf": await _csrf_of(form),
            "start": start,
            "d": "30",
            "tz": "America/Sao_Paulo",
            "name": "Ana Lúcia",
            "email": "Ana@Example.com",
        },
    )
    body = await booked.text()
    assert booked.status == 200, body
    manage = re.search(r'href="http://slotbot\.test(/meetings-manage/[^"]+)"', body)
    assert manage, body
    return manage.group(1), start


def _local(iso: str) -> str:
    return datetime.fromisoformat(iso).astimezone(CPH).strftime("%H:%M")


async def test_the_record_shows_a_real_booking_moved_then_cancelled(app_client: AppClient) -> None:
    client, demo = await demo_client(app_client, SLOTBOT_BASE_URL="http://slotbot.test")
    manage, start = await _book(client)
    csrf = await sign_in_for_csrf(client, demo.user_id)
    listing = await (await client.get("/dashboard/contacts?q=ANA")).text()
    link = re.search(r'<a href="(/dashboard/contacts/\d+)">Ana Lúcia</a>', listing)
    assert link, listing
    record = await (await client.get(link.group(1))).text()
    row = re.search(
        r"<tr>\s*<td>([^<]+)</td>\s*<td>Intro call<br><small class=\"muted\">Booked through a page"
        r"</small></td>\s*<td><span class=\"badge\">Scheduled</span>",
        record,
    )
    assert row, record
    assert _local(start) in row.group(1) and "(Europe/Copenhagen)" in record
    assert not re.search(r"\d\d:\d\d:\d\d", row.group(1))

    view = await (await client.get(manage)).text()
    target = next(t.isoformat() for t in offered_starts(view) if t.isoformat() != start)
    confirm = await (await client.get(manage, params={"start": target})).text()  # the move's confirm step
    moved = await client.post(manage + "/reschedule", data={"csrf": await _csrf_of(confirm), "start": target})
    assert moved.status == 200
    record = await (await client.get(link.group(1))).text()
    assert "Moved</span>" in record and _local(target) in record and "Scheduled</span>" not in record

    asked = await (await client.get(manage, params={"cancel": "1"})).text()  # cancelling asks first
    await client.post(manage + "/cancel", data={"csrf": await _csrf_of(asked)})
    record = await (await client.get(link.group(1))).text()
    assert 'class="badge bad">Cancelled</span>' in record and "Moved</span>" not in record

    # Booking again as the same visitor adds a meeting to the same contact, newest first.
    _, second = await _book(client)
    record = await (await client.get(link.group(1))).text()
    statuses = re.findall(r'class="badge[^"]*">(\w+)</span>', record)
    newest_first = datetime.fromisoformat(second) > datetime.fromisoformat(target)
    assert statuses == (["Scheduled", "Cancelled"] if newest_first else ["Cancelled", "Scheduled"])
    assert await _count(client) == 1
    assert "Add a task for Ana Lúcia" in record and csrf
