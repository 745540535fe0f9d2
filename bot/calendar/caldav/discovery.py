"""Finding an account's calendars: ``/.well-known/caldav``, the principal, its home, the listing.

:func:`find_principal` follows RFC 6764 (the well-known URL, redirects followed by hand through the
SSRF policy) to ``current-user-principal``; :func:`read_principal` reads its
``calendar-home-set`` and ``calendar-user-address-set`` (the host's own addresses, for declined
invitations); :func:`list_calendars` asks the home (Depth 1) for each calendar's name, colour,
components, the privileges the server grants this account, and its ``getctag`` / ``sync-token``.

Calendar ids are the calendars' paths on the home's origin; a calendar the server places on
another origin is left out, so the password is only ever sent where the server's own discovery
led. :class:`NotCalDav` says an answer was not CalDAV at all.
"""

from __future__ import annotations

from dataclasses import dataclass

from yarl import URL

from bot.calendar.base import CalendarError
from bot.calendar.caldav.webdav import DavAnswer, DavClient, DavResource
from bot.calendar.http import StatusError
from bot.calendar.ssrf import AddressPolicy

REDIRECTS = (301, 302, 303, 307, 308)
MAX_REDIRECTS = 5
WELL_KNOWN = "/.well-known/caldav"
LISTING = (
    "d:displayname", "d:resourcetype", "c:supported-calendar-component-set", "d:current-user-privilege-set",
    "cs:getctag", "d:sync-token", "a:calendar-color", "a:calendar-order",
)
WRITE_PRIVILEGES = ("d:write", "d:write-content", "d:all", "d:bind")


class NotCalDav(CalendarError):
    """The server answered, but not as a CalDAV server (no principal, no calendar home)."""

    reason = "not_caldav"


@dataclass(frozen=True, slots=True)
class Principal:
    """Where an account's calendars live, and the addresses that are the account's own."""

    url: URL
    home: URL
    addresses: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class DavCalendar:
    """One calendar collection of the home, as the server describes it to this account."""

    href: str
    url: URL
    name: str
    color: str = ""
    writable: bool = True
    ctag: str = ""
    sync_token: str = ""
    order: int = 1 << 30  # Apple's calendar-order (the order the host's own apps show); last if none

    @property
    def version(self) -> str:
        """What changes whenever the calendar does (sync-token, else ctag); "" when unknown."""
        return self.sync_token or self.ctag


def resolve(base: URL, href: str) -> URL:
    """``href`` (a path or an absolute URL, as servers write them) against ``base``."""
    return base.join(URL(href, encoded=False))


def same_origin(a: URL, b: URL) -> bool:
    """Whether two URLs share scheme, host and port."""
    return (a.scheme, (a.host or "").lower(), a.port) == (b.scheme, (b.host or "").lower(), b.port)


async def propfind_following(client: DavClient, url: URL, *props: str, policy: AddressPolicy,
                             depth: str = "0") -> tuple[DavAnswer, list[DavResource]]:
    """PROPFIND ``url``, following up to :data:`MAX_REDIRECTS` redirects checked by ``policy``."""
    for _ in range(MAX_REDIRECTS + 1):
        answer, found = await client.propfind(url, *props, depth=depth, ok=REDIRECTS)
        if answer.status not in REDIRECTS:
            return answer, found
        url = policy.redirect_target(url, answer.headers.get("Location"))
    raise NotCalDav(f"{url.host} redirected too many times.")


async def find_principal(client: DavClient, start: URL, policy: AddressPolicy) -> URL:
    """The account's principal URL, from ``start`` or its server's ``/.well-known/caldav``.

    A 401 raises :class:`StatusError` (wrong sign-in); nothing usable raises :class:`NotCalDav`.
    """
    well_known = start.join(URL(WELL_KNOWN))
    tries = [well_known, start] if start.path in ("", "/") else [start, well_known]
    for url in tries:
        try:
            answer, found = await propfind_following(client, url, "d:current-user-principal", policy=policy)
        except StatusError as exc:
            if exc.status in (401, 429) or exc.status >= 500:
                raise
            continue
        except ValueError:
            continue
        for resource in found:
            hrefs = resource.hrefs("d:current-user-principal")
            if hrefs:
                return policy.check_url(resolve(answer.url, hrefs[0]))
    raise NotCalDav(f"{start.host} does not answer as a CalDAV server.")


async def read_principal(client: DavClient, principal: URL, policy: AddressPolicy) -> Principal:
    """The principal's calendar home and own addresses (``mailto:`` ones, lower case)."""
    try:
        answer, found = await client.propfind(principal, "c:calendar-home-set", "c:calendar-user-address-set")
    except ValueError:
        raise NotCalDav(f"{principal.host} does not answer as a CalDAV server.") from None
    homes = [href for resource in found for href in resource.hrefs("c:calendar-home-set")]
    if not homes:
        raise NotCalDav(f"{principal.host} shows no calendar home for this account.")
    addresses = [
        href[len("mailto:"):].strip().lower()
        for resource in found for href in resource.hrefs("c:calendar-user-address-set")
        if href.lower().startswith("mailto:")
    ]
    home = policy.check_url(resolve(answer.url, homes[0]))
    return Principal(principal, home, tuple(dict.fromkeys(addresses)))


def _writable(resource: DavResource) -> bool:
    if "{DAV:}current-user-privilege-set" not in resource.props:
        return True  # the server does not say: trust the account with its own home
    return any(resource.has("d:current-user-privilege-set", name) for name in WRITE_PRIVILEGES)


def _events(resource: DavResource) -> bool:
    element = resource.props.get("{urn:ietf:params:xml:ns:caldav}supported-calendar-component-set")
    if element is None:
        return True
    names = {comp.get("name", "").upper() for comp in element.iter("{urn:ietf:params:xml:ns:caldav}comp")}
    return not names or "VEVENT" in names


def calendar_of(home: URL, resource: DavResource) -> DavCalendar | None:
    """The calendar a listing response describes (None: not an event calendar on the home's origin)."""
    if not resource.has("d:resourcetype", "c:calendar") or not _events(resource):
        return None
    url = resolve(home, resource.href)
    if not same_origin(url, home):
        return None
    path = url.path if url.path.endswith("/") else url.path + "/"
    order = resource.text("a:calendar-order")
    name = resource.text("d:displayname") or path.rstrip("/").rsplit("/", 1)[-1] or "Calendar"
    return DavCalendar(
        href=path, url=url.with_path(path), name=name[:200], color=resource.text("a:calendar-color")[:16],
        writable=_writable(resource), ctag=resource.text("cs:getctag"),
        sync_token=resource.text("d:sync-token"),
        order=int(order) if order.isdigit() else 1 << 30,
    )


async def list_calendars(client: DavClient, home: URL) -> list[DavCalendar]:
    """The event calendars in the home (Depth 1), by their ``calendar-order``, then path."""
    try:
        _, found = await client.propfind(home, *LISTING, depth="1")
    except ValueError:
        raise NotCalDav(f"{home.host} answered the calendar listing with something else.") from None
    calendars = [calendar_of(home, resource) for resource in found]
    return sorted((c for c in calendars if c is not None), key=lambda c: (c.order, c.href))


async def calendar_version(client: DavClient, calendar: URL) -> str:
    """The calendar's sync-token or ctag now (one Depth 0 PROPFIND); "" when the server keeps none."""
    try:
        _, found = await client.propfind(calendar, "cs:getctag", "d:sync-token")
    except ValueError:
        return ""
    for resource in found:
        version = resource.text("d:sync-token") or resource.text("cs:getctag")
        if version:
            return version
    return ""
