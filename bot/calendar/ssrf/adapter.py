"""The outbound-address policy for requests/urllib3 (exchangelib): an ``HTTPAdapter`` class.

:func:`http_adapter_class` makes an adapter class whose connections resolve the host themselves
(``socket.getaddrinfo``), keep only the addresses the policy permits and connect to those: the
check is on the address actually connected, with no second lookup to race. Every new connection
goes through it, so redirects that requests follows and IP-literal hosts are checked too. TLS
uses the given context (the system store from ``bot.calendar.tls``; ``verify``,
``REQUESTS_CA_BUNDLE`` and certifi play no part), verification is always on and the certificate
is matched against the URL's host name. Proxies are never used: through a proxy the connected
address would be the proxy's.

exchangelib builds its adapter as ``HTTP_ADAPTER_CLS(pool_block=, pool_connections=,
pool_maxsize=, max_retries=)``; the class accepts exactly what ``HTTPAdapter`` accepts. A refused
host raises :class:`~bot.calendar.ssrf.policy.AddressRefused` from ``session.request``, not a
``requests`` exception (an unreachable one raises ``requests.ConnectionError``).
"""

from __future__ import annotations

import ipaddress
import socket
import ssl
from typing import Any, ClassVar

from requests import PreparedRequest, Response
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import ConnectTimeoutError, NameResolutionError, NewConnectionError
from urllib3.util.connection import allowed_gai_family
from urllib3.util.timeout import _DEFAULT_TIMEOUT

from bot.calendar.ssrf.addresses import IPAddress
from bot.calendar.ssrf.policy import AddressPolicy, AddressRefused


def _connect(conn: HTTPConnection, policy: AddressPolicy) -> socket.socket:
    """A socket connected to a permitted address of ``conn``'s host (urllib3's ``_new_conn``)."""
    lookup = conn._dns_host.strip("[]")
    try:
        answers = socket.getaddrinfo(lookup, conn.port, allowed_gai_family(), socket.SOCK_STREAM)
    except socket.gaierror as error:
        raise NameResolutionError(conn.host, conn, error) from error
    permitted = []
    refused: list[IPAddress] = []
    for answer in answers:
        address = ipaddress.ip_address(str(answer[4][0]))
        if policy.permits(address):
            permitted.append(answer)
        else:
            refused.append(address)
    if not permitted:
        raise AddressRefused(conn.host, refused)
    timeout: object = conn.timeout  # urllib3 keeps its "socket default" sentinel here
    last: OSError | None = None
    for family, kind, proto, _, sockaddr in permitted:
        sock = socket.socket(family, kind, proto)
        try:
            for option in conn.socket_options or ():
                sock.setsockopt(*option)
            if timeout is not _DEFAULT_TIMEOUT:
                sock.settimeout(conn.timeout)
            if conn.source_address:
                sock.bind(conn.source_address)
            sock.connect(sockaddr)
        except OSError as error:
            sock.close()
            last = error
            continue
        return sock
    if isinstance(last, TimeoutError):
        message = f"Connection to {conn.host} timed out. (connect timeout={conn.timeout})"
        raise ConnectTimeoutError(conn, message) from last
    raise NewConnectionError(conn, f"Failed to establish a new connection: {last}") from last


class PolicyHTTPConnection(HTTPConnection):
    """A plain-HTTP urllib3 connection that connects only where :attr:`address_policy` permits."""

    address_policy: ClassVar[AddressPolicy] = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.address_policy)


class PolicyHTTPSConnection(HTTPSConnection):
    """An HTTPS urllib3 connection that connects only where :attr:`address_policy` permits.

    urllib3 wraps the socket in TLS with ``server_hostname`` = the URL's host, so the certificate
    is checked against the name the user gave, not the address.
    """

    address_policy: ClassVar[AddressPolicy] = AddressPolicy()

    def _new_conn(self) -> socket.socket:
        return _connect(self, self.address_policy)


class PolicyHTTPAdapter(HTTPAdapter):
    """Base of the classes :func:`http_adapter_class` makes (their policy and context set)."""

    pool_classes: ClassVar[dict[str, type[HTTPConnectionPool]]] = {}
    ssl_context: ClassVar[ssl.SSLContext | None] = None

    def init_poolmanager(
        self, connections: int, maxsize: int, block: bool = False, **pool_kwargs: Any
    ) -> None:
        """The pool manager, with pools whose connections apply the policy."""
        super().init_poolmanager(connections, maxsize, block, **pool_kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(self.pool_classes)

    def build_connection_pool_key_attributes(
        self, request: PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pool key attributes: always verifying, with the adapter's own TLS context."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, False, cert)
        pool_kwargs.pop("ca_certs", None)
        pool_kwargs.pop("ca_cert_dir", None)
        pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
        pool_kwargs["ssl_context"] = self.ssl_context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Client certificates as requests sets them; trust from the adapter's context only."""
        super().cert_verify(conn, url, False, cert)
        if url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"

    def send(
        self,
        request: PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: dict[str, str] | None = None,
    ) -> Response:
        """Send ``request`` directly (never through a proxy)."""
        return super().send(request, stream=stream, timeout=timeout, verify=verify, cert=cert, proxies=None)


def http_adapter_class(policy: AddressPolicy, ssl_context: ssl.SSLContext) -> type[HTTPAdapter]:
    """An ``HTTPAdapter`` subclass that connects only where ``policy`` permits, trusting
    ``ssl_context`` for https (see the module docstring); for exchangelib's ``HTTP_ADAPTER_CLS``
    or ``session.mount``."""

    class Http(PolicyHTTPConnection):
        address_policy = policy

    class Https(PolicyHTTPSConnection):
        address_policy = policy

    class HttpPool(HTTPConnectionPool):
        ConnectionCls = Http

    class HttpsPool(HTTPSConnectionPool):
        ConnectionCls = Https

    class Adapter(PolicyHTTPAdapter):
        pool_classes = {"http": HttpPool, "https": HttpsPool}

    Adapter.ssl_context = ssl_context
    Adapter.__name__ = Adapter.__qualname__ = "SlotbotPolicyHTTPAdapter"
    return Adapter
