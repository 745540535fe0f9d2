"""Where a booked meeting takes place: from the page's location to the booking and its event.

A page's :class:`~bot.pages.location.LocationKind` and value become, when a visitor books, the
booking's ``location`` (the text the visitor is told: the link, a phone number, the address) and
``join_url`` (a video link; :func:`booking_place`). Google Meet and Teams have neither at that
moment: the host's default calendar makes the meeting with the event (:func:`conference_for`:
only a calendar of the right provider can) and :mod:`bot.booking.events` stores the link it
returns. :func:`place_lines` is what an event's description says about the place.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from bot.calendar.base import Conference
from bot.pages.location import LocationKind
from bot.plain_text import one_line

VISITOR_PHONE_ANSWER = "phone"
"""The answer key (compared without case) holding the visitor's number for a ``visitor_phone``
page: the form's ``phone`` field, or a page question labelled "Phone"."""

CONFERENCE_NAMES = {Conference.GOOGLE_MEET: "Google Meet", Conference.TEAMS: "Microsoft Teams"}
"""The meeting's name as the booking's location once its link exists (a product name: the same
in every language)."""

_PROVIDERS = {Conference.GOOGLE_MEET: "google", Conference.TEAMS: "microsoft"}
"""The calendar provider kind that can make each conference with an event."""

_KIND_CONFERENCE = {LocationKind.GOOGLE_MEET: Conference.GOOGLE_MEET, LocationKind.TEAMS: Conference.TEAMS}


@dataclass(frozen=True, slots=True)
class Place:
    """What a booking says about where it takes place (``location`` empty: not said)."""

    location: str = ""
    join_url: str | None = None


def visitor_phone(answers: Mapping[str, str] | None) -> str:
    """The number the visitor gave (answer :data:`VISITOR_PHONE_ANSWER`), on one line; empty when none."""
    for key, value in (answers or {}).items():
        if key.strip().lower() == VISITOR_PHONE_ANSWER:
            return one_line(str(value))
    return ""


def callable_number(text: str) -> bool:
    """Whether ``text`` reads as a phone number someone can call: digits with the usual
    separators (``+``, spaces, ``-``, ``.``, ``/``, brackets), 6 to 20 digits."""
    digits = sum(ch.isdigit() for ch in text)
    return 6 <= digits <= 20 and all(ch.isdigit() or ch in "+-(). /" for ch in text.strip())


def booking_place(kind: LocationKind, value: str, answers: Mapping[str, str] | None = None) -> Place:
    """The place a booking of a page with location ``kind``/``value`` has when it is made.

    ``link``: the URL is both the location and the join link; ``phone``: the host's number;
    ``visitor_phone``: the visitor's (see :func:`visitor_phone`); ``in_person``: the address.
    Google Meet and Teams start without a place: the calendar event brings the link.
    """
    value = one_line(value or "")
    if kind is LocationKind.LINK and value:
        return Place(location=value, join_url=value)
    if kind in (LocationKind.PHONE, LocationKind.IN_PERSON):
        return Place(location=value)
    if kind is LocationKind.VISITOR_PHONE:
        return Place(location=visitor_phone(answers))
    return Place()


def conference_of(kind: LocationKind) -> Conference | None:
    """The video meeting a page's location asks the calendar to make (None: no such kind)."""
    return _KIND_CONFERENCE.get(kind)


def conference_for(kind: LocationKind, provider: str) -> Conference | None:
    """The meeting a calendar of ``provider`` (a connection's kind) can make for ``kind``: Google
    Meet only on Google, Teams only on Microsoft 365; None otherwise (nothing is pretended)."""
    conference = conference_of(kind)
    return conference if conference is not None and _PROVIDERS[conference] == provider else None


def place_lines(location: str, join_url: str | None, *, where: str = "Location", join: str = "Join") -> str:
    """The description lines about the place: ``Location: ...`` (unless it is the join link
    itself) and ``Join: <url>``; empty when neither is known. ``where``/``join`` are the labels
    (translated by a caller writing for someone in their language)."""
    lines = []
    if location and location != join_url:
        lines.append(f"{where}: {location}")
    if join_url:
        lines.append(f"{join}: {join_url}")
    return "\n".join(lines)


def place_labels(pgettext: Callable[[str, str], str]) -> tuple[str, str]:
    """The description's labels for the location and the join link in a reader's language
    (``pgettext`` of the ``pages`` catalog), for ``booking_event(..., labels=...)``."""
    return pgettext("event description", "Location"), pgettext("event description", "Join")
