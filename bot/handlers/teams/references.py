"""Conversation references: where the Teams bot can write later, kept from every activity.

A Bot Framework bot cannot message anyone out of the blue: it needs the conversation's
*reference* (the regional ``serviceUrl``, the conversation id, the tenant, the bot's and the
user's ids). :func:`reference_of` reads one from an inbound activity; :class:`Conversations`
keeps one row per conversation in ``teams_conversations`` (install events and every message
refresh it; removing the app forgets it). Notices go to a user's personal (1:1) chat, found by
:meth:`Conversations.personal`; a private answer to a channel mention goes there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.models import TeamsConversation

PERSONAL = "personal"


@dataclass(frozen=True, slots=True)
class Reference:
    """A Teams conversation the bot can write to (``user_id``: the user of a personal chat)."""

    service_url: str
    conversation_id: str
    tenant_id: str
    bot_id: str
    bot_name: str = ""
    kind: str = PERSONAL  # personal, channel or groupChat
    user_id: str = ""
    aad_object_id: str = ""
    team_id: str = ""

    @property
    def personal(self) -> bool:
        """Whether this is a 1:1 chat with the bot."""
        return self.kind == PERSONAL

    def stored(self) -> dict[str, str]:
        """The JSON kept in ``teams_conversations.reference``."""
        return {"serviceUrl": self.service_url, "kind": self.kind, "botId": self.bot_id,
                "botName": self.bot_name, "userId": self.user_id, "aadObjectId": self.aad_object_id,
                "teamId": self.team_id}

    @classmethod
    def from_row(cls, row: TeamsConversation) -> Reference:
        """The reference a row holds."""
        data = row.reference
        return cls(service_url=str(data["serviceUrl"]), conversation_id=row.conversation_id,
                   tenant_id=row.tenant_id, bot_id=str(data["botId"]),
                   bot_name=str(data.get("botName") or ""), kind=str(data.get("kind") or PERSONAL),
                   user_id=str(data.get("userId") or ""), aad_object_id=str(data.get("aadObjectId") or ""),
                   team_id=str(data.get("teamId") or ""))


def _text(value: Any) -> str:
    return value if isinstance(value, str) else ""


def tenant_of(activity: dict[str, Any]) -> str:
    """The activity's tenant id (conversation, else channel data)."""
    conversation = activity.get("conversation") or {}
    tenant = (activity.get("channelData") or {}).get("tenant") or {}
    return _text(conversation.get("tenantId")) or _text(tenant.get("id"))


def reference_of(activity: dict[str, Any]) -> Reference | None:
    """The reference of an inbound activity's conversation (None when it lacks the essentials)."""
    conversation = activity.get("conversation") or {}
    bot = activity.get("recipient") or {}
    sender = activity.get("from") or {}
    team = (activity.get("channelData") or {}).get("team") or {}
    kind = _text(conversation.get("conversationType")) or PERSONAL
    found = Reference(
        service_url=_text(activity.get("serviceUrl")), conversation_id=_text(conversation.get("id")),
        tenant_id=tenant_of(activity), bot_id=_text(bot.get("id")), bot_name=_text(bot.get("name")),
        kind=kind, user_id=_text(sender.get("id")) if kind == PERSONAL else "",
        aad_object_id=_text(sender.get("aadObjectId")) if kind == PERSONAL else "",
        team_id=_text(team.get("id")),
    )
    essentials = (found.service_url, found.conversation_id, found.tenant_id, found.bot_id)
    return found if all(essentials) else None


class Conversations:
    """The ``teams_conversations`` table."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def remember(self, reference: Reference) -> bool:
        """Store or refresh ``reference``; whether the conversation is new to the bot."""
        async with self._sessions() as session, session.begin():
            dialect = session.get_bind().dialect.name
            insert = pg_insert if dialect == "postgresql" else sqlite_insert
            values = {"tenant_id": reference.tenant_id, "conversation_id": reference.conversation_id,
                      "user_id": reference.user_id or None, "reference": reference.stored()}
            statement = insert(TeamsConversation).values(**values).on_conflict_do_nothing()
            inserted = await session.execute(statement)
            if inserted.rowcount:  # type: ignore[attr-defined]
                return True
            await session.execute(
                update(TeamsConversation)
                .where(TeamsConversation.tenant_id == reference.tenant_id,
                       TeamsConversation.conversation_id == reference.conversation_id)
                .values(user_id=values["user_id"], reference=values["reference"]))
        return False

    async def get(self, tenant_id: str, conversation_id: str) -> Reference | None:
        """The stored reference of one conversation."""
        async with self._sessions() as session:
            row = await session.get(TeamsConversation, (tenant_id, conversation_id))
        return Reference.from_row(row) if row is not None else None

    async def personal(self, tenant_id: str, user_id: str) -> Reference | None:
        """The user's 1:1 chat with the bot, if the bot knows it."""
        async with self._sessions() as session:
            row = (await session.execute(
                select(TeamsConversation).where(TeamsConversation.tenant_id == tenant_id,
                                                TeamsConversation.user_id == user_id).limit(1)
            )).scalar_one_or_none()
        return Reference.from_row(row) if row is not None else None

    async def any_in(self, tenant_id: str) -> Reference | None:
        """Some conversation of the tenant (its serviceUrl and bot id open a new 1:1 chat)."""
        async with self._sessions() as session:
            row = (await session.execute(
                select(TeamsConversation).where(TeamsConversation.tenant_id == tenant_id).limit(1)
            )).scalar_one_or_none()
        return Reference.from_row(row) if row is not None else None

    async def forget(self, tenant_id: str, conversation_id: str) -> None:
        """The app was removed from the conversation."""
        async with self._sessions() as session, session.begin():
            await session.execute(delete(TeamsConversation).where(
                TeamsConversation.tenant_id == tenant_id,
                TeamsConversation.conversation_id == conversation_id))
