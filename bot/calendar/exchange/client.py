"""The synchronous exchangelib calls behind the Exchange provider (run in the app's worker threads).

Start with :class:`EwsRuntime`: exchangelib keeps its HTTP adapter, request timeout and logging
as process-wide class attributes, so the app sets them once, when the provider is registered (not
at import): the adapter connects only to addresses the SSRF policy permits and trusts the system
store (plus an operator's extra CA), the timeout is the calendar timeout (exchangelib's default is
120 s), and exchangelib's loggers, which log request headers and bodies (a Basic ``Authorization``
header among them), are silenced.

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
from exchangelib.folders import Calendar, DistinguishedFolderId, FolderCollection, SingleFolderQuerySet
from exchangelib.items import SEND_TO_ALL_AND_SAVE_COPY
from exchangelib.properties import Attendee as EwsAttendee
from exchangelib.protocol import BaseProtocol, CachingProtocol

from bot.calendar.base import NewEvent
from bot.calendar.exchange.credentials import ExchangeCredentials
from bot.calendar.exchange.errors import GONE_CODES, MeasuredFailFast, code_of

BOOKING_FIELD = "slotbot_booking"
"""The name Slotbot's extended property is registered under on ``CalendarItem``."""
MAX_CONNECTIONS = 8
"""Sessions exchangelib keeps per mailbox (Exchange's default EWSMaxConcurrency is 27)."""
VIEW_FIELDS = (
    "start", "end", "legacy_free_busy_status", "is_cancelled", "my_response_type", "_start_timezone",
)
"""What a calendar view asks for (``is_all_day`` is left out: see :mod:`.mapping`)."""


class BookingId(ExtendedProperty):  # type: ignore[misc]
    """The booking's uid on the event, so a retried create finds the event it made."""

    property_set_id = "7d2f4a52-2b70-4c4f-9a0b-5b6f1d0f3c11"
    property_name = "SlotbotBookingId"
    property_type = "String"


class EwsRuntime:
    """exchangelib's process-wide settings, applied once by whoever registers the provider."""

    _lock = threading.Lock()

    @classmethod
    def apply(cls, *, adapter: type[requests.adapters.HTTPAdapter], timeout: float) -> None:
        """Use ``adapter`` for every EWS request and ``timeout`` seconds as the request timeout."""
        with cls._lock:
            BaseProtocol.HTTP_ADAPTER_CLS = adapter
            BaseProtocol.TIMEOUT = timeout
            if not getattr(BaseProtocol, "_slotbot_sessions", False):
                original = BaseProtocol.raw_session.__func__

                def raw_session(protocol_cls: Any, prefix: str, *args: Any, **kwargs: Any) -> Any:
                    session = original(protocol_cls, prefix, *args, **kwargs)
                    # Every URL the session may reach (a redirect too) goes through the policy.
                    for scheme in ("https://", "http://"):
                        session.mount(scheme, protocol_cls.get_adapter())
                    session.mount(prefix, protocol_cls.get_adapter())
                    return session

                BaseProtocol.raw_session = classmethod(raw_session)
                BaseProtocol._slotbot_sessions = True
            try:
                CalendarItem.get_field_by_fieldname(BOOKING_FIELD)
            except Exception:
                CalendarItem.register(BOOKING_FIELD, BookingId)
            for name in ("exchangelib", "requests_ntlm", "spnego"):
                logging.getLogger(name).setLevel(logging.CRITICAL + 1)

    @staticmethod
    def forget(ews_url: str) -> None:
        """Drop exchangelib's cached sessions for ``ews_url`` (after the credentials changed)."""
        with CachingProtocol._protocol_cache_lock:
            for key in [k for k in CachingProtocol._protocol_cache if k[0] == ews_url]:
                protocol, _ = CachingProtocol._protocol_cache.pop(key)
                if not isinstance(protocol, Exception):
                    protocol.close()


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

    def __init__(self, credentials: ExchangeCredentials) -> None:
        self.credentials = credentials
        self.account = Account(
            primary_smtp_address=credentials.email,
            config=configuration(credentials),
            autodiscover=False,
            access_type=DELEGATE,
            default_timezone=EWSTimeZone("UTC"),
        )
        self._folders: dict[str, Any] = {}

    def calendars(self) -> list[Folder]:
        """The mailbox's own calendar folders, the primary one first."""
        primary = self.account.calendar
        self._folders[primary.id] = primary
        found = [Folder(primary.id, primary.name or "Calendar", True)]
        for folder in self.account.msg_folder_root.walk():
            if isinstance(folder, Calendar) and folder.id != primary.id:
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
        """A colleague's primary calendar (GetFolder: ErrorAccessDenied when not readable)."""
        key = f"mailbox:{email.lower()}"
        folder = self._folders.get(key)
        if folder is None:
            folder = SingleFolderQuerySet(
                account=self.account,
                folder=DistinguishedFolderId(
                    id=Calendar.DISTINGUISHED_FOLDER_ID, mailbox=EwsMailbox(email_address=email)
                ),
            ).resolve()
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
