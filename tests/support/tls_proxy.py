"""An https reverse proxy in front of the app, as operators run one (nginx, Caddy, a load balancer).

:func:`start_tls_proxy` serves https on 127.0.0.1 with a self-signed certificate for ``127.0.0.1``
and ``localhost`` (made here with ``cryptography``; browsers are told to accept it) and relays every
request to the app over plain http, keeping ``Host`` and adding ``X-Forwarded-For`` (appended) and
``X-Forwarded-Proto: https``, the way the README asks operators to. It holds no cookies and follows
no redirects: the browser sees the app's answers as they are.
"""

from __future__ import annotations

import datetime
import ipaddress
import socket
import ssl
from dataclasses import dataclass
from pathlib import Path

import aiohttp
from aiohttp import web
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID
from multidict import CIMultiDict

HOP_BY_HOP = {"connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer",
              "transfer-encoding", "upgrade", "content-length", "content-encoding"}


def self_signed_context(folder: Path) -> ssl.SSLContext:
    """A server TLS context with a fresh self-signed certificate for 127.0.0.1 and localhost."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([
            x509.IPAddress(ipaddress.ip_address("127.0.0.1")), x509.DNSName("localhost")]), critical=False)
        .sign(key, hashes.SHA256())
    )
    cert_file, key_file = folder / "proxy-cert.pem", folder / "proxy-key.pem"
    cert_file.write_bytes(certificate.public_bytes(serialization.Encoding.PEM))
    key_file.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_file, key_file)
    return context


@dataclass
class TlsProxy:
    """A running proxy: its public https address; :meth:`stop` ends it."""

    url: str
    runner: web.AppRunner
    http: aiohttp.ClientSession

    async def stop(self) -> None:
        """Stop serving and close the connection to the app."""
        await self.runner.cleanup()
        await self.http.close()


async def start_tls_proxy(sock: socket.socket, target: str, folder: Path) -> TlsProxy:
    """Serve https on the bound ``sock``, relaying to the app at ``target`` (``http://host:port``)."""
    http = aiohttp.ClientSession(cookie_jar=aiohttp.DummyCookieJar(), auto_decompress=True)

    async def relay(request: web.Request) -> web.StreamResponse:
        headers = CIMultiDict((k, v) for k, v in request.headers.items() if k.lower() not in HOP_BY_HOP)
        prior = request.headers.get("X-Forwarded-For")
        headers["X-Forwarded-For"] = f"{prior}, {request.remote}" if prior else str(request.remote)
        headers["X-Forwarded-Proto"] = "https"
        async with http.request(request.method, target + request.path_qs, headers=headers,
                                data=await request.read(), allow_redirects=False) as answer:
            body = await answer.read()
            kept = CIMultiDict((k, v) for k, v in answer.headers.items() if k.lower() not in HOP_BY_HOP)
        return web.Response(status=answer.status, headers=kept, body=body)

    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", relay)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    await web.SockSite(runner, sock, ssl_context=self_signed_context(folder)).start()
    return TlsProxy(f"https://127.0.0.1:{sock.getsockname()[1]}", runner, http)
