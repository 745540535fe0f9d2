"""Health of calendar connections: marking what can no longer be read, and telling the host once.

The scheduler calls :class:`CalendarHealth` when a provider answers that a connection needs
reconnecting or that one calendar is gone. The change is a conditional update (only an *active*
row changes), so the host gets one chat notice and one e-mail per incident, however many questions
ran into it at once. Until it is fixed, nobody can book the host (the page reads the states).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from typing import TypeVar

from sqlalchemy import update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.notices.chat import enqueue_notice
from bot.notices.email import enqueue_email
from storage.models import Calendar, CalendarConnection, User, utcnow

log = logging.getLogger(__name__)
Row = TypeVar("Row", Calendar, CalendarConnection)


UNREACHABLE_NOTICE_SECONDS = 3600.0
"""How long a connection may fail to answer (unknown, never free) before its host is told."""


class CalendarHealth:
    """Marks connections and calendars that failed, once per incident, and tells their host.

    A service that does not answer (down, unreachable, timing out) is not marked: its calendars
    are unknown for as long as it lasts, and once it has lasted :data:`UNREACHABLE_NOTICE_SECONDS`
    the host is told once (``incident_notified_at``); the first answer again ends the incident.
    When the failing started is kept in this process only: a restart starts the clock again.
    """

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        *,
        unreachable_after: float = UNREACHABLE_NOTICE_SECONDS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._sessions = sessions
        self._unreachable_after = unreachable_after
        self._clock = clock
        self._failing_since: dict[int, float] = {}

    async def unreachable(self, connection_id: int, error: str) -> None:
        """The connection did not answer; tell its host once when that has lasted long enough."""
        now = self._clock()
        since = self._failing_since.setdefault(connection_id, now)
        if now - since < self._unreachable_after:
            return
        async with self._sessions() as session, session.begin():
            changed = await session.execute(
                update(CalendarConnection)
                .where(CalendarConnection.id == connection_id, CalendarConnection.status == "active",
                       CalendarConnection.incident_notified_at.is_(None))
                .values(incident_notified_at=utcnow(), last_error=error[:2000], last_checked_at=utcnow())
                .execution_options(synchronize_session=False)
            )
            connection = await _won(session, changed, CalendarConnection, connection_id)
            if connection is not None:
                await _tell_host(
                    session,
                    connection.user_id,
                    notice={"calendar": connection.account_email, "reason": "unavailable"},
                    subject=f"Slotbot: {connection.account_email} has not answered for a while",
                    text=(
                        f"Slotbot has not been able to read {connection.account_email} "
                        f"({connection.provider}) for a while: {error}\n\n"
                        "While it does not answer, visitors cannot book the times it covers, "
                        "because Slotbot never offers time it cannot check. If the server moved or "
                        "its address changed, reconnect it in your settings (\"settings\" in chat)."
                    ),
                )
                log.warning("calendar connection %s unreachable; host told", connection_id)

    async def reachable(self, connection_id: int) -> None:
        """The connection answered: an unreachable incident (if any) is over."""
        if self._failing_since.pop(connection_id, None) is None:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(CalendarConnection)
                .where(CalendarConnection.id == connection_id, CalendarConnection.status == "active")
                .values(incident_notified_at=None, last_error=None, last_checked_at=utcnow())
                .execution_options(synchronize_session=False)
            )

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
            connection = await _won(session, changed, CalendarConnection, connection_id)
            if connection is not None:
                await _tell_host(
                    session,
                    connection.user_id,
                    notice={"calendar": connection.account_email, "reason": status},
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
            calendar = await _won(session, changed, Calendar, calendar_id)
            if calendar is not None:
                await _tell_host(
                    session,
                    calendar.user_id,
                    notice={"calendar": calendar.name, "reason": "access_lost"},
                    subject=f"Slotbot: lost access to {calendar.name}",
                    text=(
                        f"Slotbot can no longer read your calendar {calendar.name}: {error}\n\n"
                        "Until access is back, visitors cannot book you. Either regain access "
                        "(ask its owner to share it again) or remove the calendar in your "
                        "settings (\"settings\" in chat)."
                    ),
                )
        log.warning("calendar %s lost access", calendar_id)


async def _won(session: AsyncSession, result: object, model: type[Row], row_id: int) -> Row | None:
    """The row a conditional UPDATE changed, when this caller won the incident (else None)."""
    if getattr(result, "rowcount", 0) != 1:
        return None
    return await session.get(model, row_id)


async def _tell_host(
    session: AsyncSession, user_id: int, *, notice: dict[str, str], subject: str, text: str
) -> None:
    """A chat notice (``calendar_lost``) and, when the host has an address, an e-mail."""
    user = await session.get(User, user_id)
    if user is None:
        return
    enqueue_notice(session, user.id, "calendar_lost", notice)
    if user.email:
        enqueue_email(session, to=user.email, to_name=user.display_name, subject=subject, text=text)
