"""The outbound-address policy: which addresses user-given hosts may reach, on both HTTP stacks.

aiohttp runs through the real production resolver (aiohttp's DefaultResolver) against a local
server on 127.0.0.1; requests through the adapter class, as exchangelib mounts it. "Nothing was
sent" is checked on the local server's request log.
"""

from __future__ import annotations

import ipaddress
import re
import socket
from collections.abc import AsyncIterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import requests
from aiohttp import web
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.calendar.ssrf import AddressPolicy, AddressRefused, UrlRefused, http_adapter_class
from bot.calendar.tls import trust_context
from tests.fakes.base import FakeServer, TlsFiles, make_tls_files
from tests.support.net import free_port

LOOPBACK = AddressPolicy.parse("127.0.0.0/8")
METADATA = "http://169.254.169.254/latest/meta-data/"


class Origin(FakeServer):
    """A web server that answers "ok" everywhere, and redirects ``/hop`` to :attr:`location`."""

    name = "origin"
    location = METADATA

    def routes(self, app: web.Application) -> None:
        async def answer(request: web.Request) -> web.StreamResponse:
            if request.path == "/hop":
                raise web.HTTPFound(self.location)
            return web.Response(text="ok")

        app.router.add_route("*", "/{tail:.*}", answer)


# -- which addresses -------------------------------------------------------------------------------

FORBIDDEN = [
    "127.0.0.1", "127.255.255.254", "10.0.0.5", "172.16.0.1", "172.31.255.255", "192.168.1.1",
    "169.254.169.254", "169.254.1.1", "0.0.0.0", "0.1.2.3", "100.64.0.1", "100.100.100.200",
    "192.0.0.192", "192.0.2.1", "198.18.0.1", "198.51.100.7", "203.0.113.9", "224.0.0.1",
    "239.255.255.250", "240.0.0.1", "255.255.255.255",
    "::1", "::", "fd00:ec2::254", "fc00::1", "fe80::1", "fe80::1%eth0", "fec0::1", "ff02::1",
    "100::1", "::ffff:127.0.0.1", "::ffff:10.0.0.5", "::ffff:169.254.169.254", "::ffff:0.0.0.0",
    "::127.0.0.1", "::10.0.0.5", "64:ff9b::7f00:1", "64:ff9b::a9fe:a9fe", "64:ff9b:1::a00:5",
    "2001:db8::1", "2002:7f00:1::1", "2001::1", "3fff::1",
]
PUBLIC = [
    "93.184.216.34", "8.8.8.8", "1.1.1.1", "172.32.0.1", "100.128.0.1", "192.0.1.1", "223.255.255.1",
    "2606:4700::1111", "2a00:1450:4001::200e", "::ffff:93.184.216.34", "64:ff9b::5db8:d822",
]


@pytest.mark.parametrize("address", FORBIDDEN)
def test_private_local_and_reserved_addresses_are_refused_by_default(address: str) -> None:
    policy = AddressPolicy()
    assert not policy.permits(address)
    assert not policy.permits(ipaddress.ip_address(address))
    with pytest.raises(AddressRefused):
        policy.check_address("mail.example.com", address)


@pytest.mark.parametrize("address", PUBLIC)
def test_public_addresses_are_always_permitted(address: str) -> None:
    assert AddressPolicy().permits(address)
    assert AddressPolicy.parse("10.0.0.0/8").permits(address)
    AddressPolicy().check_address("mail.example.com", address)


@pytest.mark.parametrize(
    ("address", "allowed", "permitted"),
    [
        ("10.0.0.5", "10.0.0.0/8", True),
        ("10.0.0.5", "192.168.0.0/16", False),
        ("::ffff:10.0.0.5", "10.0.0.0/8", True),
        ("64:ff9b::a00:5", "10.0.0.0/8", True),
        ("127.0.0.1", "127.0.0.0/8", True),
        ("::1", "127.0.0.0/8", False),
        ("::1", "::1", True),
        ("fd00:ec2::254", "fd00::/8", True),
        ("fd00:ec2::254", "10.0.0.0/8", False),
        ("169.254.169.254", "10.0.0.0/8, 192.168.0.0/16", False),
        ("172.20.1.1", " 10.0.0.0/8 , 172.16.0.0/12 ", True),
        ("172.20.1.1", "172.20.1.1", True),
        ("172.20.1.2", "172.20.1.1", False),
    ],
)
def test_an_allow_list_permits_exactly_its_networks(address: str, allowed: str, permitted: bool) -> None:
    assert AddressPolicy.parse(allowed).permits(address) is permitted


def test_parse_reads_comma_separated_networks() -> None:
    assert AddressPolicy.parse("") == AddressPolicy()
    assert AddressPolicy.parse(" 10.0.0.0/8 ,, fd00::/8 ,").allowed == (
        ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("fd00::/8"))
    assert AddressPolicy.parse("10.1.2.3").allowed == (ipaddress.ip_network("10.1.2.3/32"),)
    assert AddressPolicy.parse("10.1.2.3/8").allowed == (ipaddress.ip_network("10.0.0.0/8"),)


@pytest.mark.parametrize("text", ["10.0.0.0/33", "mail.internal", "10.0.0.0/8; 192.168.0.0/16", "fd00::/129"])
def test_parse_names_a_bad_entry_on_one_line(text: str) -> None:
    with pytest.raises(ValueError, match="is not an IP network") as info:
        AddressPolicy.parse(f"10.0.0.0/8, {text}")
    assert repr(text) in str(info.value) and "\n" not in str(info.value)


def test_permits_refuses_text_that_is_no_address() -> None:
    with pytest.raises(ValueError):
        AddressPolicy().permits("mail.example.com")


def test_the_refusal_names_the_host_and_address_and_how_to_allow_it() -> None:
    with pytest.raises(AddressRefused) as info:
        AddressPolicy().check_address("mail.example.com", "10.0.0.5")
    assert str(info.value) == (
        "mail.example.com points to a private or local network address (10.0.0.5), which Slotbot "
        "may not reach. An operator can allow it with SLOTBOT_ALLOWED_PRIVATE_NETWORKS.")
    assert info.value.reason == "address_refused"
    assert info.value.host == "mail.example.com"
    assert info.value.addresses == (ipaddress.ip_address("10.0.0.5"),)


# -- URLs --------------------------------------------------------------------------------------------


def test_check_url_accepts_https_host_names_without_resolving_them() -> None:
    url = AddressPolicy().check_url(" https://calendar.invalid/EWS/Exchange.asmx ")
    assert url == URL("https://calendar.invalid/EWS/Exchange.asmx")
    assert AddressPolicy.parse("10.0.0.0/8").check_url("https://10.0.0.5/ews").host == "10.0.0.5"
    assert AddressPolicy().check_url("http://example.com/", schemes=("http", "https")).scheme == "http"


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://mail.example.com/ews", "https://"),
        ("webcal://example.com/feed.ics", "webcal://"),
        ("ftp://example.com/", "ftp://"),
        ("mail.example.com/ews", "no scheme"),
        ("https://alice:hunter2@mail.example.com/", "user name or password"),
        ("https://alice@mail.example.com/", "user name or password"),
        ("https:///no-host", "no host"),
    ],
)
def test_check_url_refuses_other_schemes_credentials_and_no_host(url: str, words: str) -> None:
    with pytest.raises(UrlRefused, match=words) as info:
        AddressPolicy().check_url(url)
    assert "hunter2" not in str(info.value) and "alice" not in str(info.value)
    assert not isinstance(info.value, AddressRefused)


@pytest.mark.parametrize(
    "host",
    ["127.0.0.1", "10.0.0.5", "[::1]", "[::ffff:127.0.0.1]", "[fd00:ec2::254]", "169.254.169.254",
     "0.0.0.0", "127.1", "2130706433", "0x7f.0.0.1", "[fe80::1%25eth0]"],
)
def test_check_url_refuses_ip_literal_hosts(host: str) -> None:
    with pytest.raises(AddressRefused):
        AddressPolicy().check_url(f"https://{host}/feed.ics")


def test_a_refusal_never_shows_the_path_query_or_credentials() -> None:
    with pytest.raises(AddressRefused) as info:
        AddressPolicy().check_url("https://10.0.0.5/private/feed.ics?token=s3cr3t")
    message = str(info.value)
    assert "10.0.0.5" in message
    assert "s3cr3t" not in message and "feed.ics" not in message and "private/" not in message


def test_redirect_targets_are_checked_before_they_are_followed() -> None:
    here = URL("https://mail.example.com/ews/")
    policy = AddressPolicy()
    assert policy.redirect_target(here, "../owa/") == URL("https://mail.example.com/owa/")
    with pytest.raises(AddressRefused, match=re.escape("169.254.169.254")):
        AddressPolicy.parse("127.0.0.0/8").redirect_target(here, METADATA, schemes=("http", "https"))
    with pytest.raises(UrlRefused, match="https://"):
        policy.redirect_target(here, "http://mail.example.com/")
    with pytest.raises(UrlRefused, match="user name"):
        policy.redirect_target(here, "https://a:b@mail.example.com/")
    with pytest.raises(UrlRefused, match="without a target"):
        policy.redirect_target(here, None)


# -- aiohttp -----------------------------------------------------------------------------------------


@pytest.fixture
async def origin() -> AsyncIterator[Origin]:
    server = await Origin().start()
    yield server
    await server.stop()


def _session(policy: AddressPolicy, resolver: AbstractResolver | None = None) -> aiohttp.ClientSession:
    return aiohttp.ClientSession(
        connector=policy.connector(inner_resolver=resolver),
        trust_env=False,
        timeout=aiohttp.ClientTimeout(total=10),
    )


class Answering(AbstractResolver):
    """A DNS that answers ``addresses`` for every name (a host name pointing somewhere private)."""

    def __init__(self, *addresses: str) -> None:
        self.addresses = addresses
        self.asked: list[str] = []

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        self.asked.append(host)
        return [
            {"hostname": host, "host": address, "port": port, "proto": 0,
             "family": socket.AF_INET6 if ":" in address else socket.AF_INET,
             "flags": socket.AI_NUMERICHOST}
            for address in self.addresses
        ]

    async def close(self) -> None:
        pass


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::1]", "[::ffff:127.0.0.1]"])
async def test_aiohttp_refuses_loopback_by_default(origin: Origin, host: str) -> None:
    async with _session(AddressPolicy()) as session:
        with pytest.raises(AddressRefused) as info:
            await session.get(f"http://{host}:{origin.port}/feed.ics?token=s3cr3t")
    assert not isinstance(info.value, aiohttp.ClientError)
    assert "s3cr3t" not in str(info.value)
    assert origin.requests == []


@pytest.mark.parametrize("host", ["localhost", "127.0.0.1", "[::ffff:127.0.0.1]"])
async def test_aiohttp_reaches_loopback_when_the_operator_allows_it(origin: Origin, host: str) -> None:
    async with _session(LOOPBACK) as session, session.get(f"http://{host}:{origin.port}/") as response:
        assert response.status == 200
    assert [call.path for call in origin.requests] == ["/"]


async def test_allowing_ipv4_loopback_does_not_allow_ipv6_loopback(origin: Origin) -> None:
    async with _session(LOOPBACK) as session:
        with pytest.raises(AddressRefused, match="::1"):
            await session.get(f"http://[::1]:{origin.port}/")


async def test_aiohttp_tells_unreachable_from_refused() -> None:
    async with _session(LOOPBACK) as session:
        with pytest.raises(aiohttp.ClientConnectorError) as closed:
            await session.get(f"http://127.0.0.1:{free_port()}/")
        with pytest.raises(aiohttp.ClientConnectorDNSError) as unknown:
            await session.get("http://nowhere.invalid/")
    assert not isinstance(closed.value, AddressRefused)
    assert not isinstance(unknown.value, AddressRefused)


async def test_a_name_pointing_at_a_forbidden_address_is_not_connected_to(origin: Origin) -> None:
    dns = Answering("127.0.0.1")
    async with _session(AddressPolicy(), dns) as session:
        with pytest.raises(AddressRefused) as info:
            await session.get(f"http://calendar.example.com:{origin.port}/")
    assert str(info.value).startswith("calendar.example.com points to a private or local network "
                                      "address (127.0.0.1)")
    assert dns.asked == ["calendar.example.com"] and origin.requests == []

    async with _session(LOOPBACK, dns) as session:  # the same answer, allowed: it is connected to
        async with session.get(f"http://calendar.example.com:{origin.port}/") as response:
            assert response.status == 200
    assert origin.requests[0].headers["host"] == f"calendar.example.com:{origin.port}"


async def test_the_resolver_keeps_only_permitted_answers() -> None:
    dns = Answering("10.1.2.3", "127.0.0.1", "169.254.169.254", "93.184.216.34")
    resolver = LOOPBACK.resolver(dns)
    answers = await resolver.resolve("calendar.example.com", 443)
    assert [answer["host"] for answer in answers] == ["127.0.0.1", "93.184.216.34"]
    with pytest.raises(AddressRefused, match=re.escape("addresses (10.1.2.3, 169.254.169.254)")):
        await AddressPolicy().resolver(Answering("10.1.2.3", "169.254.169.254")).resolve("x.example")
    await resolver.close()


async def test_a_redirect_to_the_metadata_address_is_refused_even_with_loopback_allowed(
    origin: Origin,
) -> None:
    async with _session(LOOPBACK) as session:
        async with session.get(f"{origin.base_url}/hop", allow_redirects=False) as response:
            assert response.status == 302
            with pytest.raises(AddressRefused, match=re.escape("169.254.169.254")):
                LOOPBACK.redirect_target(response.url, response.headers.get("Location"),
                                         schemes=("http", "https"))
        # Followed by aiohttp itself, the connector still refuses the literal before connecting.
        with pytest.raises(AddressRefused, match=re.escape("169.254.169.254")):
            await session.get(f"{origin.base_url}/hop")
    assert [call.path for call in origin.requests] == ["/hop", "/hop"]


# -- requests (exchangelib) --------------------------------------------------------------------------


@pytest.fixture
def tls(tmp_path: Path) -> TlsFiles:
    return make_tls_files(tmp_path)


def _requests(policy: AddressPolicy, extra_ca: Path | None = None) -> requests.Session:
    adapter_class = http_adapter_class(policy, trust_context(None if extra_ca is None else str(extra_ca)))
    # The keyword arguments exchangelib's BaseProtocol.get_adapter passes.
    adapter = adapter_class(pool_block=True, pool_connections=1, pool_maxsize=1, max_retries=0)
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    return session


@pytest.fixture
def fake_dns(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """``calendar.example.com`` resolves to 127.0.0.1; the names looked up are listed."""
    real = socket.getaddrinfo
    asked: list[str] = []

    def getaddrinfo(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        asked.append(host)
        if host == "calendar.example.com":
            return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", port))]
        return real(host, port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", getaddrinfo)
    return asked


@pytest.mark.parametrize("host", ["127.0.0.1", "localhost", "[::ffff:127.0.0.1]", "127.1"])
def test_requests_refuses_loopback_by_default(host: str) -> None:
    with Origin() as origin, _requests(AddressPolicy()) as session:
        with pytest.raises(AddressRefused) as info:
            session.get(f"http://{host}:{origin.port}/ews?token=s3cr3t", timeout=5)
        assert origin.requests == []
    assert not isinstance(info.value, requests.RequestException)
    assert "s3cr3t" not in str(info.value)


def test_a_refusal_gives_the_connection_back_to_the_pool() -> None:
    # exchangelib's pool blocks at one connection: a connection kept by a refusal would hang the next.
    with Origin() as origin, _requests(AddressPolicy()) as session, ThreadPoolExecutor(1) as pool:
        for _ in range(3):
            attempt = pool.submit(session.get, f"http://127.0.0.1:{origin.port}/", timeout=5)
            with pytest.raises(AddressRefused):
                attempt.result(timeout=10)


def test_trust_context_starts_from_the_system_store(tls: TlsFiles, monkeypatch: pytest.MonkeyPatch) -> None:
    with Origin(tls=tls) as origin:
        monkeypatch.setenv("SSL_CERT_FILE", str(tls.cert))  # the operator's system trust
        with _requests(LOOPBACK) as session:
            assert session.get(f"https://localhost:{origin.port}/", timeout=5).status_code == 200


def test_requests_reaches_loopback_when_the_operator_allows_it() -> None:
    with Origin() as origin, _requests(LOOPBACK) as session:
        assert session.get(f"http://127.0.0.1:{origin.port}/ews", timeout=5).text == "ok"
        assert session.get(f"http://localhost:{origin.port}/ews", timeout=5).status_code == 200
        assert [call.path for call in origin.requests] == ["/ews", "/ews"]


def test_requests_connects_to_the_address_it_checked(fake_dns: list[str]) -> None:
    with Origin() as origin:
        url = f"http://calendar.example.com:{origin.port}/ews"
        with _requests(AddressPolicy()) as session, pytest.raises(AddressRefused) as info:
            session.get(url, timeout=5)
        assert "(127.0.0.1)" in str(info.value)
        assert origin.requests == []
        fake_dns.clear()
        with _requests(LOOPBACK) as session:
            assert session.get(url, timeout=5).status_code == 200
        assert fake_dns == ["calendar.example.com"]  # one lookup: the checked answer is connected
        assert origin.requests[0].headers["host"] == f"calendar.example.com:{origin.port}"


def test_requests_refuses_a_redirect_to_the_metadata_address() -> None:
    with Origin() as origin, _requests(LOOPBACK) as session:
        with pytest.raises(AddressRefused, match=re.escape("169.254.169.254")):
            session.get(f"{origin.base_url}/hop", timeout=5)
        assert [call.path for call in origin.requests] == ["/hop"]


def test_requests_tells_unreachable_from_refused() -> None:
    with _requests(LOOPBACK) as session, pytest.raises(requests.ConnectionError) as info:
        session.get(f"http://127.0.0.1:{free_port()}/", timeout=5)
    assert not isinstance(info.value, AddressRefused)


def test_requests_verifies_tls_against_the_extra_ca(tls: TlsFiles) -> None:
    with Origin(tls=tls) as origin:
        url = f"https://localhost:{origin.port}/"
        with _requests(LOOPBACK, tls.cert) as session:
            assert session.get(url, timeout=5).text == "ok"
        with _requests(LOOPBACK) as session:
            with pytest.raises(requests.exceptions.SSLError):
                session.get(url, timeout=5)
            with pytest.raises(requests.exceptions.SSLError):  # verification cannot be turned off
                session.get(url, timeout=5, verify=False)
            with pytest.raises(requests.exceptions.SSLError):  # nor trust added through requests
                session.get(url, timeout=5, verify=str(tls.cert))
        assert len(origin.requests) == 1


def test_requests_never_goes_through_a_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    with Origin() as proxy, _requests(AddressPolicy()) as session:
        # Through a proxy the connected address would be the proxy's, and the target unchecked.
        monkeypatch.setenv("HTTP_PROXY", proxy.base_url)
        session.proxies = {"http": proxy.base_url}
        with pytest.raises(AddressRefused):
            session.get(f"http://127.0.0.1:{proxy.port}/", timeout=5)
        assert proxy.requests == []


def test_requests_matches_the_certificate_against_the_host_name(tls: TlsFiles, fake_dns: list[str]) -> None:
    with Origin(tls=tls) as origin, _requests(LOOPBACK, tls.cert) as session:
        # calendar.example.com reaches the server, whose certificate names only localhost/127.0.0.1.
        with pytest.raises(requests.exceptions.SSLError, match=re.escape("calendar.example.com")):
            session.get(f"https://calendar.example.com:{origin.port}/", timeout=5)
        assert origin.requests == []


def test_exchangelib_through_the_adapter_class_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from exchangelib import DELEGATE, NTLM, Account, Configuration, Credentials, Version
    from exchangelib.protocol import BaseProtocol, CachingProtocol, FailFast
    from exchangelib.version import EXCHANGE_2010_SP2

    adapter_class = http_adapter_class(AddressPolicy(), trust_context())
    monkeypatch.setattr(BaseProtocol, "HTTP_ADAPTER_CLS", adapter_class)
    with Origin() as origin:
        config = Configuration(
            service_endpoint=f"http://127.0.0.1:{origin.port}/EWS/Exchange.asmx",
            credentials=Credentials("alice", "hunter2"), auth_type=NTLM,
            version=Version(build=EXCHANGE_2010_SP2), retry_policy=FailFast())
        account = Account("alice@example.com", config=config, autodiscover=False, access_type=DELEGATE)
        try:
            with pytest.raises(AddressRefused, match=re.escape("127.0.0.1")):
                account.root  # noqa: B018 (the first request)
        finally:
            CachingProtocol.clear_cache()
        assert origin.requests == []
