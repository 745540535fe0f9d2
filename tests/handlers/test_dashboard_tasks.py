"""Tasks in the dashboard, through the running app: add (also from a contact's record), bad input
shown beside the field, done and undone, edit, delete, other hosts' tasks and a forged form."""

from __future__ import annotations

import re

from aiohttp.test_utils import TestClient

from bot.contacts.directory import ContactDetails
from bot.contacts.tasks import TaskDetails
from bot.keys import CONTACTS, TASKS
from tests.conftest import AppClient
from tests.support.signing_in import add_user, sign_in_for_csrf


def _open_titles(body: str) -> list[str]:
    section = body.split('id="open"')[1].split('id="add"')[0]
    return re.findall(r'<a href="/dashboard/tasks/\d+\?back=[^"]*">([^<]+)</a>', section)


async def _signed_in(app_client: AppClient) -> tuple[TestClient, int, str]:
    client = await app_client()
    host = await add_user(client, "hannah", "hannah@example.com")
    return client, host, await sign_in_for_csrf(client, host)


async def test_add_mark_done_edit_and_delete_tasks(app_client: AppClient) -> None:
    client, host, csrf = await _signed_in(app_client)
    assert client.app is not None
    empty = await (await client.get("/dashboard/tasks")).text()
    assert "Nothing to do." in empty and 'aria-current="page">Tasks' in empty

    bad = await client.post(
        "/dashboard/tasks/new",
        data={
            "csrf": csrf,
            "title": "Send the proposal",
            "due_date": "friday",
            "due_time": "25:00",
            "contact": "nobody@example.com",
            "back": "/dashboard/tasks",
        },
    )
    body = await bad.text()
    assert bad.status == 400 and 'value="Send the proposal"' in body and 'value="nobody@example.com"' in body
    assert "None of your contacts has this e-mail address" in body
    assert await client.app[TASKS].list(host) == []
    bad_dates = await client.post(
        "/dashboard/tasks/new",
        data={"csrf": csrf, "title": "Send the proposal", "due_date": "friday", "due_time": "25:00"},
    )
    body = await bad_dates.text()
    assert "Enter the due date as a date" in body and "Enter the time as hours and minutes" in body

    ana = await client.app[CONTACTS].add(host, ContactDetails("ana@example.com", "Ana"))
    added = await client.post(
        "/dashboard/tasks/new",
        data={
            "csrf": csrf,
            "title": "Send the proposal",
            "due_date": "2031-03-07",
            "due_time": "14:30",
            "contact": "ANA@example.com",
            "back": "https://evil.example/",
        },
        allow_redirects=False,
    )
    assert added.status == 303 and added.headers["Location"] == "/dashboard/tasks?notice=added"
    await client.app[TASKS].create(host, TaskDetails("Call back", "2031-03-06"))
    listing = await (await client.get("/dashboard/tasks?notice=added")).text()
    assert "Task added." in listing and _open_titles(listing) == ["Call back", "Send the proposal"]
    assert "Fri 7 Mar 2031, 14:30" in listing and f'<a href="/dashboard/contacts/{ana}">Ana</a>' in listing
    [call, proposal] = await client.app[TASKS].list(host)

    done = await client.post(
        f"/dashboard/tasks/{call.id}/done", data={"csrf": csrf, "value": "on"}, allow_redirects=False
    )
    assert done.status == 303
    listing = await (await client.get("/dashboard/tasks")).text()
    assert _open_titles(listing) == ["Send the proposal"] and "<s>Call back</s>" in listing
    await client.post(f"/dashboard/tasks/{call.id}/done", data={"csrf": csrf, "value": "off"})
    assert _open_titles(await (await client.get("/dashboard/tasks")).text()) == [
        "Call back",
        "Send the proposal",
    ]

    edit = await (await client.get(f"/dashboard/tasks/{proposal.id}")).text()
    assert 'value="2031-03-07"' in edit and 'value="14:30"' in edit and 'value="ana@example.com"' in edit
    refused = await client.post(
        f"/dashboard/tasks/{proposal.id}",
        data={"csrf": csrf, "title": "", "due_date": "2031-03-08", "due_time": "", "contact": ""},
    )
    text = await refused.text()
    assert refused.status == 400 and "Say what is to be done." in text and 'value="2031-03-08"' in text
    saved = await client.post(
        f"/dashboard/tasks/{proposal.id}",
        data={
            "csrf": csrf,
            "title": "Send the proposal v2",
            "due_date": "2031-03-08",
            "due_time": "",
            "contact": "",
        },
        allow_redirects=False,
    )
    assert saved.status == 303
    changed = await client.app[TASKS].get(host, proposal.id)
    assert (changed.title, changed.due_time, changed.contact_id) == ("Send the proposal v2", None, None)

    deleted = await client.post(
        f"/dashboard/tasks/{proposal.id}/delete", data={"csrf": csrf}, allow_redirects=False
    )
    assert deleted.status == 303 and [t.title for t in await client.app[TASKS].list(host)] == ["Call back"]


async def test_a_task_added_from_a_contacts_record_is_linked_and_goes_back_there(
    app_client: AppClient,
) -> None:
    client, host, csrf = await _signed_in(app_client)
    assert client.app is not None
    ana = await client.app[CONTACTS].add(host, ContactDetails("ana@example.com", "Ana Lúcia"))
    record = await (await client.get(f"/dashboard/contacts/{ana}")).text()
    assert f'href="/dashboard/tasks/new?contact={ana}"' in record and "No tasks for Ana Lúcia." in record
    form = await (await client.get(f"/dashboard/tasks/new?contact={ana}")).text()
    assert 'value="ana@example.com"' in form and f'name="back" value="/dashboard/contacts/{ana}"' in form
    added = await client.post(
        "/dashboard/tasks/new",
        data={
            "csrf": csrf,
            "title": "Send the contract",
            "due_date": "2031-03-07",
            "due_time": "",
            "contact": "ana@example.com",
            "back": f"/dashboard/contacts/{ana}",
        },
        allow_redirects=False,
    )
    assert added.headers["Location"] == f"/dashboard/contacts/{ana}?notice=task-added"
    record = await (await client.get(added.headers["Location"])).text()
    assert "Task added." in record and "Send the contract" in record and "Fri 7 Mar 2031" in record
    [task] = await client.app[TASKS].list(host, contact_id=ana)
    done = await client.post(
        f"/dashboard/tasks/{task.id}/done",
        data={"csrf": csrf, "value": "on", "back": f"/dashboard/contacts/{ana}"},
        allow_redirects=False,
    )
    assert done.headers["Location"] == f"/dashboard/contacts/{ana}"

    # Deleting the contact keeps the task, without the contact.
    await client.post(f"/dashboard/contacts/{ana}/delete", data={"csrf": csrf})
    [kept] = await client.app[TASKS].list(host)
    assert (kept.title, kept.contact_id) == ("Send the contract", None)


async def test_other_hosts_tasks_are_not_found_and_forged_forms_refused(app_client: AppClient) -> None:
    client, host, csrf = await _signed_in(app_client)
    assert client.app is not None
    other = await add_user(client, "olga", "olga@example.com")
    theirs = await client.app[TASKS].create(other, TaskDetails("Secret plan", "2031-03-07"))
    for response in (
        await client.get(f"/dashboard/tasks/{theirs}"),
        await client.post(
            f"/dashboard/tasks/{theirs}", data={"csrf": csrf, "title": "Mine", "due_date": "2031-03-07"}
        ),
        await client.post(f"/dashboard/tasks/{theirs}/done", data={"csrf": csrf, "value": "on"}),
        await client.post(f"/dashboard/tasks/{theirs}/delete", data={"csrf": csrf}),
    ):
        body = await response.text()
        assert response.status == 404 and "No such task" in body and "Secret" not in body
    assert "Secret plan" not in await (await client.get("/dashboard/tasks")).text()
    mine = await client.app[TASKS].create(host, TaskDetails("Mine", "2031-03-07"))
    for path, data in (
        ("/dashboard/tasks/new", {"title": "X", "due_date": "2031-03-07"}),
        (f"/dashboard/tasks/{mine}/done", {"value": "on"}),
        (f"/dashboard/tasks/{mine}/delete", {}),
    ):
        forged = await client.post(path, data={"csrf": "forged", **data})
        assert forged.status == 403
    [task] = await client.app[TASKS].list(host)
    assert (task.title, task.done) == ("Mine", False)
    assert (await client.app[TASKS].get(other, theirs)).title == "Secret plan"
