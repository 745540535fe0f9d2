"""Behind a reverse proxy: forwarded headers are believed from trusted proxies only.

The proxy terminates TLS and forwards ``X-Forwarded-For``/``-Proto``/``-Host``, as the README tells
operators. From a peer in ``SLOTBOT_TRUSTED_PROXIES`` the app sees the visitor's scheme, host and
address: embedded forms get a ``SameSite=None; Secure`` cookie (a third-party frame sends no other)
and the per-client booking limit counts the visitor, not the proxy. An https
``SLOTBOT_BASE_URL`` says TLS ends in front of the app, so cookies are ``Secure`` then too. Anyone
else's forwarded headers change nothing.
"""

from __future__ import annotations

import ipaddress
from http.cookies import SimpleCookie

import aiohttp
import pytest
from aiohttp.test_utils import TestClient

from bot.handlers.forwarded import Seen, seen_through
from bot.keys import DOMAINS
from tests.conftest import AppClient

EMBEDDED = "/meetings/demo/intro?embed=1"  # the demo page is offered in the website widget
HTTPS = {"X-Forwarded-Proto": "https", "X-Forwarded-For": "203.0.113.7"}


def _form_cookie(response: aiohttp.ClientResponse) -> str:
    """The ``Set-Cookie`` line of the form cookie, lower-cased."""
    lines = [line for line in response.headers.getall("Set-Cookie", []) if line.startswith("slotbot_form=")]
    assert len(lines) == 1, response.headers
    return lines[0].lower()


def _attributes(line: str) -> dict[str, str | bool]:
    morsel = next(iter(SimpleCookie(line).values()))
    return {key: value for key, value in morsel.items() if value}


async def test_embedded_forms_behind_a_trusted_https_proxy_get_a_third_party_cookie(
    app_client: AppClient,
) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_TRUSTED_PROXIES="127.0.0.1")
    embedded = _attributes(_form_cookie(await client.get(EMBEDDED, headers=HTTPS)))
    assert embedded["samesite"] == "none" and embedded["secure"] is True
    plain = _attributes(_form_cookie(await client.get("/meetings/demo/intro", headers=HTTPS)))
    assert plain["samesite"] == "strict" and plain["secure"] is True
    direct = _attributes(_form_cookie(await client.get(EMBEDDED)))  # no proxy in front: plain http
    assert direct["samesite"] == "strict" and "secure" not in direct


async def test_an_https_base_url_makes_cookies_secure_without_proxy_settings(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_BASE_URL="https://book.example.com")
    embedded = _attributes(_form_cookie(await client.get(EMBEDDED)))
    assert embedded["samesite"] == "none" and embedded["secure"] is True


async def test_what_a_trusted_proxy_says_wins_over_an_https_base_url(app_client: AppClient) -> None:
    told = await app_client(seed_demo=True, SLOTBOT_BASE_URL="https://book.example.com",
                            SLOTBOT_TRUSTED_PROXIES="127.0.0.0/8")
    plain_http = _attributes(_form_cookie(await told.get(EMBEDDED, headers={"X-Forwarded-Proto": "http"})))
    assert "secure" not in plain_http


async def test_forwarded_headers_from_anyone_else_are_ignored(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_TRUSTED_PROXIES="10.0.0.0/8, 192.0.2.1")
    cookie = _attributes(_form_cookie(await client.get(EMBEDDED, headers=HTTPS)))
    assert cookie["samesite"] == "strict" and "secure" not in cookie


async def _junk_posts(client: TestClient, address: str, count: int) -> list[int]:
    """``count`` booking posts from ``address`` (through the proxy) with a bad e-mail address."""
    opened = await client.get("/meetings/demo", headers={"X-Forwarded-For": address})
    token = opened.cookies["slotbot_form"].value  # the form's token is the cookie's (double submit)
    statuses = []
    for _ in range(count):
        response = await client.post("/meetings/demo", headers={"X-Forwarded-For": address},
                                     data={"csrf": token, "name": "A", "email": "bad",
                                           "start": "2031-01-06T10:00:00+00:00", "d": "30"})
        statuses.append(response.status)
    return statuses


async def test_the_per_client_limit_counts_the_visitor_behind_the_proxy(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_TRUSTED_PROXIES="127.0.0.1",
                              SLOTBOT_BOOKING_LIMIT_PER_IP="2")
    assert await _junk_posts(client, "198.51.100.1", 3) == [400, 400, 429]
    assert await _junk_posts(client, "198.51.100.2", 2) == [400, 400]  # another visitor: own budget
    # A visitor cannot escape the limit by sending a header of their own: the proxy appends the
    # address it saw, and that is the one counted.
    assert await _junk_posts(client, "192.0.2.50, 198.51.100.1", 1) == [429]


async def test_without_trust_every_post_through_a_proxy_is_one_client(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_BOOKING_LIMIT_PER_IP="2")
    assert await _junk_posts(client, "198.51.100.1", 2) == [400, 400]
    assert await _junk_posts(client, "198.51.100.2", 1) == [429]  # spoofed headers change nothing


@pytest.mark.parametrize("trusted", [True, False])
async def test_the_forwarded_host_is_the_host_served_when_trusted(
    app_client: AppClient, trusted: bool
) -> None:
    env = {"SLOTBOT_TRUSTED_PROXIES": "127.0.0.1"} if trusted else {}
    client = await app_client(seed_demo=True, **env)
    assert client.app is not None
    await client.app[DOMAINS].add("book.example.com")
    response = await client.get("/dashboard", headers={"X-Forwarded-Host": "book.example.com"},
                                allow_redirects=False)
    # A custom domain serves the visitor's side only: the dashboard is not there.
    assert (response.status == 404) is trusted


NETWORKS = (ipaddress.ip_network("10.0.0.0/8"), ipaddress.ip_network("::1/128"))


@pytest.mark.parametrize(
    ("peer", "chain", "proto", "seen"),
    [
        # Two proxies: the edge one saw the visitor and https; the inner one appended its own view.
        ("10.0.0.2", ["203.0.113.7, 10.0.0.1"], ["https, http"], Seen("203.0.113.7", "https")),
        # One header per hop, a port on an address, IPv6.
        ("::1", ["[2001:db8::5]:4711", "10.9.9.9"], ["https"], Seen("2001:db8::5", "https")),
        ("10.0.0.2", ["198.51.100.3:8080"], ["HTTPS"], Seen("198.51.100.3", "https")),
        # What the visitor wrote themselves stays on the left, unread.
        ("10.0.0.2", ["10.0.0.3, 198.51.100.3"], [], Seen("198.51.100.3")),
        # Every hop trusted: the leftmost is the visitor.
        ("10.0.0.2", ["10.1.1.1, 10.0.0.1"], [], Seen("10.1.1.1")),
        # Nonsense is not an address; an untrusted peer is not asked.
        ("10.0.0.2", ["not-an-address"], ["gopher"], Seen()),
        ("192.0.2.1", ["203.0.113.7"], ["https"], Seen()),
    ],
)
def test_the_visitor_is_found_right_to_left_past_trusted_proxies(
    peer: str, chain: list[str], proto: list[str], seen: Seen
) -> None:
    assert seen_through(peer, forwarded_for=chain, proto=proto, host=[], proxies=NETWORKS,
                        assume_https=False) == seen
