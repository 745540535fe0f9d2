"""The synchronous exchangelib calls behind the Exchange provider (run in the app's worker threads).

Start with :func:`protocol_class`: exchangelib reads its HTTP adapter and request timeout as class
attributes, so Slotbot speaks through a subclass of its own per adapter and timeout instead of
changing exchangelib's classes for the whole process. The adapter connects only to addresses the
SSRF policy permits and trusts the system store (plus an operator's extra CA); the timeout is the
calendar timeout (exchangelib's default is 120 s). :func:`prepare_library` registers Slotbot's
extended property and silences exchangelib's loggers, which log request headers and bodies.

:class:`Mailbox` wraps one ``exchangelib.Account`` with the operations the provider needs, each one
EWS request or a few: the calendar folders (GetFolder + one FindFolder from the root), a calendar
view (FindItem with CalendarView, no restriction: EWS expands recurring items itself), free/busy
(GetServerTimeZones + GetUserAvailability), creating a booking's event (a FindItem on the booking's
extended property first, so a retried create finds the first event) and deleting one.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import requests
from exchangelib import (
    BASIC,
    DELEGATE,
    NTLM,
    Account,
    Build,
    CalendarItem,
    Configuration,
    Credentials,
    EWSDateTime,
    EWSTimeZone,
    ExtendedProperty,
    Version,
)
from exchangelib import Mailbox as EwsMailbox
from exchangelib.folders import DEEP, Calendar, DistinguishedFolderId, FolderCollection
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.properties import Attendee as EwsAttendee
from exchangelib.protocol import Protocol

from bot.calendar.base import NewEvent
from bot.calendar.exchange.credentials import ExchangeCredentials
from bot.calendar.exchange.errors import GONE_CODES, MeasuredFailFast, code_of

BOOKING_FIELD = "slotbot_booking"
"""The name Slotbot's extended property is registered under on ``CalendarItem``."""
MAX_CONNECTIONS = 8
"""Sessions exchangelib keeps per mailbox (Exchange's default EWSMaxConcurrency is 27)."""
VIEW_FIELDS = (
    "start", "end", "legacy_free_busy_status", "is_cancelled", "my_response_type", "_start_timezone",
    "subject",
)
"""What a calendar view asks for (``is_all_day`` is left out: see :mod:`.mapping`); the subject
is shown only to the calendar's owner, in a private answer."""


class BookingId(ExtendedProperty):  # type: ignore[misc]
    """The booking's uid on the event, so a retried create finds the event it made."""

    property_set_id = "7d2f4a52-2b70-4c4f-9a0b-5b6f1d0f3c11"
    property_name = "SlotbotBookingId"
    property_type = "String"


class PolicyProtocol(Protocol):  # type: ignore[misc]
    """exchangelib's protocol whose sessions send every URL (a redirect too) through its adapter.

    :func:`protocol_class` makes one subclass per (adapter, timeout): exchangelib reads both as
    class attributes, so setting them on exchangelib's own class would change every user of the
    library in the process.
    """

    @classmethod
    def raw_session(cls, prefix: str, *args: Any, **kwargs: Any) -> Any:
        """A session with the adapter mounted for the endpoint and every other http(s) URL."""
        session = super().raw_session(prefix, *args, **kwargs)
        for scheme in ("https://", "http://"):
            session.mount(scheme, cls.get_adapter())
        session.mount(prefix, cls.get_adapter())
        session.trust_env = False  # no proxy from the environment: the policy checks the address
        return session


_classes: dict[tuple[type[requests.adapters.HTTPAdapter], float], type[Any]] = {}
_classes_lock = threading.Lock()


def protocol_class(adapter: type[requests.adapters.HTTPAdapter], timeout: float) -> type[Any]:
    """The :class:`PolicyProtocol` subclass using ``adapter`` with ``timeout`` seconds per request."""
    with _classes_lock:
        found = _classes.get((adapter, timeout))
        if found is None:
            attributes = {"HTTP_ADAPTER_CLS": adapter, "TIMEOUT": timeout}
            found = type("SlotbotProtocol", (PolicyProtocol,), attributes)
            _classes[(adapter, timeout)] = found
        return found


def own_protocol(cls: type[Any], config: Configuration) -> Any:
    """A protocol of ``cls`` for ``config`` that is not shared through exchangelib's process-wide cache.

    exchangelib caches protocols per endpoint and credentials, failures included; Slotbot keeps
    its own per connection (:class:`Mailbox`) and drops it when the credentials change.
    """
    return type.__call__(cls, config=config)


_setup_lock = threading.Lock()


def prepare_library() -> None:
    """What Slotbot needs registered on exchangelib once: its extended property, quiet loggers.

    exchangelib logs request headers and bodies (a Basic ``Authorization`` header among them) at
    debug level and, for errors it does not know, at error level: its loggers are silenced.
    """
    with _setup_lock:
        try:
            CalendarItem.get_field_by_fieldname(BOOKING_FIELD)
        except Exception:
            CalendarItem.register(BOOKING_FIELD, BookingId)
        for name in ("exchangelib", "requests_ntlm", "spnego"):
            logging.getLogger(name).setLevel(logging.CRITICAL + 1)


def parse_build(text: str) -> Build | None:
    """``15.1.2507.6`` as an exchangelib ``Build``; None when empty or unreadable."""
    try:
        parts = [int(part) for part in text.split(".")]
    except ValueError:
        return None
    if not 2 <= len(parts) <= 4:
        return None
    return Build(*parts)


def configuration(credentials: ExchangeCredentials) -> Configuration:
    """exchangelib's configuration for ``credentials`` (sends nothing until used)."""
    build = parse_build(credentials.version)
    return Configuration(
        service_endpoint=credentials.ews_url,
        credentials=Credentials(credentials.sign_in_name, credentials.password),
        auth_type=NTLM if credentials.auth_type == "NTLM" else BASIC,
        version=Version(build=build) if build is not None else None,
        retry_policy=MeasuredFailFast(),
        max_connections=MAX_CONNECTIONS,
    )


@dataclass(frozen=True, slots=True)
class Folder:
    """One calendar folder of the mailbox."""

    id: str
    name: str
    primary: bool


@dataclass(frozen=True, slots=True)
class FreeBusyEvent:
    """One busy interval from GetUserAvailability."""

    start: datetime
    end: datetime
    busy_type: str


def _zone(name: str) -> Any:
    """The event's zone as exchangelib's (shown to attendees in Outlook); UTC when unmapped."""
    try:
        return EWSTimeZone(name)
    except Exception:
        return EWSTimeZone("UTC")


def _aware(value: Any) -> datetime:
    return datetime.fromtimestamp(value.timestamp(), UTC)


class Mailbox:
    """One mailbox through exchangelib (every method blocks: call it from a worker thread)."""

    def __init__(self, credentials: ExchangeCredentials, protocol: type[Any], *, config: Any = None) -> None:
        self.credentials = credentials
        config = config or configuration(credentials)
        ours = own_protocol(protocol, config)
        self.account = Account(
            primary_smtp_address=credentials.email,
            config=config,
            autodiscover=False,
            access_type=DELEGATE,
            default_timezone=EWSTimeZone("UTC"),
        )
        self.account.protocol = ours  # Account made (and exchangelib cached) a plain one: unused
        self._folders: dict[str, Any] = {}

    def close(self) -> None:
        """Close the mailbox's HTTP sessions."""
        self.account.protocol.close()

    def calendars(self) -> list[Folder]:
        """The mailbox's own calendar folders, the primary one first (asked again every time).

        One FindFolder (deep, from the top of the mailbox) each time: exchangelib's folder walk
        would answer from the hierarchy it cached on first use, hiding folders made since.
        """
        primary = self.account.calendar
        self._folders[primary.id] = primary
        found = [Folder(primary.id, primary.name or "Calendar", True)]
        search = FolderCollection(account=self.account, folders=[self.account.msg_folder_root])
        for folder in search.find_folders(depth=DEEP):
            kind = getattr(folder, "folder_class", None)
            if (isinstance(folder, Calendar) or kind == "IPF.Appointment") and folder.id != primary.id:
                self._folders[folder.id] = folder
                found.append(Folder(folder.id, folder.name or "Calendar", False))
        return found

    def _folder(self, folder_id: str) -> Any:
        folder = self._folders.get(folder_id)
        if folder is None:
            folder = Calendar(root=self.account.root, id=folder_id, changekey=None)
            self._folders[folder_id] = folder
        return folder

    def shared_folder(self, email: str) -> Any:
        """A colleague's primary calendar, addressed through their mailbox (no request yet).

        Not ``Account(colleague).calendar``: that reads the colleague's mailbox root first, which
        Exchange refuses for a share of the calendar only.
        """
        key = f"mailbox:{email.lower()}"
        folder = self._folders.get(key)
        if folder is None:
            folder = Calendar(
                root=self.account.root,
                _distinguished_id=DistinguishedFolderId(
                    id=Calendar.DISTINGUISHED_FOLDER_ID, mailbox=EwsMailbox(email_address=email)
                ),
            )
            self._folders[key] = folder
        return folder

    def view(
        self, folder_id: str | None, start: datetime, end: datetime, *, email: str | None = None
    ) -> list[Any]:
        """The items of a calendar (own ``folder_id``, or a colleague's by ``email``) in ``[start, end)``."""
        folder = self.shared_folder(email) if email else self._folder(folder_id or "")
        query = FolderCollection(account=self.account, folders=[folder]).view(
            start=EWSDateTime.from_datetime(start.astimezone(UTC)),
            end=EWSDateTime.from_datetime(end.astimezone(UTC)),
        )
        return list(query.only(*VIEW_FIELDS))

    def free_busy(
        self, emails: Sequence[str], start: datetime, end: datetime
    ) -> list[list[FreeBusyEvent] | Exception]:
        """GetUserAvailability for ``emails`` (one answer per mailbox: its events or its error)."""
        zone = EWSTimeZone("UTC")
        answers = self.account.protocol.get_free_busy_info(
            accounts=[(email, "Required", False) for email in emails],
            start=EWSDateTime.from_datetime(start.astimezone(UTC)).astimezone(zone),
            end=EWSDateTime.from_datetime(end.astimezone(UTC)).astimezone(zone),
            requested_view="Detailed",
        )
        result: list[list[FreeBusyEvent] | Exception] = []
        for answer in answers:
            if isinstance(answer, Exception):
                result.append(answer)
                continue
            events = [
                FreeBusyEvent(_aware(ev.start), _aware(ev.end), str(ev.busy_type))
                for ev in (answer.calendar_events or ())
            ]
            result.append(events)
        return result

    def find_booking(self, folder_id: str, uid: str) -> str | None:
        """The id of the event a create for booking ``uid`` already made, if any."""
        found = list(self._folder(folder_id).filter(**{BOOKING_FIELD: uid}).only("id"))
        return found[0].id if found else None

    def create(self, folder_id: str, event: NewEvent) -> str:
        """Create ``event`` in the folder and send the invitations; the new item's id."""
        existing = self.find_booking(folder_id, event.uid)
        if existing is not None:
            return existing
        attendees = [
            EwsAttendee(
                mailbox=EwsMailbox(email_address=a.email, name=a.name or None), response_type="Unknown"
            )
            for a in event.attendees
        ]
        zone = _zone(event.time_zone)
        item = CalendarItem(
            account=self.account,
            folder=self._folder(folder_id),
            subject=event.title,
            body=event.description or None,
            location=event.location or None,
            start=EWSDateTime.from_datetime(event.start).astimezone(zone),
            end=EWSDateTime.from_datetime(event.end).astimezone(zone),
            required_attendees=attendees or None,
            uid=event.uid,
            **{BOOKING_FIELD: event.uid},
        )
        item.save(send_meeting_invitations=SEND_TO_ALL_AND_SAVE_COPY)
        return str(item.id)

    def delete(self, item_id: str) -> None:
        """Delete the item and send cancellations; an item that is gone already is no error."""
        answers: Iterable[Any] = self.account.bulk_delete(
            ids=[(item_id, None)], send_meeting_cancellations=SEND_TO_ALL_AND_SAVE_COPY
        )
        for answer in answers:
            if isinstance(answer, Exception) and code_of(answer) not in GONE_CODES:
                raise answer


class Mailboxes:
    """The open mailboxes of one provider factory: one per connection, new when its credentials change.

    A mailbox keeps its HTTP sessions (an NTLM sign-in is one per TCP connection), so every read
    of a connection reuses them; a new password (or a refused one) closes them.
    """

    def __init__(self, protocol: type[Any]) -> None:
        self.protocol = protocol
        self._open: dict[int, tuple[str, Mailbox]] = {}
        self._lock = threading.Lock()

    def get(self, connection_id: int, sealed_key: str, credentials: ExchangeCredentials) -> Mailbox:
        """The mailbox of ``connection_id`` for these credentials (``sealed_key`` tells them apart)."""
        with self._lock:
            found = self._open.get(connection_id)
            if found is not None and found[0] == sealed_key:
                return found[1]
            mailbox = Mailbox(credentials, self.protocol)
            self._open[connection_id] = (sealed_key, mailbox)
        if found is not None:
            found[1].close()
        return mailbox

    def drop(self, connection_id: int) -> None:
        """Forget (and close) the mailbox of ``connection_id``."""
        with self._lock:
            found = self._open.pop(connection_id, None)
        if found is not None:
            found[1].close()
