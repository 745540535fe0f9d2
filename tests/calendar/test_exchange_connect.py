"""Connecting Exchange with the form's values: sign-in method, version, bounded time, refusals."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from aiohttp import web

from bot.calendar.exchange.connect import ExchangeForm, ExchangeRefused, is_exchange_online, probe
from bot.calendar.ssrf import AddressPolicy, http_adapter_class
from bot.calendar.threads import WorkerThreads
from bot.calendar.tls import trust_context
from tests.fakes.base import TlsFiles
from tests.fakes.exchange import DEFAULT_PASSWORD, FakeExchange
from tests.fakes.exchange.client import isolated

pytest_plugins = ["tests.fakes.exchange.fixtures"]
LOOPBACK = AddressPolicy.parse("127.0.0.0/8")


@pytest.fixture
def threads() -> Iterator[WorkerThreads]:
    pool = WorkerThreads(4)
    yield pool
    pool.shutdown()


async def _probe(form: ExchangeForm, tls: TlsFiles | None, threads: WorkerThreads, tmp_path: Path, *,
                 policy: AddressPolicy = LOOPBACK, seconds: float = 10.0, trust: bool = True) -> object:
    adapter = http_adapter_class(policy, trust_context(str(tls.cert) if tls and trust else None))
    return await probe(form, policy=policy, adapter=adapter, threads=threads, data_dir=tmp_path,
                       seconds=seconds)


def _form(fake: FakeExchange, **changes: str) -> ExchangeForm:
    values = {"email": fake.host.email, "password": DEFAULT_PASSWORD, "ews_url": fake.url, **changes}
    return ExchangeForm(**values)


@pytest.mark.parametrize(("schemes", "expected"), [(("NTLM", "Basic"), "NTLM"), (("Basic",), "basic")])
async def test_the_sign_in_method_and_the_version_come_from_the_server(
    exchange_tls: TlsFiles, threads: WorkerThreads, tmp_path: Path, schemes: tuple[str, ...], expected: str
) -> None:
    with isolated(), FakeExchange(exchange_tls, schemes=schemes) as fake:
        fake.host.add_calendar("Projects")
        probed = await _probe(_form(fake, username="CONTOSO\\hannah"), exchange_tls, threads, tmp_path)
    assert probed.credentials.auth_type == expected  # type: ignore[attr-defined]
    assert probed.credentials.version == "15.1.2507.6"  # type: ignore[attr-defined]
    assert probed.credentials.username == "CONTOSO\\hannah"  # type: ignore[attr-defined]
    names = [(c.name, c.primary) for c in probed.calendars]  # type: ignore[attr-defined]
    assert names == [("Calendar", True), ("Projects", False)]


async def test_a_chosen_version_is_spoken_without_guessing(
    exchange_tls: TlsFiles, threads: WorkerThreads, tmp_path: Path
) -> None:
    with isolated(), FakeExchange(exchange_tls) as fake:
        probed = await _probe(_form(fake, version="2010sp2"), exchange_tls, threads, tmp_path)
        assert not fake.operations("ConvertId")
    assert probed.credentials.version == "14.2.0.0"  # type: ignore[attr-defined]


async def test_a_slow_server_is_refused_within_the_bound(
    exchange_tls: TlsFiles, threads: WorkerThreads, tmp_path: Path
) -> None:
    with isolated(), FakeExchange(exchange_tls) as fake:
        fake.latency = 3.0
        began = time.monotonic()
        with pytest.raises(ExchangeRefused, match="did not answer within 1 seconds") as refused:
            await _probe(_form(fake), exchange_tls, threads, tmp_path, seconds=1.0)
        assert time.monotonic() - began < 2.0
        fake.latency = 0.0
    assert refused.value.field == "ews_url"


async def test_an_untrusted_certificate_is_a_sentence_and_sends_no_password(
    exchange_tls: TlsFiles, threads: WorkerThreads, tmp_path: Path
) -> None:
    with isolated(), FakeExchange(exchange_tls) as fake:
        with pytest.raises(ExchangeRefused, match="certificate is not trusted"):
            await _probe(_form(fake), exchange_tls, threads, tmp_path, trust=False)
        assert not fake.operations() and fake.failed_sign_ins == 0


async def test_a_redirect_to_a_private_address_is_not_followed(
    threads: WorkerThreads, tmp_path: Path, exchange_tls: TlsFiles
) -> None:
    hits: list[str] = []

    async def redirect(request: web.Request) -> web.Response:
        hits.append(request.path)
        if request.path.startswith("/inside"):
            return web.Response(status=500)
        raise web.HTTPFound("https://10.0.0.5/EWS/Exchange.asmx")

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", redirect)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0, ssl_context=exchange_tls.server_context())
    await site.start()
    port = runner.addresses[0][1]
    try:
        form = ExchangeForm("hannah@example.com", "pw", ews_url=f"https://127.0.0.1:{port}/EWS/Exchange.asmx")
        with pytest.raises(ExchangeRefused) as refused:
            await _probe(form, exchange_tls, threads, tmp_path, policy=AddressPolicy.parse("127.0.0.1/32"))
    finally:
        await runner.cleanup()
    assert "redirect" in str(refused.value) or "not found" in str(refused.value)
    assert hits and all(not hit.startswith("/inside") for hit in hits)


@pytest.mark.parametrize(
    ("email", "url", "sentence"),
    [
        ("hannah@contoso.com", "https://outlook.office365.com/EWS/Exchange.asmx", "Connect Microsoft 365"),
        ("hannah@outlook.com", "", "Connect Microsoft 365"),
        ("hannah@contoso.com", "https://127.0.0.1/EWS/Exchange.asmx", "private or local network address"),
        ("hannah@contoso.com", "https://[::1]/EWS/Exchange.asmx", "private or local network address"),
        ("hannah@contoso.com", "https://169.254.169.254/EWS/Exchange.asmx", "private or local network"),
        ("hannah@contoso.com", "https://u:p@mail.contoso.com/EWS/Exchange.asmx", "user name or password"),
    ],
)
async def test_refused_before_any_request(
    threads: WorkerThreads, tmp_path: Path, email: str, url: str, sentence: str
) -> None:
    with pytest.raises(ExchangeRefused, match=sentence) as refused:
        await _probe(ExchangeForm(email, "pw", ews_url=url), None, threads, tmp_path, policy=AddressPolicy())
    assert refused.value.field in ("ews_url", "email")


def test_exchange_online_hosts() -> None:
    assert is_exchange_online("outlook.office365.com") and is_exchange_online("OUTLOOK.OFFICE.COM.")
    assert is_exchange_online("outlook.office365.us") and is_exchange_online("hannah.outlook.com")
    assert not is_exchange_online("mail.contoso.com") and not is_exchange_online("notoutlook.com")


async def test_autodiscover_that_finds_nothing_is_a_sentence_within_the_bound(
    threads: WorkerThreads, tmp_path: Path
) -> None:
    began = time.monotonic()
    with pytest.raises(ExchangeRefused, match=r"Autodiscover found no Exchange server|did not answer within"):
        await _probe(ExchangeForm("hannah@contoso.invalid", "pw"), None, threads, tmp_path,
                     policy=AddressPolicy(), seconds=3.0)
    assert time.monotonic() - began < 4.0
    assert (tmp_path / "cache").is_dir()  # exchangelib's cache is kept in Slotbot's data folder
