"""Connecting an on-premises Exchange mailbox with a form: the checks, each failure one sentence.

:func:`probe` takes what the host typed (:class:`ExchangeForm`), finds the EWS URL when it was left
blank (autodiscover, bounded, its cache kept in Slotbot's cache folder, every request through the
SSRF policy), refuses Exchange Online (password sign-in to EWS is turned off there: Microsoft 365
is the way), then signs in within a bounded time (:data:`PROBE_SECONDS`): the sign-in method the
server offers (NTLM preferred, then Basic), its version, and the mailbox's calendar folders. It
returns the credentials to seal and the calendars found, or raises :class:`ExchangeRefused` whose
message is the sentence for the form and whose ``field`` says which input it is about. Nothing
exchangelib says (it can hold the server's headers and body) reaches the message.
"""

from __future__ import annotations

import re
import ssl
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import requests
from exchangelib import Configuration, Credentials, Version
from exchangelib.autodiscover import cache as autodiscover_cache
from exchangelib.autodiscover.discovery import Autodiscovery
from exchangelib.autodiscover.protocol import AutodiscoverProtocol
from exchangelib.errors import UnauthorizedError
from exchangelib.transport import BASIC, NTLM

from bot.calendar.base import CalendarError, ProviderTimeout
from bot.calendar.exchange.client import Folder, Mailbox, parse_build, prepare_library, protocol_class
from bot.calendar.exchange.credentials import ExchangeCredentials
from bot.calendar.exchange.errors import MeasuredFailFast, classify
from bot.calendar.http import StatusError
from bot.calendar.ssrf import AddressPolicy, AddressRefused, UrlRefused
from bot.calendar.threads import WorkerThreads

PROBE_SECONDS = 10.0
"""How long connecting (autodiscover, sign-in, listing) may take in all."""
VERSIONS = {
    "": "",  # found by asking the server
    "2010sp2": "14.2.0.0",
    "2013": "15.0.0.0",
    "2016": "15.1.0.0",
    "2019": "15.2.0.0",
}
"""The form's version choices -> the build Slotbot speaks (2010 SP2 is the oldest supported)."""
EXCHANGE_ONLINE = re.compile(
    r"(^|\.)(outlook\.office365\.com|outlook\.office\.com|office365\.com|outlook\.com|outlook\.live\.com"
    r"|office365\.us|outlook\.office365\.us|partner\.outlook\.cn|microsoftonline\.com)$"
)
EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ExchangeRefused(CalendarError):
    """Connecting failed; the message is the form's sentence, ``field`` the input it is about."""

    reason = "refused"

    def __init__(self, message: str, *, field: str = "") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True, slots=True)
class ExchangeForm:
    """What the host typed into the connect form."""

    email: str
    password: str = field(repr=False)
    username: str = ""
    ews_url: str = ""
    version: str = ""
    auth: str = ""  # "" finds out (NTLM preferred, then Basic); "NTLM" or "basic" to insist


@dataclass(frozen=True, slots=True)
class Probed:
    """A successful probe: the credentials to seal and the calendar folders found."""

    credentials: ExchangeCredentials
    calendars: tuple[Folder, ...]


def is_exchange_online(host: str) -> bool:
    """Whether ``host`` is Exchange Online (Microsoft 365), where EWS refuses passwords."""
    return bool(EXCHANGE_ONLINE.search(host.lower().rstrip(".")))


def _online_refusal() -> ExchangeRefused:
    return ExchangeRefused(
        "This mailbox is in Exchange Online (Microsoft 365), which no longer accepts passwords for "
        "EWS. Use “Connect Microsoft 365” instead: it signs you in with Microsoft.",
        field="ews_url",
    )


def check_form(form: ExchangeForm, policy: AddressPolicy) -> ExchangeForm:
    """The form's values tidied and checked before any request (:class:`ExchangeRefused`)."""
    email = form.email.strip()
    if not EMAIL.match(email):
        raise ExchangeRefused(
            "Enter the mailbox's e-mail address, such as hannah@example.com.", field="email"
        )
    if not form.password:
        raise ExchangeRefused("Enter the password (or app password) of this mailbox.", field="password")
    if form.version not in VERSIONS:
        raise ExchangeRefused("Choose an Exchange version from the list.", field="version")
    url = form.ews_url.strip()
    if url:
        parts = urlsplit(url if "://" in url else f"https://{url}")
        if parts.scheme != "https":
            raise ExchangeRefused("Slotbot only talks to Exchange over https: the URL must start with https://.",
                                  field="ews_url")
        host = parts.hostname or ""
        if not host:
            raise ExchangeRefused("That EWS URL has no server name in it.", field="ews_url")
        if is_exchange_online(host):
            raise _online_refusal()
        if not parts.path or parts.path == "/":
            parts = parts._replace(path="/EWS/Exchange.asmx")
        url = parts._replace(fragment="").geturl()
        try:
            policy.check_url(url)
        except (AddressRefused, UrlRefused) as exc:
            raise ExchangeRefused(str(exc), field="ews_url") from None
    elif is_exchange_online(email.rsplit("@", 1)[1]):
        raise _online_refusal()
    return ExchangeForm(email, form.password, form.username.strip(), url, form.version, form.auth)


def autodiscover_cache_file(data_dir: Path) -> Path:
    """Where exchangelib's autodiscover cache lives: Slotbot's data folder, not the temp folder."""
    base = data_dir / "cache"
    base.mkdir(parents=True, exist_ok=True, mode=0o700)
    return base / "exchange-autodiscover"


def _discover(form: ExchangeForm, policy: AddressPolicy, adapter: type[requests.adapters.HTTPAdapter],
              data_dir: Path) -> str:
    # exchangelib reads these process-wide attributes when it autodiscovers (only Slotbot does, in
    # this process): its cache file (the temp folder otherwise) and the adapter (the SSRF policy).
    autodiscover_cache.AUTODISCOVER_PERSISTENT_STORAGE = autodiscover_cache_file(data_dir)
    AutodiscoverProtocol.HTTP_ADAPTER_CLS = adapter
    AutodiscoverProtocol.TIMEOUT = PROBE_SECONDS
    try:
        _, protocol = Autodiscovery(
            email=form.email, credentials=Credentials(form.username or form.email, form.password)
        ).discover()
    except Exception as exc:
        found = classify(exc)
        if isinstance(found, AddressRefused):
            raise ExchangeRefused(str(found), field="ews_url") from None
        raise ExchangeRefused(
            "Autodiscover found no Exchange server for this address. Enter the EWS URL (ask your IT "
            "team; it usually looks like https://mail.example.com/EWS/Exchange.asmx).", field="ews_url",
        ) from None
    url = str(protocol.service_endpoint)
    host = urlsplit(url).hostname or ""
    if is_exchange_online(host):
        raise _online_refusal()
    try:
        policy.check_url(url)
    except (AddressRefused, UrlRefused) as exc:
        raise ExchangeRefused(str(exc), field="ews_url") from None
    return url


def _sentence(exc: BaseException) -> ExchangeRefused:
    """The form's sentence for a failed sign-in or listing."""
    text = str(exc)
    if isinstance(exc, UnauthorizedError):
        if "locked out" in text:
            return ExchangeRefused("Exchange says this account is locked. Ask your IT team to unlock it, "
                                   "then try again.", field="password")
        if "No compatible auth type" in text:
            return ExchangeRefused("This server does not offer password sign-in (NTLM or Basic) for EWS.",
                                   field="ews_url")
        return ExchangeRefused(
            "Exchange did not accept this e-mail address, user name and password. If your organisation "
            "uses two-factor sign-in, create an app password and use it here.", field="password",
        )
    for link in (exc, exc.__cause__, exc.__context__):
        untrusted = "CERTIFICATE_VERIFY_FAILED" in str(link)
        if isinstance(link, ssl.SSLError | requests.exceptions.SSLError) or untrusted:
            return ExchangeRefused(
                "The server's certificate is not trusted, so nothing was sent. If your company uses its "
                "own certificate authority, an operator can add it with SLOTBOT_EXTRA_CA_FILE.",
                field="ews_url",
            )
    if type(exc).__name__ in ("RedirectError", "RelativeRedirect"):
        return ExchangeRefused("The server answered with a redirect, which Slotbot does not follow for a "
                               "password. Enter the final EWS URL.", field="ews_url")
    if "Failed to get auth type" in text:
        return ExchangeRefused("Nothing answered as Exchange at this URL (not found). The EWS URL usually "
                               "ends in /EWS/Exchange.asmx.", field="ews_url")
    found = classify(exc)
    if isinstance(found, AddressRefused):
        return ExchangeRefused(str(found), field="ews_url")
    if isinstance(found, ProviderTimeout):
        return ExchangeRefused(
            f"Exchange did not answer within {PROBE_SECONDS:.0f} seconds.", field="ews_url"
        )
    code = type(exc).__name__
    if code == "ErrorNonExistentMailbox":
        return ExchangeRefused("This server has no mailbox for this e-mail address.", field="email")
    if code in ("ErrorAccessDenied", "ErrorFolderNotFound"):
        return ExchangeRefused("This account may not open this mailbox's calendar.", field="email")
    if code == "MalformedResponseError" or (isinstance(found, StatusError) and found.status == 404):
        return ExchangeRefused("This URL answered, but not as Exchange Web Services (EWS).", field="ews_url")
    if code in ("ErrorTimeoutExpired", "TransportError"):
        return ExchangeRefused("The Exchange server could not be reached at this address.", field="ews_url")
    return ExchangeRefused("Exchange refused the connection. Check the URL and the version, then try again.",
                           field="ews_url")


def _sign_in(form: ExchangeForm, protocol: type[Any]) -> Probed:
    config = Configuration(
        service_endpoint=form.ews_url,
        credentials=Credentials(form.username or form.email, form.password),
        auth_type={"NTLM": NTLM, "basic": BASIC}.get(form.auth),  # None: exchangelib asks the server
        version=Version(build=parse_build(VERSIONS[form.version])) if VERSIONS[form.version] else None,
        retry_policy=MeasuredFailFast(),
    )
    mailbox: Mailbox | None = None
    try:
        typed = ExchangeCredentials(
            email=form.email, password=form.password, ews_url=form.ews_url, username=form.username
        )
        mailbox = Mailbox(typed, protocol, config=config)
        account = mailbox.account
        auth = account.protocol.auth_type
        if auth not in (NTLM, BASIC):
            raise UnauthorizedError("No compatible auth type")
        build = str(account.version.build) if account.version.build is not None else ""
        credentials = ExchangeCredentials(
            email=form.email, password=form.password, ews_url=form.ews_url, username=form.username,
            auth_type="NTLM" if auth == NTLM else "basic", version=build,
        )
        folders = mailbox.calendars()
    except ExchangeRefused:
        raise
    except Exception as exc:  # every failure becomes the form's sentence
        raise _sentence(exc) from None
    finally:
        if mailbox is not None:
            mailbox.close()  # nothing stays signed in under the unsaved form's values
    return Probed(credentials, tuple(folders))


async def probe(form: ExchangeForm, *, policy: AddressPolicy, adapter: type[requests.adapters.HTTPAdapter],
                threads: WorkerThreads, data_dir: Path, seconds: float = PROBE_SECONDS) -> Probed:
    """Check the form, find the URL if blank, sign in and list the calendars (bounded in time)."""
    checked = check_form(form, policy)
    prepare_library()
    protocol = protocol_class(adapter, seconds)

    def run() -> Probed:
        ready = checked
        if not ready.ews_url:
            ready = ExchangeForm(checked.email, checked.password, checked.username,
                                 _discover(checked, policy, adapter, data_dir), checked.version, checked.auth)
        return _sign_in(ready, protocol)

    try:
        return await threads.run(run, timeout=seconds, what="Exchange: connect")
    except ProviderTimeout:
        raise ExchangeRefused(f"Exchange did not answer within {seconds:.0f} seconds. Check the URL, "
                              "or try again later.", field="ews_url") from None
