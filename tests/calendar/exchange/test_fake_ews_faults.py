"""Each row of the fault table in tests/fakes/exchange/server.py, measured through exchangelib (FailFast)."""

from __future__ import annotations

import datetime as dt
import socket
import time

import pytest
from exchangelib import EWSDateTime, EWSTimeZone, Version
from exchangelib import Mailbox as EwsMailbox
from exchangelib.errors import (
    ErrorAccessDenied,
    ErrorFolderNotFound,
    ErrorInternalServerError,
    ErrorInvalidServerVersion,
    ErrorItemNotFound,
    ErrorMailRecipientNotFound,
    ErrorNoFreeBusyAccess,
    ErrorNonExistentMailbox,
    ErrorServerBusy,
    ErrorTimeoutExpired,
    MalformedResponseError,
    TransportError,
    UnauthorizedError,
)
from exchangelib.folders import Calendar
from exchangelib.items import CalendarItem
from exchangelib.properties import DistinguishedFolderId, ItemId
from exchangelib.protocol import BaseProtocol, CachingProtocol
from exchangelib.version import EXCHANGE_2010_SP2

from tests.fakes.exchange import DEFAULT_EMAIL, FakeExchange
from tests.fakes.exchange.client import BASIC, account

pytest_plugins = ["tests.fakes.exchange.fixtures"]

UTC = EWSTimeZone("UTC")
V2010 = Version(build=EXCHANGE_2010_SP2)
WINDOW = (EWSDateTime(2025, 3, 3, tzinfo=UTC), EWSDateTime(2025, 3, 10, tzinfo=UTC))


def view(acc: object, folder: Calendar | None = None) -> list[object]:
    """Read the test window of ``folder`` (default: the account's calendar)."""
    return list((folder or acc.calendar).view(*WINDOW))  # type: ignore[attr-defined]


@pytest.fixture
def signed_in(exchange_fake: FakeExchange) -> object:
    """An account whose root and calendar are already resolved (so a fault hits the FindItem)."""
    acc = account(exchange_fake, version=V2010)
    exchange_fake.add_event(
        exchange_fake.host.calendar,
        dt.datetime(2025, 3, 4, 9, tzinfo=dt.UTC),
        dt.datetime(2025, 3, 4, 10, tzinfo=dt.UTC),
    )
    assert len(view(acc)) == 1
    return acc


@pytest.mark.parametrize("auth_type", ["NTLM", BASIC])
def test_wrong_password(exchange_fake: FakeExchange, auth_type: str) -> None:
    with pytest.raises(UnauthorizedError, match=r"Invalid credentials for http://127\.0\.0\.1"):
        _ = account(exchange_fake, password="nope", auth_type=auth_type).root


def test_http_500_soap_fault(exchange_fake: FakeExchange, signed_in: object) -> None:
    exchange_fake.fail_next(1, 500)
    with pytest.raises(ErrorInternalServerError):
        view(signed_in)
    assert len(view(signed_in)) == 1  # one failure only


@pytest.mark.parametrize(("status", "page"), [(500, True), (503, False)])
def test_http_error_pages_are_server_busy(
    exchange_fake: FakeExchange, signed_in: object, status: int, page: bool
) -> None:
    exchange_fake.fail_next(1, status, page=page)
    with pytest.raises(ErrorServerBusy, match="ErrorInternalServerTransientError") as raised:
        view(signed_in)
    assert raised.value.back_off == 10  # exchangelib's RETRY_WAIT, not the server's word
    assert exchange_fake.operations("FindItem")[-1].recorded.status == status


def test_http_429_with_retry_after(exchange_fake: FakeExchange, signed_in: object) -> None:
    exchange_fake.fail_next(1, 429, retry_after=7)
    with pytest.raises(MalformedResponseError, match="Code: 429") as raised:
        view(signed_in)
    assert "'Retry-After': '7'" in str(raised.value)  # only inside the message


def test_error_server_busy_carries_the_back_off(exchange_fake: FakeExchange, signed_in: object) -> None:
    exchange_fake.server_busy(1, back_off_ms=5000)
    with pytest.raises(ErrorServerBusy) as raised:
        view(signed_in)
    assert raised.value.back_off == 5.0


def test_a_fault_limited_to_one_calendar(exchange_fake: FakeExchange, signed_in: object) -> None:
    team = exchange_fake.host.add_calendar("Team")
    team_folder = next(f for f in signed_in.root.walk() if f.name == "Team")  # type: ignore[attr-defined]
    exchange_fake.fail_next(1, 503, calendar=team, operation="FindItem")
    assert len(view(signed_in)) == 1  # the primary calendar is not affected
    with pytest.raises(ErrorServerBusy):
        view(signed_in, team_folder)
    assert view(signed_in, team_folder) == []


@pytest.mark.parametrize(
    ("fault", "error"),
    [("ErrorAccessDenied", ErrorAccessDenied), ("ErrorFolderNotFound", ErrorFolderNotFound)],
)
def test_folder_faults(exchange_fake: FakeExchange, signed_in: object, fault: str, error: type) -> None:
    exchange_fake.host.calendar.fault = fault  # type: ignore[assignment]
    with pytest.raises(error):
        view(signed_in)
    CachingProtocol.clear_cache()
    with pytest.raises(error):  # through account.calendar too (GetFolder)
        _ = account(exchange_fake, version=V2010).calendar


def test_non_existent_mailbox(exchange_fake: FakeExchange, signed_in: object) -> None:
    ghost = Calendar(
        root=signed_in.root,  # type: ignore[attr-defined]
        _distinguished_id=DistinguishedFolderId(
            id="calendar", mailbox=EwsMailbox(email_address="ghost@contoso.example")
        ),
    )
    with pytest.raises(ErrorNonExistentMailbox):
        view(signed_in, ghost)


def test_free_busy_errors_per_mailbox(exchange_fake: FakeExchange, signed_in: object) -> None:
    exchange_fake.add_mailbox("closed@contoso.example").share_with(DEFAULT_EMAIL, "none")
    start, end = EWSDateTime(2025, 3, 3, tzinfo=UTC), EWSDateTime(2025, 3, 4, tzinfo=UTC)
    protocol = signed_in.protocol  # type: ignore[attr-defined]
    [missing] = protocol.get_free_busy_info([("ghost@contoso.example", "Required", False)], start, end)
    assert isinstance(missing, ErrorMailRecipientNotFound)  # a value
    with pytest.raises(ErrorNoFreeBusyAccess):  # raised, not a value
        list(protocol.get_free_busy_info([("closed@contoso.example", "Required", False)], start, end))


def test_item_not_found(exchange_fake: FakeExchange, signed_in: object) -> None:
    unknown = ItemId("AAMkAAAAnot-an-item", "DwAAAA")
    with pytest.raises(ErrorItemNotFound):
        CalendarItem(account=signed_in, folder=signed_in.calendar, _id=unknown).delete()  # type: ignore[attr-defined]
    [value] = signed_in.bulk_delete([unknown])  # type: ignore[attr-defined]
    assert isinstance(value, ErrorItemNotFound)


@pytest.mark.parametrize("version", [None, V2010])
def test_wrong_path(exchange_fake: FakeExchange, version: Version | None) -> None:
    with pytest.raises(MalformedResponseError, match="Code: 404"):
        _ = account(f"{exchange_fake.base_url}/EWS/Nothing.asmx", version=version).root
    assert exchange_fake.requests[-1].status == 404


def test_paths_match_without_case(exchange_fake: FakeExchange) -> None:
    assert account(f"{exchange_fake.base_url}/ews/EXCHANGE.asmx", version=V2010).root.name == "root"


@pytest.mark.parametrize(("version", "error"), [(None, TransportError), (V2010, ErrorTimeoutExpired)])
def test_nothing_listening(version: Version | None, error: type) -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    CachingProtocol.clear_cache()
    try:
        with pytest.raises(error):
            _ = account(f"http://127.0.0.1:{port}/EWS/Exchange.asmx", version=version).root
    finally:
        CachingProtocol.clear_cache()


def test_read_timeout(exchange_fake: FakeExchange, signed_in: object) -> None:
    BaseProtocol.TIMEOUT = 0.3  # restored by the fixture
    exchange_fake.fail_next(1, None, delay=0.8)
    started = time.perf_counter()
    with pytest.raises(ErrorTimeoutExpired, match="ReadTimeout"):
        view(signed_in)
    assert time.perf_counter() - started < 0.8
    time.sleep(0.7)  # let the slow answer finish before the fake stops


def test_an_operation_the_server_lacks(exchange_fake: FakeExchange, signed_in: object) -> None:
    with pytest.raises(ErrorInvalidServerVersion):
        signed_in.protocol.resolve_names(["someone"])  # type: ignore[attr-defined]
    assert len(exchange_fake.operations("ResolveNames")) == 10  # once per API version
