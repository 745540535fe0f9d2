"""The EWS endpoint as an aiohttp handler, and :func:`serve` for the demo.

``POST /EWS/Exchange.asmx`` (any case, as IIS matches paths) is the only endpoint; other paths get
IIS's HTML 404. Each answer carries IIS/Exchange's headers and the ``ServerVersionInfo`` SOAP
header. Sign-in is per TCP connection (:mod:`bot.demo.ews.auth`); the schemes offered in
``WWW-Authenticate`` are configurable.

:class:`EwsEndpoint` has one extension point for test doubles, :attr:`EwsEndpoint.before`: an
async callable that sees each authenticated, parsed request (:class:`Call`) and may answer it
instead (a scripted outage, a delay).
"""

from __future__ import annotations

import base64
import ssl
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from aiohttp import web
from multidict import CIMultiDict

from bot.demo.ews.access import Caller, subjects
from bot.demo.ews.auth import (
    Connections,
    NtlmAcceptor,
    basic_sign_in,
    certificate_binding,
    parse_authorization,
)
from bot.demo.ews.operations import answer
from bot.demo.ews.soap import BadRequest, Envelope, ServerVersion, fault, parse_envelope
from bot.demo.ews.store import Mailbox, Store

PATH = "/EWS/Exchange.asmx"
SCHEMES = ("NTLM", "Basic")
_IIS = {
    "Server": "Microsoft-IIS/10.0",
    "X-AspNet-Version": "4.0.30319",
    "X-Powered-By": "ASP.NET",
    "X-FEServer": "EXCH01",
}
_NOT_FOUND = (
    '<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Strict//EN" '
    '"http://www.w3.org/TR/xhtml1/DTD/xhtml1-strict.dtd">\n<html><head><title>404 - File or directory '
    'not found.</title></head><body><div id="header"><h1>Server Error</h1></div><div id="content">'
    "<h2>404 - File or directory not found.</h2><h3>The resource you are looking for might have been "
    "removed, had its name changed, or is temporarily unavailable.</h3></div></body></html>"
)
_UNAUTHORIZED = (
    "<!DOCTYPE html><html><head><title>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</title></head><body><h2>401 - Unauthorized: Access is denied due to invalid "
    "credentials.</h2><h3>You do not have permission to view this directory or page using the "
    "credentials that you supplied.</h3></body></html>"
)


@dataclass(frozen=True)
class Call:
    """An authenticated, parsed EWS request, as :attr:`EwsEndpoint.before` sees it."""

    request: web.Request
    operation: str
    mailbox: Mailbox
    envelope: Envelope
    subjects: frozenset[str]


Before = Callable[[Call], Awaitable[web.StreamResponse | None]]


def iis_headers(**extra: str) -> CIMultiDict[str]:
    """The headers IIS and Exchange put on every answer, plus ``extra``."""
    headers = CIMultiDict(_IIS)
    headers["request-id"] = str(uuid.uuid4())
    headers.update(extra)
    return headers


class EwsEndpoint:
    """The EWS SOAP endpoint over a :class:`Store` (see the module docstring).

    ``schemes``: what ``WWW-Authenticate`` offers and accepts (``NTLM``, ``Basic`` or both);
    ``certificate``: the server certificate (DER) when serving TLS, for NTLM channel binding.
    """

    def __init__(
        self,
        store: Store,
        *,
        version: ServerVersion | None = None,
        schemes: tuple[str, ...] = SCHEMES,
        certificate: bytes | None = None,
    ) -> None:
        self.store = store
        self.version = version or ServerVersion()
        self.schemes = schemes
        self.connections = Connections()
        self.ntlm = NtlmAcceptor(
            store, binding=None if certificate is None else certificate_binding(certificate)
        )
        self.before: Before | None = None
        self.failed_sign_ins = 0
        self.challenges = 0

    def add_routes(self, app: web.Application) -> None:
        """Mount the endpoint (and IIS's 404 for every other path) on ``app``."""
        app.router.add_route("*", "/{path:.*}", self.handle)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        """Answer one HTTP request."""
        if request.path.lower() != PATH.lower():
            return web.Response(status=404, text=_NOT_FOUND, content_type="text/html", headers=iis_headers())
        raw = await request.read()
        if request.method != "POST":
            return web.Response(status=405, headers=iis_headers(Allow="POST"))
        mailbox_or_answer = self._sign_in(request)
        if isinstance(mailbox_or_answer, web.StreamResponse):
            return mailbox_or_answer
        caller = Caller(mailbox_or_answer, self.store)
        try:
            parsed = parse_envelope(raw)
        except BadRequest as problem:
            body = fault(
                self.version, "ErrorSchemaValidation", f"The request failed schema validation: {problem}"
            )
            return self._xml(500, body)
        if self.before is not None:
            call = Call(request, parsed.operation, caller.mailbox, parsed, subjects(caller, parsed.body))
            scripted = await self.before(call)
            if scripted is not None:
                return scripted
        result = answer(caller, parsed, self.version)
        return self._xml(result.status, result.body)

    def _xml(self, status: int, body: bytes) -> web.Response:
        return web.Response(
            status=status, body=body, headers=iis_headers(**{"Content-Type": "text/xml; charset=utf-8"})
        )

    def unauthorized(self, *, challenge: str | None = None) -> web.Response:
        """A 401 offering the enabled schemes (or carrying an NTLM challenge)."""
        headers = iis_headers()
        if challenge is not None:
            headers.add("WWW-Authenticate", f"NTLM {challenge}")
        else:
            for scheme in self.schemes:
                headers.add("WWW-Authenticate", 'Basic realm="127.0.0.1"' if scheme == "Basic" else scheme)
        return web.Response(status=401, text=_UNAUTHORIZED, content_type="text/html", headers=headers)

    def _sign_in(self, request: web.Request) -> Mailbox | web.Response:
        state = self.connections.state(request.transport)
        header = request.headers.get("Authorization")
        if header is None:
            return state.mailbox if state.mailbox is not None else self.unauthorized()
        parsed = parse_authorization(header)
        if parsed is None:
            self.failed_sign_ins += 1
            return self.unauthorized()
        scheme, token = parsed
        if scheme == "basic" and "Basic" in self.schemes:
            mailbox = basic_sign_in(self.store, token)
            if mailbox is None:
                self.failed_sign_ins += 1
                return self.unauthorized()
            return mailbox
        if scheme == "ntlm" and "NTLM" in self.schemes and len(token) > 12:
            if token[8] == 1:
                state.mailbox = None
                self.challenges += 1
                return self.unauthorized(
                    challenge=base64.b64encode(self.ntlm.challenge(state, token)).decode()
                )
            if token[8] == 3:
                mailbox = self.ntlm.authenticate(state, token)
                if mailbox is not None:
                    return mailbox
        self.failed_sign_ins += 1
        return self.unauthorized()


@dataclass
class Running:
    """A serving endpoint: its runner (``await running.runner.cleanup()`` to stop) and URL."""

    runner: web.AppRunner
    url: str
    endpoint: EwsEndpoint


async def serve(
    store: Store,
    host: str = "127.0.0.1",
    port: int = 0,
    tls: tuple[Path, Path] | None = None,
    *,
    schemes: tuple[str, ...] = SCHEMES,
    version: ServerVersion | None = None,
) -> Running:
    """Serve ``store`` on the running loop; ``tls`` is (certificate, key) PEM files for https."""
    certificate = None
    context = None
    if tls is not None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(tls[0], tls[1])
        certificate = ssl.PEM_cert_to_DER_cert(tls[0].read_text())
    endpoint = EwsEndpoint(store, version=version, schemes=schemes, certificate=certificate)
    app = web.Application()
    endpoint.add_routes(app)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, host, port, ssl_context=context)
    await site.start()
    bound = runner.addresses[0][1]
    scheme = "https" if tls else "http"
    return Running(runner, f"{scheme}://{host}:{bound}{PATH}", endpoint)
