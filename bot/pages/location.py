"""Where a page's meetings take place: the kinds a host can pick and what each needs.

A page stores a :class:`LocationKind` and one value (``location_value``): the video link, the
host's phone number or the address. ``google_meet`` and ``teams`` need none: the host's default
calendar creates the meeting with the event and returns its join link (stored on the booking as
``join_url``). ``visitor_phone`` asks the visitor for their number on the form.
"""

from __future__ import annotations

from enum import StrEnum


class LocationKind(StrEnum):
    """The kinds of meeting place a page can offer."""

    NONE = ""  # not said
    GOOGLE_MEET = "google_meet"  # created with the event when the default calendar is Google
    TEAMS = "teams"  # a Teams meeting when the default calendar is Microsoft 365
    LINK = "link"  # a fixed https video link the host pasted (Zoom, Whereby, ...)
    PHONE = "phone"  # the visitor calls the host's number
    VISITOR_PHONE = "visitor_phone"  # the host calls the number the visitor gives on the form
    IN_PERSON = "in_person"  # an address


NEEDS_VALUE = frozenset({LocationKind.LINK, LocationKind.PHONE, LocationKind.IN_PERSON})
"""Kinds whose ``location_value`` must be given (a link, the host's number, an address)."""

CONFERENCING = frozenset({LocationKind.GOOGLE_MEET, LocationKind.TEAMS})
"""Kinds whose join link comes from the calendar provider when the event is created."""


def location_kind(stored: str | None) -> LocationKind:
    """The kind stored on a page; an unknown value (a newer version's) reads as not said."""
    try:
        return LocationKind(stored or "")
    except ValueError:
        return LocationKind.NONE
