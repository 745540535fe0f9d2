"""The fake Exchange driven only through exchangelib: sign-in, folders, calendar views, free/busy, writes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import pytest
from exchangelib import (
    BASIC,
    Attendee,
    Build,
    CalendarItem,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    Version,
)
from exchangelib import Mailbox as EwsMailbox
from exchangelib.errors import ErrorAccessDenied, TransportError, UnauthorizedError
from exchangelib.folders import Calendar
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY, SEND_TO_NONE
from exchangelib.properties import DistinguishedFolderId
from exchangelib.protocol import BaseProtocol, CachingProtocol
from exchangelib.version import EXCHANGE_2010_SP2
from requests.adapters import HTTPAdapter

from tests.fakes.exchange import DEFAULT_EMAIL, DEFAULT_USERNAME, FakeExchange
from tests.fakes.exchange.client import account, isolated

pytest_plugins = ["tests.fakes.exchange.fixtures"]

UTC = dt.UTC
EUTC = EWSTimeZone("UTC")
BERLIN = EWSTimeZone("Europe/Berlin")
COLLEAGUE = "colleague@contoso.example"
V2010 = Version(build=EXCHANGE_2010_SP2)


class BookingId(ExtendedProperty):
    """Slotbot's booking id on an item (a named string property in its own property set)."""

    property_set_id = "c11ff724-aa03-4555-9952-8fa248a11c3e"
    property_name = "SlotbotBookingId"
    property_type = "String"


@pytest.fixture
def booking_field() -> Iterator[None]:
    """Register ``booking_id`` on CalendarItem for one test (exchangelib's registry is global)."""
    CalendarItem.register("booking_id", BookingId)
    try:
        yield
    finally:
        CalendarItem.deregister("booking_id")


def at(day: int, hour: int, minute: int = 0) -> dt.datetime:
    """March 2025 in UTC."""
    return dt.datetime(2025, 3, day, hour, minute, tzinfo=UTC)


def week() -> tuple[EWSDateTime, EWSDateTime]:
    """The calendar window the tests read."""
    return EWSDateTime(2025, 3, 3, tzinfo=EUTC), EWSDateTime(2025, 3, 10, tzinfo=EUTC)


def shared_calendar(host_account: object, address: str) -> Calendar:
    """A colleague's distinguished calendar, reached without reading their root (as Slotbot does)."""
    mailbox = EwsMailbox(email_address=address)
    return Calendar(
        root=host_account.root,  # type: ignore[attr-defined]
        _distinguished_id=DistinguishedFolderId(id="calendar", mailbox=mailbox),
    )


# -- version and sign-in ----------------------------------------------------------------------------


def test_exchangelib_guesses_the_version_from_convert_id(exchange_fake: FakeExchange) -> None:
    acc = account(exchange_fake)
    assert acc.version.build == Build(15, 1, 2507, 6)
    assert acc.version.api_version == "Exchange2016"  # V2017_07_11 is not a request version
    assert [c.operation for c in exchange_fake.calls][:1] == ["ConvertId"]


def test_a_configured_version_skips_the_guess(exchange_fake: FakeExchange) -> None:
    _ = account(exchange_fake, version=V2010).root
    assert exchange_fake.operations("ConvertId") == []
    assert 'Version="Exchange2010_SP2"' in exchange_fake.operations("GetFolder")[0].recorded.body


@pytest.mark.parametrize("username", [DEFAULT_EMAIL, DEFAULT_USERNAME, "contoso\\HANNAH"])
def test_ntlm_signs_in_once_per_connection(exchange_fake: FakeExchange, username: str) -> None:
    acc = account(exchange_fake, username=username, version=V2010)
    _ = acc.root
    list(acc.calendar.view(*week()))
    assert exchange_fake.ntlm_handshakes == 1
    assert exchange_fake.failed_sign_ins == 0
    assert {c.mailbox for c in exchange_fake.calls} == {DEFAULT_EMAIL}
    assert len(exchange_fake.calls) == 3  # GetFolder root, GetFolder calendar, FindItem


@pytest.mark.parametrize("username", [DEFAULT_EMAIL, DEFAULT_USERNAME])
def test_basic_signs_in(exchange_fake: FakeExchange, username: str) -> None:
    acc = account(exchange_fake, username=username, auth_type=BASIC, version=V2010)
    assert acc.root.name == "root"
    assert exchange_fake.ntlm_handshakes == 0
    assert exchange_fake.requests[0].headers["authorization"].startswith("Basic ")


@pytest.mark.parametrize("auth_type", ["NTLM", BASIC])
def test_a_wrong_password_is_unauthorized(exchange_fake: FakeExchange, auth_type: str) -> None:
    with pytest.raises(UnauthorizedError):
        _ = account(exchange_fake, password="wrong", auth_type=auth_type, version=V2010).root
    assert exchange_fake.failed_sign_ins == 1
    assert exchange_fake.unauthorized >= 1
    assert exchange_fake.calls == []


def test_only_the_enabled_schemes_are_offered() -> None:
    with isolated(), FakeExchange(schemes=("Basic",)) as fake:
        with pytest.raises(UnauthorizedError):
            _ = account(fake, version=V2010).root  # NTLM is not on offer
        assert fake.requests[0].status == 401
        CachingProtocol.clear_cache()  # the protocol cache ignores auth_type
        assert account(fake, auth_type=BASIC, version=V2010).root.name == "root"
    with isolated(), FakeExchange(schemes=("NTLM",)) as fake:
        with pytest.raises(UnauthorizedError):
            _ = account(fake, auth_type=BASIC, version=V2010).root


def test_tls_with_ntlm_channel_binding(exchange_tls_fake: FakeExchange) -> None:
    assert exchange_tls_fake.url.startswith("https://127.0.0.1:")
    acc = account(exchange_tls_fake)
    assert acc.root.name == "root"
    assert exchange_tls_fake.ntlm_handshakes == 1
    assert exchange_tls_fake.env()["EXCHANGE_CA_BUNDLE"].endswith(".pem")


def test_tls_without_trust_fails(exchange_tls_fake: FakeExchange) -> None:
    BaseProtocol.HTTP_ADAPTER_CLS = HTTPAdapter
    CachingProtocol.clear_cache()
    with pytest.raises(TransportError, match="CERTIFICATE_VERIFY_FAILED"):
        _ = account(exchange_tls_fake, version=V2010).root


# -- folders and calendar views ---------------------------------------------------------------------


def test_folder_listing_finds_the_calendars(exchange_fake: FakeExchange) -> None:
    exchange_fake.host.add_calendar("Team")
    exchange_fake.host.add_folder("Projects")
    acc = account(exchange_fake, version=V2010)
    calendars = sorted(f.name for f in acc.root.walk() if f.folder_class == "IPF.Appointment")
    assert calendars == ["Calendar", "Team"]
    assert any('Traversal="Deep"' in c.recorded.body for c in exchange_fake.operations("FindFolder"))
    assert acc.calendar.name == "Calendar"


def test_the_calendar_view_carries_every_show_as_value(exchange_fake: FakeExchange) -> None:
    folder = exchange_fake.host.calendar
    values = ["Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"]
    for hour, value in enumerate(values, start=8):
        exchange_fake.add_event(folder, at(4, hour), at(4, hour, 30), subject=value, show_as=value)  # type: ignore[arg-type]
    exchange_fake.add_event(
        folder, at(5, 9), at(5, 10), subject="Dropped", cancelled=True, my_response="Decline"
    )
    exchange_fake.add_event(folder, at(20, 9), at(20, 10), subject="Outside the window")
    acc = account(exchange_fake, version=V2010)
    fields = ("subject", "start", "end", "legacy_free_busy_status", "is_cancelled", "my_response_type", "uid")
    items = list(acc.calendar.view(*week()).only(*fields))
    assert [i.legacy_free_busy_status for i in items] == [*values, "Busy"]
    assert items[0].start == at(4, 8) and items[0].end == at(4, 8, 30)
    assert (items[-1].subject, items[-1].is_cancelled, items[-1].my_response_type) == (
        "Dropped",
        True,
        "Decline",
    )
    assert all(i.uid for i in items)


def test_max_entries_returns_the_first_items(exchange_fake: FakeExchange) -> None:
    for day in (3, 4, 5, 6):
        exchange_fake.add_event(exchange_fake.host.calendar, at(day, 9), at(day, 10), subject=f"d{day}")
    acc = account(exchange_fake, version=V2010)
    items = list(acc.calendar.view(*week(), max_items=2).only("subject"))
    assert [i.subject for i in items] == ["d3", "d4"]
    assert 'MaxEntriesReturned="2"' in exchange_fake.operations("FindItem")[0].recorded.body


def test_all_day_items_are_local_midnights_in_their_zone(exchange_fake: FakeExchange) -> None:
    # Saturday 29 and Sunday 30 March 2025; Berlin springs forward on the Sunday.
    exchange_fake.add_event(
        exchange_fake.host.calendar,
        dt.date(2025, 3, 29),
        dt.date(2025, 3, 31),
        subject="Away",
        time_zone="Europe/Berlin",
        show_as="OOF",
    )
    acc = account(exchange_fake, version=V2010)
    start, end = EWSDateTime(2025, 3, 28, tzinfo=EUTC), EWSDateTime(2025, 4, 2, tzinfo=EUTC)
    raw = next(iter(acc.calendar.view(start, end).only("start", "end", "_start_timezone", "_end_timezone")))
    assert raw.start == dt.datetime(2025, 3, 28, 23, tzinfo=UTC)  # midnight CET
    assert raw.end == dt.datetime(2025, 3, 30, 22, tzinfo=UTC)  # midnight CEST
    assert raw._start_timezone == raw._end_timezone == BERLIN
    with_flag = next(
        iter(
            acc.calendar.view(start, end).only(
                "start", "end", "is_all_day", "_start_timezone", "_end_timezone"
            )
        )
    )
    # exchangelib's date conversion subtracts 24 h in UTC: the Sunday is lost (INTEGRATION-NOTES).
    assert (with_flag.start, with_flag.end) == (dt.date(2025, 3, 29), dt.date(2025, 3, 29))


def test_a_colleagues_calendar_by_share_level(exchange_fake: FakeExchange) -> None:
    colleague = exchange_fake.add_mailbox(COLLEAGUE)
    exchange_fake.add_event(colleague.calendar, at(4, 9), at(4, 10), subject="Colleague busy")
    acc = account(exchange_fake, version=V2010)
    with pytest.raises(ErrorAccessDenied):  # the default: free/busy only
        list(shared_calendar(acc, COLLEAGUE).view(*week()))
    colleague.share_with(DEFAULT_EMAIL, "reviewer")
    items = list(shared_calendar(acc, COLLEAGUE).view(*week()).only("subject", "start"))
    assert [i.subject for i in items] == ["Colleague busy"]
    assert COLLEAGUE in exchange_fake.operations("FindItem")[-1].subjects
    with pytest.raises(ErrorAccessDenied):  # a calendar-only share does not open the mailbox root
        _ = account(exchange_fake, COLLEAGUE, username=DEFAULT_EMAIL, version=V2010).root


# -- free/busy ----------------------------------------------------------------------------------------


def test_free_busy_for_a_free_busy_only_colleague(exchange_fake: FakeExchange) -> None:
    colleague = exchange_fake.add_mailbox(COLLEAGUE)
    exchange_fake.add_event(colleague.calendar, at(3, 8), at(3, 9), subject="Private", show_as="Tentative")
    exchange_fake.add_event(colleague.calendar, at(3, 12), at(3, 13), subject="Gone", cancelled=True)
    acc = account(exchange_fake, version=V2010)
    start, end = EWSDateTime(2025, 3, 3, tzinfo=BERLIN), EWSDateTime(2025, 3, 4, tzinfo=BERLIN)
    asked = [(COLLEAGUE, "Required", False), ("ghost@contoso.example", "Required", False)]
    view, missing = list(acc.protocol.get_free_busy_info(asked, start, end))
    assert view.view_type == "FreeBusyMerged"  # DetailedMerged asked; availability-only answers less
    [event] = view.calendar_events
    assert (event.start, event.end, event.busy_type) == (
        EWSDateTime(2025, 3, 3, 9, tzinfo=BERLIN),
        EWSDateTime(2025, 3, 3, 10, tzinfo=BERLIN),
        "Tentative",
    )
    assert event.details is None
    assert view.merged[18:20] == "11"  # 09:00-10:00 Berlin in 30-minute slots
    assert type(missing).__name__ == "ErrorMailRecipientNotFound"
    assert exchange_fake.operations("GetServerTimeZones")


def test_free_busy_details_for_a_reviewer(exchange_fake: FakeExchange) -> None:
    colleague = exchange_fake.add_mailbox(COLLEAGUE)
    colleague.share_with(DEFAULT_EMAIL, "reviewer")
    exchange_fake.add_event(colleague.calendar, at(3, 8), at(3, 9), subject="Planning")
    acc = account(exchange_fake, version=V2010)
    start, end = EWSDateTime(2025, 3, 3, tzinfo=EUTC), EWSDateTime(2025, 3, 4, tzinfo=EUTC)
    [view] = acc.protocol.get_free_busy_info([(COLLEAGUE, "Required", False)], start, end)
    assert view.view_type == "DetailedMerged"
    assert view.calendar_events[0].details.subject == "Planning"
    assert view.calendar_events[0].start == EWSDateTime(2025, 3, 3, 8, tzinfo=EUTC)


# -- writes -------------------------------------------------------------------------------------------


def test_create_with_invitations_then_find_it_by_its_booking_id(
    exchange_fake: FakeExchange, booking_field: None
) -> None:
    acc = account(exchange_fake, version=V2010)
    item = CalendarItem(
        account=acc,
        folder=acc.calendar,
        subject="Intro call",
        uid="slotbot-b-1",
        start=EWSDateTime(2025, 3, 5, 10, tzinfo=BERLIN),
        end=EWSDateTime(2025, 3, 5, 10, 30, tzinfo=BERLIN),
        required_attendees=[Attendee(mailbox=EwsMailbox(email_address="guest@example.org"))],
        legacy_free_busy_status="Busy",
        booking_id="b-1",
    )
    item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
    [invitation] = exchange_fake.invitations
    assert (invitation.item_id, invitation.attendee, invitation.mode) == (
        item.id,
        "guest@example.org",
        "SendToAllAndSaveCopy",
    )
    stored = exchange_fake.host.calendar.events[0]
    assert (stored.uid, stored.start, stored.time_zone) == ("slotbot-b-1", at(5, 9), "Europe/Berlin")
    found = list(acc.calendar.filter(booking_id="b-1"))
    assert [(f.id, f.uid, f.booking_id) for f in found] == [(item.id, "slotbot-b-1", "b-1")]
    assert list(acc.calendar.filter(booking_id="b-2")) == []
    assert "IsEqualTo" in exchange_fake.operations("FindItem")[-1].recorded.body


def test_create_without_invitations_records_none(exchange_fake: FakeExchange) -> None:
    acc = account(exchange_fake, version=V2010)
    item = CalendarItem(
        account=acc,
        folder=acc.calendar,
        subject="Hold",
        start=EWSDateTime(2025, 3, 6, 9, tzinfo=EUTC),
        end=EWSDateTime(2025, 3, 6, 10, tzinfo=EUTC),
        required_attendees=[Attendee(mailbox=EwsMailbox(email_address="guest@example.org"))],
    )
    item.save(send_meeting_invitations=SEND_TO_NONE)
    assert exchange_fake.invitations == []
    assert [e.subject for e in exchange_fake.host.calendar.events] == ["Hold"]


def test_delete_sends_cancellations_and_an_unknown_id_is_not_found(exchange_fake: FakeExchange) -> None:
    event = exchange_fake.add_event(
        exchange_fake.host.calendar, at(6, 9), at(6, 10), subject="Booked", attendees=("guest@example.org",)
    )
    acc = account(exchange_fake, version=V2010)
    [item] = acc.calendar.view(*week())
    item.delete(send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY)
    assert exchange_fake.host.calendar.events == []
    [cancellation] = exchange_fake.cancellations
    assert (cancellation.item_id, cancellation.attendees) == (event.id, ("guest@example.org",))
    [missing] = acc.bulk_delete([(event.id, event.change_key)])
    assert type(missing).__name__ == "ErrorItemNotFound"


def test_writing_to_a_colleagues_calendar_is_denied(exchange_fake: FakeExchange) -> None:
    colleague = exchange_fake.add_mailbox(COLLEAGUE)
    colleague.share_with(DEFAULT_EMAIL, "reviewer")
    acc = account(exchange_fake, version=V2010)
    item = CalendarItem(
        account=acc,
        folder=shared_calendar(acc, COLLEAGUE),
        subject="Sneaky",
        start=EWSDateTime(2025, 3, 6, 9, tzinfo=EUTC),
        end=EWSDateTime(2025, 3, 6, 10, tzinfo=EUTC),
    )
    with pytest.raises(ErrorAccessDenied):
        item.save(send_meeting_invitations=SEND_TO_NONE)
    assert colleague.calendar.events == []


# -- concurrency and latency --------------------------------------------------------------------------


def test_latency_and_requests_in_flight(exchange_fake: FakeExchange) -> None:
    exchange_fake.add_mailbox(COLLEAGUE, "Colleague-Password-1")
    exchange_fake.latency = 0.3

    def zones(email: str, password: str) -> int:
        # Not account.root: exchangelib computes Account.root/.calendar under one lock per class
        # (cached_property's threaded_cached_property), so those serialise across all accounts.
        acc = account(exchange_fake, email, password=password, version=V2010)
        return len(list(acc.protocol.get_timezones([BERLIN])))

    with ThreadPoolExecutor(2) as pool:
        found = list(pool.map(zones, [DEFAULT_EMAIL, COLLEAGUE], ["Host-Password-1", "Colleague-Password-1"]))
    assert found == [1, 1]
    assert exchange_fake.max_in_flight == 2
