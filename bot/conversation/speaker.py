"""Who is talking to the bot: a Slotbot user, in their language and time zone."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Speaker:
    """A resolved chat user. ``locale`` is ``"en"``, ``"pt_BR"`` or ``"da"``; ``timezone`` is IANA."""

    user_id: int
    locale: str
    timezone: str
