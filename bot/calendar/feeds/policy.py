"""When a feed is fetched again, and when its last good copy may still answer: :class:`RefreshPolicy`.

Pure (no clock, no database): the caller gives ``now``.

* After a good fetch (or a 304), the next one is due in 15-60 minutes: the server's
  ``Cache-Control: max-age`` kept inside that range (30 minutes when it gave none), moved by up
  to a quarter either way at random (still inside the range) so feeds added together do not
  stay in step.
* After a failure, the next try is due in 15 minutes, or later when a 429/503 asked for it (at
  most 60 minutes), lengthened by up to a quarter at random.
* Reading (:meth:`RefreshPolicy.verdict`): the copy answers while it is at most 2 hours old. A
  feed failing for 2 hours is a problem: :class:`~bot.calendar.base.AccessLost`, which marks the
  calendar inactive and tells the host once (``scheduling/health.py``). In between, a failing
  feed answers from its copy if that is young enough, else it is unknown
  (:class:`~bot.calendar.base.ProviderUnavailable`): never free.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.calendar.base import AccessLost, CalendarError, ProviderUnavailable


def _hours(span: timedelta) -> str:
    hours = span.total_seconds() / 3600
    return f"{hours:g} hour{'s' if hours != 1 else ''}"


@dataclass(frozen=True)
class RefreshPolicy:
    """The refresh schedule and the age limits of the module docstring (every span configurable)."""

    shortest: timedelta = timedelta(minutes=15)
    usual: timedelta = timedelta(minutes=30)
    longest: timedelta = timedelta(minutes=60)
    retry: timedelta = timedelta(minutes=15)
    jitter: float = 0.25
    failing_limit: timedelta = timedelta(hours=2)
    max_age: timedelta = timedelta(hours=2)
    lease: timedelta = timedelta(minutes=5)
    random: Callable[[], float] = field(default=random.random, compare=False)

    def _within(self, span: timedelta) -> timedelta:
        return min(self.longest, max(self.shortest, span))

    def after_success(self, now: datetime, advised: float | None = None) -> datetime:
        """When to fetch again after a good answer; ``advised``: the server's max-age in seconds."""
        wanted = self.usual if advised is None else timedelta(seconds=advised)
        span = self._within(wanted) * (1.0 + self.jitter * (2.0 * self.random() - 1.0))
        return now + self._within(span)

    def after_failure(self, now: datetime, retry_after: float | None = None) -> datetime:
        """When to try again after a failure; ``retry_after``: what a 429/503 asked, in seconds."""
        wanted = max(self.retry, self.retry if retry_after is None else timedelta(seconds=retry_after))
        return now + min(self.longest, wanted * (1.0 + self.jitter * self.random()))

    def is_problem(self, failing_since: datetime | None, now: datetime) -> bool:
        """Whether a feed failing since ``failing_since`` has failed long enough to be a problem."""
        return failing_since is not None and now - failing_since >= self.failing_limit

    def verdict(
        self,
        *,
        label: str,
        has_copy: bool,
        fetched_at: datetime | None,
        failing_since: datetime | None,
        last_error: str | None,
        now: datetime,
    ) -> CalendarError | None:
        """None when the stored copy may answer; else the calendar's error (see the module docstring)."""
        why = f": {last_error}" if last_error else "."
        if self.is_problem(failing_since, now):
            return AccessLost(
                f"The calendar feed {label} has not loaded for {_hours(self.failing_limit)}{why}"
            )
        if not has_copy or fetched_at is None:
            return ProviderUnavailable(f"The calendar feed {label} has not loaded yet{why}")
        if now - fetched_at > self.max_age:
            return ProviderUnavailable(
                f"The last copy of the calendar feed {label} is more than {_hours(self.max_age)} old{why}"
            )
        return None
