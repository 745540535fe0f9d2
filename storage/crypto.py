"""Encryption of secrets at rest (OAuth tokens, MSAL token caches, Exchange passwords).

Values are sealed with AES-256-GCM. The stored text is ``v1.<key id>.<base64url(nonce || ciphertext)>``
where the key id is derived from the key itself, so keys can be rotated: new values use the first
key, older values still open with any configured key whose id matches. A *purpose* string is bound
as associated data, so a token sealed for one column cannot be replayed into another.

Errors never include the secret or the key.
"""

from __future__ import annotations

import base64
import hashlib
import os
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
_NONCE_BYTES = 12


class SecretKeyError(Exception):
    """A secret could not be opened: wrong, missing or rotated-away key, or a damaged value."""


def key_id(key: bytes) -> str:
    """A short, non-secret identifier of ``key`` (first 8 hex digits of a domain-separated hash)."""
    return hashlib.sha256(b"slotbot-key-id:" + key).hexdigest()[:8]


def generate_key() -> str:
    """A new random 32-byte key in URL-safe base64, for ``SLOTBOT_SECRET_KEY``."""
    return base64.urlsafe_b64encode(os.urandom(32)).decode("ascii").rstrip("=")


class SecretBox:
    """Seals and opens secrets with the current key, opening old values with rotated keys."""

    def __init__(self, keys: Sequence[bytes]) -> None:
        if not keys:
            raise SecretKeyError("no secret key configured (set SLOTBOT_SECRET_KEY)")
        for key in keys:
            if len(key) != 32:
                raise SecretKeyError("secret keys must be 32 bytes")
        self._current = keys[0]
        self._current_id = key_id(keys[0])
        self._by_id = {key_id(key): AESGCM(key) for key in reversed(keys)}

    @property
    def current_key_id(self) -> str:
        """Id of the key new values are sealed with."""
        return self._current_id

    def seal(self, plaintext: str, *, purpose: str) -> str:
        """Encrypt ``plaintext`` for ``purpose`` (e.g. ``"connection.credentials"``)."""
        nonce = os.urandom(_NONCE_BYTES)
        sealed = self._by_id[self._current_id].encrypt(
            nonce, plaintext.encode("utf-8"), purpose.encode("utf-8")
        )
        body = base64.urlsafe_b64encode(nonce + sealed).decode("ascii").rstrip("=")
        return f"{_VERSION}.{self._current_id}.{body}"

    def open(self, token: str, *, purpose: str) -> str:
        """Decrypt a value made by :meth:`seal`; raise :class:`SecretKeyError` if it can't be."""
        parts = token.split(".")
        if len(parts) != 3 or parts[0] != _VERSION:
            raise SecretKeyError("stored secret is not in a format this version understands")
        _, kid, body = parts
        aead = self._by_id.get(kid)
        if aead is None:
            raise SecretKeyError(
                f"stored secret was encrypted with key id {kid}, which is not configured "
                "(set it in SLOTBOT_OLD_SECRET_KEYS to read values sealed before a rotation)"
            )
        try:
            raw = base64.urlsafe_b64decode(body + "=" * (-len(body) % 4))
        except ValueError:
            raise SecretKeyError("stored secret is damaged") from None
        if len(raw) <= _NONCE_BYTES:
            raise SecretKeyError("stored secret is damaged")
        try:
            plain = aead.decrypt(raw[:_NONCE_BYTES], raw[_NONCE_BYTES:], purpose.encode("utf-8"))
        except InvalidTag:
            raise SecretKeyError(
                "stored secret cannot be decrypted: the key is wrong or the value was altered"
            ) from None
        return plain.decode("utf-8")

    def needs_rotation(self, token: str) -> bool:
        """Whether ``token`` was sealed with a key other than the current one."""
        parts = token.split(".")
        return len(parts) != 3 or parts[1] != self._current_id
