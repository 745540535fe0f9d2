"""Which IP addresses are public: the forbidden ranges, written out, and the embedded-IPv4 forms.

Pure (``ipaddress`` only). The table is explicit rather than ``ipaddress``'s ``is_global`` /
``is_private``, whose answers changed between Python patch releases. An IPv6 address that carries
an IPv4 one (IPv4-mapped ``::ffff:a.b.c.d``, IPv4-compatible ``::a.b.c.d``, the NAT64 prefix
``64:ff9b::/96``) is judged by the IPv4 address it reaches: :func:`normalise` unwraps it first.
"""

from __future__ import annotations

import ipaddress

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


def _nets(*texts: str) -> tuple[Network, ...]:
    return tuple(ipaddress.ip_network(text) for text in texts)


FORBIDDEN_V4 = _nets(
    "0.0.0.0/8",  # "this network", 0.0.0.0 (unspecified)
    "10.0.0.0/8",  # private
    "100.64.0.0/10",  # shared address space (carrier-grade NAT; Alibaba's metadata 100.100.100.200)
    "127.0.0.0/8",  # loopback
    "169.254.0.0/16",  # link-local, cloud metadata 169.254.169.254
    "172.16.0.0/12",  # private
    "192.0.0.0/24",  # IETF protocol assignments (Oracle's metadata 192.0.0.192)
    "192.0.2.0/24",  # documentation (TEST-NET-1)
    "192.88.99.0/24",  # 6to4 relay anycast (deprecated)
    "192.168.0.0/16",  # private
    "198.18.0.0/15",  # benchmarking
    "198.51.100.0/24",  # documentation (TEST-NET-2)
    "203.0.113.0/24",  # documentation (TEST-NET-3)
    "224.0.0.0/4",  # multicast
    "240.0.0.0/4",  # reserved, 255.255.255.255 (broadcast)
)
"""IPv4 networks Slotbot never connects to unless the operator allows them."""

GLOBAL_UNICAST_V6 = ipaddress.IPv6Network("2000::/3")
"""The only IPv6 space handed out for the public internet; anything outside it is forbidden
(::, ::1, fc00::/7 unique-local with AWS's metadata fd00:ec2::254, fe80::/10, fec0::/10,
ff00::/8 multicast, 100::/64 discard...) unless it carries an IPv4 address (:func:`normalise`)."""

FORBIDDEN_V6 = _nets(
    "2001::/23",  # IETF protocol assignments (Teredo 2001::/32, benchmarking, ORCHID)
    "2001:db8::/32",  # documentation
    "2002::/16",  # 6to4 (deprecated; would reach the IPv4 address it embeds)
    "3fff::/20",  # documentation
)
"""Parts of 2000::/3 that are not public either."""

NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
"""The well-known NAT64 prefix (DNS64 answers it on IPv6-only networks): reaches the IPv4 inside."""

_COMPATIBLE = ipaddress.IPv6Network("::/96")


def normalise(address: IPAddress) -> IPAddress:
    """The address a connection to ``address`` reaches: the IPv4 inside a mapped, compatible or
    NAT64 IPv6 address, else ``address`` itself (a zone index such as ``%eth0`` is dropped)."""
    if isinstance(address, ipaddress.IPv4Address):
        return address
    if address.scope_id is not None:
        address = ipaddress.IPv6Address(address.packed)
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address in NAT64 or (address in _COMPATIBLE and int(address) > 1):
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return address


def is_public(address: IPAddress) -> bool:
    """Whether ``address`` (already :func:`normalise` d) is a public internet address."""
    if isinstance(address, ipaddress.IPv4Address):
        return not any(address in network for network in FORBIDDEN_V4)
    return address in GLOBAL_UNICAST_V6 and not any(address in network for network in FORBIDDEN_V6)
