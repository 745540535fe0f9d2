"""Receiving at POST /api/messages: the Bot Framework's token checks, through the real botbuilder
adapter in the running app. Every refusal is a 401; a redelivered activity is handled once; no
key or token fetch blocks the event loop."""

from __future__ import annotations

import asyncio
import json
import time
from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppClient
from tests.handlers.teams.talk import post

if TYPE_CHECKING:
    from tests.fakes.teams import FakeBotFramework

pytest_plugins = ["tests.fakes.teams", "tests.fakes.google"]

PERSONAL = "a:personal-29:ulla"


def _hello(fake: FakeBotFramework) -> dict[str, Any]:
    return fake.message("help", user="29:ulla", name="Ulla Jensen")


async def _answered(fake: FakeBotFramework, seconds: float = 0.5) -> int:
    await asyncio.sleep(seconds)
    return len(fake.sent_to(PERSONAL))


def _foreign_key(fake: FakeBotFramework) -> Any:
    from tests.fakes.teams import SigningKey

    return SigningKey.new(fake.keys[0].kid)  # same key id, another private key


@pytest.mark.parametrize("refusal", [
    "no header", "not bearer", "garbage", "bad signature", "expired", "unknown kid", "wrong audience",
    "wrong issuer", "serviceurl mismatch", "no serviceurl", "endorsement mismatch",
])
async def test_every_refusal_is_a_401(client: TestClient, teams_fake: FakeBotFramework, refusal: str) -> None:
    activity = _hello(teams_fake)
    headers = teams_fake.headers(activity)
    if refusal == "no header":
        del headers["Authorization"]
    elif refusal == "not bearer":
        headers["Authorization"] = "Basic " + teams_fake.token()
    elif refusal == "garbage":
        headers["Authorization"] = "Bearer not.a.token"
    elif refusal == "bad signature":
        headers = teams_fake.headers(activity, key=_foreign_key(teams_fake))
    elif refusal == "expired":  # beyond the 5 minutes' leeway
        headers = teams_fake.headers(activity, issued=time.time() - 3600 - 6 * 60)
    elif refusal == "unknown kid":
        headers = teams_fake.headers(activity, kid="no-such-key")
    elif refusal == "wrong audience":
        headers = teams_fake.headers(activity, aud="someone-else")
    elif refusal == "wrong issuer":
        headers = teams_fake.headers(activity, iss="https://sts.windows.net/elsewhere/")
    elif refusal == "serviceurl mismatch":
        headers = teams_fake.headers(activity, service_url="https://elsewhere.example/teams/")
    elif refusal == "no serviceurl":
        headers = teams_fake.headers(activity, serviceurl=None)
    elif refusal == "endorsement mismatch":
        teams_fake.keys[0].endorsements = ["webchat"]
    response = await client.post("/api/messages", data=json.dumps(activity), headers=headers)
    assert response.status == 401, await response.text()
    assert await _answered(teams_fake, 0.3) == 0
    # The same activity, properly signed, is answered (the refusal was about the token alone).
    teams_fake.keys[0].endorsements = ["msteams"]
    if refusal == "endorsement mismatch":
        return  # botbuilder keeps the key set it was given for up to a day: checked below
    assert (await post(client, teams_fake, activity)).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))


async def test_an_endorsed_key_is_accepted_and_leeway_is_five_minutes(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    activity = _hello(teams_fake)
    # Expired four minutes ago: inside the leeway.
    response = await post(client, teams_fake, activity, issued=time.time() - 3600 - 4 * 60)
    assert response.status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))


async def test_a_redelivered_activity_is_handled_once(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    activity = _hello(teams_fake)
    first = await post(client, teams_fake, activity)
    again = await post(client, teams_fake, activity)  # Teams signs a redelivery afresh
    same_token = teams_fake.headers(activity)
    replay = await client.post("/api/messages", data=json.dumps(activity), headers=same_token)
    replay_again = await client.post("/api/messages", data=json.dumps(activity), headers=same_token)
    assert [r.status for r in (first, again, replay, replay_again)] == [200] * 4
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))
    assert await _answered(teams_fake) == 1
    # Another activity id is another message.
    assert (await post(client, teams_fake, _hello(teams_fake))).status == 200
    await teams_fake.wait_for(lambda: len(teams_fake.sent_to(PERSONAL)) == 2)


async def test_an_unknown_key_id_refetches_the_keys_once(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    from tests.fakes.teams import SigningKey

    assert (await post(client, teams_fake, _hello(teams_fake))).status == 200
    assert teams_fake.key_requests == 1
    for _ in range(3):  # forged key ids do not make Slotbot hammer the key endpoint
        assert (await post(client, teams_fake, _hello(teams_fake), kid="forged")).status == 401
    assert teams_fake.key_requests == 1
    rotated = SigningKey.new("key-2")
    teams_fake.keys.append(rotated)
    assert (await post(client, teams_fake, _hello(teams_fake), key=rotated)).status == 401  # not yet
    assert teams_fake.key_requests == 1


async def test_a_rotated_key_is_fetched(client: TestClient, teams_fake: FakeBotFramework) -> None:
    from tests.fakes.teams import SigningKey

    rotated = SigningKey.new("key-2")
    teams_fake.keys.append(rotated)
    response = await post(client, teams_fake, _hello(teams_fake), key=rotated)
    assert response.status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))
    assert teams_fake.metadata_requests == teams_fake.key_requests == 1


async def test_keys_and_tokens_are_fetched_off_the_event_loop(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    teams_fake.auth_latency = 0.4  # metadata, keys, the token endpoint: each answers late
    gaps: list[float] = []
    stop = asyncio.Event()

    async def tick() -> None:
        last = time.perf_counter()
        while not stop.is_set():
            await asyncio.sleep(0.01)
            now = time.perf_counter()
            gaps.append(now - last)
            last = now

    ticker = asyncio.get_running_loop().create_task(tick())
    assert (await post(client, teams_fake, _hello(teams_fake))).status == 200
    await teams_fake.wait_for(lambda: teams_fake.sent_to(PERSONAL))
    stop.set()
    await ticker
    assert teams_fake.token_requests and teams_fake.key_requests
    assert max(gaps) < 0.25, max(gaps)  # a blocking fetch would stall the loop for 0.4 s or more


async def test_signing_keys_unavailable_is_503_not_500(
        app_client: AppClient, teams_fake: FakeBotFramework) -> None:
    env = {**teams_fake.env(), "TEAMS_OPENID_METADATA_URL": "https://127.0.0.1:9/v1/.well-known/openid"}
    client = await app_client(**env)
    response = await post(client, teams_fake, _hello(teams_fake))
    assert response.status == 503


async def test_bad_bodies_are_400(client: TestClient, teams_fake: FakeBotFramework) -> None:
    for body in ("not json", "[1, 2]"):
        response = await client.post("/api/messages", data=body, headers=teams_fake.headers())
        assert response.status == 400


async def test_without_an_app_id_the_channel_is_off(
        app_client: AppClient, teams_fake: FakeBotFramework) -> None:
    client = await app_client()
    response = await post(client, teams_fake, _hello(teams_fake))
    assert response.status == 404


async def test_activities_of_another_tenant_or_channel_are_ignored(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    other = _hello(teams_fake)
    other["conversation"]["tenantId"] = other["channelData"]["tenant"]["id"] = "another-tenant"
    webchat = {**_hello(teams_fake), "channelId": "webchat"}
    teams_fake.keys[0].endorsements = ["msteams", "webchat"]
    for activity in (other, webchat):
        assert (await post(client, teams_fake, activity)).status == 200
    assert await _answered(teams_fake) == 0
