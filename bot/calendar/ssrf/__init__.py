"""Where Slotbot may connect when a user gives it a URL: the outbound-address (SSRF) policy.

A host typed by a user (an on-premises Exchange EWS URL, a CalDAV server, an ICS feed) must not
make Slotbot reach loopback, link-local and cloud metadata (169.254.169.254, fd00:ec2::254),
unspecified, private (10/8, 172.16/12, 192.168/16, fc00::/7), shared (100.64/10), multicast or
reserved addresses, written plainly or inside IPv6 (``::ffff:127.0.0.1``), unless the operator
allows a network with ``SLOTBOT_ALLOWED_PRIVATE_NETWORKS`` (on-premises Exchange usually sits on
a private address). The check is made on the address actually connected, after DNS, for every
connection and so for every redirect; IP-literal hosts are checked too.

Start with :class:`AddressPolicy` (``policy.py``; ``Settings.address_policy`` holds the
operator's): ``check_url`` when a user enters a URL, ``connector()`` for aiohttp (CalDAV, feeds)
and ``redirect_target`` when following a redirect by hand; :func:`http_adapter_class`
(``adapter.py``) for requests, which exchangelib speaks. ``addresses.py`` is the table of what
is public. Refusals raise :class:`AddressRefused`, a :class:`~bot.calendar.base.CalendarError`
whose message names the host only (feed URLs are secrets).

Why our own: no maintained SSRF library exists for aiohttp, and ``advocate`` (the known one)
covers only requests and is unmaintained, so both clients share this one small policy.
"""

from bot.calendar.ssrf.adapter import http_adapter_class
from bot.calendar.ssrf.addresses import IPAddress, Network
from bot.calendar.ssrf.policy import AddressPolicy, AddressRefused, PolicyResolver, UrlRefused, ip_literal

__all__ = [
    "AddressPolicy",
    "AddressRefused",
    "IPAddress",
    "Network",
    "PolicyResolver",
    "UrlRefused",
    "http_adapter_class",
    "ip_literal",
]
