"""Sample data for the demo Exchange: a host, two colleagues and a week of calendar items."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from bot.demo.ews.store import Mailbox, ShowAs, Store

HOST = "host@contoso.example"
HOST_PASSWORD = "Demo-Host-1"  # noqa: S105 - a demo account on a local fake server
COLLEAGUES = ("alex@contoso.example", "sam@contoso.example")


def seeded_store(today: dt.date | None = None, *, time_zone: str = "Europe/Berlin") -> Store:
    """A store with the demo host (``CONTOSO\\host``), a reviewer and a free/busy-only colleague.

    The items fall on the working days of the week of ``today`` (default: now), in ``time_zone``.
    """
    store = Store()
    host = store.add_mailbox(HOST, HOST_PASSWORD, username="CONTOSO\\host", name="Demo Host")
    alex = store.add_mailbox(COLLEAGUES[0], "Demo-Alex-1", name="Alex Reviewer")
    sam = store.add_mailbox(COLLEAGUES[1], "Demo-Sam-1", name="Sam Busy")
    alex.share_with(HOST, "reviewer")  # sam keeps Exchange's default: free/busy only
    zone = ZoneInfo(time_zone)
    base = today or dt.datetime.now(zone).date()
    monday = base - dt.timedelta(days=base.weekday())

    def at(
        mailbox: Mailbox, day: int, hour: int, minutes: int, subject: str, show_as: ShowAs = "Busy"
    ) -> None:
        start = dt.datetime.combine(monday + dt.timedelta(days=day), dt.time(hour), tzinfo=zone)
        store.add_event(
            mailbox.calendar,
            start,
            start + dt.timedelta(minutes=minutes),
            subject=subject,
            show_as=show_as,
            time_zone=time_zone,
        )

    at(host, 0, 9, 30, "Stand-up")
    at(host, 0, 14, 60, "Customer call", "Tentative")
    at(host, 1, 11, 90, "Focus time", "Free")
    at(host, 3, 13, 120, "Offsite prep", "OOF")
    store.add_event(
        host.add_calendar("Team"),
        monday + dt.timedelta(days=2),
        monday + dt.timedelta(days=3),
        subject="Team day",
        time_zone=time_zone,
    )
    at(alex, 0, 10, 60, "Interviews")
    at(sam, 1, 9, 120, "Workshop")
    return store
