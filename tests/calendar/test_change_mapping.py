"""How Google's and Graph's event resources read as calendar-sync changes: times, guests (rooms and
blanks left out), cancellations, deletions, all-day events skipped, other programs' events foreign."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest

from bot.calendar.changes import EventChange, EventRemoved
from bot.calendar.google.changes import change_of as google_change
from bot.calendar.microsoft.changes import change_of as graph_change

LISBON = ZoneInfo("Europe/Lisbon")


def _google(**extra: object) -> dict[str, object]:
    return {"id": "ev1", "status": "confirmed", "summary": "Planning",
            "start": {"dateTime": "2027-03-28T09:30:00", "timeZone": "Europe/Lisbon"},
            "end": {"dateTime": "2027-03-28T10:30:00+01:00"},
            "attendees": [{"email": "Ana@Example.com", "responseStatus": "accepted"},
                          {"email": "room-1@resource.calendar.google.com", "resource": True},
                          {"displayName": "no address"}],
            **extra}


def test_a_google_event_reads_with_its_zone_and_guests_but_not_its_rooms() -> None:
    change = google_change(_google())
    assert isinstance(change, EventChange)
    assert change.start == datetime(2027, 3, 28, 9, 30, tzinfo=LISBON)  # the day Lisbon springs forward
    assert change.end == datetime(2027, 3, 28, 9, 30, tzinfo=UTC)
    assert change.attendees == frozenset({"ana@example.com"})
    assert (change.title, change.cancelled, change.foreign) == ("Planning", False, False)


@pytest.mark.parametrize("marker", [
    {"extendedProperties": {"private": {"slotbotUid": "slotbot-booking-1@slotbot"}}},
    {"extendedProperties": {"shared": {"crmId": "42"}}},
    {"source": {"title": "Another app", "url": "https://app.example"}},
    {"eventType": "fromGmail"},
    {"eventType": "focusTime"},
])
def test_google_events_another_program_wrote_are_foreign(marker: dict[str, object]) -> None:
    change = google_change(_google(**marker))
    assert isinstance(change, EventChange) and change.foreign


def test_google_deleted_cancelled_and_all_day_events() -> None:
    assert google_change({"id": "gone", "status": "cancelled"}) == EventRemoved("gone")
    cancelled = google_change(_google(status="cancelled"))
    assert isinstance(cancelled, EventChange) and cancelled.cancelled
    assert google_change(_google(start={"date": "2027-03-28"}, end={"date": "2027-03-29"})) is None
    assert google_change({"status": "confirmed"}) is None


def _graph(**extra: object) -> dict[str, object]:
    return {"id": "AAMk1", "subject": "Review", "isAllDay": False, "isCancelled": False,
            "start": {"dateTime": "2027-10-31T00:30:00.0000000", "timeZone": "UTC"},
            "end": {"dateTime": "2027-10-31T02:00:00.0000000", "timeZone": "UTC"},
            "attendees": [{"type": "required", "emailAddress": {"address": "BO@example.org", "name": "Bo"}},
                          {"type": "resource", "emailAddress": {"address": "room@example.org"}}],
            **extra}


def test_a_graph_event_reads_in_utc_with_its_guests_but_not_its_rooms() -> None:
    change = graph_change(_graph())
    assert isinstance(change, EventChange)
    assert change.start == datetime(2027, 10, 31, 0, 30, tzinfo=UTC)
    assert change.end - change.start == datetime(2027, 10, 31, 2, tzinfo=UTC) - change.start
    assert change.attendees == frozenset({"bo@example.org"})
    assert not change.foreign and not change.cancelled


def test_graph_removed_cancelled_foreign_and_all_day_items() -> None:
    assert graph_change({"id": "AAMk2", "@removed": {"reason": "deleted"}}) == EventRemoved("AAMk2")
    cancelled = graph_change(_graph(isCancelled=True))
    assert isinstance(cancelled, EventChange) and cancelled.cancelled
    foreign = graph_change(_graph(transactionId="slotbot-booking-3@slotbot"))
    assert isinstance(foreign, EventChange) and foreign.foreign
    assert graph_change(_graph(isAllDay=True)) is None
    assert graph_change({"subject": "no id"}) is None
