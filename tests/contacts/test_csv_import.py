"""Reading contacts from CSV files: headers in any order and spelling, BOM, separators, bad rows
with their lines, duplicates, caps; and merging into the directory (SQLite and PostgreSQL)."""

from __future__ import annotations

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.contacts.csv_import import BadRow, ImportRefused, column_of, import_csv, read_csv
from bot.contacts.directory import ContactDetails, Contacts
from storage.models import User


@pytest.mark.parametrize(("header", "field"), [
    ("email", "email"), ("E-mail", "email"), ("Email Address", "email"), ("E-Mail-Adresse", None),
    ("e_mail", "email"), ("Full name", "name"), ("First Name", "first"), ("last_name", "last"),
    ("Surname", "last"), ("Organisation", "company"), ("Phone number", "phone"), ("Mobile", "phone"),
    ("Notes", "notes"), ("Shoe size", None), ("", None),
])
def test_header_spellings(header: str, field: str | None) -> None:
    assert column_of(header) == field


def _emails(data: bytes) -> list[tuple[int, str, str]]:
    return [(line, d.email, d.name) for line, d in read_csv(data).rows]


def test_columns_in_any_order_with_a_bom_and_semicolons() -> None:
    data = "\ufeffNotes;Name;E-mail\r\nLikes tea;Ana Lúcia;ANA@example.com\r\n".encode()
    parsed = read_csv(data)
    assert [(line, d) for line, d in parsed.rows] == [
        (2, ContactDetails("ana@example.com", "Ana Lúcia", notes="Likes tea"))]
    assert _emails(b"email,name\nbo@example.org,Bo\n") == [(2, "bo@example.org", "Bo")]
    assert _emails(b"email\tname\nbo@example.org\tBo\n") == [(2, "bo@example.org", "Bo")]


def test_first_and_last_name_make_the_name_and_a_full_name_wins() -> None:
    data = b"first name,last name,email\nAna,Souza,a@example.com\n,Berg,b@example.com\nCy,,c@example.com\n"
    assert _emails(data) == [(2, "a@example.com", "Ana Souza"), (3, "b@example.com", "Berg"),
                             (4, "c@example.com", "Cy")]
    both = b"first name,name,email\nAna,Ana L. Souza,a@example.com\n"
    assert _emails(both) == [(2, "a@example.com", "Ana L. Souza")]


def test_bad_rows_are_reported_with_their_lines_and_the_good_ones_kept() -> None:
    data = (b"email,name,notes\n"
            b"good@example.com,Good,\n"
            b"\n"  # a blank line is skipped, not reported
            b",No address,\n"
            b"broken@,Broken,\n"
            b"\"multi@example.com\",Multi,\"two\nlines\"\n"
            b"GOOD@example.com,Twice,\n"
            b"x@example.com," + b"n" * 201 + b",\n")
    parsed = read_csv(data)
    assert [(line, d.email) for line, d in parsed.rows] == [(2, "good@example.com"), (6, "multi@example.com")]
    assert parsed.rows[1][1].notes == "two\nlines"
    assert parsed.problems == [
        BadRow(4, "There is no e-mail address."),
        BadRow(5, "“broken@”: That is not a valid e-mail address."),
        BadRow(8, "The same e-mail address as line 2; only the first was imported."),
        BadRow(9, "name: At most 200 characters, please."),
    ]


def test_a_header_with_quotes_and_commas_and_extra_or_missing_cells() -> None:
    data = (b'"Full, name";"E-mail";Phone;"Size, shoe"\n"Souza; Ana";a@example.com;+45 1;38;extra\n'
            b"Bo;b@example.com\n")
    parsed = read_csv(data)
    assert [(d.name, d.email, d.phone) for _, d in parsed.rows] == [
        ("Souza; Ana", "a@example.com", "+45 1"), ("Bo", "b@example.com", "")]
    assert parsed.ignored == ["Size, shoe"] and parsed.problems == []


@pytest.mark.parametrize(("data", "sentence"), [
    (b"", "The file is empty."),
    (b"\n\n", "The file is empty."),
    (b"name,phone\nAna,1\n", "one of them “email”"),
    ("email\nzoë@example.com\n".encode("latin-1"), "not UTF-8 text"),
    (b"email\x00\n", "not a CSV text file"),
    (b"email\n" + b"a" * (200 * 1024), "larger than 200 KB"),
])
def test_files_that_cannot_be_used_say_why(data: bytes, sentence: str) -> None:
    with pytest.raises(ImportRefused, match=sentence):
        read_csv(data)


def test_the_row_cap() -> None:
    rows = "".join(f"p{n}@example.com\n" for n in range(11))
    assert len(read_csv(("email\n" + rows[:-17]).encode(), max_rows=10).rows) == 10
    with pytest.raises(ImportRefused, match="more than 10 contacts"):
        read_csv(("email\n" + rows).encode(), max_rows=10)


async def test_importing_updates_known_addresses_of_this_host_only(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        one, two = User(display_name="One", slug="one"), User(display_name="Two", slug="two")
        session.add_all([one, two])
        await session.flush()
    contacts = Contacts(sessions)
    await contacts.add(one.id, ContactDetails("ana@example.com", "Ana", phone="+45 1", notes="Keep me"))
    await contacts.add(two.id, ContactDetails("ana@example.com", "Other host's Ana"))
    data = b"email,name,company,notes\nAna@Example.com,Ana Souza,Pilot,\nbo@example.org,Bo,,\nbad,,,\n"
    result = await import_csv(contacts, one.id, data)
    assert (result.added, result.updated, result.problems) == (1, 1, [BadRow(4, "“bad”: That is not a valid "
                                                                              "e-mail address.")])
    ana = await contacts.find(one.id, "ANA@example.com")
    assert ana is not None and (ana.name, ana.company, ana.phone, ana.notes) == (
        "Ana Souza", "Pilot", "+45 1", "Keep me")
    theirs = await contacts.find(two.id, "ana@example.com")
    assert theirs is not None and theirs.name == "Other host's Ana"
    assert (await contacts.search(one.id)).total == 2
    again = await import_csv(contacts, one.id, data)
    assert (again.added, again.updated) == (0, 2)
