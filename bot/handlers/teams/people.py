"""Who is writing: a Teams user resolved to a Slotbot speaker (channel ``"teams"``).

:meth:`People.speaker` takes the name, language (the activity's ``locale``) and zone (the
``clientInfo`` entity's ``timezone``, when Teams sends one) from the activity itself, and the
e-mail address from the conversation's member profile (``GET .../members/{id}``), asked once per
user every ten minutes (concurrent activities of one user share the call; an unreadable profile
is asked again after 30 s). Then :meth:`Identities.resolve` with the tenant id and the user's
Teams id: a Teams user is a Slotbot user of their own, never merged with a Slack user because
they share an e-mail address.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bot.accounts.identities import Identities, Profile
from bot.conversation.speaker import Speaker
from bot.handlers.teams.references import tenant_of
from bot.handlers.teams.sdk import TeamsTurn

CHANNEL = "teams"
PROFILE_SECONDS = 600.0
RETRY_SECONDS = 30.0
MAX_CACHED = 5000


@dataclass(frozen=True, slots=True)
class Member:
    """What the member profile adds to an activity: the display name and e-mail address."""

    name: str = ""
    email: str | None = None


def client_info(activity: dict[str, Any]) -> dict[str, Any]:
    """The activity's ``clientInfo`` entity (locale, country, platform, timezone), or {}."""
    for entity in activity.get("entities") or []:
        if isinstance(entity, dict) and entity.get("type") == "clientInfo":
            return entity
    return {}


def locale_of(activity: dict[str, Any]) -> str | None:
    """The language tag of the activity (``locale``, else the client's)."""
    tag = activity.get("locale") or client_info(activity).get("locale")
    return str(tag) if tag else None


def _member(found: dict[str, Any] | None) -> Member | None:
    if not found:
        return None
    email = found.get("email") or None
    principal = found.get("userPrincipalName") or found.get("user_principal_name") or ""
    if not email and "@" in str(principal):
        email = principal
    return Member(name=str(found.get("name") or ""), email=str(email) if email else None)


class People:
    """Teams users as Slotbot speakers (see the module docstring)."""

    def __init__(self, identities: Identities, *, clock: Callable[[], float] = time.monotonic) -> None:
        self._identities = identities
        self._clock = clock
        self._members: dict[tuple[str, str], tuple[float, Member | None]] = {}
        self._pending: dict[tuple[str, str], asyncio.Task[Member | None]] = {}

    async def speaker(self, turn: TeamsTurn) -> Speaker:
        """The Slotbot speaker behind the sender of ``turn`` (created on first contact)."""
        activity = turn.activity
        sender = activity.get("from") or {}
        user_id, tenant = str(sender.get("id") or ""), tenant_of(activity)
        member = await self._member(turn, tenant, user_id)
        profile = Profile(
            name=(member.name if member and member.name else "") or str(sender.get("name") or ""),
            email=member.email if member else None,
            timezone=client_info(activity).get("timezone") or None,
            locale=locale_of(activity),
        )
        return await self._identities.resolve(CHANNEL, tenant, user_id, profile)

    async def _member(self, turn: TeamsTurn, tenant: str, user_id: str) -> Member | None:
        key = (tenant, user_id)
        cached = self._members.get(key)
        if cached is not None and cached[0] > self._clock():
            return cached[1]
        pending = self._pending.get(key)
        if pending is None:
            pending = asyncio.get_running_loop().create_task(self._fetch(turn, key))
            self._pending[key] = pending
            pending.add_done_callback(lambda _: self._pending.pop(key, None))
        return await asyncio.shield(pending)

    async def _fetch(self, turn: TeamsTurn, key: tuple[str, str]) -> Member | None:
        member = _member(await turn.member(key[1]))
        if len(self._members) >= MAX_CACHED:
            self._members.clear()
        self._members[key] = (self._clock() + (PROFILE_SECONDS if member else RETRY_SECONDS), member)
        return member
