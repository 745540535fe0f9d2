"""The booking race over real HTTP: 50 visitors post the same slot at once, 20 times over.

Exactly one visitor gets the booking page; the 49 others get a readable "that time was just
taken" page (409) that offers fresh slots without the taken one, and nobody sees an error. The
database then holds one booking per slot, none overlapping, each with exactly one calendar write,
its two e-mails and one chat notice in the outbox, all run. Runs on SQLite and on PostgreSQL.

The app is the demo as it runs (``tests/browser.py``); only its booking rate limits are raised
(a configuration, as an operator could): 50 posts a second from one address would otherwise be
refused, which is what the limits are for.
"""

from __future__ import annotations

import asyncio
import collections
import itertools
from datetime import datetime
from typing import TYPE_CHECKING

import aiohttp
from aiohttp import web
from sqlalchemy import select

from bot.booking.events import SYNC_EVENT_KIND
from bot.demo.seed import DEMO_EMAIL, DEMO_TIMEZONE
from bot.handlers.pages.page import PER_IP, PER_PAGE
from bot.handlers.pages.visitor import RateLimiter
from bot.keys import SESSIONS
from bot.notices.chat import NOTICE_KIND
from bot.notices.email import EMAIL_KIND, recipient_hash
from storage.models import Booking, LocalEvent, OutboxMessage
from tests.support.page_client import Answer, PageVisitor, offered_starts, spread_starts

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from tests.support.browser import LiveDemo

pytest_plugins = ["tests.support.browser"]

VISITORS = 50
SLOTS = 20
DURATION = 30
TAKEN = ("That time was just taken", "That time is no longer available")


def generous_limits(app: web.Application) -> None:
    """Booking rate limits high enough for a burst of posts from one address."""
    app[PER_IP] = RateLimiter(100_000, 60.0)
    app[PER_PAGE] = RateLimiter(100_000, 60.0)


async def test_fifty_visitors_race_for_each_of_twenty_slots(
    start_demo: Callable[..., Awaitable[LiveDemo]],
) -> None:
    demo = await start_demo(configure=generous_limits)
    connector = aiohttp.TCPConnector(limit=VISITORS)
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        visitors = [PageVisitor(http, demo.url("/meetings/demo")) for _ in range(VISITORS)]
        first = await asyncio.gather(*(visitor.open() for visitor in visitors))
        assert {answer.status for answer in first} == {200}
        slots = spread_starts(offered_starts(first[0].text), minutes=DURATION, zone=DEMO_TIMEZONE,
                              count=SLOTS)
        messages: collections.Counter[str] = collections.Counter()
        for round_number, start in enumerate(slots):
            answers = await asyncio.gather(*(
                visitor.book(start, duration=DURATION, name=f"Visitor {n}",
                             email=f"v{round_number}-{n}@example.com")
                for n, visitor in enumerate(visitors)
            ))
            _check_round(start, answers, messages)
    print(f"\nlosers' messages over {SLOTS} rounds: {dict(messages)}")
    await _check_database(demo, slots)


SAME_VISITOR_ROUNDS = 12


async def test_one_visitor_booking_two_free_slots_at_once_gets_both(
    start_demo: Callable[..., Awaitable[LiveDemo]],
) -> None:
    """Two tabs, one new e-mail, two different free slots: no race, so both are booked."""
    demo = await start_demo(configure=generous_limits)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar()) as http:
        tabs = [PageVisitor(http, demo.url("/meetings/demo")) for _ in range(2)]
        first = (await tabs[0].open()).text
        await tabs[1].open()
        slots = spread_starts(offered_starts(first), minutes=DURATION, zone=DEMO_TIMEZONE,
                              count=2 * SAME_VISITOR_ROUNDS)
        refused = []
        for n in range(SAME_VISITOR_ROUNDS):
            email = f"both{n}@example.com"
            answers = await asyncio.gather(*(
                tab.book(slots[2 * n + i], duration=DURATION, name="Ana", email=email)
                for i, tab in enumerate(tabs)
            ))
            refused += [(n, a.status, [t for t in TAKEN if t in a.text]) for a in answers if a.status != 200]
    assert not refused, f"free slots refused (round, status, message): {refused}"


def _check_round(start: datetime, answers: list[Answer], messages: collections.Counter[str]) -> None:
    statuses = collections.Counter(answer.status for answer in answers)
    assert statuses == {200: 1, 409: VISITORS - 1}, (start, statuses, _first_odd(answers))
    for answer in answers:
        assert answer.content_type == "text/html"
        assert "Traceback" not in answer.text
        if answer.status == 200:
            assert "booked" in answer.text
            continue
        said = [text for text in TAKEN if text in answer.text]
        assert said, answer.text[:2000]
        messages[said[0]] += 1
        fresh = offered_starts(answer.text)
        assert fresh and start not in fresh, "the loser's page must offer fresh slots only"


def _first_odd(answers: list[Answer]) -> str:
    odd = [a for a in answers if a.status not in (200, 409)]
    return f"{odd[0].status}: {odd[0].text[:1500]}" if odd else ""


async def _check_database(demo: LiveDemo, slots: list[datetime]) -> None:
    outbox = await demo.outbox_settled(seconds=60)
    async with demo.app[SESSIONS]() as session:
        bookings = (await session.execute(select(Booking).order_by(Booking.start_at))).scalars().all()
        messages = (await session.execute(select(OutboxMessage))).scalars().all()
        events = (await session.execute(select(LocalEvent.uid))).scalars().all()
    assert [b.start_at for b in bookings] == slots
    assert {b.status for b in bookings} == {"confirmed"}
    for before, after in itertools.pairwise(bookings):
        assert before.end_at <= after.start_at, "overlapping bookings"
    assert {status for _, status in outbox.values()} == {"done"}, outbox
    kinds = collections.Counter(m.kind for m in messages)
    assert kinds == {SYNC_EVENT_KIND: SLOTS, EMAIL_KIND: 2 * SLOTS, NOTICE_KIND: SLOTS}, kinds
    writes = collections.Counter(m.payload["booking_id"] for m in messages if m.kind == SYNC_EVENT_KIND)
    assert writes == {b.id: 1 for b in bookings}, "one calendar write per booking"
    # A sent e-mail's row keeps the recipient's hash, not the address (nor the text).
    mails = collections.Counter(m.payload["to_hash"] for m in messages if m.kind == EMAIL_KIND)
    assert mails == {recipient_hash(DEMO_EMAIL): SLOTS,
                     **{recipient_hash(b.visitor_email): 1 for b in bookings}}
    notices = collections.Counter(m.payload["notice"] for m in messages if m.kind == NOTICE_KIND)
    assert notices == {"booking_created": SLOTS}
    assert sorted(events) == sorted(["sample", *(b.external_event_id for b in bookings)])
