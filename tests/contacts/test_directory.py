"""The contact directory on SQLite and PostgreSQL: case-insensitive search in every script, LIKE
characters taken literally, pages, one address per host, and a host sees only their own."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.directory import ContactDetails, ContactNotFound, ContactRefused, Contacts
from storage.models import User


async def _hosts(sessions: async_sessionmaker[AsyncSession]) -> tuple[int, int]:
    async with sessions() as session, session.begin():
        one, two = User(display_name="One", slug="one"), User(display_name="Two", slug="two")
        session.add_all([one, two])
        await session.flush()
        return one.id, two.id


async def _names(contacts: Contacts, owner: int, query: str) -> list[str]:
    return [c.name for c in (await contacts.search(owner, query)).contacts]


async def test_search_is_case_insensitive_in_every_script_on_both_databases(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one, two = await _hosts(sessions)
    contacts = Contacts(sessions)
    for details in (ContactDetails("ana@example.com", "Ana LÚCIA", "Café Ñandú"),
                    ContactDetails("OLE@Example.DK", "Ole Østergård", "Straße & Co"),
                    ContactDetails("ivan@example.ru", "Иван Петров", "ПИЛОТ"),
                    ContactDetails("pct@example.com", "Fifty", "50%_off\\sale")):
        await contacts.add(one, details)
    await contacts.add(two, ContactDetails("other@example.com", "Ana Other"))
    assert await _names(contacts, one, "lúcia") == ["Ana LÚCIA"]
    assert await _names(contacts, one, "ÑANDÚ") == ["Ana LÚCIA"]
    assert await _names(contacts, one, "østergÅrd") == ["Ole Østergård"]
    assert await _names(contacts, one, "strasse") == ["Ole Østergård"]  # case folding: ß is ss
    assert await _names(contacts, one, "иван") == ["Иван Петров"]
    assert await _names(contacts, one, "пилот") == ["Иван Петров"]
    assert await _names(contacts, one, "example.dk") == ["Ole Østergård"]
    assert await _names(contacts, one, "50%_") == ["Fifty"]
    assert await _names(contacts, one, "%") == ["Fifty"]
    assert await _names(contacts, one, "_off\\") == ["Fifty"]
    assert await _names(contacts, one, "a_a") == []
    assert await _names(contacts, one, "ana") == ["Ana LÚCIA"]  # never another host's
    assert (await contacts.search(one, "  ")).total == 4


async def test_renaming_keeps_the_search_up_to_date_and_pages_clamp(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    one, _ = await _hosts(sessions)
    contacts = Contacts(sessions, page_size=2)
    ids = [await contacts.add(one, ContactDetails(f"p{n}@example.com", f"Person {n}")) for n in range(5)]
    await contacts.update(one, ids[0], ContactDetails("p0@example.com", "Zé Renamed", company="Acme"))
    assert await _names(contacts, one, "person 0") == []
    assert await _names(contacts, one, "renamed") == ["Zé Renamed"]
    assert await _names(contacts, one, "ACME") == ["Zé Renamed"]
    last = await contacts.search(one, "", page=7)
    assert (last.page, last.pages, last.total, [c.name for c in last.contacts]) == (3, 3, 5, ["Zé Renamed"])
    assert (await contacts.search(one, "", page=0)).page == 1


async def test_one_address_per_host_and_only_ones_own(sessions: async_sessionmaker[AsyncSession]) -> None:
    one, two = await _hosts(sessions)
    contacts = Contacts(sessions)
    ana = await contacts.add(one, ContactDetails("ana@example.com", "Ana"))
    bo = await contacts.add(one, ContactDetails("bo@example.com", "Bo"))
    with pytest.raises(ContactRefused) as refused:
        await contacts.add(one, ContactDetails("ANA@example.com"))
    assert refused.value.problems == {"email": "You already have a contact with this e-mail address."}
    with pytest.raises(ContactRefused):
        await contacts.update(one, bo, ContactDetails("Ana@Example.com", "Bo"))
    assert await contacts.add(two, ContactDetails("ana@example.com")) > 0
    for call in (contacts.get(two, ana), contacts.update(two, ana, ContactDetails("x@example.com")),
                 contacts.delete(two, ana)):
        with pytest.raises(ContactNotFound):
            await call
    assert (await contacts.get(one, ana)).email == "ana@example.com"


@pytest.mark.parametrize(("details", "problems"), [
    (ContactDetails(""), {"email": "Enter the contact's e-mail address."}),
    (ContactDetails("ana@example.com\x00"), {"email": "That is not a valid e-mail address."}),
    (ContactDetails("ana@example.com\nBcc: x@example.com"), {"email": "That is not a valid e-mail address."}),
    (ContactDetails("a" * 310 + "@example.com"), {"email": "That is not a valid e-mail address."}),
    (ContactDetails("ana@example.com", "n" * 201, phone="1" * 65),
     {"name": "At most 200 characters, please.", "phone": "At most 64 characters, please."}),
])
def test_details_are_checked(details: ContactDetails, problems: dict[str, str]) -> None:
    with pytest.raises(ContactRefused) as refused:
        details.validated()
    assert refused.value.problems == problems


def test_details_are_trimmed_and_put_on_one_line() -> None:
    got = ContactDetails(" Ana@Example.COM ", " Ana\u2028Lúcia ", "Acme\x00", notes="a\r\nb\x07").validated()
    assert got == ContactDetails("ana@example.com", "Ana Lúcia", "Acme", "", "a\nb")
