"""The demo's sample contacts: seeded once, and shown by the dashboard's Contacts and Tasks."""

from __future__ import annotations

import re
from datetime import date

from bot.demo.contacts import seed_contacts
from bot.keys import SESSIONS
from tests.conftest import AppClient
from tests.support.signing_in import demo_client, sign_in_for_csrf


async def test_the_demo_shows_sample_contacts_their_meetings_and_tasks(app_client: AppClient) -> None:
    client, demo = await demo_client(app_client)
    assert client.app is not None
    assert await seed_contacts(client.app[SESSIONS], demo, today=date(2031, 3, 5))
    assert not await seed_contacts(client.app[SESSIONS], demo)  # once
    await sign_in_for_csrf(client, demo.user_id)
    listing = await (await client.get("/dashboard/contacts")).text()
    assert "3 contacts" in listing and "Ana Lúcia Souza" in listing and "Harbor &amp; Co" in listing
    ana = re.search(r'<a href="(/dashboard/contacts/\d+)">Ana Lúcia Souza</a>', listing)
    assert ana
    record = await (await client.get(ana.group(1))).text()
    assert "Project check-in" in record and "Scheduled from the record" in record and "Moved</span>" in record
    assert record.index("Project check-in") < record.index("Intro call")  # newest first
    assert "Send the proposal to Ana" in record and "Fri 7 Mar 2031, 14:00" in record
    tasks = await (await client.get("/dashboard/tasks")).text()
    assert "Follow up with Bo about the pilot" in tasks and "Prepare the quarterly review" in tasks
