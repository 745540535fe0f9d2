"""The state behind the EWS endpoint: mailboxes, their folders, calendar items and who may see what.

Times are kept as Exchange keeps them: UTC instants. An all-day item is stored as the UTC instants
of the local midnights in the item's own time zone (which travels with the item on the wire as
``StartTimeZone``/``EndTimeZone``). Recurring series are not modelled: EWS expands them server-side
in a CalendarView, so a test stores the occurrences as plain items.

Sharing follows Exchange's calendar permissions: a colleague's calendar is readable event by event
(``reviewer``), as free/busy only (``free_busy``, Exchange's organisation-wide default
``AvailabilityOnly``), or not at all (``none``).
"""

from __future__ import annotations

import base64
import datetime as dt
import secrets
from dataclasses import dataclass, field
from typing import Literal
from zoneinfo import ZoneInfo

UTC = dt.UTC
ShowAs = Literal["Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData"]
ShareLevel = Literal["reviewer", "free_busy", "none"]
FolderFault = Literal["ErrorAccessDenied", "ErrorFolderNotFound"]
SHOW_AS_VALUES: tuple[str, ...] = ("Free", "Tentative", "Busy", "OOF", "WorkingElsewhere", "NoData")
SHARE_LEVELS: tuple[str, ...] = ("reviewer", "free_busy", "none")
RESPONSE_TYPES: tuple[str, ...] = (
    "Unknown",
    "Organizer",
    "Tentative",
    "Accept",
    "Decline",
    "NoResponseReceived",
)


def new_id(kind: str) -> str:
    """A fresh opaque id shaped like Exchange's (base64 of a kind marker and random bytes)."""
    marker = b"\x00\x00" + kind.encode()[:4].ljust(4, b"\x00")
    return base64.b64encode(b"\x00\x03\x24" + marker + secrets.token_bytes(35)).decode()


def new_change_key() -> str:
    """A fresh change key (Exchange's are base64 too)."""
    return base64.b64encode(b"\x0f\x00\x00\x00" + secrets.token_bytes(16)).decode()


@dataclass(eq=False)
class Event:
    """One calendar item (an occurrence of a series is one item too)."""

    id: str
    subject: str
    start: dt.datetime
    end: dt.datetime
    show_as: str = "Busy"
    cancelled: bool = False
    all_day: bool = False
    my_response: str = "Organizer"
    time_zone: str = "UTC"
    uid: str = ""
    location: str = ""
    organizer: str = ""
    required_attendees: list[str] = field(default_factory=list)
    optional_attendees: list[str] = field(default_factory=list)
    extended: dict[tuple[str, str], str] = field(default_factory=dict)
    change_key: str = field(default_factory=new_change_key)

    @property
    def is_meeting(self) -> bool:
        """Whether the item has attendees (Exchange's ``IsMeeting``)."""
        return bool(self.required_attendees or self.optional_attendees)


@dataclass(eq=False)
class Folder:
    """A mail folder; calendars have ``folder_class`` ``IPF.Appointment``.

    ``fault`` makes every request about this folder answer that EWS error instead.
    """

    id: str
    name: str
    folder_class: str | None
    mailbox: Mailbox
    parent: Folder | None = None
    distinguished: str | None = None
    events: list[Event] = field(default_factory=list)
    children: list[Folder] = field(default_factory=list)
    fault: FolderFault | None = None
    change_key: str = field(default_factory=new_change_key)

    @property
    def is_calendar(self) -> bool:
        """Whether this is a calendar folder."""
        return self.folder_class == "IPF.Appointment"

    def descendants(self) -> list[Folder]:
        """Every folder below this one, depth first."""
        found: list[Folder] = []
        for child in self.children:
            found.append(child)
            found.extend(child.descendants())
        return found


class Mailbox:
    """A user's mailbox: sign-in names, password, folder tree and who it shares its calendar with."""

    def __init__(self, email: str, password: str, *, username: str | None, name: str) -> None:
        self.email = email
        self.password = password
        self.username = username
        self.name = name
        self.shares: dict[str, ShareLevel] = {}
        self.default_level: ShareLevel = "free_busy"
        self.root = Folder(new_id("root"), "root", None, self, distinguished="root")
        self.top = self._folder(self.root, "Top of Information Store", None, "msgfolderroot")
        self.calendar = self._folder(self.top, "Calendar", "IPF.Appointment", "calendar")
        self.inbox = self._folder(self.top, "Inbox", "IPF.Note", "inbox")
        self._folder(self.top, "Contacts", "IPF.Contact", "contacts")
        self._folder(self.top, "Tasks", "IPF.Task", "tasks")
        self._folder(self.top, "Deleted Items", "IPF.Note", "deleteditems")

    def _folder(
        self, parent: Folder, name: str, folder_class: str | None, distinguished: str | None
    ) -> Folder:
        folder = Folder(new_id("fold"), name, folder_class, self, parent=parent, distinguished=distinguished)
        parent.children.append(folder)
        return folder

    def add_calendar(self, name: str, *, parent: Folder | None = None) -> Folder:
        """Another calendar of this mailbox (by default below the primary Calendar, as Outlook does)."""
        return self._folder(parent or self.calendar, name, "IPF.Appointment", None)

    def add_folder(self, name: str, folder_class: str | None = "IPF.Note") -> Folder:
        """A non-calendar folder below the top of the information store."""
        return self._folder(self.top, name, folder_class, None)

    def folders(self) -> list[Folder]:
        """The root and every folder below it."""
        return [self.root, *self.root.descendants()]

    def distinguished(self, name: str) -> Folder | None:
        """The distinguished folder ``name`` (``root``, ``msgfolderroot``, ``calendar``...)."""
        return next((f for f in self.folders() if f.distinguished == name.lower()), None)

    def share_with(self, email: str, level: ShareLevel = "reviewer") -> None:
        """Grant ``email`` this level on the calendar (``reviewer``, ``free_busy`` or ``none``)."""
        if level not in SHARE_LEVELS:
            raise ValueError(f"unknown share level {level!r}")
        self.shares[email.lower()] = level

    def level_for(self, email: str) -> ShareLevel | Literal["owner"]:
        """What ``email`` may see of this mailbox's calendars."""
        if email.lower() == self.email.lower():
            return "owner"
        return self.shares.get(email.lower(), self.default_level)

    def __repr__(self) -> str:
        return f"Mailbox({self.email!r})"


def _instant(value: dt.datetime | dt.date, zone: ZoneInfo, *, midnight: bool) -> dt.datetime:
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    elif midnight:
        value = value.replace(hour=0, minute=0, second=0, microsecond=0)
    if value.tzinfo is None:
        value = value.replace(tzinfo=zone)
    return value.astimezone(UTC)


def add_event(
    folder: Folder,
    start: dt.datetime | dt.date,
    end: dt.datetime | dt.date,
    *,
    subject: str = "Busy",
    show_as: ShowAs = "Busy",
    cancelled: bool = False,
    all_day: bool = False,
    my_response: str = "Organizer",
    time_zone: str = "UTC",
    uid: str | None = None,
    location: str = "",
    attendees: tuple[str, ...] = (),
) -> Event:
    """Put an item in ``folder``.

    Naive datetimes are read in ``time_zone`` (an IANA name). Dates (or ``all_day=True``) make an
    all-day item, stored as Exchange stores it: the UTC instants of the local midnights of the start
    day and of the day after the last one (``end`` is exclusive, as on the wire).
    """
    if show_as not in SHOW_AS_VALUES:
        raise ValueError(f"unknown show-as {show_as!r}")
    if my_response not in RESPONSE_TYPES:
        raise ValueError(f"unknown response type {my_response!r}")
    zone = ZoneInfo(time_zone)
    all_day = all_day or not isinstance(start, dt.datetime)
    event = Event(
        id=new_id("item"),
        subject=subject,
        start=_instant(start, zone, midnight=all_day),
        end=_instant(end, zone, midnight=all_day),
        show_as=show_as,
        cancelled=cancelled,
        all_day=all_day,
        my_response=my_response,
        time_zone=time_zone,
        uid=uid or secrets.token_hex(16).upper(),
        location=location,
        organizer=folder.mailbox.email,
        required_attendees=list(attendees),
    )
    if event.end < event.start:
        raise ValueError("an event cannot end before it starts")
    folder.events.append(event)
    return event


@dataclass(frozen=True)
class Invitation:
    """A meeting request Exchange would have sent: the item, the organiser, the attendee and the mode."""

    item_id: str
    organizer: str
    attendee: str
    mode: str


@dataclass(frozen=True)
class Cancellation:
    """A deletion of an item and the cancellation mode it was asked with."""

    item_id: str
    organizer: str
    attendees: tuple[str, ...]
    mode: str


class Store:
    """Every mailbox of the fake organisation, and what the endpoint was asked to send."""

    def __init__(self) -> None:
        self.mailboxes: dict[str, Mailbox] = {}
        self.invitations: list[Invitation] = []
        self.cancellations: list[Cancellation] = []

    def add_mailbox(
        self, email: str, password: str, *, username: str | None = None, name: str | None = None
    ) -> Mailbox:
        """Add a user with a primary calendar; they sign in with the address or ``username``.

        ``username`` is ``DOMAIN\\user`` or a UPN; the address is always accepted too.
        """
        mailbox = Mailbox(email, password, username=username, name=name or email.split("@")[0].title())
        self.mailboxes[email.lower()] = mailbox
        return mailbox

    def mailbox(self, email: str) -> Mailbox | None:
        """The mailbox with this SMTP address (any case), or None."""
        return self.mailboxes.get(email.strip().lower())

    def account(self, login: str) -> Mailbox | None:
        """The mailbox a sign-in name belongs to: the address, ``username``, ``DOMAIN\\user`` or UPN."""
        login = login.strip().lstrip("\\").lower()
        domain, _, user = login.rpartition("\\")
        for mailbox in self.mailboxes.values():
            names = {mailbox.email.lower()}
            if mailbox.username:
                names.add(mailbox.username.lower())
                names.add(mailbox.username.lower().rpartition("\\")[2])
            if login in names or (domain and user in names and _domain_matches(domain, mailbox)):
                return mailbox
        return None

    def sign_in(self, login: str, password: str) -> Mailbox | None:
        """The mailbox if ``login`` and ``password`` match (Basic), else None."""
        mailbox = self.account(login)
        if mailbox is None or not secrets.compare_digest(mailbox.password, password):
            return None
        return mailbox

    def folder(self, folder_id: str) -> Folder | None:
        """The folder with this id, in any mailbox."""
        for mailbox in self.mailboxes.values():
            for folder in mailbox.folders():
                if folder.id == folder_id:
                    return folder
        return None

    def item(self, item_id: str) -> tuple[Folder, Event] | None:
        """The item with this id and its folder, in any mailbox."""
        for mailbox in self.mailboxes.values():
            for folder in mailbox.folders():
                for event in folder.events:
                    if event.id == item_id:
                        return folder, event
        return None

    add_event = staticmethod(add_event)


def _domain_matches(domain: str, mailbox: Mailbox) -> bool:
    if mailbox.username and "\\" in mailbox.username:
        return mailbox.username.lower().partition("\\")[0] == domain
    return mailbox.email.lower().partition("@")[2].split(".")[0] == domain
