"""Signing in as IIS does for EWS: NTLM per TCP connection, and Basic.

NTLM authenticates the connection, not the request: the client sends a Negotiate message, gets a
Challenge in a 401, sends an Authenticate message on the same connection, and every later request
on that connection is the authenticated user's. :class:`Connections` keeps that state keyed on the
connection's transport object.

How the password is checked: pyspnego's own NTLM acceptor (``spnego.server(protocol="ntlm")``)
cannot take credentials on Linux; it reads a user file named by the ``NTLM_USER_FILE``
environment variable, when the context is created and again at the Authenticate step (explicit
server credentials are Kerberos-on-Windows only). Setting a process-wide variable from a server
that tests start in-process would leak between servers and threads, so :class:`NtlmAcceptor` does
the acceptor's work with pyspnego's NTLM message and crypto primitives instead, against the
:class:`~bot.demo.ews.store.Store`: it builds the Challenge, recomputes the NTLMv2 proof from
the mailbox's password (NTOWFv2 of the user and domain the client sent), checks the MIC and, over
TLS, the channel binding the client computed from the server's certificate. NTLMv1 and anonymous
sign-ins are refused, as a hardened Exchange server does.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import weakref
from dataclasses import dataclass, field

from spnego._ntlm_raw.crypto import ntowfv1, ntowfv2, rc4k
from spnego._ntlm_raw.messages import Authenticate as AuthenticateMessage
from spnego._ntlm_raw.messages import (
    AvFlags,
    AvId,
    Challenge,
    FileTime,
    Negotiate,
    NegotiateFlags,
    NTClientChallengeV2,
    TargetInfo,
)

from bot.demo.ews.store import Mailbox, Store

SERVER_NAME = "EXCH01"
DOMAIN_NAME = "CONTOSO"


@dataclass(eq=False)
class ConnectionState:
    """What a TCP connection has proved: its mailbox, or an NTLM exchange half way through."""

    mailbox: Mailbox | None = None
    negotiate: bytes | None = None
    challenge: bytes | None = None
    server_challenge: bytes = b""
    requests: int = field(default=0)


class Connections:
    """Per-connection sign-in state, forgotten when the transport goes away."""

    def __init__(self) -> None:
        self._states: weakref.WeakKeyDictionary[object, ConnectionState] = weakref.WeakKeyDictionary()

    def state(self, transport: object) -> ConnectionState:
        """The state of the connection ``transport`` belongs to (a fresh one for a new connection)."""
        found = self._states.get(transport)
        if found is None:
            found = self._states[transport] = ConnectionState()
        return found


def certificate_binding(certificate_der: bytes) -> bytes:
    """RFC 5929 ``tls-server-end-point`` application data for a SHA-256-signed certificate."""
    return b"tls-server-end-point:" + hashlib.sha256(certificate_der).digest()


def _gss_bindings(application_data: bytes) -> bytes:
    """The packed GSS channel bindings structure (no addresses), as NTLM hashes it."""
    empty = (0).to_bytes(4, "little") * 2
    return empty + empty + len(application_data).to_bytes(4, "little") + application_data


class NtlmAcceptor:
    """The server half of NTLMv2 against a :class:`Store` (see the module docstring)."""

    def __init__(self, store: Store, *, binding: bytes | None = None) -> None:
        self.store = store
        self.binding = binding

    def challenge(self, state: ConnectionState, token: bytes) -> bytes:
        """Answer a Negotiate message with a Challenge (remembered on the connection)."""
        negotiate = Negotiate.unpack(token)
        flags = (
            negotiate.flags
            | NegotiateFlags.request_target
            | NegotiateFlags.ntlm
            | NegotiateFlags.always_sign
            | NegotiateFlags.target_info
            | NegotiateFlags.target_type_domain
        )
        if flags & NegotiateFlags.unicode:
            flags &= ~NegotiateFlags.oem
        if flags & NegotiateFlags.extended_session_security:
            flags &= ~NegotiateFlags.lm_key
        info = TargetInfo()
        info[AvId.nb_computer_name] = SERVER_NAME
        info[AvId.nb_domain_name] = DOMAIN_NAME
        info[AvId.dns_computer_name] = f"{SERVER_NAME.lower()}.{DOMAIN_NAME.lower()}.example"
        info[AvId.dns_domain_name] = f"{DOMAIN_NAME.lower()}.example"
        info[AvId.timestamp] = FileTime.now()
        state.server_challenge = os.urandom(8)
        challenge = Challenge(flags, state.server_challenge, target_name=DOMAIN_NAME, target_info=info)
        state.negotiate, state.challenge = token, challenge.pack()
        return state.challenge

    def authenticate(self, state: ConnectionState, token: bytes) -> Mailbox | None:
        """Check an Authenticate message; the mailbox it proves, or None (wrong password, replay...)."""
        negotiate, challenge = state.negotiate, state.challenge
        state.negotiate = state.challenge = None
        if negotiate is None or challenge is None:
            return None
        try:
            auth = AuthenticateMessage.unpack(token)
        except Exception:  # a malformed token is a failed sign-in, whatever pyspnego raises
            return None
        response = auth.nt_challenge_response or b""
        if not auth.user_name or len(response) <= 24:
            return None  # anonymous or NTLMv1
        login = f"{auth.domain_name}\\{auth.user_name}" if auth.domain_name else auth.user_name
        mailbox = self.store.account(login)
        if mailbox is None:
            return None
        key = ntowfv2(auth.user_name, ntowfv1(mailbox.password), auth.domain_name)
        proof = hmac.new(key, state.server_challenge + response[16:], "md5").digest()
        if not hmac.compare_digest(proof, response[:16]):
            return None
        blob = NTClientChallengeV2.unpack(response[16:])
        if not self._bindings_match(blob.av_pairs):
            return None
        if blob.av_pairs.get(AvId.flags, 0) & AvFlags.mic:
            base_key = hmac.new(key, proof, "md5").digest()
            session_key = base_key
            if auth.flags & NegotiateFlags.key_exch and auth.flags & (
                NegotiateFlags.sign | NegotiateFlags.seal
            ):
                session_key = rc4k(base_key, auth.encrypted_random_session_key or b"")
            sent = auth.mic or b""
            auth.mic = b"\x00" * 16
            expected = hmac.new(session_key, negotiate + challenge + auth.pack(), "md5").digest()
            if not hmac.compare_digest(sent, expected):
                return None
        state.mailbox = mailbox
        return mailbox

    def _bindings_match(self, pairs: TargetInfo) -> bool:
        sent = pairs.get(AvId.channel_bindings)
        if self.binding is None or sent is None or sent == b"\x00" * 16:
            return True  # IIS Extended Protection "Accept": bindings are checked when both sides have them
        return bool(sent == hashlib.md5(_gss_bindings(self.binding)).digest())  # noqa: S324 - NTLM's own hash


def parse_authorization(header: str) -> tuple[str, bytes] | None:
    """``("ntlm", token)`` or ``("basic", credentials)`` from an Authorization header, else None."""
    scheme, _, value = header.strip().partition(" ")
    try:
        raw = base64.b64decode(value.strip(), validate=True)
    except (binascii.Error, ValueError):
        return None
    if scheme.lower() in ("ntlm", "negotiate") and raw.startswith(b"NTLMSSP\x00"):
        return "ntlm", raw
    if scheme.lower() == "basic":
        return "basic", raw
    return None


def basic_sign_in(store: Store, raw: bytes) -> Mailbox | None:
    """The mailbox Basic credentials (``user:password``, UTF-8) prove, or None."""
    login, sep, password = raw.decode("utf-8", errors="replace").partition(":")
    if not sep:
        return None
    return store.sign_in(login, password)
