"""Notices as proactive 1:1 messages through the outbox; conversation references from install
events and messages; the welcome card on install."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.keys import SESSIONS
from bot.notices.chat import enqueue_notice
from storage.models import OutboxMessage, TeamsConversation, User
from tests.handlers.teams.talk import card_of, connect_local, post, say, texts, user_of
from tests.support.browser import wait_until
from tests.support.page_client import PageVisitor, offered_starts, spread_starts

if TYPE_CHECKING:
    from tests.fakes.teams import FakeBotFramework

pytest_plugins = ["tests.fakes.teams", "tests.fakes.google"]

PERSONAL = "a:personal-29:ulla"
CHANNEL = "19:general@thread.tacv2"
TEAM = {"tenant": {"id": "8d7e2c11-0000-4000-8000-7e4a470000aa"}, "team": {"id": "19:team@thread.tacv2"}}
START = "2026-03-03T09:00:00+00:00"
NOTICES: list[tuple[str, dict[str, str], str]] = [
    ("booking_created", {"visitor_name": "Vera Visitor", "visitor_email": "vera@example.com",
                         "title": "Intro call", "start": START, "status": "confirmed"}, "Vera Visitor"),
    ("booking_rescheduled", {"visitor_name": "Vera Visitor", "title": "Intro call", "start": START,
                             "previous_start": "2026-03-02T09:00:00+00:00"}, "moved Intro call"),
    ("booking_cancelled", {"visitor_name": "Vera Visitor", "title": "Intro call", "start": START},
     "cancelled Intro call"),
    ("booking_blocked", {"visitor_name": "Vera Visitor", "visitor_email": "vera@example.com",
                         "title": "Intro call", "start": START}, "booking is paused"),
    ("calendar_lost", {"calendar": "Work", "reason": "revoked"}, "I can no longer read Work"),
    ("calendar_connected", {"account": "ulla@example.com", "provider": "google"},
     "Connected ulla@example.com"),
]


async def _notify(client: TestClient, notice: str = "booking_created",
                  params: dict[str, str] | None = None) -> None:
    assert client.app is not None
    user_id = await user_of(client)
    async with client.app[SESSIONS]() as session, session.begin():
        enqueue_notice(session, user_id, notice, params or NOTICES[0][1])


async def _outbox(client: TestClient) -> list[tuple[str, int]]:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        rows = await session.execute(select(OutboxMessage).where(OutboxMessage.kind == "chat.notify"))
        return [(row.status, row.attempts) for row in rows.scalars()]


@pytest.mark.parametrize(("notice", "params", "said"), NOTICES)
async def test_every_notice_reaches_the_personal_chat_proactively(
        client: TestClient, teams_fake: FakeBotFramework, notice: str, params: dict[str, str],
        said: str) -> None:
    await say(client, teams_fake, "help")
    before = len(teams_fake.sent_to(PERSONAL))
    await _notify(client, notice, params)
    await teams_fake.wait_for(lambda: len(teams_fake.sent_to(PERSONAL)) > before)
    sent = teams_fake.sent_to(PERSONAL)[before]
    # Proactive: posted to the reply route with an id the connector never issued.
    assert sent.kind == "reply" and sent.activity_id and not sent.activity_id.startswith("1:")
    assert said in texts(card_of(sent))


async def test_a_booking_tells_the_host_in_teams(client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    user_id = await user_of(client)
    await connect_local(client, user_id)
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, user_id)
        assert user is not None
        slug, zone = user.slug, user.timezone
    before = len(teams_fake.sent_to(PERSONAL))
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        visitor = PageVisitor(http, str(client.make_url(f"/meetings/{slug}")))
        page = await visitor.open()
        [start] = spread_starts(offered_starts(page.text), minutes=30, zone=zone, count=1)
        booked = await visitor.book(start, duration=30, name="Vera Visitor", email="vera@example.com")
        assert booked.status in (200, 303), booked.text[:300]
    await teams_fake.wait_for(lambda: len(teams_fake.sent_to(PERSONAL)) > before, seconds=15)
    notice = card_of(teams_fake.sent_to(PERSONAL)[before])
    assert "New booking" in texts(notice) and "Vera Visitor" in texts(notice)


async def test_a_user_met_in_a_channel_gets_a_new_personal_chat(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    install = teams_fake.activity("installationUpdate", user="29:ulla", conversation=CHANNEL,
                                  conversation_type="channel", channelData=TEAM, action="add")
    assert (await post(client, teams_fake, install)).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(CHANNEL))  # the welcome, in the channel
    mention = teams_fake.message("pages", user="29:ulla", mention=True, conversation=CHANNEL,
                                 conversation_type="channel", channelData=TEAM)
    teams_fake.conversations_created.clear()
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():  # forget the 1:1 chat it opened
        for row in (await session.execute(select(TeamsConversation))).scalars():
            if row.user_id:
                await session.delete(row)
    await post(client, teams_fake, mention)
    await teams_fake.wait_for(lambda: len(teams_fake.sent_to(CHANNEL)) == 2)
    created = len(teams_fake.conversations_created)
    await _notify(client)
    cards = lambda: [card_of(s) for s in teams_fake.sent_to(PERSONAL) if s.activity.get("attachments")]  # noqa: E731
    await teams_fake.wait_for(lambda: any("Vera Visitor" in texts(card) for card in cards()))
    assert len(teams_fake.conversations_created) == created  # the chat opened for the mention was kept


async def test_connector_failures_are_retried_or_dropped(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    before = len(teams_fake.sent_to(PERSONAL))
    teams_fake.fail_connector = [502]
    await _notify(client)
    await teams_fake.wait_for(lambda: len(teams_fake.sent_to(PERSONAL)) > before, seconds=15)
    await _settled(client)
    assert await _outbox(client) == [("done", 2)]  # delivered on the second attempt
    teams_fake.fail_connector = [403]  # the app was blocked by the user: nothing to retry
    await _notify(client)
    await teams_fake.wait_for(lambda: not teams_fake.fail_connector)
    await _settled(client)
    assert sorted(await _outbox(client)) == [("done", 1), ("done", 2)]
    assert len(teams_fake.sent_to(PERSONAL)) == before + 1


async def _settled(client: TestClient) -> None:
    async def done() -> bool:
        return all(status == "done" for status, _ in await _outbox(client))

    await wait_until(done, what="the outbox to settle")


def _install(fake: FakeBotFramework, action: str = "add", **fields: Any) -> dict[str, Any]:
    return fake.activity("installationUpdate", user="29:ulla", action=action, **fields)


async def test_install_stores_the_reference_and_welcomes_once(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    assert (await post(client, teams_fake, _install(teams_fake, locale="pt-BR"))).status == 200
    update = teams_fake.activity("conversationUpdate", user="29:ulla", locale="pt-BR",
                                 membersAdded=[{"id": "28:" + teams_fake.app_id}])
    assert (await post(client, teams_fake, update)).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))
    [welcome] = teams_fake.sent_to(PERSONAL)
    assert "Obrigado por adicionar o Slotbot!" in texts(card_of(welcome))
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        [row] = (await session.execute(select(TeamsConversation))).scalars().all()
    assert (row.tenant_id, row.conversation_id, row.user_id) == (teams_fake.tenant, PERSONAL, "29:ulla")
    assert row.reference["serviceUrl"] == teams_fake.service_url and row.reference["kind"] == "personal"
    assert row.reference["botId"] == "28:" + teams_fake.app_id


async def test_removing_the_app_forgets_the_conversation(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help")
    assert (await post(client, teams_fake, _install(teams_fake, "remove"))).status == 200
    assert client.app is not None

    async def forgotten() -> bool:
        async with client.app[SESSIONS]() as session:  # type: ignore[index]
            return not (await session.execute(select(TeamsConversation))).scalars().all()

    await wait_until(forgotten, what="the conversation to be forgotten")
    sent = len(teams_fake.sent)
    await _notify(client)  # no conversation with the user any more: skipped, not retried forever
    await _settled(client)
    assert await _outbox(client) == [("done", 1)] and len(teams_fake.sent) == sent
