"""What the fake identity providers share: authorization codes with PKCE, access and refresh tokens.

:class:`TokenAuthority` is the bookkeeping of an OAuth 2.0 authorization server (RFC 6749, PKCE
RFC 7636): it hands out single-use codes, redeems them (expiry, exact redirect URI, the
verifier), issues access tokens (with an expiry) and refresh tokens, finds the grant behind a
bearer token and revokes. Each fake (Google, Microsoft) keeps its own endpoints, error bodies and
quirks and uses one of these underneath.
"""

from __future__ import annotations

import base64
import hashlib
import secrets
import time
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any


def s256(verifier: str) -> str:
    """The PKCE S256 challenge of ``verifier``."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).decode("ascii").rstrip("=")


@dataclass
class Code:
    """An authorization code and what it was issued for."""

    redirect_uri: str
    scopes: tuple[str, ...]
    challenge: str | None
    method: str | None
    expires_at: float
    subject: Any = None  # the user the code is for (fakes with several users)
    offline: bool = True  # a refresh token comes with it
    nonce: str | None = None
    used: bool = False


@dataclass
class RefreshGrant:
    """What a refresh token stands for."""

    scopes: tuple[str, ...]
    subject: Any = None
    revoked: bool = False


@dataclass
class AccessGrant:
    """What an access token stands for."""

    scopes: tuple[str, ...]
    expires_at: float
    subject: Any = None
    refresh_token: str | None = None
    revoked: bool = False

    def valid(self) -> bool:
        """Neither revoked nor expired."""
        return not self.revoked and self.expires_at >= time.time()


class TokenAuthority:
    """Codes and tokens of one fake authorization server. Token text starts with the prefixes."""

    def __init__(self, *, code_prefix: str, access_prefix: str, refresh_prefix: str) -> None:
        self._prefixes = (code_prefix, access_prefix, refresh_prefix)
        self.codes: dict[str, Code] = {}
        self.refresh: dict[str, RefreshGrant] = {}
        self.access: dict[str, AccessGrant] = {}

    def new_code(self, code: Code) -> str:
        """Store ``code`` under a fresh code string."""
        text = self._prefixes[0] + secrets.token_urlsafe(24)
        self.codes[text] = code
        return text

    def redeem(
        self, text: str, *, redirect_uri: str | None, verifier: str | None, spend: bool = False
    ) -> Code | str:
        """The code's grant, or why not: ``invalid_grant`` (unknown, used, expired),
        ``redirect_uri_mismatch``, ``missing_verifier`` or ``bad_verifier``.

        A code is used up by a successful redemption; with ``spend`` by any attempt.
        """
        code = self.codes.get(text)
        if code is None or code.used or code.expires_at < time.time():
            return "invalid_grant"
        if spend:
            code.used = True
        if redirect_uri != code.redirect_uri:
            return "redirect_uri_mismatch"
        if code.challenge is not None:
            if not verifier:
                return "missing_verifier"
            computed = s256(verifier) if code.method == "S256" else verifier
            if computed != code.challenge:
                return "bad_verifier"
        code.used = True
        return code

    def issue(
        self,
        scopes: Iterable[str],
        *,
        ttl: float,
        subject: Any = None,
        offline: bool = True,
        refreshed_from: str | None = None,
    ) -> tuple[str, str | None]:
        """A new access token (valid ``ttl`` seconds) and, when ``offline``, a new refresh token.

        ``refreshed_from`` links the access token to the refresh token it was refreshed with
        (revoking that grant then revokes it too).
        """
        scopes = tuple(scopes)
        access = self._prefixes[1] + secrets.token_urlsafe(24)
        refresh = self._prefixes[2] + secrets.token_urlsafe(24) if offline else None
        if refresh is not None:
            self.refresh[refresh] = RefreshGrant(scopes, subject)
        self.access[access] = AccessGrant(scopes, time.time() + ttl, subject, refresh or refreshed_from)
        return access, refresh

    def refreshable(self, token: str) -> RefreshGrant | None:
        """The live grant of refresh token ``token`` (None: unknown or revoked)."""
        grant = self.refresh.get(token)
        return None if grant is None or grant.revoked else grant

    def bearer(self, header: str) -> AccessGrant | None:
        """The grant of an ``Authorization: Bearer`` header, valid or not (None: unknown)."""
        return self.access.get(header[7:]) if header.startswith("Bearer ") else None

    def revoke_grant(self, refresh_token: str) -> None:
        """Revoke a refresh token and every access token issued from it."""
        self.refresh[refresh_token].revoked = True
        for access in self.access.values():
            if access.refresh_token == refresh_token:
                access.revoked = True

    def revoke_all(self, subject: Any = None, *, access: bool = True, refresh: bool = True) -> None:
        """Revoke every token (of ``subject`` when given)."""
        if refresh:
            for grant in self.refresh.values():
                if subject is None or grant.subject is subject:
                    grant.revoked = True
        if access:
            for token in self.access.values():
                if subject is None or token.subject is subject:
                    token.revoked = True
