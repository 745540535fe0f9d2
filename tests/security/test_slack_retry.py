"""A Slack event whose first delivery failed is handled when Slack retries it: an event counts
as handled only once its delivery succeeded (through the running app, against the fake Slack)."""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

from aiohttp.test_utils import TestClient
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine

from tests.conftest import AppClient
from tests.handlers.slack.test_slack_install import ULLA, finish, install

if TYPE_CHECKING:
    from tests.fakes.slack import FakeSlack

pytest_plugins = ["tests.fakes.slack"]


async def _deliver(client: TestClient, fake: FakeSlack, body: str, retry: int) -> int:
    """Post ``body`` as Slack does: signed afresh each time, retries numbered."""
    headers = fake.signed(body, timestamp=int(time.time()) + retry, content_type="application/json")
    if retry:
        headers |= {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_error"}
    response = await client.post("/slack/events", data=body.encode(), headers=headers)
    assert "X-Slack-No-Retry" not in response.headers or response.status < 500
    return response.status


async def test_a_failed_first_delivery_is_handled_on_retry(
        app_client: AppClient, engine: AsyncEngine, slack_fake: FakeSlack) -> None:
    client = await app_client(own_address=True, **slack_fake.env())
    status, _ = await finish(client, await install(client, slack_fake))
    assert status == 200
    body, _ = slack_fake.event({"type": "message", "channel_type": "im", "channel": "D0ULLA",
                                "user": ULLA, "text": "help", "ts": "1.7"}, event_id="Ev0FAILEDFIRST")

    # The workspace's installation cannot be read for a moment: the first delivery fails.
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE slack_installations RENAME TO slack_installations_away"))
    assert await _deliver(client, slack_fake, body, retry=0) >= 500
    async with engine.begin() as conn:
        await conn.execute(text("ALTER TABLE slack_installations_away RENAME TO slack_installations"))

    # Slack retries; this time it is handled, once.
    assert await _deliver(client, slack_fake, body, retry=1) == 200
    await slack_fake.wait_for(lambda: slack_fake.calls_to("chat.postMessage"), seconds=10)
    assert await _deliver(client, slack_fake, body, retry=2) == 200  # a later retry is a duplicate
    await asyncio.sleep(0.3)
    assert len(slack_fake.calls_to("chat.postMessage")) == 1
