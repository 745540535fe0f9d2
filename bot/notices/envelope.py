"""What an outbox row stores around a payload: sealed secrets, the audit record and follow-ups.

A :class:`Message` names, besides its kind and payload:

* ``secret``: fields holding secrets (an e-mail's text with its manage link, the invitation).
  While the message waits they are sealed with the app's :class:`~storage.crypto.SecretBox` for
  the purpose ``outbox.<kind>.<field>``, and opened only for its handler;
* ``audit``: what the row keeps once the message is delivered, instead of the payload (an e-mail
  keeps its recipient's domain and hash and its subject; the row itself keeps kind, times and
  attempts). Without one, the delivered row keeps the payload minus the secret fields;
* ``on_dead``: messages to send if this one fails for good (tell the host a mail was lost),
  stored wrapped alike and enqueued by the worker in the transaction that gives up.

:func:`wrap` makes the stored form (the envelope under the reserved key :data:`META`),
:func:`unwrap` the handler's payload. The box comes with the session
(``storage.db.session_factory(engine, secrets=...)``); a session without one stores the secret
fields as they are (and still drops them after delivery).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from storage.crypto import SecretBox, SecretKeyError

META = "_outbox"
"""The reserved payload key holding the envelope; handlers never see it."""


@dataclass(frozen=True)
class Message:
    """A side effect to enqueue (see the module docstring)."""

    kind: str
    payload: Mapping[str, Any]
    secret: Collection[str] = ()
    audit: Mapping[str, Any] | None = None
    on_dead: Sequence[Message] = ()


def wrap(message: Message, box: SecretBox | None) -> dict[str, Any]:
    """The stored form of ``message``'s payload, its follow-ups wrapped alike."""
    if META in message.payload:
        raise ValueError(f"{META!r} is reserved in outbox payloads")
    stored = dict(message.payload)
    meta: dict[str, Any] = {}
    secret = [name for name in message.secret if stored.get(name) is not None]
    if secret:
        meta["secret"] = secret
        if box is not None:
            for name in secret:
                stored[name] = box.seal(str(stored[name]), purpose=_purpose(message.kind, name))
            meta["sealed"] = secret
    if message.audit is not None:
        meta["audit"] = dict(message.audit)
    if message.on_dead:
        meta["on_dead"] = [{"kind": m.kind, "payload": wrap(m, box)} for m in message.on_dead]
    if meta:
        stored[META] = meta
    return stored


def unwrap(kind: str, stored: Mapping[str, Any], box: SecretBox | None) -> dict[str, Any]:
    """The payload for the handler: sealed fields opened, the envelope removed.

    Raises :class:`~storage.crypto.SecretKeyError` when a sealed field cannot be opened (this
    process has no box, or the key it was sealed with is not configured any more).
    """
    payload = {k: v for k, v in stored.items() if k != META}
    for name in _meta(stored).get("sealed", []):
        if box is None:
            raise SecretKeyError("the payload is sealed, but these sessions have no secret key")
        payload[name] = box.open(str(payload[name]), purpose=_purpose(kind, name))
    return payload


def delivered(stored: Mapping[str, Any]) -> dict[str, Any]:
    """What the row keeps once delivered: the audit record, or the payload minus its secrets."""
    meta = _meta(stored)
    if "audit" in meta:
        return {**meta["audit"], "redacted": True}
    secret = set(meta.get("secret", []))
    return {k: v for k, v in stored.items() if k != META and k not in secret}


def follow_ups(stored: Mapping[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    """The follow-ups to enqueue because this message failed for good: (kind, stored payload)."""
    return [(str(item["kind"]), dict(item["payload"])) for item in _meta(stored).get("on_dead", [])]


def _meta(stored: Mapping[str, Any]) -> dict[str, Any]:
    meta = stored.get(META)
    return meta if isinstance(meta, dict) else {}


def _purpose(kind: str, name: str) -> str:
    return f"outbox.{kind}.{name}"
