"""Who is chatting on the web: a signed-in Slotbot user, as a conversation :class:`Speaker`.

The chat page is for users already signed in to the dashboard, so there is no one to create: the
user's web chat identity (channel ``web``, tenant ``""``, external id = the user id) is added on
the first message, which lets "language pt" in the web chat keep working like in Slack (the
override is stored on every identity of the user). The language to answer in is that override
when there is one, else the browser's (the language the page sends, else ``Accept-Language``);
the zone is the user's.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.speaker import Speaker
from bot.i18n import supported_locale
from storage.models import ChatIdentity, User

CHANNEL = "web"
TENANT = ""


class UnknownUser(LookupError):
    """The signed-in user no longer exists."""


async def _identity(session: AsyncSession, user_id: int) -> ChatIdentity | None:
    return (
        await session.execute(
            select(ChatIdentity).where(
                ChatIdentity.channel == CHANNEL,
                ChatIdentity.tenant == TENANT,
                ChatIdentity.external_id == str(user_id),
            )
        )
    ).scalar_one_or_none()


async def web_identity(sessions: async_sessionmaker[AsyncSession], user_id: int) -> ChatIdentity:
    """The user's web chat identity, added when missing (a concurrent add is not an error)."""
    for _attempt in range(2):
        async with sessions() as session:
            found = await _identity(session, user_id)
            if found is not None:
                return found
            if await session.get(User, user_id) is None:
                raise UnknownUser(user_id)
            identity = ChatIdentity(user_id=user_id, channel=CHANNEL, tenant=TENANT,
                                    external_id=str(user_id))
            session.add(identity)
            try:
                await session.commit()
            except IntegrityError:  # the same user's other tab got there first
                await session.rollback()
                continue
            return identity
    raise RuntimeError("could not add the web chat identity")


async def web_speaker(
    sessions: async_sessionmaker[AsyncSession], user_id: int, browser_language: str | None
) -> Speaker:
    """The speaker for ``user_id``: their language override, else ``browser_language``; their zone."""
    identity = await web_identity(sessions, user_id)
    async with sessions() as session:
        user = await session.get(User, user_id)
    if user is None:
        raise UnknownUser(user_id)
    return Speaker(user.id, identity.locale or supported_locale(browser_language), user.timezone)


async def language_override(sessions: async_sessionmaker[AsyncSession], user_id: int) -> str | None:
    """The language the user chose in chat or in the selector (None: follow the browser)."""
    async with sessions() as session:
        identity = await _identity(session, user_id)
    return identity.locale if identity is not None else None
