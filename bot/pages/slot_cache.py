"""The scheduling pages' slot cache: what a page view computed, kept until it may be stale.

Start with :class:`SlotCache`. A page view asks :meth:`SlotCache.get` with a :class:`SlotKey`
(everything the slots and their rendering depend on: the page's whole public view as read for
this request, the length, the visitor's zone and language, the clock, the month and day asked,
the visitor's and the host's today); on a miss it computes (one availability call, the Babel
formatting), and :meth:`SlotCache.put` keeps the result as a :class:`SlotData`. A rendered page
for the plain case (no chosen time, nothing of the visitor in it) is kept with it
(:meth:`SlotData.page` / :meth:`SlotData.keep_page`), with its ETag.

An entry never serves once it may be stale:

* the host's availability changed (a booking, a move, a cancel, a calendar change): everything
  that changes it calls :meth:`bot.scheduling.scheduler.Scheduler.forget`, which tells
  :meth:`invalidate_user` (the one seam for other processes' changes too: a listener that hears
  of a change elsewhere calls ``forget`` or :meth:`invalidate_user`). An answer computed while
  the host changed is not kept (the host's generation is taken before computing);
* the page, its rules, the host's fields or calendar connections changed: they are part of the
  key (the view is read on every request), so the next view misses; :meth:`invalidate_page`
  drops a page's entries early;
* the busy time it was computed from expired in the scheduler (``expires``: never later), or
  :data:`MAX_AGE` passed (the window's far end moves with the clock);
* time moved on: an entry whose earliest start is before ``now`` plus the page's minimum notice
  is stale (the list would offer a started slot) and is dropped at read time.

Per process, in memory, bounded (least recently used entries go first).
"""

from __future__ import annotations

import time as monotonic
from collections import OrderedDict
from collections.abc import Callable, Hashable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

MAX_AGE = 60.0  # seconds an entry serves at most, whatever the busy time's own expiry
SIZE = 1024  # entries kept (pages x zones x lengths x languages x months being looked at)
PAGES_PER_ENTRY = 8  # rendered pages kept per entry (links with other options: embed, path)


@dataclass(frozen=True, slots=True)
class SlotKey:
    """What the slots of a page view and their rendering depend on."""

    user_id: int
    page_id: int
    view: str  # a digest of the page's public view (page, rules, host, connection states)
    duration: int
    zone: str
    lang: str
    clock: str  # "12" or "24"
    month: date
    day: date | None  # the day asked (or chosen), None: the month's first available day
    today: date  # the visitor's today: the calendar marks it
    last: date  # the last bookable day (moves with the host's today)


@dataclass(slots=True)
class SlotData:
    """One computed slot list with everything formatted for the page (the month picker's context)."""

    context: dict[str, Any]  # calendar, times, clock, zone_label, zones, slot_data, complete
    starts: tuple[datetime, ...]  # every start offered in the window, sorted
    notice: timedelta  # the page's minimum notice
    generation: int  # the host's generation it was computed at
    expires: float  # on the cache's clock
    pages: OrderedDict[Hashable, tuple[bytes, str]] = field(default_factory=OrderedDict)

    def fresh_at(self, now: datetime) -> bool:
        """Whether every start is still offered at ``now`` (none inside the minimum notice)."""
        return not self.starts or self.starts[0] >= now + self.notice

    def page(self, options: Hashable) -> tuple[bytes, str] | None:
        """The rendered page (body, ETag) kept for ``options``, or None."""
        found = self.pages.get(options)
        if found is not None:
            self.pages.move_to_end(options)
        return found

    def keep_page(self, options: Hashable, body: bytes, etag: str) -> None:
        """Keep a rendered page of these slots (the plain case: nothing of the visitor in it)."""
        self.pages[options] = (body, etag)
        self.pages.move_to_end(options)
        while len(self.pages) > PAGES_PER_ENTRY:
            self.pages.popitem(last=False)


class SlotCache:
    """Computed slot lists of the scheduling pages, by :class:`SlotKey` (see the module doc)."""

    def __init__(self, *, size: int = SIZE, max_age: float = MAX_AGE,
                 clock: Callable[[], float] = monotonic.monotonic,
                 wall_clock: Callable[[], datetime] | None = None) -> None:
        self.wall_clock: Callable[[], datetime] = wall_clock or _utc_now
        """The pages' "now" (aware): what entries are judged fresh at (tests move it)."""
        self._size = size
        self._max_age = max_age
        self._clock = clock
        self._entries: OrderedDict[SlotKey, SlotData] = OrderedDict()
        self._generations: dict[int, int] = {}

    def __len__(self) -> int:
        return len(self._entries)

    def generation(self, user_id: int) -> int:
        """The host's generation: it goes up on every :meth:`invalidate_user`. Take it before
        computing and give it to :meth:`put`, so that an answer overtaken by a change is not kept."""
        return self._generations.get(user_id, 0)

    def get(self, key: SlotKey, now: datetime) -> SlotData | None:
        """The entry of ``key`` when it may still serve at ``now``, else None (a stale one is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if (entry.generation != self.generation(key.user_id) or self._clock() >= entry.expires
                or not entry.fresh_at(now)):
            del self._entries[key]
            return None
        self._entries.move_to_end(key)
        return entry

    def put(self, key: SlotKey, *, context: dict[str, Any], starts: tuple[datetime, ...],
            notice: timedelta, generation: int, fresh_for: float) -> SlotData:
        """Keep what was computed for ``key`` (at ``generation``, from busy time that serves
        ``fresh_for`` more seconds); returns the entry. Nothing is kept when the host changed
        meanwhile or the busy time was not cached (``fresh_for`` 0)."""
        entry = SlotData(
            context=context, starts=starts, notice=notice, generation=generation,
            expires=self._clock() + min(fresh_for, self._max_age),
        )
        if generation != self.generation(key.user_id) or fresh_for <= 0:
            return entry  # used for this answer only
        self._entries[key] = entry
        self._entries.move_to_end(key)
        while len(self._entries) > self._size:
            self._entries.popitem(last=False)
        return entry

    def invalidate_user(self, user_id: int) -> None:
        """The host's availability changed: drop their entries, and any being computed now."""
        self._generations[user_id] = self.generation(user_id) + 1
        for key in [k for k in self._entries if k.user_id == user_id]:
            del self._entries[key]

    def invalidate_page(self, page_id: int) -> None:
        """A page changed: drop its entries (the next view would miss them anyway)."""
        for key in [k for k in self._entries if k.page_id == page_id]:
            del self._entries[key]



def _utc_now() -> datetime:
    return datetime.now(UTC)
