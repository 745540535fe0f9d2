"""The fake Exchange (EWS) server: the demo's protocol server on the shared base, with test knobs.

What exchangelib 5.6 raises for each fault, measured through exchangelib with ``FailFast``
(``tests/calendar/exchange/test_fake_ews_faults.py`` asserts every row):

=============================================  =======================================================
Fault (how to script it)                       exchangelib raises
=============================================  =======================================================
wrong password, NTLM or Basic (401)            ``UnauthorizedError("Invalid credentials for <url>")``
HTTP 500 SOAP fault (``fail_next(1, 500)``)    ``ErrorInternalServerError`` (the fault's code)
HTTP 500 ASP.NET page (``page=True``)          ``ErrorServerBusy`` ("Reraised from
                                               ErrorInternalServerTransientError"), ``back_off`` 10
HTTP 503 (``fail_next(1, 503)``)               ``ErrorServerBusy`` ("Reraised from
                                               ErrorInternalServerTransientError"), ``back_off`` 10
HTTP 429 + Retry-After (``fail_next(1, 429,    ``MalformedResponseError`` (Retry-After is not read;
retry_after=7)``)                              the message holds the headers and the body)
ErrorServerBusy (``server_busy(1,              ``ErrorServerBusy``, ``back_off`` = BackOffMilliseconds
back_off_ms=5000)``)                           / 1000 (5.0 seconds)
ErrorAccessDenied (``folder.fault``; a         ``ErrorAccessDenied``, raised by the query
colleague's calendar without ``reviewer``)
ErrorFolderNotFound (``folder.fault``)         ``ErrorFolderNotFound`` (from ``account.calendar``:
                                               "No usable default ... Calendar folders")
ErrorNonExistentMailbox (FindItem/GetFolder    ``ErrorNonExistentMailbox``
in an unknown mailbox)
unknown address in GetUserAvailability         an ``ErrorMailRecipientNotFound`` *value* in the list
``share_with(host, "none")``, free/busy        ``ErrorNoFreeBusyAccess`` *raised* while iterating
ErrorItemNotFound (DeleteItem, unknown id)     ``ErrorItemNotFound`` raised by ``item.delete()``;
                                               a value in ``account.bulk_delete(...)``
wrong path (IIS 404 page)                      ``MalformedResponseError`` (also at the version guess)
nothing listening                              ``ErrorTimeoutExpired`` with a version set;
                                               ``TransportError`` ("No valid version headers") when
                                               exchangelib has to guess the version
read timeout (``fail_next(1, None,             ``ErrorTimeoutExpired`` after ``BaseProtocol.TIMEOUT``
delay=...)``)                                  seconds ("Reraised from ReadTimeout")
an operation the server lacks (e.g.            ``ErrorInvalidServerVersion`` after exchangelib retried
ResolveNames: ``ErrorInvalidRequest`` fault)   the request once per API version (10 requests)
=============================================  =======================================================

exchangelib caches a failed ``Protocol`` per endpoint and credentials: until
``CachingProtocol.clear_cache()``, the same failure comes back without a request. Never show an
exception's text to a user: ``MalformedResponseError`` and ``TransportError`` carry the server's
headers and body.
"""

from __future__ import annotations

import ssl
import threading
from dataclasses import dataclass

from aiohttp import web

from bot.demo.ews import EwsEndpoint, ServerVersion, Store
from bot.demo.ews.access import MESSAGES
from bot.demo.ews.server import PATH, Call, iis_headers
from bot.demo.ews.soap import fault as soap_fault
from bot.demo.ews.store import Cancellation, Folder, Invitation, Mailbox
from tests.fakes.base import CALL, FakeServer, Fault, Recorded, TlsFiles

DEFAULT_EMAIL = "host@contoso.example"
DEFAULT_PASSWORD = "Host-Password-1"
DEFAULT_USERNAME = "CONTOSO\\hannah"

_ASPNET_ERROR = (
    "<html><head><title>Runtime Error</title></head><body><h1>Server Error in '/EWS' Application."
    "</h1><h2><i>Runtime Error</i></h2></body></html>"
)
_PAGES = {
    429: "<html><body><h1>Too Many Requests</h1></body></html>",
    503: '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN"><HTML><HEAD><TITLE>Service Unavailable'
    "</TITLE></HEAD><BODY><h2>Service Unavailable</h2><hr><p>HTTP Error 503. The service is "
    "unavailable.</p></BODY></HTML>",
}


@dataclass(frozen=True)
class EwsCall:
    """One authenticated EWS operation: its name, who asked, what it was about, the raw request."""

    operation: str
    mailbox: str
    subjects: frozenset[str]
    recorded: Recorded


class FakeExchange(FakeServer):
    """An on-premises Exchange 2016 EWS endpoint for exchangelib, with scripted failures.

    Starts with one mailbox, ``host@contoso.example`` (password ``DEFAULT_PASSWORD``, also
    ``CONTOSO\\hannah``). Run it with ``with fake:`` (exchangelib blocks).
    """

    name = "exchange"

    def __init__(
        self,
        tls: TlsFiles | None = None,
        *,
        schemes: tuple[str, ...] = ("NTLM", "Basic"),
        version: ServerVersion | None = None,
    ) -> None:
        super().__init__(tls=tls)
        self.store = Store()
        certificate = None if tls is None else ssl.PEM_cert_to_DER_cert(tls.cert.read_text())
        self.endpoint = EwsEndpoint(self.store, version=version, schemes=schemes, certificate=certificate)
        self.endpoint.before = self._before
        self.calls: list[EwsCall] = []
        self.max_in_flight = 0
        """The most EWS requests the fake was answering at once."""
        self._in_flight = 0
        self._lock = threading.Lock()
        self._about: dict[int, EwsCall] = {}
        self.host = self.add_mailbox(
            DEFAULT_EMAIL, DEFAULT_PASSWORD, username=DEFAULT_USERNAME, name="Hannah Host"
        )

    # -- addresses ------------------------------------------------------------------------------

    @property
    def url(self) -> str:
        """The EWS endpoint URL (``.../EWS/Exchange.asmx``)."""
        return f"{self.base_url}{PATH}"

    def env(self, email: str = DEFAULT_EMAIL) -> dict[str, str]:
        """What a deployment would be told about this server: endpoint, sign-in, CA bundle."""
        mailbox = self.store.mailboxes[email.lower()]
        found = {"EXCHANGE_EWS_URL": self.url, "EXCHANGE_USERNAME": mailbox.email}
        found["EXCHANGE_PASSWORD"] = mailbox.password
        if self.tls is not None:
            found["EXCHANGE_CA_BUNDLE"] = str(self.tls.cert)
        return found

    # -- population -----------------------------------------------------------------------------

    def add_mailbox(
        self,
        email: str,
        password: str = "Colleague-Password-1",
        *,
        username: str | None = None,
        name: str = "",
    ) -> Mailbox:
        """Add a user with a primary calendar (see :meth:`bot.demo.ews.Store.add_mailbox`)."""
        return self.store.add_mailbox(email, password, username=username, name=name or None)

    add_event = staticmethod(Store.add_event)
    """``add_event(folder, start, end, *, subject, show_as, cancelled, all_day, my_response, time_zone)``."""

    @property
    def invitations(self) -> list[Invitation]:
        """Meeting requests CreateItem would have sent (one per attendee)."""
        return self.store.invitations

    @property
    def cancellations(self) -> list[Cancellation]:
        """Cancellations DeleteItem would have sent."""
        return self.store.cancellations

    # -- observations ---------------------------------------------------------------------------

    def operations(self, name: str | None = None) -> list[EwsCall]:
        """The authenticated EWS calls, optionally only those of operation ``name``."""
        return [c for c in self.calls if name is None or c.operation == name]

    @property
    def unauthorized(self) -> int:
        """How many 401s the fake answered (NTLM challenges included)."""
        return sum(1 for r in self.requests if r.status == 401)

    @property
    def failed_sign_ins(self) -> int:
        """How many sign-ins were refused (wrong password, unknown user, bad token)."""
        return self.endpoint.failed_sign_ins

    @property
    def ntlm_handshakes(self) -> int:
        """How many NTLM challenges were issued (one per new TCP connection that signs in)."""
        return self.endpoint.challenges

    # -- scripted failures ----------------------------------------------------------------------

    def fail_next(  # type: ignore[override]
        self,
        count: int = 1,
        status: int | None = 500,
        retry_after: float | str | None = None,
        *,
        calendar: str | Folder | None = None,
        delay: float = 0.0,
        code: str | None = None,
        back_off_ms: int | None = None,
        page: bool = False,
        operation: str | None = None,
    ) -> None:
        """Answer the next ``count`` EWS operations as a failing Exchange/IIS would.

        ``status`` 500: a SOAP fault with ``code`` (default ``ErrorInternalServerError``;
        ``ErrorServerBusy`` carries ``BackOffMilliseconds`` = ``back_off_ms``, default 30000), or
        with ``page=True`` ASP.NET's "Server Error in '/EWS' Application" page. 503: HTTP.sys's
        "Service Unavailable" page; 429 and other statuses: an HTML page; ``retry_after`` adds
        ``Retry-After``. ``status`` None answers normally, ``delay`` seconds late (a read
        timeout). ``calendar`` (a folder, folder id or mailbox address) and ``operation`` limit
        the fault to requests about it; ``delay`` also delays the failures.
        """
        about = calendar.id if isinstance(calendar, Folder) else calendar

        def when(recorded: Recorded) -> bool:
            call = self._about.get(id(recorded))
            if call is None:
                return False
            if operation is not None and call.operation != operation:
                return False
            return about is None or about in call.subjects or about.lower() in call.subjects

        detail = {"code": code or ("ErrorServerBusy" if back_off_ms else "ErrorInternalServerError")}
        if back_off_ms is not None or detail["code"] == "ErrorServerBusy":
            detail["back_off_ms"] = str(30000 if back_off_ms is None else back_off_ms)
        if page:
            detail["page"] = "aspnet"
        super().fail_next(count, status=status, retry_after=retry_after, delay=delay, when=when, **detail)

    def server_busy(self, count: int = 1, *, back_off_ms: int = 30000) -> None:
        """Answer the next ``count`` operations with Exchange's throttling fault ``ErrorServerBusy``."""
        self.fail_next(count, 500, code="ErrorServerBusy", back_off_ms=back_off_ms)

    def _render(self, fault: Fault) -> web.Response:
        status = fault.status or 500
        headers = iis_headers(**fault.headers)
        if status == 500 and fault.detail.get("page") != "aspnet":
            code = fault.detail.get("code", "ErrorInternalServerError")
            values = (
                {"BackOffMilliseconds": fault.detail["back_off_ms"]}
                if "back_off_ms" in fault.detail
                else None
            )
            body = soap_fault(self.endpoint.version, code, MESSAGES.get(code, code), values=values)
            headers["Content-Type"] = "text/xml; charset=utf-8"
            return web.Response(status=500, body=body, headers=headers)
        page = (
            _ASPNET_ERROR
            if status == 500
            else _PAGES.get(status, f"<html><body><h1>HTTP {status}</h1></body></html>")
        )
        return web.Response(status=status, text=page, content_type="text/html", headers=headers)

    async def _before(self, call: Call) -> web.StreamResponse | None:
        recorded = call.request[CALL]
        entry = EwsCall(call.operation, call.mailbox.email, call.subjects, recorded)
        self.calls.append(entry)
        self._about[id(recorded)] = entry
        try:
            fault = self.take_fault(recorded)
        finally:
            del self._about[id(recorded)]
        await self.pause(fault)
        if fault is not None and fault.status is not None:
            return self._render(fault)
        return None

    # -- serving --------------------------------------------------------------------------------

    def routes(self, app: web.Application) -> None:
        """The EWS endpoint (and IIS's 404 everywhere else)."""
        app.router.add_route("*", "/{path:.*}", self._handle)

    async def _handle(self, request: web.Request) -> web.StreamResponse:
        with self._lock:
            self._in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self._in_flight)
        try:
            return await self.endpoint.handle(request)
        finally:
            with self._lock:
                self._in_flight -= 1
