"""A host's contacts: add, edit, delete, search (name, e-mail, company) page by page, import rows.

Start with :class:`Contacts`. What a host typed is checked once, by
:meth:`ContactDetails.validated` (the e-mail address the way the booking form checks a visitor's,
:data:`bot.booking.visitor.EMAIL_PATTERN`); a refusal is a :class:`ContactRefused` carrying one
sentence per field. A host only ever sees and changes their own contacts: another host's contact
id is :class:`ContactNotFound`, the same as one that does not exist.

Searching is a ``LIKE`` on ``contacts.search_text`` (name, e-mail and company case-folded by
:mod:`storage.contact_models` on every write), so it is case-insensitive for every script and the
same on SQLite and PostgreSQL. Visitors who book become contacts in :mod:`bot.booking.service`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.booking.visitor import EMAIL_PATTERN, MAX_EMAIL, MAX_NAME, MAX_NOTE
from bot.plain_text import breaks_or_controls, many_lines, one_line
from storage.models import Contact

PAGE_SIZE = 50
MAX_COMPANY, MAX_PHONE = 200, 64
FIELDS = ("email", "name", "company", "phone", "notes")


class ContactNotFound(Exception):
    """No such contact among the host's own."""


class ContactRefused(Exception):
    """Details that cannot be kept: ``problems`` maps a field to the sentence shown beside it."""

    def __init__(self, problems: dict[str, str]) -> None:
        super().__init__("; ".join(problems.values()))
        self.problems = problems


@dataclass(frozen=True, slots=True)
class ContactDetails:
    """What a host typed (or a CSV row held) about a contact."""

    email: str
    name: str = ""
    company: str = ""
    phone: str = ""
    notes: str = ""

    def validated(self) -> ContactDetails:
        """The same details trimmed, the address lower-case; :class:`ContactRefused` otherwise."""
        email = self.email.strip()
        name, company, phone = one_line(self.name), one_line(self.company), one_line(self.phone)
        notes = many_lines(self.notes)
        problems: dict[str, str] = {}
        if not email:
            problems["email"] = "Enter the contact's e-mail address."
        elif len(email) > MAX_EMAIL or breaks_or_controls(email) or not EMAIL_PATTERN.match(email):
            problems["email"] = "That is not a valid e-mail address."
        for key, value, limit in (("name", name, MAX_NAME), ("company", company, MAX_COMPANY),
                                  ("phone", phone, MAX_PHONE), ("notes", notes, MAX_NOTE)):
            if len(value) > limit:
                problems[key] = f"At most {limit:,} characters, please."
        if problems:
            raise ContactRefused(problems)
        return ContactDetails(email.lower(), name, company, phone, notes)


@dataclass(frozen=True, slots=True)
class ContactPage:
    """One page of a host's contacts matching a search."""

    contacts: list[Contact]
    query: str
    page: int
    pages: int
    total: int


@dataclass(slots=True)
class MergeCounts:
    """What :meth:`Contacts.merge` did."""

    added: int = 0
    updated: int = 0
    ids: list[int] = field(default_factory=list)


def like_pattern(query: str) -> str:
    """A ``LIKE`` pattern (escape character ``\\``) matching ``query`` anywhere, case-folded."""
    escaped = query.casefold().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return f"%{escaped}%"


class Contacts:
    """The contact directory of every host (each call names the host: ``owner_id``)."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], *, page_size: int = PAGE_SIZE) -> None:
        self._sessions = sessions
        self._page_size = page_size

    async def search(self, owner_id: int, query: str = "", page: int = 1) -> ContactPage:
        """Page ``page`` (from 1; clamped to the last) of the host's contacts matching ``query``.

        ``query`` is matched, case-insensitively, anywhere in the name, e-mail or company;
        blank matches everyone. Sorted by name (or address, for a contact without one).
        """
        query = one_line(query)[:200]
        where = [Contact.owner_id == owner_id]
        if query:
            where.append(Contact.search_text.like(like_pattern(query), escape="\\"))
        async with self._sessions() as session:
            counted = select(func.count()).select_from(Contact).where(*where)
            total = (await session.execute(counted)).scalar_one()
            pages = max(1, -(-total // self._page_size))
            page = min(max(1, page), pages)
            rows = (await session.execute(
                select(Contact).where(*where).order_by(Contact.search_text, Contact.id)
                .offset((page - 1) * self._page_size).limit(self._page_size)
            )).scalars().all()
        return ContactPage(list(rows), query, page, pages, total)

    async def get(self, owner_id: int, contact_id: int) -> Contact:
        """The host's contact ``contact_id``, or :class:`ContactNotFound`."""
        async with self._sessions() as session:
            return await _own(session, owner_id, contact_id)

    async def find(self, owner_id: int, email: str) -> Contact | None:
        """The host's contact with this e-mail address (any case), if there is one."""
        async with self._sessions() as session:
            return await _by_email(session, owner_id, email.strip().lower())

    async def add(self, owner_id: int, details: ContactDetails) -> int:
        """Add a contact; its id. :class:`ContactRefused` for bad details or a known address."""
        details = details.validated()
        try:
            async with self._sessions() as session, session.begin():
                if await _by_email(session, owner_id, details.email) is not None:
                    raise _known_address()
                contact = Contact(owner_id=owner_id, **_values(details))
                session.add(contact)
                await session.flush()
                return contact.id
        except IntegrityError:  # the same address was added (or booked) at this very moment
            raise _known_address() from None

    async def update(self, owner_id: int, contact_id: int, details: ContactDetails) -> None:
        """Change a contact's details (its address too, unless another contact has it)."""
        details = details.validated()
        try:
            async with self._sessions() as session, session.begin():
                contact = await _own(session, owner_id, contact_id)
                other = await _by_email(session, owner_id, details.email)
                if other is not None and other.id != contact.id:
                    raise _known_address()
                for key, value in _values(details).items():
                    setattr(contact, key, value)
        except IntegrityError:
            raise _known_address() from None

    async def delete(self, owner_id: int, contact_id: int) -> None:
        """Delete a contact and the meetings on its record; its tasks stay, without the contact."""
        async with self._sessions() as session, session.begin():
            await session.delete(await _own(session, owner_id, contact_id))

    async def merge(self, owner_id: int, rows: Sequence[ContactDetails]) -> MergeCounts:
        """Add the rows (already validated) as contacts, in one transaction; a row whose address
        is known updates that contact with the fields it fills (empty cells change nothing)."""
        counts = MergeCounts()
        async with self._sessions() as session, session.begin():
            for details in rows:
                contact = await _by_email(session, owner_id, details.email)
                if contact is None:
                    try:
                        async with session.begin_nested():
                            contact = Contact(owner_id=owner_id, **_values(details))
                            session.add(contact)
                            await session.flush()
                        counts.added += 1
                        counts.ids.append(contact.id)
                        continue
                    except IntegrityError:  # booked at this very moment: update it instead
                        contact = await _by_email(session, owner_id, details.email)
                        if contact is None:
                            raise
                filled = {k: v for k, v in _values(details).items() if v and k != "email"}
                for key, value in filled.items():
                    setattr(contact, key, value)
                counts.updated += 1
                counts.ids.append(contact.id)
        return counts


def blank(details: ContactDetails | None = None) -> dict[str, str]:
    """The form's fields for ``details`` (every field empty without)."""
    details = details or ContactDetails("")
    return {key: getattr(details, key) for key in FIELDS}


def details_of(contact: Contact) -> ContactDetails:
    """A stored contact's details, for its form."""
    return ContactDetails(contact.email, contact.name, contact.company, contact.phone, contact.notes)


def display_name(contact: Contact) -> str:
    """How a contact is named on a page: its name, else its address."""
    return contact.name or contact.email


def _values(details: ContactDetails) -> dict[str, str]:
    return {key: getattr(details, key) for key in FIELDS}


def _known_address() -> ContactRefused:
    return ContactRefused({"email": "You already have a contact with this e-mail address."})


async def _own(session: AsyncSession, owner_id: int, contact_id: int) -> Contact:
    contact = await session.get(Contact, contact_id)
    if contact is None or contact.owner_id != owner_id:
        raise ContactNotFound(contact_id)
    return contact


async def _by_email(session: AsyncSession, owner_id: int, email: str) -> Contact | None:
    query = select(Contact).where(Contact.owner_id == owner_id, Contact.email == email)
    return (await session.execute(query)).scalar_one_or_none()

