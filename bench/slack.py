"""Benchmark of the Slack channel: `/meet free this week` under 20 concurrent commands. Prints figures.

    python bench/slack.py [--rounds N] [--concurrency C] [--latency SECONDS] [--postgres]

Each host has 4 calendars on the fakes from ``tests/fakes``: one Google connection (2 calendars,
busy time through ``freeBusy``) and one Microsoft 365 connection over TLS (2 calendars, through
``calendarView``); every Calendar API, Graph and Microsoft identity request is answered after
``--latency`` seconds (0.3 by default). The application is the real one from ``create_app``,
served on 127.0.0.1 by aiohttp with Slack configured for one workspace (``SLACK_BOT_TOKEN``)
against the fake Slack, on a migrated SQLite database (or, with ``--postgres``, a throw-away
PostgreSQL server). The fake Slack and the fake Microsoft each run on their own event loop in a
thread, as remote services would.

Each round empties the scheduler's cache, then sends ``--concurrency`` signed slash commands at
once over HTTP, as Slack would, and measures for each:

* acknowledgement: from sending the command to the HTTP answer (Slack's 3-second rule);
* full answer: from sending the command to the fake Slack receiving the reply at the command's
  ``response_url``.

Two scenarios: **one host** sends all the commands (the target scenario), and **20 hosts** send
one each. Targets: acknowledgement p99 <= 100 ms, full answer p95 <= 1 s. One warm-up command per
host (imports, TLS handshakes, discovery documents, first contact) is not counted.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
ACK_TARGET_MS = 100.0
ANSWER_TARGET_MS = 1000.0


def main() -> None:
    """Parse the arguments, run the benchmark, print the figures (exit 1 on a missed target)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=10, help="measured rounds per scenario")
    parser.add_argument("--concurrency", type=int, default=20, help="commands sent at once per round")
    parser.add_argument("--latency", type=float, default=0.3, help="calendar fakes' answer delay (s)")
    parser.add_argument("--postgres", action="store_true", help="a throw-away PostgreSQL, not SQLite")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests.fakes, tests.support.postgres
    with _database(args.postgres) as url:
        ok = asyncio.run(_bench(url, args.rounds, args.concurrency, args.latency))
    raise SystemExit(0 if ok else 1)


@contextmanager
def _database(postgres: bool) -> Iterator[str | None]:
    if not postgres:
        yield None
        return
    from tests.conftest import _create_database
    from tests.support import postgres as pg

    server = pg.start()
    try:
        yield asyncio.run(_create_database(server.url))
    finally:
        server.stop()


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class _World:
    """The running app, its fakes and how to talk to it."""

    app: Any
    slack: Any
    google: Any
    microsoft: Any
    settings: Any
    events_url: str
    http: Any
    hosts: dict[str, int] = field(default_factory=dict)  # Slack user id -> Slotbot user id

    async def send(self, slack_user: str, text: str) -> tuple[float, float, str]:
        """A signed slash command over HTTP: (sent, acknowledged, response URL)."""
        body, url = self.slack.command(slack_user, text)
        began = time.perf_counter()
        async with self.http.post(self.events_url, data=body.encode(),
                                  headers=self.slack.signed(body)) as answer:
            await answer.read()
            if answer.status != 200:
                raise SystemExit(f"ack failed: {answer.status}")
        return began, time.perf_counter(), url

    async def answered(self, url: str, seconds: float = 60.0) -> tuple[float, dict[str, Any]]:
        """When the fake Slack received the answer at ``url``, and the answer."""
        key = url.split(f"/commands/{self.slack.team_id}/", 1)[1]
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            for response in list(self.slack.responses):
                if response.key == key:
                    return response.at, response.body
            await asyncio.sleep(0.002)
        raise SystemExit(f"no answer at the response URL within {seconds} s")

    async def add_host(self, n: int) -> str:
        """Slack user ``U0HOST<n>``: first contact, then a Google and a Microsoft 365 account."""
        from sqlalchemy import select

        from bot.calendar.google.credentials import credentials_to_json
        from bot.calendar.microsoft import connect as ms
        from bot.keys import CONNECTIONS, SECRETS, SESSIONS
        from bot.scheduling.scheduler import CREDENTIALS_PURPOSE
        from storage.models import Calendar, CalendarConnection, ChatIdentity

        app, google, microsoft = self.app, self.google, self.microsoft
        slack_user, email = f"U0HOST{n}", f"host{n}@contoso.example"
        self.slack.add_user(slack_user, f"Host Number{n}", email=f"host{n}@example.com")
        _, _, url = await self.send(slack_user, "help")
        await self.answered(url)
        async with app[SESSIONS]() as session:
            user_id = (await session.execute(select(ChatIdentity.user_id).where(
                ChatIdentity.external_id == slack_user))).scalar_one()
        issued = google.issue_tokens()
        credentials = credentials_to_json(
            refresh_token=issued["refresh_token"], token=issued["access_token"],
            expiry=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
            scopes=issued["scope"].split())
        async with app[SESSIONS]() as session, session.begin():
            google_connection = CalendarConnection(
                user_id=user_id, provider="google", account_email=f"host{n}@example.com",
                credentials=app[SECRETS].seal(credentials, purpose=CREDENTIALS_PURPOSE))
            session.add(google_connection)
            await session.flush()
            for m, cid in enumerate((google.account_email, "team@example.com")):
                session.add(Calendar(connection_id=google_connection.id, user_id=user_id, external_id=cid,
                                     name=cid, access_role="owner" if m == 0 else "reader",
                                     is_default=m == 0, checks_conflicts=True))
        mss = self.settings.microsoft
        microsoft.add_user(email, name=f"Host {n}")
        microsoft.add_calendar(email, name="Projects")
        auth_uri, flow = await ms.start_flow(
            mss, redirect_uri=f"{self.settings.base_url}/oauth/microsoft/callback", state="bench",
            login_hint=email)
        query = await microsoft.approve(auth_uri)
        grant = await ms.complete_flow(mss, flow=flow, query_params=query)
        async with app[SESSIONS]() as session, session.begin():
            connection = CalendarConnection(
                user_id=user_id, provider="microsoft", account_email=grant.account_email,
                credentials=app[SECRETS].seal(grant.credentials, purpose=CREDENTIALS_PURPOSE))
            session.add(connection)
            await session.flush()
            connection_id = connection.id
        await app[CONNECTIONS].refresh_calendars(user_id, connection_id)
        async with app[SESSIONS]() as session, session.begin():
            calendars = (await session.execute(select(Calendar).where(Calendar.user_id == user_id))).scalars()
            for calendar in calendars:
                calendar.checks_conflicts = True
        async with app[SESSIONS]() as session:
            count = len((await session.execute(select(Calendar.id).where(
                Calendar.user_id == user_id))).all())
        if count != 4:
            raise SystemExit(f"host {n}: expected 4 calendars, found {count}")
        self.hosts[slack_user] = user_id
        return slack_user

    def calendar_requests(self) -> int:
        return len(self.google.api_calls()) + len(self.microsoft.calls)


async def _scenario(world: _World, label: str, hosts: list[str], rounds: int, concurrency: int) -> bool:
    from bot.keys import SCHEDULER

    scheduler = world.app[SCHEDULER]
    acks: list[float] = []
    answers: list[float] = []
    before = world.calendar_requests()
    for _ in range(rounds):
        for user_id in world.hosts.values():
            scheduler.forget(user_id)
        sent = await asyncio.gather(*(world.send(hosts[n % len(hosts)], "free this week")
                                      for n in range(concurrency)))
        for began, acked, url in sent:
            at, body = await world.answered(url)
            if not body.get("blocks"):
                raise SystemExit(f"answer without blocks: {body}")
            acks.append((acked - began) * 1000)
            answers.append((at - began) * 1000)
    requests = world.calendar_requests() - before
    ack_p99, answer_p95 = _percentile(acks, 0.99), _percentile(answers, 0.95)
    print(f"\n{label}: {rounds} rounds of {concurrency} concurrent commands; "
          f"{requests / rounds:.0f} calendar API requests a round")
    print(f"  acknowledgement  p50 {_percentile(acks, 0.5):7.1f} ms  p99 {ack_p99:7.1f} ms  "
          f"max {max(acks):7.1f} ms   target p99 <= {ACK_TARGET_MS:.0f} ms: "
          f"{'ok' if ack_p99 <= ACK_TARGET_MS else 'MISSED'}")
    print(f"  full answer      p50 {_percentile(answers, 0.5):7.1f} ms  p95 {answer_p95:7.1f} ms  "
          f"max {max(answers):7.1f} ms   target p95 <= {ANSWER_TARGET_MS:.0f} ms: "
          f"{'ok' if answer_p95 <= ANSWER_TARGET_MS else 'MISSED'}")
    return ack_p99 <= ACK_TARGET_MS and answer_p95 <= ANSWER_TARGET_MS


async def _bench(database_url: str | None, rounds: int, concurrency: int, latency: float) -> bool:
    import aiohttp
    from aiohttp import web

    from bot.app import create_app
    from bot.settings import Settings
    from storage.db import create_engine, upgrade
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft, make_tls_files
    from tests.fakes.slack import FakeSlack

    with tempfile.TemporaryDirectory(prefix="slotbot-slack-bench-") as tmp, FakeGoogle() as google:
        slack = FakeSlack().start_in_thread()  # the fakes keep off the measured loop
        microsoft = FakeMicrosoft(make_tls_files(Path(tmp) / "tls")).start_in_thread()
        google.add_calendar("team@example.com", "Team", access_role="reader")
        gs, mss = google.settings(), microsoft.settings()
        settings = Settings.from_env({
            "DATABASE_URL": database_url or f"sqlite+aiosqlite:///{tmp}/slotbot.db",
            "SLOTBOT_SECRET_KEY": base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("="),
            "SLOTBOT_LOG_FORMAT": "text", "SLOTBOT_LOG_LEVEL": "WARNING",
            "SLACK_USER_REQUESTS_PER_MINUTE": "100000",  # one host sends every command of a round
            **slack.env(single_workspace=True),
            "GOOGLE_CLIENT_ID": gs.client_id, "GOOGLE_CLIENT_SECRET": gs.client_secret,
            "GOOGLE_TOKEN_URI": gs.token_uri, "GOOGLE_CALENDAR_API_BASE": gs.api_base,
            "MICROSOFT_CLIENT_ID": mss.client_id, "MICROSOFT_CLIENT_SECRET": mss.client_secret,
            "MICROSOFT_AUTHORITY": mss.authority, "MICROSOFT_GRAPH_BASE": mss.graph_base,
            "MICROSOFT_CA_BUNDLE": mss.ca_bundle,
        })
        engine = create_engine(settings.database_url)
        await upgrade(engine)
        runner = web.AppRunner(create_app(settings, engine=engine), access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", 0)
        await site.start()
        port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
        http = aiohttp.ClientSession()
        world = _World(runner.app, slack, google, microsoft, settings,
                       f"http://127.0.0.1:{port}/slack/events", http)
        try:
            hosts = [await world.add_host(n) for n in range(concurrency)]
            google.latency = latency
            microsoft.latency = microsoft.identity_latency = latency
            for host in hosts:  # warm-up: first questions of each host's providers
                began, _, url = await world.send(host, "free this week")
                at, first = await world.answered(url)
            print(f"database: {engine.dialect.name}; each host: 4 calendars (Google 2, Microsoft 365 2); "
                  f"{latency * 1000:.0f} ms per calendar request")
            print(f"last warm-up command: full answer {(at - began) * 1000:.0f} ms; "
                  f"it starts {first['text'][:60]!r}")
            one = await _scenario(world, "one host", hosts[:1], rounds, concurrency)
            many = await _scenario(world, f"{len(hosts)} hosts", hosts, rounds, concurrency)
        finally:
            google.latency = microsoft.latency = microsoft.identity_latency = 0.0
            await http.close()
            await runner.cleanup()
            await engine.dispose()
            microsoft.stop_in_thread()
            slack.stop_in_thread()
    return one and many


if __name__ == "__main__":
    main()
