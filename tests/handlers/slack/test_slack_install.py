"""Installing Slotbot in Slack: OAuth v2 into Slotbot's database (sealed tokens), token rotation
for requests and for notices, uninstalling, the one-token mode, and secrets kept out of logs."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import text

from bot.handlers.slack.listeners import SLACK_CHANNEL
from bot.handlers.slack.manifest import BOT_SCOPES
from bot.keys import SESSIONS
from bot.logs import Redactor
from bot.notices.chat import enqueue_notice
from bot.settings import Settings
from tests.conftest import AppClient

if TYPE_CHECKING:  # imported where used, so the fakes stay importable as pytest plugins
    from tests.fakes.slack import FakeSlack

pytest_plugins = ["tests.fakes.slack"]

ULLA = "U0ULLA"


@pytest.fixture
async def client(app_client: AppClient, slack_fake: FakeSlack) -> TestClient:
    return await app_client(own_address=True, **slack_fake.env())


async def install(client: TestClient, fake: FakeSlack) -> str:
    """Play the admin's browser through /slack/install and Slack's consent; return the callback."""
    started = await client.get("/slack/install", allow_redirects=False)
    assert started.status == 302, await started.text()
    location = started.headers["Location"]
    assert location.startswith(fake.authorize_url + "?")
    query = parse_qs(urlsplit(location).query)
    assert query["client_id"] == [fake.client_id]
    assert set(query["scope"][0].split(",")) == set(BOT_SCOPES)
    assert query["redirect_uri"] == [f"{client.make_url('/slack/oauth_redirect')}"]
    state = query["state"][0]
    assert f"slack-app-oauth-state={state}" in started.headers["Set-Cookie"]
    callback = urlsplit(fake.consent(location))
    return f"{callback.path}?{callback.query}"


async def finish(client: TestClient, callback: str, *, cookie: bool = True) -> tuple[int, str]:
    client.session.cookie_jar.clear()
    state = parse_qs(urlsplit(callback).query).get("state", [""])[0]
    headers = {"Cookie": f"slack-app-oauth-state={state}"} if cookie else {}
    response = await client.get(callback, headers=headers, allow_redirects=False)
    return response.status, await response.text()


async def meet(client: TestClient, fake: FakeSlack, words: str) -> dict[str, Any]:
    body, url = fake.command(ULLA, words)
    ack = await client.post("/slack/events", data=body, headers=fake.signed(body))
    assert ack.status == 200, await ack.text()
    await fake.wait_for(lambda: fake.responses_to(url))
    return fake.responses_to(url)[0]


async def test_oauth_install_stores_sealed_tokens_and_serves_the_workspace(
        client: TestClient, slack_fake: FakeSlack, engine: Any) -> None:
    status, page = await finish(client, await install(client, slack_fake))
    assert status == 200 and "Slotbot is installed" in page and "Acme" in page
    async with engine.connect() as conn:
        rows = (await conn.execute(text(
            "SELECT team_id, bot_token, user_id FROM slack_installations"))).all()
        bots = (await conn.execute(text("SELECT bot_token FROM slack_bots"))).scalars().all()
    assert [(r.team_id, r.user_id) for r in rows] == [(slack_fake.team_id, "U0ADMIN")]
    [issued] = slack_fake.valid_tokens()
    for stored in [rows[0].bot_token, *bots]:
        # Sealed at rest: no token in it (not "xox": random ciphertext may spell it by chance).
        assert stored.startswith("v1.") and issued not in stored and "xoxb-" not in stored

    answer = await meet(client, slack_fake, "help")
    assert "/meet" in answer["text"]
    assert slack_fake.calls_to("users.info")[0].token == issued


async def test_install_links_work_once_and_in_the_same_browser(
        client: TestClient, slack_fake: FakeSlack) -> None:
    callback = await install(client, slack_fake)
    status, page = await finish(client, callback, cookie=False)
    assert status == 400 and "Please start again" in page
    status, page = await finish(client, callback)
    assert status == 200
    status, page = await finish(client, callback)
    assert status == 401 and "expired" in page
    status, page = await finish(client, "/slack/oauth_redirect?error=access_denied&state=x")
    assert status == 200 and "Installation cancelled" in page
    assert "Traceback" not in page


async def test_token_rotation_for_requests_and_notices(client: TestClient, slack_fake: FakeSlack) -> None:
    slack_fake.token_rotation = True
    slack_fake.token_lifetime = 3600  # less than Bolt's 2-hour margin: every use refreshes
    await finish(client, await install(client, slack_fake))
    [first] = slack_fake.valid_tokens()
    assert first.startswith("xoxe.xoxb-")

    await meet(client, slack_fake, "help")
    grants = [c.params.get("grant_type") for c in slack_fake.calls_to("oauth.v2.access")]
    assert grants == [None, "refresh_token"]  # the code, then one refresh
    used = slack_fake.calls_to("users.info")[-1].token
    assert used != first and used in slack_fake.valid_tokens()

    # A notice outside any request refreshes again (the refresh token is single use)...
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        user_id = (await session.execute(text(
            "SELECT user_id FROM chat_identities WHERE external_id = :u"), {"u": ULLA})).scalar_one()
    async with client.app[SESSIONS]() as session, session.begin():
        enqueue_notice(session, user_id, "calendar_lost", {"calendar": "Work", "reason": "access_lost"})
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage"), seconds=10)
    assert len(slack_fake.calls_to("oauth.v2.access")) == 3
    assert slack_fake.calls_to("oauth.v2.access", ok=False) == []
    # ... and the next request continues from the refresh token the notice saved.
    await meet(client, slack_fake, "calendars")
    assert len(slack_fake.calls_to("oauth.v2.access")) == 4
    assert slack_fake.calls_to("oauth.v2.access", ok=False) == []
    store = client.app[SLACK_CHANNEL].bolt.installation_store
    assert store is not None
    installation = await store.async_find_installation(enterprise_id=None, team_id=slack_fake.team_id)
    assert installation is not None and installation.bot_token in slack_fake.valid_tokens()


async def test_uninstall_forgets_the_workspace(
        client: TestClient, slack_fake: FakeSlack, engine: Any) -> None:
    await finish(client, await install(client, slack_fake))
    body, _ = slack_fake.event({"type": "app_uninstalled"})
    response = await client.post("/slack/events", data=body,
                                 headers=slack_fake.signed(body, content_type="application/json"))
    assert response.status == 200

    async def count() -> int:
        async with engine.connect() as conn:
            return int((await conn.execute(text("SELECT count(*) FROM slack_installations"))).scalar_one())

    for _ in range(50):
        if await count() == 0:
            break
        await asyncio.sleep(0.05)
    assert await count() == 0


async def test_one_bot_token_mode_has_no_install_pages(
        app_client: AppClient, slack_fake: FakeSlack) -> None:
    client = await app_client(own_address=True, **slack_fake.env(single_workspace=True))
    response = await client.get("/slack/install")
    assert response.status == 404 and "one Slack workspace" in await response.text()
    assert "/meet" in (await meet(client, slack_fake, "help"))["text"]
    assert client.app is not None
    async with client.app[SESSIONS]() as session:
        identity = (await session.execute(text("SELECT tenant FROM chat_identities"))).scalar_one()
    assert identity == slack_fake.team_id


def test_slack_secrets_never_reach_the_logs(make_settings: Any) -> None:
    settings: Settings = make_settings(SLACK_SIGNING_SECRET="8f742231b10e8888abcd99yyyzzz85a5",
                                       SLACK_CLIENT_ID="1111.2222", SLACK_CLIENT_SECRET="c0ffee0ddba11s3cr3t",
                                       SLACK_BOT_TOKEN="xoxb-1-2-abcdefabcdef")
    redact = Redactor(settings.secret_values())
    line = ("signing 8f742231b10e8888abcd99yyyzzz85a5 client c0ffee0ddba11s3cr3t bot xoxb-1-2-abcdefabcdef "
            "rotated xoxe.xoxb-1-MS0yLTIyMjI refresh xoxe-1-My0xLTE3MjAx")
    cleaned = redact(line)
    for secret in ("8f742231b10e8888abcd99yyyzzz85a5", "c0ffee0ddba11s3cr3t", "xoxb-1-2-abcdefabcdef",
                   "xoxb-1-MS0yLTIyMjI", "xoxe-1-My0xLTE3MjAx"):
        assert secret not in cleaned
