"""Slack through the running app (one bot token), against the fake Slack: every /meet subcommand,
direct messages, mentions, App Home, unfurls, buttons, notices, safety, and the 3-second ack while
calendars are slow (the fake Google answering late)."""

from __future__ import annotations

import asyncio
import json
import time
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp import ClientResponse
from aiohttp.test_utils import TestClient
from sqlalchemy import select

from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.calendar.google.credentials import credentials_to_json
from bot.keys import SECRETS, SESSIONS
from bot.notices.chat import enqueue_notice
from storage.models import Calendar, CalendarConnection, ChatIdentity, User
from tests.conftest import AppClient

if TYPE_CHECKING:  # imported where used, so the fakes stay importable as pytest plugins
    from tests.fakes.google import FakeGoogle
    from tests.fakes.slack import FakeSlack

pytest_plugins = ["tests.fakes.slack", "tests.fakes.google"]

ULLA = "U0ULLA"


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {}


@pytest.fixture
def slack_env(slack_fake: FakeSlack, extra_env: dict[str, str]) -> dict[str, str]:
    return {**slack_fake.env(single_workspace=True), **extra_env}


@pytest.fixture
async def client(app_client: AppClient, slack_env: dict[str, str], google_fake: FakeGoogle) -> TestClient:
    return await app_client(own_address=True, **slack_env, **google_fake.env())


async def send(client: TestClient, fake: FakeSlack, body: str, *, json_body: bool = False,
               **headers: str) -> ClientResponse:
    kind = "application/json" if json_body else "application/x-www-form-urlencoded"
    return await client.post("/slack/events", data=body.encode(),
                             headers={**fake.signed(body, content_type=kind), **headers})


async def command(client: TestClient, fake: FakeSlack, text: str, user: str = ULLA) -> dict[str, Any]:
    """Run ``/meet text``: the ack is empty and quick; return what reached the response URL."""
    body, url = fake.command(user, text)
    ack = await send(client, fake, body)
    assert ack.status == 200, await ack.text()
    assert await ack.text() == ""
    await fake.wait_for(lambda: fake.responses_to(url))
    [answer] = fake.responses_to(url)
    return answer


async def event(client: TestClient, fake: FakeSlack, payload: dict[str, Any], **headers: str) -> str:
    body, event_id = fake.event(payload)
    response = await send(client, fake, body, json_body=True, **headers)
    assert response.status == 200, await response.text()
    return event_id


def texts(message: dict[str, Any]) -> str:
    """Every text of a message's blocks, one string."""
    found = [message.get("text", "")]
    for block in message.get("blocks", []):
        found.append(block.get("text", {}).get("text", ""))
        found.extend(f["text"] for f in block.get("fields", []))
        found.extend(e["text"]["text"] for e in block.get("elements", []) if "text" in e)
    return "\n".join(found)


def buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    return [e for b in message.get("blocks", []) if b["type"] == "actions" for e in b["elements"]]


async def ulla(client: TestClient) -> int:
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        identity = (await session.execute(select(ChatIdentity).where(
            ChatIdentity.channel == "slack", ChatIdentity.external_id == ULLA))).scalar_one()
        return identity.user_id


async def connect_google(client: TestClient, google: FakeGoogle, user_id: int) -> tuple[int, str]:
    """Give the user a connected Google account whose primary calendar is checked."""
    assert client.app is not None
    issued = google.issue_tokens()
    credentials = credentials_to_json(
        refresh_token=issued["refresh_token"], token=issued["access_token"],
        expiry=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]), scopes=issued["scope"].split())
    async with client.app[SESSIONS]() as session, session.begin():
        connection = CalendarConnection(
            user_id=user_id, provider="google", account_email=google.account_email,
            credentials=client.app[SECRETS].seal(credentials, purpose=CREDENTIALS_PURPOSE))
        session.add(connection)
        await session.flush()
        session.add(Calendar(connection_id=connection.id, user_id=user_id, external_id=google.account_email,
                             name="Work", access_role="owner", is_default=True, checks_conflicts=True,
                             time_zone="Europe/Copenhagen"))
        return connection.id, issued["refresh_token"]


async def test_every_meet_subcommand_answers_through_the_response_url(
        client: TestClient, slack_fake: FakeSlack) -> None:
    answers = {}
    for text in ("help", "", "free tomorrow", "connect google", "connect microsoft", "link", "pages",
                 "calendars", "settings", "disconnect", "gibberish words"):
        answers[text] = await command(client, slack_fake, text)
        assert answers[text]["response_type"] == "ephemeral"  # private answers
        assert answers[text]["text"].strip()
    assert "/meet" in texts(answers["help"])
    assert texts(answers[""]) == texts(answers["help"])
    assert texts(answers["gibberish words"]) != texts(answers["help"])  # the short help
    assert any(b.get("url") for b in buttons(answers["connect google"]))
    share = [b for b in buttons(answers["link"]) if b["action_id"].startswith("slotbot:share_link:")]
    assert share and "/meetings/" in share[0]["value"]

    # The Slack profile made the Slotbot user: name, e-mail, zone; asked once, then cached.
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, await ulla(client))
    assert user is not None and user.display_name == "Ulla Jensen"
    assert user.email == "ulla@example.com" and user.timezone == "Europe/Copenhagen"
    assert user.photo_url is not None and user.photo_url.startswith("https://avatars.slack-edge.test/")
    assert len(slack_fake.calls_to("users.info")) == 1
    assert slack_fake.calls_to("users.info")[0].params["include_locale"] in ("true", "1", True)


async def test_language_command_switches_and_refreshes_home(
        client: TestClient, slack_fake: FakeSlack) -> None:
    english = texts(await command(client, slack_fake, "help"))
    await command(client, slack_fake, "language pt")
    await slack_fake.wait_for(lambda: slack_fake.calls_to("views.publish"))
    portuguese = texts(await command(client, slack_fake, "help"))
    assert portuguese != english and "/meet" in portuguese


async def test_profile_language_is_used(client: TestClient, slack_fake: FakeSlack) -> None:
    slack_fake.add_user("U0PEDRO", "Pedro Alves", email="pedro@example.com", tz="America/Sao_Paulo",
                        locale="pt-BR")
    english = texts(await command(client, slack_fake, "help"))
    assert texts(await command(client, slack_fake, "help", user="U0PEDRO")) != english


async def test_share_button_posts_the_link_for_everyone(client: TestClient, slack_fake: FakeSlack) -> None:
    answer = await command(client, slack_fake, "link")
    [share] = [b for b in buttons(answer) if b["action_id"].startswith("slotbot:share_link:")]
    body, url = slack_fake.block_actions(ULLA, share["action_id"], share["value"])
    response = await send(client, slack_fake, body)
    assert response.status == 200
    assert url is not None
    await slack_fake.wait_for(lambda: slack_fake.responses_to(url))
    [posted] = slack_fake.responses_to(url)
    assert posted["response_type"] == "in_channel" and posted.get("replace_original") is False
    assert "/meetings/" in texts(posted)


async def test_disconnect_button(client: TestClient, slack_fake: FakeSlack, google_fake: FakeGoogle) -> None:
    await command(client, slack_fake, "help")
    connection_id, refresh_token = await connect_google(client, google_fake, await ulla(client))
    menu = await command(client, slack_fake, "disconnect")
    [button] = [b for b in buttons(menu) if b["action_id"].startswith("slotbot:disconnect:")]
    assert button["value"] == str(connection_id)
    body, url = slack_fake.block_actions(ULLA, button["action_id"], button["value"])
    assert (await send(client, slack_fake, body)).status == 200
    assert url is not None
    await slack_fake.wait_for(lambda: slack_fake.responses_to(url) and slack_fake.calls_to("views.publish"))
    [done] = slack_fake.responses_to(url)
    assert done["response_type"] == "ephemeral" and done["replace_original"] is True
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        assert await session.get(CalendarConnection, connection_id) is None
    assert google_fake.refresh_token_revoked(refresh_token)


async def test_direct_message_and_mention(client: TestClient, slack_fake: FakeSlack) -> None:
    await event(client, slack_fake, {"type": "message", "channel_type": "im", "channel": "D0ULLA",
                                     "user": ULLA, "text": "when am I free tomorrow?", "ts": "1.1"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage"))
    [dm] = slack_fake.calls_to("chat.postMessage")
    assert dm.params["channel"] == "D0ULLA" and dm.params["text"]
    # The bot's own messages, edits and empty messages are not answered.
    for ignored in ({"subtype": "message_changed"}, {"bot_id": "B0SLOTBOT"}, {"text": " "}):
        await event(client, slack_fake, {"type": "message", "channel_type": "im", "channel": "D0ULLA",
                                         "user": ULLA, "text": "hello", "ts": "1.2", **ignored})
    await event(client, slack_fake, {"type": "app_mention", "channel": "C0GENERAL", "user": ULLA,
                                     "text": "<@U0SLOTBOT> help", "ts": "1.3"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postEphemeral"))
    [mention] = slack_fake.calls_to("chat.postEphemeral")
    assert mention.params["channel"] == "C0GENERAL" and mention.params["user"] == ULLA
    assert "/meet" in mention.params["text"]
    await asyncio.sleep(0.2)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1


async def test_app_home_is_published(client: TestClient, slack_fake: FakeSlack) -> None:
    await event(client, slack_fake, {"type": "app_home_opened", "user": ULLA, "channel": "D0ULLA",
                                     "tab": "messages"})
    await event(client, slack_fake, {"type": "app_home_opened", "user": ULLA, "channel": "D0ULLA",
                                     "tab": "home"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("views.publish"))
    await asyncio.sleep(0.1)
    [home] = slack_fake.calls_to("views.publish")
    view = home.params["view"]
    view = json.loads(view) if isinstance(view, str) else view
    assert home.params["user_id"] == ULLA and view["type"] == "home"
    assert "Ulla Jensen" in texts(view)


async def test_meeting_links_unfurl(client: TestClient, slack_fake: FakeSlack) -> None:
    answer = await command(client, slack_fake, "link")
    [share] = [b for b in buttons(answer) if b["action_id"].startswith("slotbot:share_link:")]
    page_url = next(w for w in share["value"].split() if "/meetings/" in w)
    await event(client, slack_fake, {
        "type": "link_shared", "channel": "C0GENERAL", "user": ULLA, "message_ts": "1700000000.000200",
        "links": [{"domain": "127.0.0.1", "url": page_url},
                  {"domain": "example.org", "url": "https://example.org/not-ours"}],
        "source": "conversations_history", "unfurl_id": "U1"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.unfurl"))
    [call] = slack_fake.calls_to("chat.unfurl")
    unfurls = call.params["unfurls"]
    unfurls = json.loads(unfurls) if isinstance(unfurls, str) else unfurls
    assert list(unfurls) == [page_url] and unfurls[page_url]["blocks"]
    # A message with only foreign links is left alone.
    await event(client, slack_fake, {
        "type": "link_shared", "channel": "C0GENERAL", "user": ULLA, "message_ts": "1700000000.000300",
        "links": [{"domain": "example.org", "url": "https://example.org/x"}]})
    await asyncio.sleep(0.3)
    assert len(slack_fake.calls_to("chat.unfurl")) == 1


async def test_notices_reach_the_user_as_direct_messages(
        client: TestClient, slack_fake: FakeSlack) -> None:
    await command(client, slack_fake, "help")
    user_id = await ulla(client)
    slack_fake.rate_limit("chat.postMessage", times=1, retry_after=1)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        enqueue_notice(session, user_id, "booking_created", {
            "visitor_name": "Vera Visitor", "visitor_email": "vera@example.com", "title": "Intro call",
            "start": "2026-03-03T09:00:00Z", "status": "confirmed"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage")
                              and slack_fake.calls_to("views.publish"), seconds=10)
    [notice] = slack_fake.calls_to("chat.postMessage")
    assert notice.params["channel"] == ULLA and "Vera Visitor" in notice.params["text"]
    blocks = notice.params["blocks"]
    assert json.loads(blocks) if isinstance(blocks, str) else blocks  # Block Kit, text as fallback
    assert slack_fake.calls_to("chat.postMessage", ok=False)[0].error == "ratelimited"  # retried


async def test_retried_event_is_handled_once(client: TestClient, slack_fake: FakeSlack) -> None:
    payload = {"type": "message", "channel_type": "im", "channel": "D0ULLA", "user": ULLA,
               "text": "help", "ts": "1.5"}
    body, _ = slack_fake.event(payload, event_id="Ev0RETRIED")
    first = await send(client, slack_fake, body, json_body=True)
    # Slack signs the retry afresh (a new timestamp), so it is no replay.
    headers = slack_fake.signed(body, timestamp=int(time.time()) + 1, content_type="application/json")
    again = await client.post("/slack/events", data=body.encode(), headers={
        **headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status == again.status == 200
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage"))
    await asyncio.sleep(0.3)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1


async def test_bad_stale_and_replayed_requests_are_refused(client: TestClient, slack_fake: FakeSlack) -> None:
    body, url = slack_fake.command(ULLA, "help")
    forged = await client.post("/slack/events", data=body, headers=slack_fake.signed(
        body, secret="0" * 32))
    assert forged.status == 401
    stale = await client.post("/slack/events", data=body, headers=slack_fake.signed(
        body, timestamp=int(time.time()) - 6 * 60))
    assert stale.status == 401
    headers = slack_fake.signed(body)
    assert (await client.post("/slack/events", data=body, headers=headers)).status == 200
    assert (await client.post("/slack/events", data=body, headers=headers)).status == 401
    await slack_fake.wait_for(lambda: slack_fake.responses_to(url))
    await asyncio.sleep(0.2)
    assert len(slack_fake.responses_to(url)) == 1


@pytest.mark.parametrize("extra_env", [{"SLACK_USER_REQUESTS_PER_MINUTE": "3"}])
async def test_rate_limit_answers_politely(client: TestClient, slack_fake: FakeSlack) -> None:
    for _ in range(3):
        await command(client, slack_fake, "help")
    body, url = slack_fake.command(ULLA, "help")
    ack = await send(client, slack_fake, body)
    assert ack.status == 200
    refusal = await ack.json()
    assert refusal["response_type"] == "ephemeral" and "try again in" in refusal["text"]
    await asyncio.sleep(0.2)
    assert slack_fake.responses_to(url) == []


async def test_ack_within_three_seconds_while_calendars_are_slow(
        client: TestClient, slack_fake: FakeSlack, google_fake: FakeGoogle) -> None:
    await command(client, slack_fake, "help")
    await connect_google(client, google_fake, await ulla(client))
    google_fake.latency = 3.5
    body, url = slack_fake.command(ULLA, "free tomorrow")
    began = time.perf_counter()
    ack = await send(client, slack_fake, body)
    acked = time.perf_counter() - began
    assert ack.status == 200 and acked < 2.0, acked  # Slack allows 3 s
    await slack_fake.wait_for(lambda: slack_fake.responses_to(url), seconds=15)
    answered = time.perf_counter() - began
    assert answered > 3.5
    [answer] = slack_fake.responses_to(url)
    assert answer["response_type"] == "ephemeral" and answer["blocks"]
    assert google_fake.api_calls("freebusy.query")


async def test_request_url_verification(client: TestClient, slack_fake: FakeSlack) -> None:
    body = json.dumps({"token": "unused", "challenge": "3eZbrw1aBm2rZgRNFdxV2595E9CY3gmdALWMmHkvFXO7tYXAYM8P",
                       "type": "url_verification"})
    response = await send(client, slack_fake, body, json_body=True)
    assert response.status == 200
    assert (await response.json())["challenge"].startswith("3eZbrw1aBm2r")


async def test_home_buttons_answer_in_the_messages_tab(client: TestClient, slack_fake: FakeSlack) -> None:
    body, url = slack_fake.block_actions(ULLA, "slotbot:settings:7", container="view")
    assert url is None
    assert (await send(client, slack_fake, body)).status == 200
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage")
                              and slack_fake.calls_to("views.publish"))
    [answer] = slack_fake.calls_to("chat.postMessage")
    assert answer.params["channel"] == ULLA and "/dashboard/login?token=" in answer.params["text"]


async def test_an_event_retried_to_another_worker_is_handled_once(
        client: TestClient, app_client: AppClient, engine: Any,
        slack_env: dict[str, str], slack_fake: FakeSlack) -> None:
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite serves one process: there is no other worker")
    other = await app_client(**slack_env)
    payload = {"type": "message", "channel_type": "im", "channel": "D0ULLA", "user": ULLA,
               "text": "help", "ts": "1.6"}
    body, _ = slack_fake.event(payload, event_id="Ev0TWOWORKERS")
    first = await send(client, slack_fake, body, json_body=True)
    headers = slack_fake.signed(body, timestamp=int(time.time()) + 1, content_type="application/json")
    again = await other.post("/slack/events", data=body.encode(), headers={
        **headers, "X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"})
    assert first.status == again.status == 200
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage"))
    await asyncio.sleep(0.5)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
