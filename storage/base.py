"""The declarative base every model shares, its naming convention and the small helpers of the models.

``storage.models`` (users, pages, bookings, the outbox...) and ``storage.calendar_models``
(connections, calendars, local events, feed copies) both build on :class:`Base`, so there is one
metadata for the migrations. Import models from ``storage.models``: it re-exports every name.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import JSON
from sqlalchemy.orm import DeclarativeBase

from storage.types import UTCDateTime

CONNECTION_STATUSES = ("active", "needs_reauth", "inactive")
CALENDAR_STATUSES = ("active", "inactive")
BOOKING_STATUSES = ("confirmed", "requested", "cancelled")
OUTBOX_STATUSES = ("pending", "running", "done", "dead")
CHANNELS = ("slack", "teams", "web")


def utcnow() -> datetime:
    """The current time, aware, in UTC."""
    return datetime.now(UTC)


def one_of(column: str, values: tuple[str, ...]) -> str:
    """The SQL of a CHECK that ``column`` holds one of ``values``."""
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class Base(DeclarativeBase):
    """Declarative base with a naming convention so constraints have stable names."""

    type_annotation_map = {datetime: UTCDateTime(), dict[str, Any]: JSON(), list[Any]: JSON()}


Base.metadata.naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
