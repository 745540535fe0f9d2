"""Chat notifications: tell a user in chat about bookings and calendars, through the outbox.

Services call :func:`enqueue_notice` inside their own transaction (with the e-mail they already
send), so a notice leaves only if the business change commits. The outbox worker runs
:meth:`ChatNotifier.handle`: every chat identity of the user whose channel registered a deliver
function (Slack, the web chat, later Teams) gets the notice rendered by
:func:`~bot.conversation.notices.notice_reply` in that identity's language and the user's zone.
Channels not registered in this process are skipped.

A user with identities in several channels gets one outbox message per identity (fanned out on the
first run, de-duplicated by key), so a channel that fails and is retried does not repeat the
notice in the channels that already delivered it.
"""

from __future__ import annotations

import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.notices import NOTICES, notice_reply
from bot.conversation.reply import Reply
from bot.notices.envelope import Message
from bot.notices.outbox import PermanentFailure, enqueue
from storage.models import ChatIdentity, OutboxMessage, User

log = logging.getLogger(__name__)

NOTICE_KIND = "chat.notify"

Deliver = Callable[[ChatIdentity, Reply], Awaitable[None]]


def enqueue_notice(session: AsyncSession, user_id: int, notice: str, params: dict[str, str]) -> None:
    """Notify ``user_id`` in chat once the surrounding transaction commits.

    ``notice`` is one of :data:`~bot.conversation.notices.NOTICES`; ``params`` are strings
    (instants as ISO-8601 UTC).
    """
    message = notice_message(user_id, notice, params)
    enqueue(session, message.kind, dict(message.payload))


def notice_message(user_id: int, notice: str, params: dict[str, str]) -> Message:
    """The outbox message of a notice (as :func:`enqueue_notice` sends it, or a follow-up)."""
    if notice not in NOTICES:
        raise ValueError(f"unknown notice {notice!r}")
    return Message(NOTICE_KIND, {
        "id": uuid.uuid4().hex,
        "user_id": user_id,
        "notice": notice,
        "params": {str(k): str(v) for k, v in params.items()},
    })


class ChatNotifier:
    """Delivers notices to the channels registered in this process (the outbox handler)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions
        self._channels: dict[str, Deliver] = {}

    def register(self, channel: str, deliver: Deliver) -> None:
        """Have ``deliver`` send notices to the user's identities in ``channel`` (once per channel)."""
        if channel in self._channels:
            raise ValueError(f"a deliver function for {channel!r} is already registered")
        self._channels[channel] = deliver

    @property
    def channels(self) -> tuple[str, ...]:
        """The channels registered so far."""
        return tuple(self._channels)

    async def handle(self, payload: dict[str, Any]) -> None:
        """The outbox handler for :data:`NOTICE_KIND`."""
        try:
            user_id = int(payload["user_id"])
            notice = str(payload["notice"])
            params = {str(k): str(v) for k, v in dict(payload["params"]).items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise PermanentFailure(f"unusable notice payload: {exc!r}") from None
        async with self._sessions() as session:
            user = await session.get(User, user_id)
            if user is None:
                return  # the user is gone: nobody to tell
            identities = (
                await session.execute(
                    select(ChatIdentity)
                    .where(ChatIdentity.user_id == user_id,
                           ChatIdentity.channel.in_(list(self._channels)))
                    .order_by(ChatIdentity.id)
                )
            ).scalars().all()
        if "identity_id" in payload:
            identities = [i for i in identities if i.id == payload["identity_id"]]
        elif len(identities) > 1:
            await self._fan_out(payload, [i.id for i in identities])
            return
        for identity in identities:
            try:
                reply = notice_reply(
                    notice, params, locale=identity.locale or user.locale, timezone=user.timezone
                )
            except (KeyError, ValueError) as exc:
                raise PermanentFailure(f"notice {notice!r} cannot be rendered: {exc}") from None
            await self._channels[identity.channel](identity, reply)

    async def _fan_out(self, payload: dict[str, Any], identity_ids: list[int]) -> None:
        key = str(payload.get("id") or uuid.uuid4().hex)
        keys = {identity_id: f"{NOTICE_KIND}:{key}:{identity_id}" for identity_id in identity_ids}
        try:
            async with self._sessions() as session, session.begin():
                existing = set(
                    (
                        await session.execute(
                            select(OutboxMessage.dedupe_key).where(
                                OutboxMessage.dedupe_key.in_(list(keys.values()))
                            )
                        )
                    ).scalars()
                )
                for identity_id, dedupe_key in keys.items():
                    if dedupe_key not in existing:
                        enqueue(session, NOTICE_KIND, {**payload, "identity_id": identity_id},
                                dedupe_key=dedupe_key)
        except IntegrityError:  # another worker fanned it out at the same time
            log.info("notice already fanned out", extra={"notice": payload.get("notice")})
