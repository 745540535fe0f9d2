"""Benchmark of the Teams channel: "when am I free this week?" under 20 concurrent messages. Prints figures.

    python bench/teams.py [--rounds N] [--concurrency C] [--latency SECONDS] [--postgres]

The application is the real one from ``create_app``, served on 127.0.0.1 by aiohttp with Teams
configured against the fake Bot Framework of ``tests/fakes/teams`` (TLS, its own event loop in a
thread, as the remote service would be): every activity is signed with the fake's RS256 key and
goes through botbuilder's token validation; every reply goes through the connector with the bot's
token. Each host has 4 calendars, set up as in ``bench/slack.py`` (one Google connection with 2
calendars, one Microsoft 365 connection over TLS with 2), every calendar request answered after
``--latency`` seconds (0.3 by default); SQLite, or with ``--postgres`` a throw-away PostgreSQL.

Each round empties the scheduler's cache, then posts ``--concurrency`` signed personal-chat
messages at once, as Teams would, and measures for each:

* HTTP answer: from sending the activity to the 200 from ``POST /api/messages``;
* reply: from sending the activity to the fake connector receiving the answer card.

Two scenarios: **one host** sends all the messages (the target scenario), and **20 hosts** send
one each. Targets: HTTP answer p99 <= 100 ms, reply p95 <= 1 s. One warm-up message per host
(first contact, member profile, tokens, TLS handshakes, discovery documents) is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import contextlib
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HTTP_TARGET_MS = 100.0
REPLY_TARGET_MS = 1000.0
QUESTION = "when am I free this week?"


def main() -> None:
    """Parse the arguments, run the benchmark, print the figures (exit 1 on a missed target)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per scenario")
    parser.add_argument("--concurrency", type=int, default=20, help="messages sent at once per round")
    parser.add_argument("--latency", type=float, default=0.3, help="calendar fakes' answer delay (s)")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL, not SQLite")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests.fakes, tests.support.postgres, bench.slack
    from bench.slack import _database

    with _database(args.postgres) as url:
        ok = asyncio.run(_bench(url, args.rounds, args.concurrency, args.latency))
    raise SystemExit(0 if ok else 1)


class _Members:
    """What ``bench.slack``'s host set-up asks of a chat service: a member with a name and e-mail."""

    def __init__(self, fake: Any) -> None:
        self._fake = fake

    def add_user(self, user_id: str, name: str, *, email: str | None = None) -> None:
        self._fake.add_member(user_id, name, email=email)


def _world(app: Any, teams: Any, google: Any, microsoft: Any, settings: Any, url: str, http: Any) -> Any:
    """``bench.slack``'s world (hosts with 4 calendars), talking through Teams instead of Slack."""
    from bench.slack import _World

    class TeamsWorld(_World):  # type: ignore[misc]
        async def send(self, user: str, text: str) -> tuple[float, float, tuple[str, str]]:
            """A signed personal-chat message: (sent, HTTP answer, where the reply goes)."""
            activity = teams.message(text, user=user, name=f"Host {user}")
            body, headers = json.dumps(activity), teams.headers(activity)  # signed before the clock
            began = time.perf_counter()
            async with self.http.post(url, data=body, headers=headers) as answer:
                await answer.read()
                if answer.status != 200:
                    raise SystemExit(f"POST /api/messages answered {answer.status}")
            return began, time.perf_counter(), (activity["conversation"]["id"], activity["id"])

        async def answered(self, key: tuple[str, str], seconds: float = 60.0) -> tuple[float, dict[str, Any]]:
            """When the connector received the answer to the message ``key``, and the answer."""
            conversation, activity_id = key
            deadline = time.perf_counter() + seconds
            while time.perf_counter() < deadline:
                for sent in teams.sent_to(conversation, "reply"):
                    if sent.activity_id == activity_id:
                        return sent.at, {"blocks": sent.activity.get("attachments"), **sent.activity}
                await asyncio.sleep(0.002)
            raise SystemExit(f"no reply at the connector within {seconds} s")

    return TeamsWorld(app, _Members(teams), google, microsoft, settings, url, http)


async def _scenario(world: Any, label: str, hosts: list[str], rounds: int, concurrency: int) -> bool:
    from bench.slack import _percentile
    from bot.keys import SCHEDULER

    answers_ms: list[float] = []
    replies_ms: list[float] = []
    before = world.calendar_requests()
    for _ in range(rounds):
        for user_id in world.hosts.values():
            world.app[SCHEDULER].forget(user_id)
        asks = (world.send(hosts[n % len(hosts)], QUESTION) for n in range(concurrency))
        sent = await asyncio.gather(*asks)
        for began, http_done, key in sent:
            at, reply = await world.answered(key)
            if not reply["blocks"]:
                raise SystemExit(f"a reply without a card: {reply}")
            answers_ms.append((http_done - began) * 1000)
            replies_ms.append((at - began) * 1000)
    http_p99, reply_p95 = _percentile(answers_ms, 0.99), _percentile(replies_ms, 0.95)
    print(f"\n{label}: {rounds} rounds of {concurrency} concurrent messages; "
          f"{(world.calendar_requests() - before) / rounds:.0f} calendar API requests a round")
    for name, values, share, target in (("HTTP answer", answers_ms, 0.99, HTTP_TARGET_MS),
                                        ("reply", replies_ms, 0.95, REPLY_TARGET_MS)):
        figure = _percentile(values, share)
        verdict = "ok" if figure <= target else "MISSED"
        print(f"  {name:<12} p50 {_percentile(values, 0.5):7.1f} ms  p{round(share * 100)} {figure:7.1f} ms  "
              f"max {max(values):7.1f} ms   target <= {target:.0f} ms: {verdict}")
    return http_p99 <= HTTP_TARGET_MS and reply_p95 <= REPLY_TARGET_MS


async def _bench(database_url: str | None, rounds: int, concurrency: int, latency: float) -> bool:
    import aiohttp
    from aiohttp import web

    from bot.app import create_app
    from bot.settings import Settings
    from storage.db import create_engine, upgrade
    from tests.fakes.base import make_tls_files
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft
    from tests.fakes.teams import FakeBotFramework

    async with contextlib.AsyncExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="slotbot-teams-bench-")))
        # Every fake on a loop of its own, off the measured one.
        google = stack.enter_context(FakeGoogle())
        teams = stack.enter_context(FakeBotFramework(make_tls_files(tmp / "teams-tls")))
        microsoft = stack.enter_context(FakeMicrosoft(make_tls_files(tmp / "microsoft-tls")))
        google.add_calendar("team@example.com", "Team", access_role="reader")
        settings = Settings.from_env({
            "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/slotbot.db",
            "SLOTBOT_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
            "SLOTBOT_LOG_FORMAT": "text", "SLOTBOT_LOG_LEVEL": "WARNING",
            **teams.env(), **google.env(), **microsoft.env(),
        })
        engine = create_engine(settings.database_url)
        stack.push_async_callback(engine.dispose)
        await upgrade(engine)
        runner = web.AppRunner(create_app(settings, engine=engine), access_log=None)
        await runner.setup()
        stack.push_async_callback(runner.cleanup)
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        http = await stack.enter_async_context(aiohttp.ClientSession())
        world = _world(runner.app, teams, google, microsoft, settings, f"http://127.0.0.1:{port}/api/messages",
                       http)
        hosts = [await world.add_host(n) for n in range(concurrency)]
        google.latency = latency
        microsoft.latency = microsoft.identity_latency = latency
        for host in hosts:  # warm-up: first questions of each host's providers
            began, _, key = await world.send(host, QUESTION)
            at, first = await world.answered(key)
        print(f"database: {engine.dialect.name}; each host: 4 calendars (Google 2, Microsoft 365 2); "
              f"{latency * 1000:.0f} ms per calendar request; Teams through botbuilder, TLS fakes")
        print(f"last warm-up message: reply {(at - began) * 1000:.0f} ms; "
              f"it starts {first['summary'][:60]!r}")
        one = await _scenario(world, "one host", hosts[:1], rounds, concurrency)
        many = await _scenario(world, f"{len(hosts)} hosts", hosts, rounds, concurrency)
        google.latency = microsoft.latency = microsoft.identity_latency = 0.0  # let shutdown be quick
    return one and many


if __name__ == "__main__":
    main()
