"""The CalDAV provider against a real Radicale (behind the counting https proxy): busy time as the host
sees it, roles, the change check, writing and deleting events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    Attendee,
    CalendarBusy,
    ConnectionContext,
    NewEvent,
    TimedSpan,
)
from bot.calendar.caldav.credentials import CalDavCredentials, dump_credentials
from bot.calendar.caldav.provider import CalDavCalendarProvider, CalDavFactory, caldav_factory
from bot.calendar.http import RetryPolicy
from bot.calendar.ssrf import AddressPolicy
from bot.calendar.tls import trust_context
from tests.fakes.base import TlsFiles
from tests.fakes.caldav import Account, CalDavProxy

pytest_plugins = ["tests.fakes.caldav.fixtures"]

COPENHAGEN = ZoneInfo("Europe/Copenhagen")
HOST = "hannah@example.com"


@pytest.fixture
async def factory(caldav_tls: TlsFiles) -> AsyncIterator[CalDavFactory]:
    made = caldav_factory(policy=AddressPolicy.parse("127.0.0.0/8"), tls=trust_context(str(caldav_tls.cert)),
                          timeout=5.0, retry=RetryPolicy(max_retries=0))
    yield made
    await made.close()


def _provider(factory: CalDavFactory, proxy: CalDavProxy, account: Account, *,
              addresses: tuple[str, ...] = (HOST,)) -> CalDavCalendarProvider:
    async def save(_: str) -> None:
        return None

    credentials = dump_credentials(CalDavCredentials(
        server=proxy.base_url + "/", username=account.username, password=account.password,
        principal=proxy.base_url + account.home, home=proxy.base_url + account.home, addresses=addresses,
    ))
    return factory(ConnectionContext(connection_id=1, account_email=HOST, credentials=credentials,
                                     save_credentials=save, options={"timezone": "Europe/Copenhagen"}))


def _ics(*events: str) -> str:
    stamp = "DTSTAMP:20260101T000000Z"
    body = "".join(f"BEGIN:VEVENT\r\n{e.strip()}\r\n{stamp}\r\nEND:VEVENT\r\n" for e in events)
    return f"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nPRODID:-//Test//EN\r\n{body}END:VCALENDAR\r\n"


def _busy_spans(answer: CalendarBusy) -> list[tuple[datetime, datetime]]:
    assert answer.error is None, answer.error
    spans = []
    for block in answer.blocks:
        if block.blocks_time():
            assert isinstance(block.span, TimedSpan)
            spans.append((block.span.start, block.span.end))
    return sorted(spans)


def _local(day: int, hour: int, month: int = 3) -> datetime:
    return datetime(2031, month, day, hour, tzinfo=COPENHAGEN)


async def test_a_weekly_series_is_expanded_by_slotbot_across_the_dst_change(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    calendar = caldav_account.mkcalendar("work")
    caldav_account.put(calendar, _ics(
        "UID:standup\r\nSUMMARY:Standup\r\nDTSTART;TZID=Europe/Copenhagen:20310317T090000\r\n"
        "DTEND;TZID=Europe/Copenhagen:20310317T093000\r\nRRULE:FREQ=WEEKLY;COUNT=4",
        "UID:standup\r\nRECURRENCE-ID;TZID=Europe/Copenhagen:20310331T090000\r\nSUMMARY:Moved\r\n"
        "DTSTART;TZID=Europe/Copenhagen:20310331T140000\r\nDTEND;TZID=Europe/Copenhagen:20310331T143000",
    ))
    provider = _provider(factory, caldav_proxy, caldav_account)

    answer = await provider.busy(start=_local(17, 0), end=_local(5, 0, month=4), calendar_ids=[calendar])

    starts = [start.astimezone(COPENHAGEN) for start, _ in _busy_spans(answer[calendar])]
    # 09:00 local on both sides of the change on 30 March (UTC+1, then UTC+2); the moved one at 14:00.
    assert starts == [_local(17, 9), _local(24, 9), _local(31, 14)]
    assert [s.utcoffset() for s in starts] == [timedelta(hours=1), timedelta(hours=1), timedelta(hours=2)]
    # Each occurrence carries its SUMMARY; the moved one its override's own.
    assert [b.title for b in answer[calendar].blocks] == ["Standup", "Standup", "Moved"]
    [report] = caldav_proxy.reports()
    assert "<c:time-range" in report.body and "expand" not in report.body  # no expansion by the server


async def test_only_events_shown_as_busy_take_time(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    calendar = caldav_account.mkcalendar("work")
    attendee = ("ATTENDEE;PARTSTAT={state};CN=Hannah:mailto:Hannah@Example.com\r\n"
                "ORGANIZER:mailto:boss@example.com")
    caldav_account.put(calendar, _ics("UID:busy\r\nDTSTART:20310303T080000Z\r\nDTEND:20310303T090000Z"))
    caldav_account.put(calendar, _ics("UID:free\r\nDTSTART:20310303T100000Z\r\nDTEND:20310303T110000Z\r\n"
                                      "TRANSP:TRANSPARENT"))
    caldav_account.put(calendar, _ics("UID:gone\r\nDTSTART:20310303T120000Z\r\nDTEND:20310303T130000Z\r\n"
                                      "STATUS:CANCELLED"))
    caldav_account.put(calendar, _ics("UID:no\r\nDTSTART:20310303T140000Z\r\nDTEND:20310303T150000Z\r\n"
                                      + attendee.format(state="DECLINED")))
    caldav_account.put(calendar, _ics("UID:yes\r\nDTSTART:20310304T140000Z\r\nDTEND:20310304T150000Z\r\n"
                                      + attendee.format(state="ACCEPTED")))
    # A daily series the host declined, but one day of which they accepted after all.
    caldav_account.put(calendar, _ics(
        "UID:series\r\nDTSTART:20310305T070000Z\r\nDTEND:20310305T073000Z\r\nRRULE:FREQ=DAILY;COUNT=3\r\n"
        + attendee.format(state="DECLINED"),
        "UID:series\r\nRECURRENCE-ID:20310306T070000Z\r\nDTSTART:20310306T070000Z\r\nDTEND:20310306T073000Z\r\n"
        + attendee.format(state="ACCEPTED"),
    ))
    week = datetime(2031, 3, 3, tzinfo=UTC), datetime(2031, 3, 10, tzinfo=UTC)

    answer = (await _provider(factory, caldav_proxy, caldav_account).busy(
        start=week[0], end=week[1], calendar_ids=[calendar]))[calendar]

    hour = timedelta(hours=1)
    assert _busy_spans(answer) == [
        (datetime(2031, 3, 3, 8, tzinfo=UTC), datetime(2031, 3, 3, 8, tzinfo=UTC) + hour),
        (datetime(2031, 3, 4, 14, tzinfo=UTC), datetime(2031, 3, 4, 14, tzinfo=UTC) + hour),
        (datetime(2031, 3, 6, 7, tzinfo=UTC), datetime(2031, 3, 6, 7, 30, tzinfo=UTC)),
    ]
    declined = sorted(b.span.start for b in answer.blocks if b.declined)  # type: ignore[union-attr]
    assert declined == [datetime(2031, 3, 3, 14, tzinfo=UTC), datetime(2031, 3, 5, 7, tzinfo=UTC),
                        datetime(2031, 3, 7, 7, tzinfo=UTC)]
    # Someone else's decline (the host's addresses unknown) is not the host's: it stays busy.
    stranger = (await _provider(factory, caldav_proxy, caldav_account, addresses=()).busy(
        start=week[0], end=week[1], calendar_ids=[calendar]))[calendar]
    assert len(_busy_spans(stranger)) == 6


async def test_a_read_only_shared_calendar_is_a_reader_and_the_first_writable_one_the_default(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    work = caldav_account.mkcalendar("work", display="Work", color="#ff8800ff")
    team = caldav_account.readonly("team", display="Team")

    listed = await _provider(factory, caldav_proxy, caldav_account).list_calendars()
    calendars = {c.external_id: c for c in listed}

    assert set(calendars) == {work, team}
    assert (calendars[work].name, calendars[work].access_role, calendars[work].is_primary) == (
        "Work", AccessRole.OWNER, True)
    assert (calendars[team].name, calendars[team].access_role, calendars[team].is_primary) == (
        "Team", AccessRole.READER, False)


async def test_an_unchanged_calendar_costs_one_small_propfind(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    calendar = caldav_account.mkcalendar("work")
    caldav_account.put(calendar, _ics("UID:a\r\nDTSTART:20310303T080000Z\r\nDTEND:20310303T090000Z"))
    provider = _provider(factory, caldav_proxy, caldav_account)
    window = {"start": datetime(2031, 3, 3, 6, tzinfo=UTC), "end": datetime(2031, 3, 8, tzinfo=UTC)}

    first = await provider.busy(**window, calendar_ids=[calendar])
    before = len(caldav_proxy.requests)
    again = await provider.busy(**window, calendar_ids=[calendar])
    inside = await provider.busy(start=window["start"] + timedelta(hours=1), end=window["end"],
                                 calendar_ids=[calendar])

    assert _busy_spans(first[calendar]) == _busy_spans(again[calendar]) == _busy_spans(inside[calendar])
    assert len(caldav_proxy.reports()) == 1
    repeated = caldav_proxy.requests[before:]
    assert [(c.method, c.headers.get("depth")) for c in repeated] == [("PROPFIND", "0")] * 2
    assert "getctag" in repeated[0].body and "calendar-data" not in repeated[0].body

    caldav_account.put(calendar, _ics("UID:b\r\nDTSTART:20310304T080000Z\r\nDTEND:20310304T090000Z"))
    changed = await provider.busy(**window, calendar_ids=[calendar])
    assert len(caldav_proxy.reports()) == 2 and len(_busy_spans(changed[calendar])) == 2


async def test_a_retried_create_is_success_and_deleting_twice_is_too(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    calendar = caldav_account.mkcalendar("work")
    provider = _provider(factory, caldav_proxy, caldav_account)
    start = datetime(2031, 3, 4, 9, tzinfo=UTC)
    event = NewEvent(uid="booking-7@slotbot", title="Intro", start=start, end=start + timedelta(minutes=30),
                     time_zone="UTC", attendees=(Attendee("vera@example.org", "Vera"),))

    created = await provider.create_event(event, calendar_id=calendar)
    again = await provider.create_event(event, calendar_id=calendar)  # the outbox retried it

    assert created == again and created.external_id == f"{calendar}booking-7@slotbot.ics"
    puts = [c for c in caldav_proxy.requests if c.method == "PUT"]
    assert [c.status for c in puts] == [201, 412] and all(c.headers["if-none-match"] == "*" for c in puts)
    assert "SCHEDULE-AGENT=CLIENT" in puts[0].body.replace("\r\n ", "")  # Slotbot e-mails the invitation
    answer = await provider.busy(start=start, end=start + timedelta(hours=1), calendar_ids=[calendar])
    assert _busy_spans(answer[calendar]) == [(start, start + timedelta(minutes=30))]

    await provider.delete_event(created.external_id, calendar_id=calendar)
    await provider.delete_event(created.external_id, calendar_id=calendar)  # gone already: 404 is fine

    deletes = [c for c in caldav_proxy.requests if c.method == "DELETE"]
    assert [c.status for c in deletes] == [200] or [c.status for c in deletes] == [204]
    assert deletes[0].headers["if-match"].strip('"')  # the ETag read just before
    answer = await provider.busy(start=start, end=start + timedelta(hours=1), calendar_ids=[calendar])
    assert _busy_spans(answer[calendar]) == []


async def test_a_deleted_calendar_is_lost_alone(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    work = caldav_account.mkcalendar("work")
    old = caldav_account.mkcalendar("old")
    caldav_account.put(work, _ics("UID:a\r\nDTSTART:20310303T080000Z\r\nDTEND:20310303T090000Z"))
    assert caldav_account.delete(old) in (200, 204)

    answer = await _provider(factory, caldav_proxy, caldav_account).busy(
        start=datetime(2031, 3, 3, tzinfo=UTC), end=datetime(2031, 3, 4, tzinfo=UTC),
        calendar_ids=[work, old])

    assert isinstance(answer[old].error, AccessLost)
    assert len(_busy_spans(answer[work])) == 1


async def test_connecting_is_bounded_in_time_and_finds_the_calendars(
    caldav_proxy: CalDavProxy, caldav_account: Account, factory: CalDavFactory
) -> None:
    from bot.calendar.caldav.connect import CalDavForm, CalDavRefused, probe

    work = caldav_account.mkcalendar("work", display="Work", color="#336699ff")
    form = CalDavForm("other", caldav_account.username, caldav_account.password, caldav_proxy.base_url + "/")

    probed = await probe(form, factory=factory)

    found = [(c.href, c.name, c.color, c.writable) for c in probed.calendars]
    assert found == [(work, "Work", "#336699ff", True)]
    assert probed.credentials.home == f"{caldav_proxy.base_url}{caldav_account.home}"
    caldav_proxy.latency = 2.0  # the calendar listing (Depth 1) answers late
    loop = asyncio.get_running_loop()
    started = loop.time()
    with pytest.raises(CalDavRefused, match="did not answer within 1 seconds") as refused:
        await probe(form, factory=factory, seconds=0.6)
    assert loop.time() - started < 1.5 and refused.value.field == "url"
    caldav_proxy.latency = 0.0
