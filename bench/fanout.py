"""Benchmark of the calendar fan-out (issue 4). Prints figures; not a timed test.

    python bench/fanout.py [--runs N] [--latency SECONDS]

One host with 4 connections and 10 checked calendars on the fake servers from ``tests/fakes``:

* two Google connections (two grants on one fake Google; 3 + 2 calendars), busy time through
  ``freeBusy``;
* two Microsoft 365 connections (two accounts on one fake identity platform + Graph over TLS;
  3 + 2 calendars, owned and shared), busy time through ``calendarView``.

Every Calendar API, Graph and Microsoft identity request (OpenID configuration, token) is
answered after ``--latency`` seconds (default 0.3; the fakes' ``latency`` and
``identity_latency`` knobs). The question is "when am I free this week" through the real path:
the application from ``create_app`` (its provider registry, its ``Scheduler``, its shared HTTP
session), a migrated SQLite database in a temporary directory, credentials sealed in it.
Both fakes run on event loops of their own in threads, as remote services would.

* cold: the scheduler's cache is emptied before each run (``Scheduler.forget``), so every
  connection is asked again; providers are created per question, as in production.
* warm: the same question again within the cache's lifetime.

Targets: cold <= 450 ms median (the providers run in parallel: about one latency, not the sum),
warm <= 20 ms median. The first question of the process (imports, TLS handshakes, discovery
documents) is reported separately and not counted in the cold figures.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
ZONE = "Europe/Copenhagen"
COLD_TARGET_MS = 450.0
WARM_TARGET_MS = 20.0


def main() -> None:
    """Parse the arguments, run the benchmark, print the figures (exit 1 on a missed target)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=15, help="measured runs of each kind")
    parser.add_argument("--latency", type=float, default=0.3, help="fake answer delay in seconds")
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))  # tests.fakes
    ok = asyncio.run(_bench(args.runs, args.latency))
    raise SystemExit(0 if ok else 1)


@dataclass
class _Fakes:
    google: Any
    microsoft: Any


@contextmanager
def _fakes(directory: Path, latency: float) -> Iterator[_Fakes]:
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft, make_tls_files

    google = FakeGoogle().start()
    microsoft = FakeMicrosoft(make_tls_files(directory / "tls")).start_in_thread()  # not the measured loop
    microsoft.page_size = 50  # Graph pages calendarView by $top; none of these calendars spills over
    try:
        yield _Fakes(google, microsoft)
    finally:
        google.latency = microsoft.latency = 0.0
        microsoft.stop_in_thread()
        google.stop()


def _week(now: datetime) -> tuple[datetime, datetime]:
    local = now.astimezone(ZoneInfo(ZONE))
    monday = datetime.combine(local.date() - timedelta(days=local.weekday()), datetime.min.time())
    start = monday.replace(tzinfo=ZoneInfo(ZONE))
    return start, start + timedelta(days=7)


def _populate(fakes: _Fakes, week_start: datetime) -> dict[str, list[str]]:
    """Calendars and a few busy events on the fakes; returns the Google calendar ids per grant."""
    google, microsoft = fakes.google, fakes.microsoft

    def at(day: int, hour: int) -> datetime:
        return (week_start + timedelta(days=day, hours=hour)).astimezone(UTC)

    google_ids = {
        "a": [google.account_email, "team@example.com", "oncall@example.com"],
        "b": ["family@example.com", "room-4@example.com"],
    }
    for cid in google_ids["a"][1:] + google_ids["b"]:
        google.add_calendar(cid, cid.split("@")[0].title(), access_role="reader")
    for n, cid in enumerate(google_ids["a"] + google_ids["b"]):
        for day in range(5):
            google.add_busy(cid, at(day, 9 + n % 7), at(day, 10 + n % 7))

    microsoft.add_user("assistant@contoso.example", name="Ada Assistant")
    mailboxes = {
        "host@contoso.example": ["Projects", "Shared: Board"],
        "assistant@contoso.example": ["Shared: Travel"],
    }
    for n, (email, names) in enumerate(mailboxes.items()):
        for name in names:
            owner = "board@contoso.example" if name.startswith("Shared") else None
            microsoft.add_calendar(email, name=name, owner_email=owner)
        for m, calendar in enumerate(microsoft.user(email).calendars):
            for day in range(5):
                hour = 11 + (n + m) % 5
                microsoft.add_event(calendar, at(day, hour), at(day, hour) + timedelta(minutes=30))
    return google_ids


async def _bench(runs: int, latency: float) -> bool:
    from aiohttp import web
    from sqlalchemy import update

    from bot.app import create_app
    from bot.calendar.google.credentials import credentials_to_json
    from bot.calendar.microsoft import connect as ms
    from bot.keys import CONNECTIONS, SCHEDULER, SECRETS, SESSIONS
    from bot.scheduling.scheduler import CREDENTIALS_PURPOSE
    from bot.settings import Settings
    from storage.db import create_engine, upgrade
    from storage.models import Calendar, CalendarConnection, User

    with tempfile.TemporaryDirectory(prefix="slotbot-fanout-") as tmp, _fakes(Path(tmp), latency) as fakes:
        key = base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")
        google_settings = fakes.google.settings()
        ms_settings = fakes.microsoft.settings()
        settings = Settings.from_env(
            {
                "DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/slotbot.db",
                "SLOTBOT_SECRET_KEY": key,
                "SLOTBOT_LOG_FORMAT": "text",
                "SLOTBOT_LOG_LEVEL": "WARNING",
                "GOOGLE_CLIENT_ID": google_settings.client_id,
                "GOOGLE_CLIENT_SECRET": google_settings.client_secret,
                "GOOGLE_TOKEN_URI": google_settings.token_uri,
                "GOOGLE_CALENDAR_API_BASE": google_settings.api_base,
                "MICROSOFT_CLIENT_ID": ms_settings.client_id,
                "MICROSOFT_CLIENT_SECRET": ms_settings.client_secret,
                "MICROSOFT_AUTHORITY": ms_settings.authority,
                "MICROSOFT_GRAPH_BASE": ms_settings.graph_base,
                "MICROSOFT_CA_BUNDLE": ms_settings.ca_bundle,
            }
        )
        engine = create_engine(settings.database_url)
        await upgrade(engine)
        app = create_app(settings, engine=engine)
        runner = web.AppRunner(app)
        await runner.setup()  # runs the app's start-up: database, HTTP session, outbox worker
        try:
            now = datetime.now(UTC)
            start, end = _week(now)
            google_ids = _populate(fakes, start)
            box = app[SECRETS]

            async with app[SESSIONS]() as session, session.begin():
                user = User(display_name="Hannah Host", email="host@example.com", slug="host", timezone=ZONE)
                session.add(user)
                await session.flush()
                user_id = user.id

            async def add_connection(provider: str, email: str, credentials: str) -> int:
                async with app[SESSIONS]() as session, session.begin():
                    row = CalendarConnection(
                        user_id=user_id,
                        provider=provider,
                        account_email=email,
                        credentials=box.seal(credentials, purpose=CREDENTIALS_PURPOSE),
                    )
                    session.add(row)
                    await session.flush()
                    return row.id

            # Google: two grants, as a consent would leave them; the calendars each one checks.
            google_accounts = {"a": "host@example.com", "b": "host.family@example.com"}
            for grant, email in google_accounts.items():
                ids = google_ids[grant]
                issued = fakes.google.issue_tokens()
                credentials = credentials_to_json(
                    refresh_token=issued["refresh_token"],
                    token=issued["access_token"],
                    expiry=datetime.now(UTC) + timedelta(seconds=issued["expires_in"]),
                    scopes=issued["scope"].split(),
                )
                connection_id = await add_connection("google", email, credentials)
                async with app[SESSIONS]() as session, session.begin():
                    for n, cid in enumerate(ids):
                        session.add(
                            Calendar(
                                connection_id=connection_id,
                                user_id=user_id,
                                external_id=cid,
                                name=cid,
                                access_role="owner" if n == 0 and grant == "a" else "reader",
                                is_default=n == 0 and grant == "a",
                            )
                        )

            # Microsoft: two accounts through msal's real sign-in, calendars listed by the app.
            for email in ("host@contoso.example", "assistant@contoso.example"):
                auth_uri, flow = await ms.start_flow(
                    ms_settings, redirect_uri=f"{settings.base_url}/oauth/microsoft/callback",
                    state="bench", login_hint=email,
                )
                query = await fakes.microsoft.approve(auth_uri)
                grant_ms = await ms.complete_flow(ms_settings, flow=flow, query_params=query)
                connection_id = await add_connection(
                    "microsoft", grant_ms.account_email, grant_ms.credentials
                )
                await app[CONNECTIONS].refresh_calendars(user_id, connection_id)
            async with app[SESSIONS]() as session, session.begin():
                await session.execute(update(Calendar).values(checks_conflicts=True))
                calendars = (await session.execute(Calendar.__table__.select())).all()
            connections = {c.connection_id for c in calendars}
            print(f"host: {len(connections)} connections, {len(calendars)} checked calendars; "
                  f"latency {latency * 1000:.0f} ms per API request; {runs} runs each")
            assert len(connections) == 4 and len(calendars) == 10, (len(connections), len(calendars))

            scheduler = app[SCHEDULER]

            async def ask() -> float:
                began = time.perf_counter()
                answer = await scheduler.availability(user_id, start=start, end=end, now=now)
                took = (time.perf_counter() - began) * 1000
                if answer.problems or len(answer.calendars) != 10:
                    raise SystemExit(f"availability incomplete: {answer.problems}")
                return took

            fakes.google.latency = latency
            fakes.microsoft.latency = fakes.microsoft.identity_latency = latency
            scheduler.forget(user_id)
            first = await ask()
            before = _counts(fakes)
            scheduler.forget(user_id)
            await ask()
            per_question = {k: v - before[k] for k, v in _counts(fakes).items()}
            cold: list[float] = []
            warm: list[float] = []
            for _ in range(runs):
                scheduler.forget(user_id)
                cold.append(await ask())
                warm.append(await ask())
            without = await _slot_counts(scheduler, user_id, start, end, now)
        finally:
            await runner.cleanup()
            await engine.dispose()

    print(f"first question of the process: {first:.1f} ms")
    print("requests per cold question: " + ", ".join(f"{v} {k}" for k, v in per_question.items()))
    ok_cold = _report("cold (cache emptied)", cold, COLD_TARGET_MS)
    ok_warm = _report("warm (from the cache)", warm, WARM_TARGET_MS)
    print(f"free slots this week: {without[0]} with the fakes' events vs {without[1]} "
          "when no calendar is busy (the busy time did arrive)")
    return ok_cold and ok_warm


def _counts(fakes: _Fakes) -> dict[str, int]:
    return {
        "Google Calendar API": len(fakes.google.api_calls()),
        "Google token": len(fakes.google.token_calls()),
        "Graph": len(fakes.microsoft.calls),
        "Microsoft OpenID configuration": fakes.microsoft.openid_configuration_requests,
        "Microsoft token": len(fakes.microsoft.token_requests),
    }


async def _slot_counts(
    scheduler: Any, user_id: int, start: datetime, end: datetime, now: datetime
) -> tuple[int, int]:
    """Slots with the calendars' busy time vs. the week's slots when nothing is busy."""
    answer = await scheduler.availability(user_id, start=start, end=end, now=start - timedelta(days=1))
    from bot.availability import find_slots
    from bot.rules import rules_from_json

    empty = find_slots(
        rules_from_json({}, timezone=ZONE),
        window_start=start,
        window_end=end,
        now=start - timedelta(days=1),
        calendars={},
        bookings=[],
    )
    return len(answer.result.slots), len(empty.slots)


def _report(label: str, values: list[float], target: float) -> bool:
    ordered = sorted(values)
    median = statistics.median(ordered)
    p95 = ordered[min(len(ordered) - 1, round(0.95 * (len(ordered) - 1)))]
    verdict = "ok" if median <= target else "MISSED"
    print(
        f"{label:24s} median {median:7.1f} ms   p95 {p95:7.1f} ms   min {ordered[0]:7.1f} ms   "
        f"max {ordered[-1]:7.1f} ms   target <= {target:.0f} ms median: {verdict}"
    )
    return median <= target


if __name__ == "__main__":
    main()
