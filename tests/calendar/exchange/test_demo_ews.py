"""The demo's EWS server as the product ships it (``serve`` + sample data), and its NTLM acceptor."""

from __future__ import annotations

import asyncio
import datetime as dt
import threading
from collections.abc import Iterator

import pytest
import spnego
from exchangelib import EWSDateTime, EWSTimeZone
from exchangelib.protocol import BaseProtocol

from bot.demo.ews import Running, Store, serve
from bot.demo.ews.auth import ConnectionState, NtlmAcceptor
from bot.demo.ews.sample import HOST, HOST_PASSWORD, seeded_store
from tests.fakes.base import TlsFiles
from tests.fakes.exchange.client import account, isolated, trusting

pytest_plugins = ["tests.fakes.exchange.fixtures"]


@pytest.fixture
def demo(exchange_tls: TlsFiles) -> Iterator[Running]:
    """The sample organisation served over https by :func:`bot.demo.ews.serve`, in its own loop."""
    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_forever, daemon=True)
    thread.start()
    store = seeded_store(dt.date(2025, 3, 5))
    tls = (exchange_tls.cert, exchange_tls.key)
    running = asyncio.run_coroutine_threadsafe(serve(store, tls=tls), loop).result(10)
    try:
        with isolated():
            BaseProtocol.HTTP_ADAPTER_CLS = trusting(exchange_tls.cert)
            yield running
    finally:
        asyncio.run_coroutine_threadsafe(running.runner.cleanup(), loop).result(10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(5)
        loop.close()


def test_the_demo_serves_its_sample_week(demo: Running) -> None:
    assert demo.url.startswith("https://127.0.0.1:") and demo.url.endswith("/EWS/Exchange.asmx")
    acc = account(demo.url, HOST, username="CONTOSO\\host", password=HOST_PASSWORD)
    utc = EWSTimeZone("UTC")
    items = list(acc.calendar.view(EWSDateTime(2025, 3, 3, tzinfo=utc), EWSDateTime(2025, 3, 8, tzinfo=utc)))
    assert [i.subject for i in items] == ["Stand-up", "Customer call", "Focus time", "Offsite prep"]
    assert sorted(f.name for f in acc.root.walk() if f.folder_class == "IPF.Appointment") == [
        "Calendar",
        "Team",
    ]


def _handshake(store: Store, user: str, password: str, *, tamper: bool = False) -> object:
    acceptor = NtlmAcceptor(store)
    state = ConnectionState()
    client = spnego.client(user, password, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
    challenge = acceptor.challenge(state, client.step() or b"")
    token = bytearray(client.step(challenge) or b"")
    if tamper:
        token[-1] ^= 1
    return acceptor.authenticate(state, bytes(token))


@pytest.mark.parametrize("user", ["host@contoso.example", "CONTOSO\\host", "contoso\\HOST"])
def test_the_ntlm_acceptor_checks_the_password(user: str) -> None:
    store = seeded_store(dt.date(2025, 3, 5))
    assert _handshake(store, user, HOST_PASSWORD) is store.mailbox(HOST)
    assert _handshake(store, user, "not-the-password") is None
    assert _handshake(store, "nobody@contoso.example", HOST_PASSWORD) is None


def test_the_ntlm_acceptor_refuses_a_tampered_message() -> None:
    store = seeded_store(dt.date(2025, 3, 5))
    assert _handshake(store, HOST, HOST_PASSWORD, tamper=True) is None


def test_an_authenticate_message_cannot_be_replayed() -> None:
    store = seeded_store(dt.date(2025, 3, 5))
    acceptor, state = NtlmAcceptor(store), ConnectionState()
    client = spnego.client(HOST, HOST_PASSWORD, protocol="ntlm", options=spnego.NegotiateOptions.use_ntlm)
    token = client.step(acceptor.challenge(state, client.step() or b"")) or b""
    assert acceptor.authenticate(state, token) is not None
    assert acceptor.authenticate(state, token) is None  # the challenge is spent
