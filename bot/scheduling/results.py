"""What a question about availability answers: free slots, and the calendars that could not be read.

Pure values (no I/O), so the conversation core and the visitor pages can hold them without
depending on the scheduler that makes them.
"""

from __future__ import annotations

from dataclasses import dataclass

from bot.availability import AvailabilityResult


@dataclass(frozen=True, slots=True)
class CalendarProblem:
    """A checked calendar whose busy time is unknown, and why."""

    calendar_id: int
    name: str
    reason: str  # "access_lost", "needs_reauth", "inactive", "unavailable", "rate_limited"
    message: str


@dataclass(frozen=True, slots=True)
class UserAvailability:
    """Free slots of a user, the calendars consulted and those that could not be read."""

    user_id: int
    timezone: str
    result: AvailabilityResult
    calendars: tuple[str, ...]
    problems: tuple[CalendarProblem, ...]
    has_calendars: bool

    @property
    def complete(self) -> bool:
        """Whether every checked calendar was read."""
        return not self.problems



class UnknownUser(LookupError):
    """No user with that id."""
