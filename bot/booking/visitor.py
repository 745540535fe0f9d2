"""What a visitor typed, checked, and the refusals a visitor is shown (sentences for the page).

:meth:`Visitor.validated` is the one check of a visitor's details, wherever they come from (the
booking form, "leave your details", the widget's page): trimmed, one line where a line is meant
(:mod:`bot.plain_text`), a plausible e-mail address, a known zone. The :class:`BookingError`
family carries sentences marked with :func:`N_` for the ``pages`` catalog, translated where shown;
:class:`bot.booking.service.Bookings` raises them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from bot.i18n import supported_locale
from bot.plain_text import breaks_or_controls, many_lines, one_line
from bot.zones import zone_named

EMAIL_PATTERN = re.compile(
    r"^[^@\s<>\"'(),;:\\]+@[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9-]+)+$"
)
MAX_NAME, MAX_EMAIL, MAX_NOTE = 200, 320, 5000

VISITOR_LANGUAGES = {"en": "en", "pt_BR": "pt", "da": "da"}
"""The supported locales by the language code stored on a booking (``bookings.language``)."""


def visitor_language(tag: str | None) -> str:
    """The language code (``en``, ``pt``, ``da``) stored for a language tag a visitor chose:
    ``pt-BR``/``pt`` -> ``pt``, ``da-DK`` -> ``da``, anything else (or nothing) -> ``en``."""
    return VISITOR_LANGUAGES[supported_locale(tag)]


def N_(message: str) -> str:
    """Mark a visitor-facing sentence for the ``pages`` catalog; it is translated where shown."""
    return message


class BookingError(Exception):
    """A booking that cannot be made; the message is a sentence for the visitor."""

    code = "invalid"


class InvalidVisitor(BookingError):
    """The visitor's details are not acceptable."""


class SlotUnavailable(BookingError):
    """The time is not one the page offers (past, outside the rules, wrong duration)."""

    code = "unavailable"


class SlotTaken(BookingError):
    """Someone else booked the time first."""

    code = "taken"


class PagesOff(BookingError):
    """The host's pages (or this page) are not taking bookings."""

    code = "off"


class BookingOpen(BookingError):
    """Details were left for the host, but the page takes bookings: the visitor picks a time."""

    code = "open"


class BookingBlocked(BookingError):
    """A connected calendar cannot be read: nobody can book until the host fixes it."""

    code = "blocked"


@dataclass(frozen=True, slots=True)
class Visitor:
    """What a visitor typed."""

    name: str
    email: str
    timezone: str = "UTC"
    note: str = ""
    answers: dict[str, str] = field(default_factory=dict)
    language: str = "en"  # the page language they chose (``en``, ``pt``, ``da``): they are told in it

    def validated(self) -> Visitor:
        """The same details, trimmed; raises :class:`InvalidVisitor` for unusable ones.

        A name or address holding a line break of any kind (or another control character) is
        refused; the note keeps its lines (as ``\\n``), answers are put on one line; the language
        is one Slotbot speaks (:func:`visitor_language`).
        """
        name, email, note = self.name.strip(), self.email.strip(), many_lines(self.note)
        if not name:
            raise InvalidVisitor(N_("Please tell us your name."))
        if len(name) > MAX_NAME or len(email) > MAX_EMAIL or len(note) > MAX_NOTE:
            raise InvalidVisitor(N_("Some of the details are too long."))
        if breaks_or_controls(name + email):
            raise InvalidVisitor(N_("Names and e-mail addresses must be on one line."))
        if not EMAIL_PATTERN.match(email):
            raise InvalidVisitor(N_("Please enter a valid e-mail address."))
        if zone_named(self.timezone) is None:
            raise InvalidVisitor(N_("Unknown time zone."))
        answers = {one_line(str(k))[:100]: one_line(str(v))[:MAX_NOTE] for k, v in self.answers.items()}
        return Visitor(name, email, self.timezone, note, answers, visitor_language(self.language))
