"""A connection's credentials at rest: sealed with the app's key, opened for one provider.

Every provider gets its credentials opened from the connection row and a callback
(:func:`credential_saver`) that seals and stores refreshed ones; nothing else reads them.
"""

from __future__ import annotations

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.calendar.base import SaveCredentials
from storage.crypto import SecretBox
from storage.models import CalendarConnection

CREDENTIALS_PURPOSE = "connection.credentials"
"""The purpose the credentials are sealed for (bound into the ciphertext)."""


def credential_saver(
    sessions: async_sessionmaker[AsyncSession], box: SecretBox, connection_id: int
) -> SaveCredentials:
    """The callback a provider calls with refreshed credentials: seal and store them."""

    async def save(credentials: str) -> None:
        sealed = box.seal(credentials, purpose=CREDENTIALS_PURPOSE)
        async with sessions() as session, session.begin():
            await session.execute(
                update(CalendarConnection)
                .where(CalendarConnection.id == connection_id)
                .values(credentials=sealed)
            )

    return save
