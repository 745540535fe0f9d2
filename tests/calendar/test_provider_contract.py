"""The calendar provider contract: every provider behind ``CalendarProvider`` must pass these.

Each provider is built by the same registry factory the app uses, over its real backing store:
``local`` over a migrated database (SQLite and PostgreSQL), ``google`` over the fake Google through
google-api-python-client, ``microsoft`` over the fake identity platform and Graph (TLS) through
msal and aiohttp. A :class:`Backend` adapts each store's knobs (seed a busy event, lose access to
a calendar, refuse a token refresh, fail or delay the next requests) so the assertions are
written once: one behaviour for every provider (per-calendar errors, windows, retries, timeouts).

To add a provider: write one ``_<kind>_backend`` context manager and add its kind to ``KINDS``
(a provider that talks to a service also to ``REMOTE_KINDS``, with the HTTP knobs filled in).

Read-only providers have their own subset at the end (``feed``: an ICS feed has one calendar, which
it only reads, from a stored copy the refresh keeps): the same Protocol shape, windows and errors;
writes refused with a clear error instead of the write cases; the stored copy's age bounds instead
of retries (a feed is fetched in the background, never while busy time is asked).
"""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

import aiohttp
import pytest
import pytest_asyncio
from sqlalchemy import delete

from bot.calendar.base import (
    AccessLost,
    AccessRole,
    AllDaySpan,
    Attendee,
    BusyBlock,
    CalendarBusy,
    CalendarInfo,
    CalendarProvider,
    ConnectionContext,
    CreatedEvent,
    NewEvent,
    ProviderTimeout,
    ProviderUnavailable,
    RateLimited,
    ReauthRequired,
    TimedSpan,
)
from bot.calendar.google.credentials import credentials_to_json
from bot.calendar.google.provider import google_factory
from bot.calendar.http import RetryPolicy
from bot.calendar.local import event_to_ics, local_factory
from bot.calendar.microsoft.connect import complete_flow, start_flow
from bot.calendar.microsoft.provider import microsoft_factory
from bot.calendar.threads import WorkerThreads
from storage.db import create_engine, session_factory, upgrade
from storage.models import Calendar, CalendarConnection, LocalEvent, User
from tests.conftest import _create_database, _require_postgres

if TYPE_CHECKING:  # imported where used, so the fakes stay importable as pytest plugins
    from tests.fakes.caldav import Radicale
    from tests.fakes.google import FakeGoogle
    from tests.fakes.microsoft import FakeMicrosoft, TlsFiles

pytestmark = pytest.mark.filterwarnings("ignore:response_mode='form_post' is recommended:UserWarning")
pytest_plugins = ["tests.fakes.caldav.fixtures"]  # the Radicale server, one per session

REMOTE_KINDS = ["google", "microsoft", "exchange", "caldav"]
KINDS = ["local-sqlite", "local-postgresql", *REMOTE_KINDS]
WEEK = datetime(2031, 3, 3, tzinfo=UTC)  # a Monday
WEEK_END = WEEK + timedelta(days=7)


@dataclass
class Backend:
    """One provider under test and the knobs of the store behind it."""

    kind: str
    provider: CalendarProvider
    primary: str  # external id of the calendar that must come back as the default
    other: str  # external id of a second calendar the account can read
    add_busy: Callable[[str, datetime, datetime], Awaitable[None]]
    lose_access: Callable[[str, int], Awaitable[None]] | None = None
    # Makes and returns a provider whose next token refresh the store refuses.
    refused_refresh: Callable[[], Awaitable[CalendarProvider]] | None = None
    refresh_attempts: Callable[[], int] = lambda: 0
    secrets: list[str] = field(default_factory=list)  # must never appear in an error message
    # Remote stores: a provider of the same factory for connection ``n``, the answer delay knob,
    # and the most requests the store served at once.
    connection: Callable[[int], CalendarProvider] | None = None
    set_latency: Callable[[float], None] = lambda seconds: None
    max_in_flight: Callable[[], int] = lambda: 0
    reset_in_flight: Callable[[], None] = lambda: None
    # Remote stores, the HTTP knobs: a provider of a new factory with this retry policy and
    # timeout; the next ``count`` requests (about one calendar only, when given) answer
    # ``status`` (None: the normal answer) with ``Retry-After`` after ``delay`` seconds; the busy
    # requests the store received; more readable calendars; how many calendars one busy request
    # reads at most (the calendars of a failed request share its error).
    make: Callable[..., CalendarProvider] | None = None
    fail_next: Callable[..., None] = lambda *args, **kw: None
    busy_requests: Callable[[], int] = lambda: 0
    add_calendars: Callable[[int], list[str]] = lambda n: []
    batch_size: int = 1


def _ctx(credentials: str, email: str, connection_id: int = 1) -> ConnectionContext:
    async def save(new: str) -> None:
        return None

    return ConnectionContext(
        connection_id=connection_id, account_email=email, credentials=credentials, save_credentials=save
    )


# -- local: the database ----------------------------------------------------------------------


@asynccontextmanager
async def _local_backend(url: str) -> AsyncIterator[Backend]:
    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    try:
        async with sessions() as session, session.begin():
            user = User(display_name="Hannah", email="hannah@example.com", slug="hannah")
            session.add(user)
            await session.flush()
            connection = CalendarConnection(user_id=user.id, provider="local", account_email="local")
            session.add(connection)
            await session.flush()
            rows = {
                name: Calendar(
                    connection_id=connection.id,
                    user_id=user.id,
                    external_id=name,
                    name=name.title(),
                    access_role="owner",
                    is_default=name == "personal",
                )
                for name in ("personal", "family")
            }
            session.add_all(rows.values())
            await session.flush()
            row_ids = {name: row.id for name, row in rows.items()}
            connection_id = connection.id
        provider = local_factory(lambda: sessions)(_ctx("", "local", connection_id))

        async def add_busy(calendar_id: str, start: datetime, end: datetime) -> None:
            uid = f"seed-{calendar_id}-{start.timestamp():.0f}"
            event = NewEvent(uid=uid, title="Dentist", start=start, end=end, time_zone="UTC")
            async with sessions() as session, session.begin():
                session.add(LocalEvent(calendar_id=row_ids[calendar_id], uid=uid, ical=event_to_ics(event)))

        async def lose_access(calendar_id: str, status: int) -> None:
            # A local calendar cannot be forbidden; it can be deleted (404 is the analogue).
            async with sessions() as session, session.begin():
                await session.execute(delete(Calendar).where(Calendar.id == row_ids[calendar_id]))

        yield Backend("local", provider, "personal", "family", add_busy, lose_access)
    finally:
        await engine.dispose()


# -- google: the fake Google through google-api-python-client ---------------------------------


def _google_credentials(fake: FakeGoogle, *, expires_in: int = 3599) -> tuple[str, str]:
    issued = fake.issue_tokens(expires_in=expires_in)
    stored = credentials_to_json(
        refresh_token=issued["refresh_token"],
        token=issued["access_token"],
        expiry=datetime.now(UTC) + timedelta(seconds=expires_in),
        scopes=issued["scope"].split(),
    )
    return stored, issued["refresh_token"]


@asynccontextmanager
async def _google_backend() -> AsyncIterator[Backend]:
    from tests.fakes.google import FakeGoogle

    threads = WorkerThreads()
    with FakeGoogle() as fake:
        fake.add_calendar("team@example.com", "Team", access_role="reader")
        make = google_factory(fake.settings(), threads=threads, timeout=5.0, retry=RetryPolicy(max_retries=0))
        stored, refresh_token = _google_credentials(fake)

        async def add_busy(calendar_id: str, start: datetime, end: datetime) -> None:
            fake.add_busy(calendar_id, start, end)

        async def lose_access(calendar_id: str, status: int) -> None:
            fake.lose_access(calendar_id, status)

        def provider(retry: RetryPolicy = RetryPolicy(), timeout: float = 5.0) -> CalendarProvider:
            factory = google_factory(fake.settings(), threads=threads, timeout=timeout, retry=retry)
            return factory(_ctx(stored, fake.account_email, connection_id=3))

        def fail_next(
            count: int, status: int | None, retry_after: str | None = None, *, calendar: str | None = None,
            delay: float = 0.0,
        ) -> None:
            throttled = status == 429
            fake.fail_next(
                count,
                status=status,
                reason="rateLimitExceeded" if throttled else "backendError",
                message="Injected",
                domain="usageLimits" if throttled else "global",
                retry_after=retry_after,
                calendar=calendar,
                delay=delay,
            )

        def add_calendars(count: int) -> list[str]:
            ids = [f"crowd-{n}@example.com" for n in range(count)]
            for cid in ids:
                fake.add_calendar(cid, access_role="reader")
            return ids

        async def refused_refresh() -> CalendarProvider:
            expired, token = _google_credentials(fake, expires_in=0)
            backend.secrets.append(token)
            fake.revoke_all()  # the user removed Slotbot's access at Google
            return make(_ctx(expired, fake.account_email))

        backend = Backend(
            "google",
            make(_ctx(stored, fake.account_email)),
            fake.account_email,
            "team@example.com",
            add_busy,
            lose_access,
            refused_refresh,
            lambda: len(fake.token_calls("refresh_token")),
            [refresh_token],
            lambda n: make(_ctx(stored, fake.account_email, connection_id=n)),
            lambda seconds: setattr(fake, "latency", seconds),
            lambda: fake.max_in_flight,
            lambda: setattr(fake, "max_in_flight", 0),
            provider,
            fail_next,
            lambda: len(fake.api_calls("freebusy.query")),
            add_calendars,
            batch_size=50,  # freeBusy reads up to 50 calendars in one request
        )
        try:
            yield backend
        finally:
            threads.shutdown()


# -- microsoft: the fake identity platform and Graph through msal and aiohttp -------------------


@asynccontextmanager
async def _microsoft_backend(tls: TlsFiles) -> AsyncIterator[Backend]:
    from tests.fakes.microsoft import FakeMicrosoft

    fake = FakeMicrosoft(tls)
    await fake.start()
    try:
        async with _microsoft_provider(fake) as made:
            yield made
    finally:
        await fake.stop()


@asynccontextmanager
async def _microsoft_provider(fake: FakeMicrosoft) -> AsyncIterator[Backend]:
    settings = fake.settings()
    owner = fake.user()
    projects = fake.add_calendar(name="Projects")
    fake.add_calendar(name="Board", owner_email="board@contoso.example", can_edit=False)
    threads = WorkerThreads()
    async with aiohttp.ClientSession() as http:
        make = microsoft_factory(settings, lambda: http, threads=threads, retry=RetryPolicy(max_retries=0))

        async def connect() -> str:
            auth_uri, flow = await start_flow(
                settings, redirect_uri="https://slotbot.example/oauth/microsoft/callback",
                state="contract", login_hint=owner.email,
            )
            grant = await complete_flow(settings, flow=flow, query_params=await fake.approve(auth_uri))
            return grant.credentials

        credentials = await connect()

        async def add_busy(calendar_id: str, start: datetime, end: datetime) -> None:
            calendar = owner.calendar(calendar_id)
            assert calendar is not None
            fake.add_event(calendar, start, end)

        async def lose_access(calendar_id: str, status: int) -> None:
            calendar = owner.calendar(calendar_id)
            assert calendar is not None
            calendar.fault = status

        async def refused_refresh() -> CalendarProvider:
            fresh = await connect()
            backend.secrets.extend(fake.refresh_tokens(owner.email))
            fake.invalidate_access_tokens(owner.email)  # Graph answers 401: msal must refresh
            fake.revoke_refresh_tokens(owner.email)  # ... and the refresh is refused
            return make(_ctx(fresh, owner.email, connection_id=2))

        def refresh_attempts() -> int:
            return sum(1 for r in fake.token_requests if r["grant_type"] == "refresh_token")

        def provider(retry: RetryPolicy = RetryPolicy(), timeout: float = 20.0) -> CalendarProvider:
            factory = microsoft_factory(
                settings, lambda: http, threads=threads, retry=retry, request_timeout=timeout
            )
            return factory(_ctx(credentials, owner.email, connection_id=3))

        def fail_next(
            count: int, status: int | None, retry_after: str | None = None, *, calendar: str | None = None,
            delay: float = 0.0,
        ) -> None:
            fake.fail_next(count, status=status, retry_after=retry_after, calendar=calendar, delay=delay)

        backend = Backend(
            "microsoft",
            make(_ctx(credentials, owner.email)),
            owner.default_calendar.id,
            projects.id,
            add_busy,
            lose_access,
            refused_refresh,
            refresh_attempts,
            connection=lambda n: make(_ctx(credentials, owner.email, connection_id=n)),
            set_latency=lambda seconds: setattr(fake, "latency", seconds),
            max_in_flight=lambda: max(fake.max_in_flight.values(), default=0),
            reset_in_flight=fake.max_in_flight.clear,
            make=provider,
            fail_next=fail_next,
            busy_requests=lambda: len(fake.graph_calls("GET", "calendarView")),
            add_calendars=lambda count: [fake.add_calendar(name=f"Crowd {n}").id for n in range(count)],
            batch_size=1,  # calendarView reads one calendar
        )
        try:
            yield backend
        finally:
            threads.shutdown()


# -- exchange: the fake EWS server through exchangelib (NTLM over TLS, the SSRF policy's adapter) ---


@asynccontextmanager
async def _exchange_backend(tls: TlsFiles) -> AsyncIterator[Backend]:
    from bot.calendar.exchange.credentials import ExchangeCredentials, dump_credentials
    from bot.calendar.exchange.provider import exchange_factory
    from bot.calendar.ssrf import AddressPolicy, http_adapter_class
    from bot.calendar.tls import trust_context
    from tests.fakes.exchange import DEFAULT_PASSWORD, FakeExchange

    threads = WorkerThreads()
    # The fake listens on 127.0.0.1: allowed here as an operator would allow a private network.
    adapter = http_adapter_class(AddressPolicy.parse("127.0.0.0/8"), trust_context(str(tls.cert)))
    with FakeExchange(tls) as fake:
        owner = fake.host
        projects = owner.add_calendar("Projects")

        def stored(password: str = DEFAULT_PASSWORD) -> str:
            return dump_credentials(ExchangeCredentials(
                email=owner.email, password=password, ews_url=fake.url, auth_type="NTLM",
                version="15.1.2507.6",
            ))

        def provider(retry: RetryPolicy = RetryPolicy(), timeout: float = 5.0) -> CalendarProvider:
            factory = exchange_factory(adapter=adapter, threads=threads, timeout=timeout, retry=retry)
            return factory(_ctx(stored(), owner.email, connection_id=3))

        make = exchange_factory(
            adapter=adapter, threads=threads, timeout=5.0, retry=RetryPolicy(max_retries=0)
        )

        def folder(calendar_id: str) -> Any:
            found = fake.store.folder(calendar_id)
            assert found is not None
            return found

        async def add_busy(calendar_id: str, start: datetime, end: datetime) -> None:
            fake.add_event(folder(calendar_id), start, end, subject="Dentist")

        async def lose_access(calendar_id: str, status: int) -> None:
            folder(calendar_id).fault = "ErrorAccessDenied" if status == 403 else "ErrorFolderNotFound"

        async def refused_refresh() -> CalendarProvider:
            wrong = "Changed-By-IT-1"  # the host changed the password at work; Slotbot holds the old one
            backend.secrets.append(wrong)
            return make(_ctx(stored(wrong), owner.email, connection_id=2))

        def fail_next(
            count: int, status: int | None, retry_after: str | None = None, *, calendar: str | None = None,
            delay: float = 0.0,
        ) -> None:
            fake.fail_next(count, status, retry_after, calendar=calendar, delay=delay, operation="FindItem")
            if calendar is None:  # listing the calendars fails the same way
                fake.fail_next(count, status, retry_after, delay=delay, operation="FindFolder")

        def reset() -> None:
            fake.max_in_flight = 0

        backend = Backend(
            "exchange",
            make(_ctx(stored(), owner.email)),
            owner.calendar.id,
            projects.id,
            add_busy,
            lose_access,
            refused_refresh,
            lambda: fake.failed_sign_ins,
            [DEFAULT_PASSWORD],
            connection=lambda n: make(_ctx(stored(), owner.email, connection_id=n)),
            set_latency=lambda seconds: setattr(fake, "latency", seconds),
            max_in_flight=lambda: fake.max_in_flight,
            reset_in_flight=reset,
            make=provider,
            fail_next=fail_next,
            busy_requests=lambda: len(fake.operations("FindItem")),
            add_calendars=lambda count: [owner.add_calendar(f"Crowd {n}").id for n in range(count)],
            batch_size=1,  # a calendar view reads one folder
        )
        try:
            yield backend
        finally:
            threads.shutdown()


# -- caldav: Radicale behind the counting https proxy, through aiohttp and the SSRF policy -------


@asynccontextmanager
async def _caldav_backend(radicale: Radicale, tls: TlsFiles) -> AsyncIterator[Backend]:
    from bot.calendar.caldav.credentials import CalDavCredentials, dump_credentials
    from bot.calendar.caldav.provider import CalDavFactory, caldav_factory
    from bot.calendar.ssrf import AddressPolicy
    from bot.calendar.tls import trust_context
    from tests.fakes.caldav import CalDavProxy, busy_request, listing_request

    account = radicale.account("contract")
    primary = account.mkcalendar("personal", display="Personal")
    team = account.readonly("team", display="Team")  # shared with the account, read-only
    proxy = CalDavProxy(radicale.url, tls=tls)
    await proxy.start()
    # The proxy listens on 127.0.0.1: allowed here as an operator would allow a private network.
    policy, trust = AddressPolicy.parse("127.0.0.0/8"), trust_context(str(tls.cert))
    factories: list[CalDavFactory] = []

    def stored(password: str = account.password) -> str:
        return dump_credentials(CalDavCredentials(
            server=proxy.base_url + "/", username=account.username, password=password,
            principal=f"{proxy.base_url}{account.home}", home=f"{proxy.base_url}{account.home}",
        ))

    def factory(retry: RetryPolicy = RetryPolicy(max_retries=0), timeout: float = 5.0) -> CalDavFactory:
        made = caldav_factory(policy=policy, tls=trust, timeout=timeout, retry=retry)
        factories.append(made)
        return made

    make = factory()

    def provider(retry: RetryPolicy = RetryPolicy(), timeout: float = 5.0) -> CalendarProvider:
        return factory(retry, timeout)(_ctx(stored(), account.username, connection_id=3))

    async def add_busy(calendar_id: str, start: datetime, end: datetime) -> None:
        uid = f"seed-{start.timestamp():.0f}-{len(proxy.requests)}"
        event = NewEvent(uid=uid, title="Dentist", start=start, end=end, time_zone="UTC")
        account.put(calendar_id, event_to_ics(event), as_curator=calendar_id == team)

    async def lose_access(calendar_id: str, status: int) -> None:
        proxy.lost[calendar_id] = status

    async def refused_refresh() -> CalendarProvider:
        wrong = "Revoked-App-Password-1"  # the host revoked the app password Slotbot holds
        backend.secrets.append(wrong)
        return make(_ctx(stored(wrong), account.username, connection_id=2))

    def fail_next(
        count: int, status: int | None, retry_after: str | None = None, *, calendar: str | None = None,
        delay: float = 0.0,
    ) -> None:
        def picked(call: Any) -> bool:
            return busy_request(call) and (calendar is None or call.path == calendar)

        proxy.fail_next(count, status=status, retry_after=retry_after, delay=delay, when=picked)
        if calendar is None:  # listing the calendars fails the same way
            proxy.fail_next(count, status=status, retry_after=retry_after, delay=delay, when=listing_request)

    backend = Backend(
        "caldav",
        make(_ctx(stored(), account.username)),
        primary,
        team,
        add_busy,
        lose_access,
        refused_refresh,
        lambda: proxy.unauthorized,
        [account.password],
        connection=lambda n: make(_ctx(stored(), account.username, connection_id=n)),
        set_latency=lambda seconds: setattr(proxy, "latency", seconds),
        max_in_flight=lambda: proxy.max_in_flight,
        reset_in_flight=lambda: setattr(proxy, "max_in_flight", 0),
        make=provider,
        fail_next=fail_next,
        busy_requests=lambda: len(proxy.reports()),
        add_calendars=lambda count: [account.mkcalendar(f"crowd-{n}") for n in range(count)],
        batch_size=1,  # a calendar-query REPORT reads one calendar
    )
    try:
        yield backend
    finally:
        for made in factories:
            await made.close()
        await proxy.stop()


@pytest.fixture(scope="module")
def tls(tmp_path_factory: pytest.TempPathFactory) -> TlsFiles:
    from tests.fakes.microsoft import make_tls_files

    return make_tls_files(tmp_path_factory.mktemp("contract-tls"))


@pytest_asyncio.fixture(params=KINDS)
async def backend(request: pytest.FixtureRequest, tmp_path: Path, tls: TlsFiles) -> AsyncIterator[Backend]:
    async with _backend(request, request.param, tmp_path, tls) as made:
        yield made


@pytest_asyncio.fixture(params=REMOTE_KINDS)
async def remote_backend(
    request: pytest.FixtureRequest, tmp_path: Path, tls: TlsFiles
) -> AsyncIterator[Backend]:
    """The providers that hold credentials and talk to a service (not ``local``)."""
    async with _backend(request, request.param, tmp_path, tls) as made:
        yield made


@asynccontextmanager
async def _backend(
    request: pytest.FixtureRequest, kind: str, tmp_path: Path, tls: TlsFiles
) -> AsyncIterator[Backend]:
    if kind == "local-sqlite":
        context: Any = _local_backend(f"sqlite+aiosqlite:///{tmp_path}/contract.db")
    elif kind == "local-postgresql":
        admin = request.getfixturevalue("postgres_admin_url")
        if admin is None:
            if _require_postgres():
                pytest.fail("PostgreSQL is required (SLOTBOT_REQUIRE_POSTGRES=1) but not available")
            pytest.skip("no PostgreSQL available")
        context = _local_backend(await _create_database(admin))
    elif kind == "google":
        context = _google_backend()
    elif kind == "exchange":
        context = _exchange_backend(tls)
    elif kind == "caldav":
        context = _caldav_backend(request.getfixturevalue("radicale"), tls)
    else:
        context = _microsoft_backend(tls)
    async with context as made:
        yield made


def _event(uid: str, start: datetime, minutes: int = 45) -> NewEvent:
    zone = ZoneInfo("Europe/Copenhagen")
    return NewEvent(
        uid=uid,
        title="Intro call with Vera",
        start=start.astimezone(zone),
        end=(start + timedelta(minutes=minutes)).astimezone(zone),
        time_zone="Europe/Copenhagen",
        attendees=(Attendee("vera@example.org", "Vera Visitor"),),
        description="Booked through Slotbot",
    )


def _covers(busy: CalendarBusy, start: datetime, end: datetime) -> bool:
    """Whether some block of ``busy`` takes away all of ``[start, end)``."""
    return any(
        block.blocks_time()
        and isinstance(block.span, TimedSpan)
        and block.span.start <= start
        and block.span.end >= end
        for block in busy.blocks
    )


def _touches(busy: CalendarBusy, start: datetime, end: datetime) -> bool:
    """Whether some time-taking block of ``busy`` overlaps ``[start, end)``."""
    return any(
        block.blocks_time()
        and isinstance(block.span, TimedSpan)
        and block.span.start < end
        and block.span.end > start
        for block in busy.blocks
    )


# -- the contract ---------------------------------------------------------------------------------


async def test_is_a_calendar_provider_with_keyword_only_arguments(backend: Backend) -> None:
    provider = backend.provider
    assert isinstance(provider, CalendarProvider)
    for name, keyword_only in (
        ("busy", {"start", "end", "calendar_ids"}),
        ("create_event", {"calendar_id"}),
        ("delete_event", {"calendar_id"}),
    ):
        method = getattr(provider, name)
        assert inspect.iscoroutinefunction(method), name
        parameters = inspect.signature(method).parameters
        found = {p.name for p in parameters.values() if p.kind is inspect.Parameter.KEYWORD_ONLY}
        assert found == keyword_only, (name, found)
    with pytest.raises(TypeError):
        await provider.busy(WEEK, WEEK_END, [backend.primary])  # type: ignore[misc]


async def test_lists_calendars_with_one_owned_default(backend: Backend) -> None:
    calendars = await backend.provider.list_calendars()
    assert calendars and all(isinstance(c, CalendarInfo) for c in calendars)
    ids = [c.external_id for c in calendars]
    assert len(ids) == len(set(ids))
    assert {backend.primary, backend.other} <= set(ids)
    primaries = [c for c in calendars if c.is_primary]
    assert [c.external_id for c in primaries] == [backend.primary]
    assert primaries[0].access_role is AccessRole.OWNER
    assert all(c.name for c in calendars)


async def test_busy_answers_every_requested_calendar_for_the_window(backend: Backend) -> None:
    meeting = (WEEK + timedelta(days=1, hours=9), WEEK + timedelta(days=1, hours=10))
    outside = (WEEK_END + timedelta(hours=9), WEEK_END + timedelta(hours=10))
    await backend.add_busy(backend.other, *meeting)
    await backend.add_busy(backend.other, *outside)

    answer = await backend.provider.busy(
        start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other]
    )

    assert set(answer) == {backend.primary, backend.other}
    assert all(isinstance(a, CalendarBusy) and a.error is None for a in answer.values())
    assert all(isinstance(b, BusyBlock) for a in answer.values() for b in a.blocks)
    assert _covers(answer[backend.other], *meeting)
    assert not _touches(answer[backend.other], *outside)  # outside the window
    assert not _touches(answer[backend.primary], WEEK, WEEK_END)  # nothing there
    # Every block is aware and overlaps the window asked for.
    for busy in answer.values():
        for block in busy.blocks:
            assert not isinstance(block.span, AllDaySpan)
            assert block.span.start.tzinfo is not None and block.span.end.tzinfo is not None
            assert block.span.start < WEEK_END and block.span.end > WEEK

    only_one = await backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary])
    assert set(only_one) == {backend.primary}


async def test_a_created_event_is_busy_until_it_is_deleted(backend: Backend) -> None:
    start = WEEK + timedelta(days=2, hours=13)
    end = start + timedelta(minutes=45)
    provider = backend.provider
    before = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other])
    assert not _touches(before[backend.primary], start, end)

    created = await provider.create_event(_event("booking-contract-1", start), calendar_id=backend.primary)

    assert isinstance(created, CreatedEvent)
    assert created.calendar_id == backend.primary and created.external_id
    during = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other])
    assert during[backend.primary].error is None
    assert _covers(during[backend.primary], start, end)
    assert not _touches(during[backend.other], start, end)  # written to the calendar asked for only

    await provider.delete_event(created.external_id, calendar_id=backend.primary)

    after = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary])
    assert after[backend.primary].error is None
    assert not _touches(after[backend.primary], start, end)


async def test_deleting_a_missing_event_is_not_an_error(backend: Backend) -> None:
    created = await backend.provider.create_event(
        _event("booking-contract-2", WEEK + timedelta(days=3, hours=8)), calendar_id=backend.primary
    )
    await backend.provider.delete_event(created.external_id, calendar_id=backend.primary)
    await backend.provider.delete_event(created.external_id, calendar_id=backend.primary)  # again
    await backend.provider.delete_event("vv0000000000never0created", calendar_id=backend.primary)


async def test_naive_datetimes_are_refused(backend: Backend) -> None:
    naive = datetime(2031, 3, 4, 9, 0)
    aware = naive.replace(tzinfo=UTC)
    with pytest.raises(ValueError, match="aware"):
        TimedSpan(naive, aware)
    with pytest.raises(ValueError, match="aware"):
        TimedSpan(aware, naive + timedelta(hours=1))
    with pytest.raises(ValueError, match="aware"):
        NewEvent(uid="x", title="x", start=naive, end=aware + timedelta(hours=1), time_zone="UTC")
    with pytest.raises(ValueError, match="aware"):
        NewEvent(uid="x", title="x", start=aware, end=naive + timedelta(hours=1), time_zone="UTC")
    ids = [backend.primary]
    with pytest.raises(ValueError, match="aware"):
        await backend.provider.busy(start=naive, end=aware + timedelta(days=1), calendar_ids=ids)
    with pytest.raises(ValueError, match="aware"):
        await backend.provider.busy(start=aware, end=naive + timedelta(days=1), calendar_ids=ids)


async def test_a_calendar_that_is_gone_is_reported_alone(backend: Backend) -> None:
    """404 (for ``local``: the calendar was deleted)."""
    await _lost_access_is_reported_alone(backend, 404)


async def test_a_forbidden_calendar_is_reported_alone(remote_backend: Backend) -> None:
    """403: the owner stopped sharing it (a local calendar cannot be forbidden)."""
    await _lost_access_is_reported_alone(remote_backend, 403)


async def _lost_access_is_reported_alone(backend: Backend, status: int) -> None:
    assert backend.lose_access is not None
    meeting = (WEEK + timedelta(hours=10), WEEK + timedelta(hours=11))
    await backend.add_busy(backend.primary, *meeting)
    await backend.lose_access(backend.other, status)

    answer = await backend.provider.busy(
        start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other]
    )

    assert set(answer) == {backend.primary, backend.other}
    assert isinstance(answer[backend.other].error, AccessLost)
    assert answer[backend.other].blocks == ()
    assert answer[backend.primary].error is None
    assert _covers(answer[backend.primary], *meeting)


async def test_a_refused_refresh_means_reauth(remote_backend: Backend) -> None:
    backend = remote_backend
    assert backend.refused_refresh is not None
    provider = await backend.refused_refresh()
    attempts = backend.refresh_attempts()

    with pytest.raises(ReauthRequired) as raised:
        await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other])

    assert backend.refresh_attempts() > attempts  # the store was asked, and refused
    assert raised.value.reason == "needs_reauth"
    assert backend.secrets and not any(secret in str(raised.value) for secret in backend.secrets)
    with pytest.raises(ReauthRequired):
        await provider.list_calendars()


async def test_connections_of_one_factory_are_read_concurrently(remote_backend: Backend) -> None:
    """The scheduler's fan-out relies on it: 8 connections take about one round trip, not 8.

    The loop's default executor is cut to 2 threads, so a provider that waits for the network on
    it (6 threads on a 2-CPU machine) cannot pass by luck of the machine's size.
    """
    backend = remote_backend
    assert backend.connection is not None
    loop = asyncio.get_running_loop()
    small = ThreadPoolExecutor(max_workers=2)
    loop.set_default_executor(small)
    providers = [backend.connection(n) for n in range(10, 18)]
    await asyncio.gather(*(p.list_calendars() for p in providers))  # sign-in and metadata, untimed
    backend.set_latency(0.25)
    backend.reset_in_flight()

    answers = await asyncio.gather(
        *(p.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary]) for p in providers)
    )

    assert all(a[backend.primary].error is None for a in answers)
    assert backend.max_in_flight() >= 8


# -- one behaviour: windows, per-calendar errors, retries, timeouts ---------------------------------


class Sleeps:
    """The retry policy's sleep: records the delays instead of waiting."""

    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)


def _policy(sleeps: Sleeps, max_retries: int = 3) -> RetryPolicy:
    """Retries without waiting and without jitter (backoff 0.5, 1, 2... s)."""
    return RetryPolicy(max_retries=max_retries, sleep=sleeps, random=lambda: 0.0)


async def test_an_empty_window_answers_every_calendar_with_no_busy_time(backend: Backend) -> None:
    await backend.add_busy(backend.primary, WEEK - timedelta(hours=1), WEEK + timedelta(hours=1))
    ids = [backend.primary, backend.other]

    answer = await backend.provider.busy(start=WEEK, end=WEEK, calendar_ids=ids)

    assert answer == {calendar_id: CalendarBusy() for calendar_id in ids}


async def test_a_reversed_window_is_refused(backend: Backend) -> None:
    with pytest.raises(ValueError, match="before"):
        await backend.provider.busy(start=WEEK_END, end=WEEK, calendar_ids=[backend.primary])


@pytest.mark.parametrize(("status", "retry_after"), [(429, "2"), (429, None), (500, None), (503, "1")])
async def test_throttling_and_server_errors_are_retried_the_same_bounded_way(
    remote_backend: Backend, status: int, retry_after: str | None
) -> None:
    backend = remote_backend
    assert backend.make is not None
    sleeps = Sleeps()
    provider = backend.make(retry=_policy(sleeps))
    meeting = (WEEK + timedelta(hours=9), WEEK + timedelta(hours=10))
    await backend.add_busy(backend.primary, *meeting)
    before = backend.busy_requests()
    backend.fail_next(2, status, retry_after)

    answer = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary])

    assert answer[backend.primary].error is None
    assert _covers(answer[backend.primary], *meeting)
    assert backend.busy_requests() - before == 3  # two failures, then the answer
    assert sleeps.calls == ([float(retry_after)] * 2 if retry_after else [0.5, 1.0])


@pytest.mark.parametrize(
    ("status", "error"), [(429, RateLimited), (500, ProviderUnavailable), (503, ProviderUnavailable)]
)
async def test_failures_that_last_are_the_calendars_error_after_exactly_max_retries(
    remote_backend: Backend, status: int, error: type[Exception]
) -> None:
    backend = remote_backend
    assert backend.make is not None
    sleeps = Sleeps()
    provider = backend.make(retry=_policy(sleeps, max_retries=3))
    before = backend.busy_requests()
    backend.fail_next(20, status)

    answer = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary])

    assert type(answer[backend.primary].error) is error
    assert answer[backend.primary].blocks == ()
    assert backend.busy_requests() - before == 4  # the first try and 3 retries
    assert sleeps.calls == [0.5, 1.0, 2.0]
    with pytest.raises(error):
        await provider.list_calendars()


async def test_a_retry_after_beyond_the_bound_gives_up_at_once(remote_backend: Backend) -> None:
    backend = remote_backend
    assert backend.make is not None
    sleeps = Sleeps()
    provider = backend.make(retry=_policy(sleeps))
    before = backend.busy_requests()
    backend.fail_next(1, 429, "3600")

    answer = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary])

    error = answer[backend.primary].error
    assert isinstance(error, RateLimited) and error.retry_after == 3600.0
    assert backend.busy_requests() - before == 1 and sleeps.calls == []


@pytest.mark.parametrize("failure", ["rate limited", "server error", "timeout"])
async def test_a_calendar_that_cannot_be_read_does_not_hide_the_others(
    remote_backend: Backend, failure: str
) -> None:
    """The calendars read in one request with the failing one share its error; the rest answer."""
    backend = remote_backend
    assert backend.make is not None
    provider = backend.make(retry=_policy(Sleeps(), max_retries=1), timeout=0.5)
    meeting = (WEEK + timedelta(hours=14), WEEK + timedelta(hours=15))
    await backend.add_busy(backend.primary, *meeting)
    crowd = backend.add_calendars(backend.batch_size - 1)
    ids = [backend.other, *crowd, backend.primary]  # the primary one is read in a request of its own
    status, delay, error = {
        "rate limited": (429, 0.0, RateLimited),
        "server error": (500, 0.0, ProviderUnavailable),
        "timeout": (None, 1.5, ProviderTimeout),
    }[failure]
    backend.fail_next(10, status, calendar=backend.other, delay=delay)

    answer = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=ids)

    assert set(answer) == set(ids)
    assert isinstance(answer[backend.other].error, error) and answer[backend.other].blocks == ()
    assert answer[backend.primary].error is None
    assert _covers(answer[backend.primary], *meeting)


async def test_a_timeout_is_provider_timeout_and_not_retried(remote_backend: Backend) -> None:
    backend = remote_backend
    assert backend.make is not None
    sleeps = Sleeps()
    provider = backend.make(retry=_policy(sleeps), timeout=0.3)
    await provider.list_calendars()  # signed in while the service is quick
    before = backend.busy_requests()
    backend.set_latency(1.0)

    answer = await provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[backend.primary, backend.other])

    assert all(type(a.error) is ProviderTimeout and a.blocks == () for a in answer.values())
    assert answer[backend.primary].error is not None and answer[backend.primary].error.reason == "unavailable"
    with pytest.raises(ProviderTimeout):
        await provider.list_calendars()
    assert sleeps.calls == []
    assert backend.busy_requests() - before == (1 if backend.batch_size > 1 else 2)  # no second try
    backend.set_latency(0.0)


# -- read-only: ICS feeds (the fake feed host, fetched through the SSRF policy into the database) ----

FEED_KINDS = ["feed-sqlite", "feed-postgresql"]


@dataclass
class FeedBackend:
    """A feed provider over a migrated database, its refresh and the fake feed host behind it."""

    provider: CalendarProvider
    refresher: Any
    connection_id: int
    fake: Any
    publish: Callable[[list[tuple[datetime, datetime]]], Awaitable[None]]
    age: Callable[..., Awaitable[None]]


@asynccontextmanager
async def _feed_backend(url: str, tls: TlsFiles) -> AsyncIterator[FeedBackend]:
    from sqlalchemy import update

    from bot.calendar.feeds.credentials import FeedCredentials, dump_credentials, feed_label
    from bot.calendar.feeds.fetch import FeedFetcher
    from bot.calendar.feeds.provider import FeedCache, feed_factory
    from bot.calendar.feeds.refresh import FeedRefresher
    from bot.calendar.feeds.store import FeedStore
    from bot.calendar.ssrf import AddressPolicy
    from bot.calendar.tls import trust_context
    from storage.models import FeedState
    from tests.fakes.feeds import FakeFeeds, calendar

    engine = create_engine(url)
    await upgrade(engine)
    sessions = session_factory(engine)
    fake = FakeFeeds(tls=tls)
    await fake.start()
    threads = WorkerThreads()
    try:
        address = fake.publish("team", calendar(name="Team rota"))
        credentials = dump_credentials(FeedCredentials(address))
        async with sessions() as session, session.begin():
            user = User(display_name="Hannah", email="hannah@example.com", slug="hannah")
            session.add(user)
            await session.flush()
            connection = CalendarConnection(
                user_id=user.id, provider="feed", account_email=feed_label(address), credentials=credentials)
            session.add(connection)
            await session.flush()
            session.add(FeedState(connection_id=connection.id))
            connection_id = connection.id
        store, cache = FeedStore(sessions), FeedCache()
        loopback = AddressPolicy.parse("127.0.0.0/8")  # as SLOTBOT_ALLOWED_PRIVATE_NETWORKS would
        fetcher = FeedFetcher(policy=loopback, ssl_context=trust_context(str(tls.cert)))
        refresher = FeedRefresher(sessions, store, fetcher, open_secret=lambda sealed: sealed, cache=cache,
                                  threads=threads)
        await refresher.refresh(connection_id)
        provider = feed_factory(store, cache=cache, threads=threads)(
            ConnectionContext(connection_id=connection_id, account_email=feed_label(address),
                              credentials=credentials, save_credentials=_ctx("", "").save_credentials,
                              options={"timezone": "Europe/Copenhagen"}))

        async def publish(events: list[tuple[datetime, datetime]]) -> None:
            fake.publish("team", calendar(*events, name="Team rota"))
            assert (await refresher.refresh(connection_id)).changed

        async def age(*, fetched: timedelta, failing: timedelta | None) -> None:
            now = datetime.now(UTC)
            async with sessions() as session, session.begin():
                mine = FeedState.connection_id == connection_id
                await session.execute(update(FeedState).where(mine).values(
                    fetched_at=now - fetched, failing_since=None if failing is None else now - failing,
                    last_error=None if failing is None else "it answered 404"))

        yield FeedBackend(provider, refresher, connection_id, fake, publish, age)
    finally:
        threads.shutdown()
        await fake.stop()
        await engine.dispose()


@pytest_asyncio.fixture(params=FEED_KINDS)
async def feed_backend(
    request: pytest.FixtureRequest, tmp_path: Path, tls: TlsFiles
) -> AsyncIterator[FeedBackend]:
    if request.param == "feed-sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path}/feed-contract.db"
    else:
        admin = request.getfixturevalue("postgres_admin_url")
        if admin is None:
            if _require_postgres():
                pytest.fail("PostgreSQL is required (SLOTBOT_REQUIRE_POSTGRES=1) but not available")
            pytest.skip("no PostgreSQL available")
        url = await _create_database(admin)
    async with _feed_backend(url, tls) as made:
        yield made


FEED = "feed"


async def test_feed_is_a_calendar_provider_with_keyword_only_arguments(feed_backend: FeedBackend) -> None:
    provider = feed_backend.provider
    assert isinstance(provider, CalendarProvider)
    for name, keyword_only in (("busy", {"start", "end", "calendar_ids"}), ("create_event", {"calendar_id"}),
                               ("delete_event", {"calendar_id"})):
        method = getattr(provider, name)
        assert inspect.iscoroutinefunction(method), name
        found = {p.name for p in inspect.signature(method).parameters.values()
                 if p.kind is inspect.Parameter.KEYWORD_ONLY}
        assert found == keyword_only, (name, found)
    with pytest.raises(TypeError):
        await provider.busy(WEEK, WEEK_END, [FEED])  # type: ignore[misc]


async def test_feed_lists_one_read_only_calendar_that_cannot_be_the_default(
    feed_backend: FeedBackend,
) -> None:
    [info] = await feed_backend.provider.list_calendars()
    assert info.external_id == FEED and info.name == "Team rota"
    assert info.access_role is AccessRole.READER  # connections.py makes only an OWNER calendar the default
    assert info.is_primary  # checked for conflicts from the start


async def test_feed_busy_answers_for_the_window(feed_backend: FeedBackend) -> None:
    meeting = (WEEK + timedelta(days=1, hours=9), WEEK + timedelta(days=1, hours=10))
    outside = (WEEK_END + timedelta(hours=9), WEEK_END + timedelta(hours=10))
    await feed_backend.publish([meeting, outside])

    answer = await feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED])

    assert set(answer) == {FEED} and answer[FEED].error is None
    assert _covers(answer[FEED], *meeting) and not _touches(answer[FEED], *outside)
    for block in answer[FEED].blocks:
        assert isinstance(block.span, TimedSpan) and block.span.start.tzinfo is not None


async def test_feed_busy_reads_the_stored_copy_and_never_waits_for_the_server(
    feed_backend: FeedBackend,
) -> None:
    meeting = (WEEK + timedelta(hours=9), WEEK + timedelta(hours=10))
    await feed_backend.publish([meeting])
    before = len(feed_backend.fake.requests)
    feed_backend.fake.latency = 30.0  # a server this slow would hold an answer for 20 s

    answer = await asyncio.wait_for(
        feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED]), timeout=2.0)

    assert _covers(answer[FEED], *meeting)
    assert len(feed_backend.fake.requests) == before
    feed_backend.fake.latency = 0.0


async def test_feed_writes_are_refused_as_read_only(feed_backend: FeedBackend) -> None:
    from bot.calendar.base import CalendarError

    start = WEEK + timedelta(days=2, hours=13)
    with pytest.raises(CalendarError, match="read-only") as created:
        await feed_backend.provider.create_event(_event("booking-feed-1", start), calendar_id=FEED)
    assert created.value.reason == "read_only"
    with pytest.raises(CalendarError, match="read-only"):
        await feed_backend.provider.delete_event("booking-feed-1", calendar_id=FEED)
    answer = await feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED])
    assert not _touches(answer[FEED], start, start + timedelta(minutes=45))  # nothing was written


async def test_feed_windows_are_checked_like_every_provider(feed_backend: FeedBackend) -> None:
    provider = feed_backend.provider
    await feed_backend.publish([(WEEK - timedelta(hours=1), WEEK + timedelta(hours=1))])
    assert await provider.busy(start=WEEK, end=WEEK, calendar_ids=[FEED]) == {FEED: CalendarBusy()}
    with pytest.raises(ValueError, match="before"):
        await provider.busy(start=WEEK_END, end=WEEK, calendar_ids=[FEED])
    naive = datetime(2031, 3, 4, 9, 0)
    with pytest.raises(ValueError, match="aware"):
        await provider.busy(start=naive, end=WEEK_END, calendar_ids=[FEED])


async def test_feed_an_unknown_calendar_is_reported_alone(feed_backend: FeedBackend) -> None:
    meeting = (WEEK + timedelta(hours=10), WEEK + timedelta(hours=11))
    await feed_backend.publish([meeting])
    answer = await feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED, "another"])
    assert isinstance(answer["another"].error, AccessLost) and answer["another"].blocks == ()
    assert answer[FEED].error is None and _covers(answer[FEED], *meeting)


@pytest.mark.parametrize(("fetched", "failing", "error"), [
    (timedelta(minutes=50), timedelta(minutes=50), None),  # failing a while: the copy is young enough
    (timedelta(hours=3), timedelta(minutes=50), ProviderUnavailable),  # the copy is too old: unknown
    (timedelta(hours=3), None, ProviderUnavailable),  # not refreshed (the refresh stopped): unknown
    (timedelta(hours=3), timedelta(hours=2), AccessLost),  # failing for 2 hours: a problem
])
async def test_feed_a_failing_feed_is_unknown_never_free_then_a_problem(
    feed_backend: FeedBackend, fetched: timedelta, failing: timedelta | None, error: type[Exception] | None
) -> None:
    meeting = (WEEK + timedelta(hours=10), WEEK + timedelta(hours=11))
    await feed_backend.publish([meeting])
    await feed_backend.age(fetched=fetched, failing=failing)

    answer = (await feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED]))[FEED]

    if error is None:
        assert answer.error is None and _covers(answer, *meeting)
    else:
        assert type(answer.error) is error and answer.blocks == ()
        assert "127.0.0.1 #" in str(answer.error) and "/feeds/" not in str(answer.error)


async def test_feed_a_feed_that_answers_an_error_keeps_its_last_good_copy(feed_backend: FeedBackend) -> None:
    meeting = (WEEK + timedelta(hours=10), WEEK + timedelta(hours=11))
    await feed_backend.publish([meeting])
    for status in (404, 500, 429):
        feed_backend.fake.fail_next(1, status=status)
        done = await feed_backend.refresher.refresh(feed_backend.connection_id)
        assert not done.ok and f"({status})" in str(done.error)
    feed_backend.fake.publish("team", "<html>Sign in</html>")
    assert not (await feed_backend.refresher.refresh(feed_backend.connection_id)).ok

    answer = (await feed_backend.provider.busy(start=WEEK, end=WEEK_END, calendar_ids=[FEED]))[FEED]

    assert answer.error is None and _covers(answer, *meeting)  # failing for minutes: the copy answers
