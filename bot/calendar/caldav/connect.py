"""Connecting a CalDAV account with a form: the checks, each failure one sentence.

:func:`probe` takes what the host typed (:class:`CalDavForm`: a preset server or a URL, the user
name and the app password), checks the URL against the SSRF policy, then within
:data:`PROBE_SECONDS` finds the principal (``/.well-known/caldav``, ``current-user-principal``),
its calendar home and the calendars (names, colours, what this account may do with each). It
returns the credentials to seal and the calendars, or raises :class:`CalDavRefused` whose
message is the sentence for the form and whose ``field`` names the input it is about. The
password is never part of a message.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from yarl import URL

from bot.calendar.base import CalendarError, ProviderTimeout
from bot.calendar.caldav.credentials import CalDavCredentials
from bot.calendar.caldav.discovery import (
    DavCalendar,
    NotCalDav,
    find_principal,
    list_calendars,
    read_principal,
)
from bot.calendar.caldav.provider import CalDavFactory
from bot.calendar.caldav.webdav import Unreachable, Untrusted
from bot.calendar.http import StatusError
from bot.calendar.ssrf import AddressRefused, UrlRefused

PROBE_SECONDS = 10.0
"""How long connecting (discovery and listing) may take in all."""


@dataclass(frozen=True, slots=True)
class Preset:
    """A well-known CalDAV service: its URL (``{base}`` for a self-hosted one) and app-password help."""

    label: str
    url: str
    help_text: str
    help_link: str


PRESETS = {
    "icloud": Preset("iCloud", "https://caldav.icloud.com/",
                     "Create an app-specific password at appleid.apple.com (Sign-In and Security > "
                     "App-Specific Passwords); the user name is your Apple ID e-mail address.",
                     "https://appleid.apple.com/account/manage"),
    "fastmail": Preset("Fastmail", "https://caldav.fastmail.com/",
                       "Create an app password in Fastmail's Settings > Privacy & Security > Integrations "
                       "(app passwords), with CalDAV access.",
                       "https://app.fastmail.com/settings/security/integrations"),
    "nextcloud": Preset("Nextcloud", "{base}/remote.php/dav/",
                        "Create an app password in Nextcloud's Settings > Security > Devices & sessions.",
                        ""),
    "other": Preset("Another CalDAV server", "", "If your service offers app passwords, use one here.", ""),
}
"""The form's server choices."""


class CalDavRefused(CalendarError):
    """Connecting failed; the message is the form's sentence, ``field`` the input it is about."""

    reason = "refused"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class CalDavForm:
    """What the host typed: a :data:`PRESETS` key, a URL (Nextcloud's base or any server's), the sign-in."""

    server: str
    username: str
    password: str = field(repr=False)
    url: str = ""


@dataclass(frozen=True, slots=True)
class Probed:
    """A successful probe: the credentials to seal and the calendars found."""

    credentials: CalDavCredentials
    calendars: tuple[DavCalendar, ...]


def server_url(form: CalDavForm) -> str:
    """The URL discovery starts from, before any check ("" when the form lacks one)."""
    preset = PRESETS.get(form.server)
    typed = form.url.strip()
    if typed and "://" not in typed:
        typed = f"https://{typed}"
    if preset is None or form.server == "other":
        return typed
    if "{base}" in preset.url:
        return preset.url.replace("{base}", typed.rstrip("/")) if typed else ""
    return preset.url


def form_from_url(url: str, username: str) -> CalDavForm:
    """The form (password empty) that leads to ``url`` again: a preset when it is one."""
    for key, preset in PRESETS.items():
        if preset.url and "{base}" not in preset.url and url == preset.url:
            return CalDavForm(key, username, "")
    if url.endswith("/remote.php/dav/"):
        return CalDavForm("nextcloud", username, "", url[: -len("/remote.php/dav/")])
    return CalDavForm("other", username, "", url)


def check_form(form: CalDavForm, factory: CalDavFactory) -> URL:
    """The checked URL to start from, before any request (:class:`CalDavRefused` otherwise)."""
    if form.server not in PRESETS:
        raise CalDavRefused("Choose a server from the list.", field="server")
    url = server_url(form)
    if not url:
        what = "your Nextcloud's address, such as https://cloud.example.com" if form.server == "nextcloud" \
            else "the CalDAV server's address, such as https://dav.example.com/"
        raise CalDavRefused(f"Enter {what}.", field="url")
    if not form.username.strip():
        raise CalDavRefused("Enter the user name you sign in to this service with.", field="username")
    if not form.password:
        raise CalDavRefused("Enter the app password (or password) of this account.", field="password")
    parts = urlsplit(url)
    if parts.scheme.lower() != "https":
        raise CalDavRefused("Slotbot only talks to CalDAV servers over https: the address must start with "
                            "https://.", field="url")
    try:
        return factory.policy.check_url(url)
    except (AddressRefused, UrlRefused) as exc:
        raise CalDavRefused(str(exc), field="url") from None


def _sentence(exc: BaseException, host: str, seconds: float) -> CalDavRefused:
    """The form's sentence for a failed discovery or listing."""
    if isinstance(exc, StatusError):
        if exc.status == 401:
            return CalDavRefused(
                f"{host} did not accept this user name and password. iCloud, Fastmail and Nextcloud need an "
                "app-specific password here, not your account's usual password.", field="password")
        if exc.status == 403:
            return CalDavRefused(f"{host} refused this account access to its calendars (403).",
                                 field="username")
        if exc.status == 429:
            return CalDavRefused(f"{host} asked Slotbot to slow down. Try again in a few minutes.",
                                 field="url")
        if exc.status >= 500:
            return CalDavRefused(f"{host} answered with a server error ({exc.status}). Try again later.",
                                 field="url")
        return CalDavRefused(f"{host} does not answer as a CalDAV server ({exc.status}). Check the address.",
                             field="url")
    if isinstance(exc, AddressRefused | UrlRefused):
        return CalDavRefused(str(exc), field="url")
    if isinstance(exc, NotCalDav):
        return CalDavRefused(f"{host} answered, but not as a CalDAV server: no calendars were found for this "
                             "account there. Check the address.", field="url")
    if isinstance(exc, Untrusted):
        return CalDavRefused(
            f"The certificate of {host} is not trusted, so nothing was sent. If it uses your company's own "
            "certificate authority, an operator can add it with SLOTBOT_EXTRA_CA_FILE.", field="url")
    if isinstance(exc, TimeoutError | ProviderTimeout):
        return CalDavRefused(f"{host} did not answer within {seconds:.0f} seconds. Check the address, or try "
                             "again later.", field="url")
    if isinstance(exc, Unreachable):
        return CalDavRefused(f"{host} could not be reached. Check the address.", field="url")
    return CalDavRefused(f"{host} refused the connection. Check the address, then try again.", field="url")


async def probe(form: CalDavForm, *, factory: CalDavFactory, seconds: float = PROBE_SECONDS) -> Probed:
    """Check the form, find the account's calendars and list them (bounded in time)."""
    start = check_form(form, factory)
    username = form.username.strip()
    client = factory.client(username, form.password, timeout=seconds)
    host = start.host or "the server"
    try:
        async with asyncio.timeout(seconds):
            principal_url = await find_principal(client, start, factory.policy)
            principal = await read_principal(client, principal_url, factory.policy)
            calendars = await list_calendars(client, principal.home)
    except (CalendarError, StatusError, TimeoutError) as exc:
        raise _sentence(exc, host, seconds) from None
    if not calendars:
        raise CalDavRefused(f"{host} shows no calendars with events for this account.", field="url")
    credentials = CalDavCredentials(
        server=str(start), username=username, password=form.password, principal=str(principal.url),
        home=str(principal.home), addresses=principal.addresses,
    )
    return Probed(credentials, tuple(calendars))
