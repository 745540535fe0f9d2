"""WebDAV over aiohttp: the few request shapes CalDAV needs, and their XML.

:class:`DavClient` sends one request (PROPFIND, REPORT, PUT, DELETE...) with the account's
``Authorization`` header (written here: aiohttp's ``BasicAuth`` is deprecated) and no redirects
followed (the caller follows them by hand through the SSRF policy). A 2xx or 207 comes back as a
:class:`DavAnswer`; any other status raises :class:`~bot.calendar.http.StatusError` for
:meth:`~bot.calendar.http.RetryPolicy.run`; a transport failure raises a
:class:`~bot.calendar.base.CalendarError` at once: :class:`~bot.calendar.base.ProviderTimeout`,
:class:`Untrusted` (certificate), :class:`Unreachable`, or the policy's ``AddressRefused``.

:func:`multistatus` reads a 207 body (with defusedxml: no DTDs, no entities) into
:class:`DavResource` values: each ``href`` with its found properties (elements, by Clark name
``{namespace}name``). Messages never hold a URL path, a body or a password.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import unquote
from xml.etree.ElementTree import Element

import aiohttp
from defusedxml import ElementTree as SafeET  # type: ignore[import-untyped]
from yarl import URL

from bot.calendar.base import CalendarError, ProviderTimeout, ProviderUnavailable
from bot.calendar.http import ErrorVocabulary, StatusError
from bot.calendar.ssrf import AddressRefused

DAV = "DAV:"
CALDAV = "urn:ietf:params:xml:ns:caldav"
CALSERVER = "http://calendarserver.org/ns/"
APPLE = "http://apple.com/ns/ical/"
NAMESPACES = {"d": DAV, "c": CALDAV, "cs": CALSERVER, "a": APPLE}
VOCABULARY = ErrorVocabulary(service="CalDAV")
MAX_BODY = 16 * 1024 * 1024
"""The largest answer read (a calendar-query over a long window of a busy calendar)."""


class Unreachable(ProviderUnavailable):
    """Nothing answered at the server's address (DNS, refused connection, reset)."""


class Untrusted(ProviderUnavailable):
    """The server's TLS certificate is not trusted (nothing was sent)."""


def clark(prefixed: str) -> str:
    """``d:displayname`` -> ``{DAV:}displayname`` (the prefixes of :data:`NAMESPACES`)."""
    prefix, _, name = prefixed.partition(":")
    return f"{{{NAMESPACES[prefix]}}}{name}"


def authorization(username: str, password: str) -> str:
    """The ``Authorization`` header value for HTTP Basic (UTF-8, as RFC 7617 allows)."""
    token = base64.b64encode(f"{username}:{password}".encode()).decode("ascii")
    return f"Basic {token}"


@dataclass(frozen=True, slots=True)
class DavAnswer:
    """A successful answer: status, headers and body text."""

    status: int
    headers: Mapping[str, str]
    text: str
    url: URL

    @property
    def etag(self) -> str | None:
        """The ``ETag`` header, if the server sent one."""
        return self.headers.get("ETag")


@dataclass(frozen=True, slots=True)
class DavResource:
    """One ``<response>`` of a multistatus: its href (decoded path or URL) and found properties."""

    href: str
    props: dict[str, Element] = field(default_factory=dict)
    status: int = 200

    def text(self, prefixed: str) -> str:
        """The text of a property (``d:displayname``), stripped; "" when absent."""
        found = self.props.get(clark(prefixed))
        return "".join(found.itertext()).strip() if found is not None else ""

    def hrefs(self, prefixed: str) -> list[str]:
        """The ``<href>`` values inside a property (``c:calendar-home-set``)."""
        found = self.props.get(clark(prefixed))
        if found is None:
            return []
        return [(h.text or "").strip() for h in found.iter(f"{{{DAV}}}href") if (h.text or "").strip()]

    def has(self, prefixed: str, child: str) -> bool:
        """Whether property ``prefixed`` holds an element named ``child`` (``c:calendar``)."""
        found = self.props.get(clark(prefixed))
        return found is not None and found.find(f".//{clark(child)}") is not None


def propfind_body(*props: str) -> str:
    """A PROPFIND body asking for ``props`` (prefixed names of :data:`NAMESPACES`)."""
    names = "".join(f"<{name}/>" for name in props)
    spaces = " ".join(f'xmlns:{p}="{ns}"' for p, ns in NAMESPACES.items())
    return f'<?xml version="1.0" encoding="utf-8"?><d:propfind {spaces}><d:prop>{names}</d:prop></d:propfind>'


def calendar_query_body(start: str, end: str) -> str:
    """A calendar-query REPORT for VEVENTs overlapping ``[start, end)`` (UTC ``YYYYMMDDTHHMMSSZ``).

    The whole calendar data of each event comes back (its master and overrides), unexpanded.
    """
    return (
        '<?xml version="1.0" encoding="utf-8"?>'
        f'<c:calendar-query xmlns:d="{DAV}" xmlns:c="{CALDAV}">'
        "<d:prop><d:getetag/><c:calendar-data/></d:prop>"
        '<c:filter><c:comp-filter name="VCALENDAR"><c:comp-filter name="VEVENT">'
        f'<c:time-range start="{start}" end="{end}"/>'
        "</c:comp-filter></c:comp-filter></c:filter></c:calendar-query>"
    )


def _status(line: str) -> int:
    parts = line.split()
    return int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else 0


def multistatus(text: str) -> list[DavResource]:
    """The responses of a 207 body; only properties in a 2xx propstat are kept.

    Raises ``ValueError`` when the body is not a WebDAV multistatus.
    """
    try:
        root = SafeET.fromstring(text.encode("utf-8") if isinstance(text, str) else text)
    except Exception:  # defusedxml raises its own errors as well as ParseError
        raise ValueError("not XML") from None
    if root.tag != f"{{{DAV}}}multistatus":
        raise ValueError("not a WebDAV multistatus")
    found: list[DavResource] = []
    for response in root.findall(f"{{{DAV}}}response"):
        href = (response.findtext(f"{{{DAV}}}href") or "").strip()
        if not href:
            continue
        props: dict[str, Element] = {}
        for propstat in response.findall(f"{{{DAV}}}propstat"):
            if not 200 <= _status(propstat.findtext(f"{{{DAV}}}status") or "") < 300:
                continue
            prop = propstat.find(f"{{{DAV}}}prop")
            for element in prop if prop is not None else ():
                props[element.tag] = element
        whole = response.findtext(f"{{{DAV}}}status")
        found.append(DavResource(unquote(href), props, _status(whole) if whole else 200))
    return found


class DavClient:
    """Requests to one account's server: its session, its sign-in, its time bound per request."""

    def __init__(self, session: aiohttp.ClientSession, *, username: str, password: str,
                 timeout: float) -> None:
        self._session = session
        self._auth = authorization(username, password)
        self._timeout = aiohttp.ClientTimeout(total=timeout)
        self.seconds = timeout

    async def request(self, method: str, url: URL, *, body: str | bytes | None = None,
                      depth: str | None = None, headers: Mapping[str, str] | None = None,
                      content_type: str = "application/xml", ok: tuple[int, ...] = ()) -> DavAnswer:
        """Send one request; a 2xx (or a status in ``ok``) answers, others raise :class:`StatusError`."""
        sent = {"Authorization": self._auth, "User-Agent": "Slotbot CalDAV"}
        if body is not None:
            sent["Content-Type"] = f"{content_type}; charset=utf-8"
        if depth is not None:
            sent["Depth"] = depth
        sent.update(headers or {})
        data = body.encode("utf-8") if isinstance(body, str) else body
        try:
            async with self._session.request(method, url, data=data, headers=sent, timeout=self._timeout,
                                             allow_redirects=False) as response:
                raw = await response.content.read(MAX_BODY + 1)
                if len(raw) > MAX_BODY:
                    raise ProviderUnavailable("CalDAV: the server's answer is too large.")
                status = response.status
                if not (200 <= status < 300 or status in ok):
                    raise StatusError(status, retry_after=response.headers.get("Retry-After"))
                charset = response.charset or "utf-8"
                return DavAnswer(status, dict(response.headers), raw.decode(charset, errors="replace"), url)
        except (StatusError, CalendarError):
            raise
        except TimeoutError:
            raise ProviderTimeout(f"CalDAV did not answer within {self.seconds:g} s.") from None
        except aiohttp.ClientConnectorCertificateError:
            raise Untrusted("CalDAV: the server's certificate is not trusted.") from None
        except aiohttp.ClientSSLError:
            raise Untrusted("CalDAV: the secure connection to the server failed.") from None
        except ssl.SSLError:
            raise Untrusted("CalDAV: the secure connection to the server failed.") from None
        except aiohttp.ClientError as exc:
            cause = exc.__cause__ or exc.__context__
            if isinstance(cause, AddressRefused):
                raise cause from None
            raise Unreachable(f"CalDAV: the server could not be reached ({type(exc).__name__}).") from None

    async def propfind(self, url: URL, *props: str, depth: str = "0",
                       ok: tuple[int, ...] = ()) -> tuple[DavAnswer, list[DavResource]]:
        """PROPFIND ``props`` at ``url``; the answer and its resources (``ValueError``: not DAV)."""
        answer = await self.request("PROPFIND", url, body=propfind_body(*props), depth=depth, ok=ok)
        if answer.status != 207:
            return answer, []
        return answer, multistatus(answer.text)


def dav_error(exc: StatusError) -> CalendarError:
    """The shared status mapping with CalDAV's name (for callers outside a retry loop)."""
    from bot.calendar.http import status_error

    return status_error(exc, VOCABULARY)
