"""Health of calendar connections: marking what can no longer be read, and telling the host once.

The scheduler calls :class:`CalendarHealth` when a provider answers that a connection needs
reconnecting or that one calendar is gone. The change is a conditional update (only an *active*
row changes), so the host gets one chat notice and one e-mail per incident, however many questions
ran into it at once. Until it is fixed, nobody can book the host (the page reads the states).
"""

from __future__ import annotations

import logging

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.chat import enqueue_notice
from bot.notices.email import enqueue_email
from storage.models import Calendar, CalendarConnection, User, utcnow

log = logging.getLogger(__name__)


class CalendarHealth:
    """Marks connections and calendars that failed, once per incident, and tells their host."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession]) -> None:
        self._sessions = sessions

    async def connection_failed(self, connection_id: int, status: str, error: str) -> None:
        """Mark an active connection ``status`` (e.g. needs_reauth); tell its host once."""
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(CalendarConnection)
                .where(CalendarConnection.id == connection_id, CalendarConnection.status == "active")
                .values(status=status, last_error=error[:2000], last_checked_at=utcnow(),
                        incident_notified_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount == 1:  # type: ignore[attr-defined]
                connection = await session.get(CalendarConnection, connection_id)
                user = await session.get(User, connection.user_id) if connection else None
                if connection is not None and user is not None:
                    enqueue_notice(session, user.id, "calendar_lost",
                                   {"calendar": connection.account_email, "reason": status})
                if connection is not None and user is not None and user.email:
                    enqueue_email(
                        session,
                        to=user.email,
                        to_name=user.display_name,
                        subject="Slotbot: reconnect your calendar to keep taking bookings",
                        text=(
                            f"Slotbot can no longer read {connection.account_email} "
                            f"({connection.provider}): {error}\n\n"
                            "Until you reconnect it (or disconnect it), visitors cannot book you, "
                            "because their booking could clash with events Slotbot cannot see.\n"
                            "Open your settings from chat (\"settings\") and choose Reconnect."
                        ),
                    )
        log.warning("calendar connection %s is %s", connection_id, status)

    async def calendar_lost(self, calendar_id: int, error: str) -> None:
        """Mark an active calendar inactive (access lost); tell its host once."""
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(Calendar)
                .where(Calendar.id == calendar_id, Calendar.status == "active")
                .values(status="inactive", last_error=error[:2000])
                .execution_options(synchronize_session=False)
            )
            if changed.rowcount == 1:  # type: ignore[attr-defined]
                calendar = await session.get(Calendar, calendar_id)
                user = await session.get(User, calendar.user_id) if calendar else None
                if calendar is not None and user is not None:
                    enqueue_notice(session, user.id, "calendar_lost",
                                   {"calendar": calendar.name, "reason": "access_lost"})
                if calendar is not None and user is not None and user.email:
                    enqueue_email(
                        session,
                        to=user.email,
                        to_name=user.display_name,
                        subject=f"Slotbot: lost access to {calendar.name}",
                        text=(
                            f"Slotbot can no longer read your calendar {calendar.name}: {error}\n\n"
                            "Until access is back, visitors cannot book you. Either regain access "
                            "(ask its owner to share it again) or remove the calendar in your "
                            "settings (\"settings\" in chat)."
                        ),
                    )
        log.warning("calendar %s lost access", calendar_id)
