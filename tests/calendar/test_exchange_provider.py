"""The Exchange provider beyond the contract: EWS's own vocabulary, windows, retries of a create."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.base import AllDaySpan, Attendee, ConnectionContext, NewEvent, TimedSpan, window_pieces
from bot.calendar.exchange.credentials import ExchangeCredentials, dump_credentials
from bot.calendar.exchange.provider import (
    FREE_BUSY,
    SHARED,
    ExchangeCalendarProvider,
    exchange_factory,
)
from bot.calendar.http import RetryPolicy
from bot.calendar.ssrf import AddressPolicy, http_adapter_class
from bot.calendar.threads import WorkerThreads
from bot.calendar.tls import trust_context
from tests.fakes.base import TlsFiles
from tests.fakes.exchange import DEFAULT_PASSWORD, FakeExchange
from tests.fakes.exchange.client import isolated

pytest_plugins = ["tests.fakes.exchange.fixtures"]
BERLIN = ZoneInfo("Europe/Berlin")


@pytest.fixture
def fake(exchange_tls: TlsFiles) -> Iterator[FakeExchange]:
    with isolated(), FakeExchange(exchange_tls) as running:
        yield running


@pytest.fixture
def provider(fake: FakeExchange, exchange_tls: TlsFiles) -> Iterator[ExchangeCalendarProvider]:
    threads = WorkerThreads(8)
    adapter = http_adapter_class(AddressPolicy.parse("127.0.0.0/8"), trust_context(str(exchange_tls.cert)))
    make = exchange_factory(adapter=adapter, threads=threads, timeout=5.0, retry=RetryPolicy(max_retries=2,
                            sleep=_no_sleep))
    stored = dump_credentials(ExchangeCredentials(email=fake.host.email, password=DEFAULT_PASSWORD,
                                                  ews_url=fake.url, version="15.1.2507.6"))

    async def save(_: str) -> None:
        return None

    made = make(ConnectionContext(connection_id=1, account_email=fake.host.email, credentials=stored,
                                  save_credentials=save))
    assert isinstance(made, ExchangeCalendarProvider)
    yield made
    threads.shutdown()


async def _no_sleep(seconds: float) -> None:
    return None


def test_windows_are_cut_into_pieces_that_cover_them_exactly() -> None:
    start = datetime(2031, 1, 1, tzinfo=UTC)
    pieces = window_pieces(start, start + timedelta(days=100), timedelta(days=42))
    assert [(b - a).days for a, b in pieces] == [42, 42, 16]
    assert pieces[0][0] == start and pieces[-1][1] == start + timedelta(days=100)
    assert all(pieces[n][1] == pieces[n + 1][0] for n in range(len(pieces) - 1))
    assert window_pieces(start, start, timedelta(days=42)) == []


async def test_all_day_items_across_dst_declined_and_cancelled_ones(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    calendar = fake.host.calendar
    # Saturday and Sunday 28-29 March 2026: Berlin springs forward on the Sunday.
    fake.add_event(calendar, date(2026, 3, 28), date(2026, 3, 30), all_day=True, time_zone="Europe/Berlin")
    monday = datetime(2026, 3, 30, 9, tzinfo=BERLIN)
    fake.add_event(calendar, monday, monday + timedelta(hours=1), my_response="Decline")
    fake.add_event(calendar, monday + timedelta(hours=2), monday + timedelta(hours=3), cancelled=True)
    fake.add_event(calendar, monday + timedelta(hours=4), monday + timedelta(hours=5), show_as="OOF")

    answer = await provider.busy(start=datetime(2026, 3, 27, tzinfo=BERLIN),
                                 end=datetime(2026, 4, 1, tzinfo=BERLIN), calendar_ids=[calendar.id])

    blocks = answer[calendar.id].blocks
    assert answer[calendar.id].error is None
    [whole_days] = [b for b in blocks if isinstance(b.span, AllDaySpan)]
    assert whole_days.span == AllDaySpan(date(2026, 3, 28), date(2026, 3, 30))  # the Sunday is busy too
    timed = {
        b.span.start.astimezone(BERLIN).hour: b.blocks_time() for b in blocks if isinstance(b.span, TimedSpan)
    }
    assert timed == {9: False, 11: False, 13: True}  # declined, cancelled: free; out of office: busy


async def test_free_busy_only_colleagues_are_read_in_42_day_pieces(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    boss = fake.add_mailbox("boss@contoso.example")
    boss.share_with(fake.host.email, "free_busy")
    start = datetime(2031, 3, 3, 9, tzinfo=UTC)
    fake.add_event(boss.calendar, start, start + timedelta(hours=1))
    later = start + timedelta(days=50)
    fake.add_event(boss.calendar, later, later + timedelta(hours=1), show_as="Free")
    fake.add_event(boss.calendar, start + timedelta(days=55), start + timedelta(days=55, hours=2))
    ids = [FREE_BUSY + "boss@contoso.example", FREE_BUSY + "nobody@contoso.example"]

    answer = await provider.busy(start=start - timedelta(days=1), end=start + timedelta(days=59),
                                 calendar_ids=ids)

    assert len(fake.operations("GetUserAvailabilityRequest")) == 2  # 60 days: two pieces
    boss_busy = answer[ids[0]]
    assert boss_busy.error is None
    busy = sorted((b.span.start, b.span.end) for b in boss_busy.blocks if b.blocks_time())  # type: ignore[union-attr]
    assert busy == [(start, start + timedelta(hours=1)),
                    (start + timedelta(days=55), start + timedelta(days=55, hours=2))]
    assert answer[ids[1]].error is not None and answer[ids[1]].error.reason == "access_lost"


async def test_a_colleague_calendar_shared_event_by_event(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    reader = fake.add_mailbox("ines@contoso.example")
    reader.share_with(fake.host.email, "reviewer")
    start = datetime(2031, 3, 4, 9, tzinfo=UTC)
    fake.add_event(reader.calendar, start, start + timedelta(hours=1), my_response="Decline")
    fake.add_event(reader.calendar, start + timedelta(hours=3), start + timedelta(hours=4))
    info = await provider.colleague("Ines@Contoso.example")
    assert info.external_id == SHARED + "ines@contoso.example" and info.access_role.value == "reader"

    answer = await provider.busy(start=start - timedelta(hours=1), end=start + timedelta(hours=6),
                                 calendar_ids=[info.external_id])

    starts = [b.span.start for b in answer[info.external_id].blocks if b.blocks_time()]  # type: ignore[union-attr]
    assert starts == [start + timedelta(hours=3)]


async def test_a_retried_create_finds_its_event_and_delete_sends_cancellations(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    start = datetime(2031, 3, 5, 13, tzinfo=UTC)
    event = NewEvent(uid="booking-77@slotbot", title="Intro call", start=start,
                     end=start + timedelta(minutes=30), time_zone="Europe/Copenhagen",
                     attendees=(Attendee("vera@example.org", "Vera"),))
    calendar = fake.host.calendar.id

    first = await provider.create_event(event, calendar_id=calendar)
    fake.fail_next(1, 503, operation="CreateItem")  # the answer to a second attempt is lost...
    again = await provider.create_event(event, calendar_id=calendar)  # ...and a retry comes

    assert again.external_id == first.external_id
    assert [e.uid for e in fake.host.calendar.events] == ["booking-77@slotbot"]
    assert [i.attendee for i in fake.invitations] == ["vera@example.org"]
    await provider.delete_event(first.external_id, calendar_id=calendar)
    assert [c.item_id for c in fake.cancellations] == [first.external_id]
    assert fake.host.calendar.events == []
    await provider.delete_event(first.external_id, calendar_id=calendar)  # gone already: fine


async def test_calendar_view_items_carry_their_subject_as_title(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    calendar = fake.host.calendar
    monday = datetime(2026, 3, 30, 9, tzinfo=BERLIN)
    fake.add_event(calendar, monday, monday + timedelta(hours=1), subject="Focus time", show_as="Tentative")
    fake.add_event(calendar, date(2026, 3, 31), date(2026, 4, 1), all_day=True, time_zone="Europe/Berlin",
                   subject="Company offsite")

    answer = await provider.busy(start=datetime(2026, 3, 30, tzinfo=BERLIN),
                                 end=datetime(2026, 4, 2, tzinfo=BERLIN), calendar_ids=[calendar.id])

    titles = {b.title: b.span for b in answer[calendar.id].blocks}
    assert titles == {"Focus time": TimedSpan(monday, monday + timedelta(hours=1)),
                      "Company offsite": AllDaySpan(date(2026, 3, 31), date(2026, 4, 1))}


async def test_free_busy_only_colleagues_have_no_titles(
    fake: FakeExchange, provider: ExchangeCalendarProvider
) -> None:
    boss = fake.add_mailbox("boss@contoso.example")
    boss.share_with(fake.host.email, "free_busy")
    start = datetime(2031, 3, 3, 9, tzinfo=UTC)
    fake.add_event(boss.calendar, start, start + timedelta(hours=1), subject="Salary review")
    key = FREE_BUSY + "boss@contoso.example"

    answer = await provider.busy(start=start - timedelta(hours=1), end=start + timedelta(hours=3),
                                 calendar_ids=[key])

    assert [b.title for b in answer[key].blocks] == [""]
