"""The outbound-address policy: :class:`AddressPolicy`, its errors, and its aiohttp resolver.

A policy permits every public address, and a forbidden one (see ``addresses.py``) only inside a
network the operator allowed (``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``). For aiohttp (CalDAV, ICS
feeds) use :meth:`AddressPolicy.connector`: its resolver drops forbidden answers, and its socket
factory checks the address each socket is about to connect to, IP-literal hosts included (aiohttp
never asks the resolver about those). Check a user's URL first with :meth:`AddressPolicy.check_url`
and follow redirects by hand through :meth:`AddressPolicy.redirect_target`.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiohttp
from aiohappyeyeballs import AddrInfoType
from aiohttp.abc import AbstractResolver, ResolveResult
from yarl import URL

from bot.calendar.base import CalendarError
from bot.calendar.ssrf.addresses import IPAddress, Network, is_public, normalise

ALLOW_VARIABLE = "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"


class AddressRefused(CalendarError):
    """A host resolved only to addresses the policy forbids; nothing was sent to it.

    The message names the host and the addresses, never a path, query or credentials.
    """

    reason = "address_refused"

    def __init__(self, host: str, addresses: Iterable[IPAddress]) -> None:
        self.host = host
        self.addresses = tuple(dict.fromkeys(addresses))
        shown = ", ".join(str(address) for address in self.addresses[:3])
        if len(self.addresses) > 3:
            shown += ", ..."
        literal = len(self.addresses) == 1 and str(self.addresses[0]) == host.strip("[]")
        what = "a private or local network address"
        if literal:
            where = f"{host} is {what}"
        else:
            plural = "private or local network addresses" if len(self.addresses) > 1 else what
            where = f"{host} points to {plural} ({shown})" if shown else f"{host} points to {what}"
        super().__init__(
            f"{where}, which Slotbot may not reach. An operator can allow it with {ALLOW_VARIABLE}."
        )


class UrlRefused(CalendarError):
    """A URL Slotbot will not use (wrong scheme, user name or password in it, no host)."""

    reason = "url_refused"


@dataclass(frozen=True)
class AddressPolicy:
    """Which addresses outbound connections to user-given hosts may reach.

    ``allowed``: networks whose private or local addresses are permitted anyway (the operator's
    on-premises Exchange, say). Public addresses are always permitted.
    """

    allowed: tuple[Network, ...] = ()

    @classmethod
    def parse(cls, text: str) -> AddressPolicy:
        """A policy allowing the comma-separated networks in ``text`` (``10.0.0.0/8, fd00::/8``).

        Whitespace and empty entries are ignored; a bare address is a one-address network. A bad
        entry raises ``ValueError`` with a one-line message naming it.
        """
        networks: list[Network] = []
        for entry in (part.strip() for part in text.split(",")):
            if not entry:
                continue
            try:
                networks.append(ipaddress.ip_network(entry, strict=False))
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP network such as 10.0.0.0/8 or fd00::/8") from None
        return cls(tuple(networks))

    def permits(self, address: IPAddress | str) -> bool:
        """Whether a connection to ``address`` is allowed.

        IPv4-mapped, IPv4-compatible and NAT64 IPv6 forms are judged by the IPv4 address they
        reach. A string that is not an IP address raises ``ValueError``.
        """
        given = ipaddress.ip_address(address) if isinstance(address, str) else address
        reached = normalise(given)
        if is_public(reached):
            return True
        return any(reached in network or given in network for network in self.allowed)

    def check_address(self, host: str, address: IPAddress | str) -> None:
        """Raise :class:`AddressRefused` (naming ``host``) unless ``address`` is permitted."""
        if not self.permits(address):
            given = ipaddress.ip_address(address) if isinstance(address, str) else address
            raise AddressRefused(host, [given])

    def check_url(self, url: str | URL, *, schemes: Sequence[str] = ("https",)) -> URL:
        """``url`` parsed, once its scheme, credentials and IP-literal host pass.

        Raises :class:`UrlRefused` for a scheme not in ``schemes`` (``webcal://`` included:
        callers turn it into ``https://`` first), a user name or password in the URL, or no host;
        :class:`AddressRefused` for an IP-literal host the policy forbids. Host names are checked
        when they are resolved (:meth:`connector`), not here.
        """
        try:
            parsed = url if isinstance(url, URL) else URL(url.strip())
        except (ValueError, TypeError):
            raise UrlRefused("That is not a valid web address.") from None
        scheme = parsed.scheme.lower()
        if scheme not in schemes:
            wanted = " or ".join(f"{name}://" for name in schemes)
            got = f"{scheme}://" if scheme else "no scheme"
            raise UrlRefused(f"Slotbot only connects to {wanted} addresses, and this one has {got}.")
        if parsed.raw_user or parsed.raw_password:
            raise UrlRefused(
                "The address contains a user name or password; enter them in their own fields instead."
            )
        host = parsed.raw_host
        if not host:
            raise UrlRefused("The address has no host name.")
        literal = ip_literal(host)
        if literal is not None:
            self.check_address(host, literal)
        return parsed

    def redirect_target(
        self, current: URL, location: str | None, *, schemes: Sequence[str] = ("https",)
    ) -> URL:
        """Where a redirect from ``current`` to ``location`` (its ``Location`` header) leads,
        checked like :meth:`check_url` before the caller follows it."""
        if not location:
            raise UrlRefused(f"{current.host} sent a redirect without a target.")
        try:
            target = current.join(URL(location.strip()))
        except (ValueError, TypeError):
            raise UrlRefused(f"{current.host} redirected to an address that is not valid.") from None
        return self.check_url(target, schemes=schemes)

    def resolver(self, inner: AbstractResolver | None = None) -> AbstractResolver:
        """An aiohttp resolver answering only permitted addresses, asking ``inner`` (default:
        aiohttp's production ``DefaultResolver``); call it inside the running event loop."""
        return PolicyResolver(self, aiohttp.DefaultResolver() if inner is None else inner)

    def connector(
        self, *, inner_resolver: AbstractResolver | None = None, **kwargs: object
    ) -> aiohttp.TCPConnector:
        """An aiohttp connector that connects only to permitted addresses (see the module doc).

        Names are resolved by ``inner_resolver`` (default: aiohttp's ``DefaultResolver``) through
        :meth:`resolver`; ``kwargs`` go to ``aiohttp.TCPConnector`` (``ssl=trust_context(...)``,
        ``limit``...). A refused host raises :class:`AddressRefused` from the request, unwrapped.
        """
        return aiohttp.TCPConnector(
            resolver=self.resolver(inner_resolver),
            socket_factory=self._socket_for,
            **kwargs,  # type: ignore[arg-type]
        )

    def _socket_for(self, addr_info: AddrInfoType) -> socket.socket:
        """A socket for ``addr_info``, once its address passes (aiohttp's ``socket_factory``)."""
        family, kind, proto, _, sockaddr = addr_info
        self.check_address(str(sockaddr[0]), str(sockaddr[0]))
        return socket.socket(family=family, type=kind, proto=proto)


class PolicyResolver(AbstractResolver):
    """An aiohttp resolver that drops the forbidden answers of another one.

    No permitted answer left: :class:`AddressRefused` (not an ``OSError``, so aiohttp lets it
    through unwrapped and the caller can tell it from an unreachable host). A host that does not
    resolve at all fails as the inner resolver fails (``ClientConnectorDNSError``).
    """

    def __init__(self, policy: AddressPolicy, inner: AbstractResolver) -> None:
        self._policy = policy
        self._inner = inner

    async def resolve(
        self, host: str, port: int = 0, family: socket.AddressFamily = socket.AF_INET
    ) -> list[ResolveResult]:
        """The inner resolver's permitted answers for ``host``."""
        answers = await self._inner.resolve(host, port, family)
        kept: list[ResolveResult] = []
        refused: list[IPAddress] = []
        for answer in answers:
            try:
                address = ipaddress.ip_address(answer["host"])
            except ValueError:
                continue
            if self._policy.permits(address):
                kept.append(answer)
            else:
                refused.append(address)
        if not kept and refused:
            raise AddressRefused(host, refused)
        return kept

    async def close(self) -> None:
        """Close the inner resolver."""
        await self._inner.close()


def ip_literal(host: str) -> IPAddress | None:
    """The address ``host`` spells, or None for a host name.

    Besides canonical forms (``10.0.0.5``, ``::1``, ``[::1]``) this reads the legacy IPv4 forms
    the C library still connects to (``127.1``, ``2130706433``, ``0x7f.1``).
    """
    bare = host.strip("[]")
    try:
        return ipaddress.ip_address(bare)
    except ValueError:
        pass
    try:
        return ipaddress.IPv4Address(socket.inet_aton(bare))
    except OSError:
        return None
