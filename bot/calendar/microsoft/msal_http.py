"""msal's plumbing: its requests session (timeouts, ``ca_bundle`` trust), cached discovery, the app.

msal is synchronous and fetches the authority's OpenID configuration when an application object
is built, so every msal call runs in the app's worker threads, and an application is built per
use from settings (per flow step, or once per provider instance) by :func:`build_app`; there is
no module-level client. Its GETs go through a :class:`DiscoveryCache` shared by a factory's
providers. ``ca_bundle`` (settings) adds one CA file to the system trust, for the identity
platform here and for Graph (:func:`tls_context`).
"""

from __future__ import annotations

import functools
import json
import ssl
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import msal
import requests
from requests.adapters import HTTPAdapter

from bot.settings import MicrosoftSettings


@functools.lru_cache(maxsize=8)
def tls_context(ca_bundle: str) -> ssl.SSLContext:
    """The system trust plus the CA certificates in ``ca_bundle``."""
    context = ssl.create_default_context()
    context.load_verify_locations(cafile=ca_bundle)
    return context


class _HttpAdapter(HTTPAdapter):
    """A requests adapter with a default timeout and, optionally, extra CA trust.

    With a CA bundle the verification context is ours (system trust plus the bundle), so neither
    ``REQUESTS_CA_BUNDLE`` nor ``session.verify`` can replace it; verification stays on.
    """

    def __init__(self, *, timeout: float, context: ssl.SSLContext | None) -> None:
        self._timeout = timeout
        self._context = context
        super().__init__()

    def build_connection_pool_key_attributes(
        self, request: requests.PreparedRequest, verify: Any, cert: Any = None
    ) -> tuple[dict[str, Any], dict[str, Any]]:
        """Pool key attributes, using the adapter's verification context when it has one."""
        host_params, pool_kwargs = super().build_connection_pool_key_attributes(request, verify, cert)
        if self._context is not None:
            pool_kwargs.pop("ca_certs", None)
            pool_kwargs.pop("ca_cert_dir", None)
            pool_kwargs["cert_reqs"] = "CERT_REQUIRED"
            pool_kwargs["ssl_context"] = self._context
        return host_params, pool_kwargs

    def cert_verify(self, conn: Any, url: str, verify: Any, cert: Any) -> None:
        """Let the verification context decide trust when the adapter has one."""
        super().cert_verify(conn, url, verify, cert)
        if self._context is not None and url.lower().startswith("https"):
            conn.cert_reqs = "CERT_REQUIRED"
            conn.ca_certs = None
            conn.ca_cert_dir = None

    def send(
        self,
        request: requests.PreparedRequest,
        stream: bool = False,
        timeout: Any = None,
        verify: Any = True,
        cert: Any = None,
        proxies: Any = None,
    ) -> requests.Response:
        """Send with the adapter's default timeout unless one is given."""
        return super().send(
            request,
            stream=stream,
            timeout=self._timeout if timeout is None else timeout,
            verify=verify,
            cert=cert,
            proxies=proxies,
        )


def http_session(settings: MicrosoftSettings, timeout: float) -> requests.Session:
    """The requests session msal talks through (timeouts, ``ca_bundle`` trust)."""
    session = requests.Session()
    context = tls_context(settings.ca_bundle) if settings.ca_bundle else None
    if settings.ca_bundle:
        # Extra trust is explicit here: keep REQUESTS_CA_BUNDLE & co. out of the decision.
        session.trust_env = False
        session.verify = settings.ca_bundle
    adapter = _HttpAdapter(timeout=timeout, context=context)
    session.mount("https://", adapter)
    session.mount("http://", adapter)
    return session


def _is_well_known_authority(authority: str) -> bool:
    from msal.authority import WELL_KNOWN_AUTHORITY_HOSTS

    host = (urlsplit(authority).hostname or "").lower()
    return host in WELL_KNOWN_AUTHORITY_HOSTS


@dataclass(frozen=True, slots=True)
class _CachedResponse:
    """What msal reads of a discovery answer (status, body, headers)."""

    status_code: int
    text: str
    headers: Mapping[str, str]


class DiscoveryCache:
    """Successful metadata GETs of the identity platform, shared by many msal applications.

    msal's only GETs are metadata: the authority's OpenID configuration and, for Microsoft's
    well-known hosts, instance discovery. Every msal application fetches them when it is built,
    and a provider builds one per connection and question, so without this cache each
    "when am I free?" would wait for a metadata round trip before asking Graph. The cache holds
    no tokens and no personal data; it is owned by :func:`microsoft_factory` (one per settings),
    never module-level. Thread-safe: msal runs in worker threads.
    """

    def __init__(self, ttl: float = 3600.0, clock: Callable[[], float] = time.monotonic) -> None:
        self._ttl = ttl
        self._clock = clock
        self._lock = threading.Lock()
        self._entries: dict[str, tuple[float, _CachedResponse]] = {}

    def get(self, session: requests.Session, url: str, **kwargs: Any) -> Any:
        """GET ``url`` through ``session`` unless a fresh 2xx answer is cached."""
        key = json.dumps([url, sorted((kwargs.get("params") or {}).items())], default=str)
        with self._lock:
            found = self._entries.get(key)
            if found is not None and self._clock() < found[0]:
                return found[1]
        response = session.get(url, **kwargs)
        if 200 <= response.status_code < 300:
            cached = _CachedResponse(response.status_code, response.text, dict(response.headers))
            with self._lock:
                self._entries[key] = (self._clock() + self._ttl, cached)
        return response

    def __len__(self) -> int:
        with self._lock:
            return len(self._entries)


class _MsalHttp:
    """The http client handed to msal: a requests session whose GETs go through a DiscoveryCache."""

    def __init__(self, session: requests.Session, discovery: DiscoveryCache) -> None:
        self._session = session
        self._discovery = discovery

    def get(self, url: str, **kwargs: Any) -> Any:
        """A metadata GET, cached."""
        return self._discovery.get(self._session, url, **kwargs)

    def post(self, url: str, **kwargs: Any) -> Any:
        """A token request, never cached."""
        return self._session.post(url, **kwargs)

    def close(self) -> None:
        """Close the underlying session."""
        self._session.close()


def build_app(
    settings: MicrosoftSettings,
    *,
    cache: msal.SerializableTokenCache | None,
    validate_authority: bool | None,
    timeout: float,
    discovery: DiscoveryCache | None = None,
) -> msal.ConfidentialClientApplication:
    """A msal application for one use.

    Fetches the authority's metadata (network) unless ``discovery`` holds it already.
    """
    validate = (
        _is_well_known_authority(settings.authority) if validate_authority is None else validate_authority
    )
    session = http_session(settings, timeout)
    http_client: Any = session if discovery is None else _MsalHttp(session, discovery)
    return msal.ConfidentialClientApplication(
        settings.client_id,
        client_credential=settings.client_secret,
        authority=settings.authority,
        validate_authority=validate,
        instance_discovery=None if validate else False,
        http_client=http_client,
        token_cache=cache,
    )
