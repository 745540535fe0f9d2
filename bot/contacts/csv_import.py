"""Contacts from a CSV file: read, checked row by row, then merged into the host's contacts.

:func:`read_csv` is pure: bytes in, :class:`ParsedCsv` out (the good rows with their line
numbers, the bad ones with a reason, the columns it ignored), or :class:`ImportRefused` with one
sentence when the file as a whole cannot be used (too big, too many rows, not UTF-8 text, no
e-mail column). The first row names the columns, in any order and in the usual spellings
(:data:`COLUMNS`: "E-mail", "Email Address", "Full name", "First name" + "Last name"...);
UTF-8 with or without a byte order mark; comma, semicolon or tab separated (the header row
decides). :func:`import_csv` reads a file and merges its good rows through
:meth:`bot.contacts.directory.Contacts.merge`: an address already known (in any case) updates
that contact rather than adding another.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass, field

from bot.contacts.directory import ContactDetails, ContactRefused, Contacts

MAX_BYTES = 200 * 1024
MAX_ROWS = 2000

COLUMNS = {
    "email": ("email", "emailaddress", "mail", "emailaddr", "primaryemail", "email1",
              "emailaddress1", "workemail"),
    "name": ("name", "fullname", "displayname", "contactname", "contact", "names"),
    "first": ("firstname", "givenname", "first", "forename"),
    "last": ("lastname", "surname", "familyname", "last"),
    "company": ("company", "companyname", "organization", "organisation", "org", "employer",
                "business", "accountname"),
    "phone": ("phone", "phonenumber", "telephone", "tel", "mobile", "mobilephone", "cell",
              "cellphone", "workphone", "phone1"),
    "notes": ("notes", "note", "comments", "comment", "description", "remarks"),
}
"""Each field and the header spellings (lower-case, letters and digits only) that name it."""

_NOT_ALNUM = re.compile(r"[\W_]+")


class ImportRefused(Exception):
    """The file cannot be imported at all; the message is a sentence for the host."""


@dataclass(frozen=True, slots=True)
class BadRow:
    """A row that was not imported: its line in the file and why."""

    line: int
    reason: str


@dataclass(slots=True)
class ParsedCsv:
    """What a CSV file held: good rows (line, details), bad rows, ignored columns."""

    rows: list[tuple[int, ContactDetails]] = field(default_factory=list)
    problems: list[BadRow] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class ImportResult:
    """What an import did: contacts added and updated, the rows left out, the ignored columns."""

    added: int
    updated: int
    problems: list[BadRow]
    ignored: list[str]


def column_of(header: str) -> str | None:
    """The field a header cell names (``"E-Mail Address"`` -> ``"email"``), or None."""
    key = _NOT_ALNUM.sub("", header.casefold())
    return next((name for name, spellings in COLUMNS.items() if key in spellings), None)


def _text(data: bytes) -> str:
    if len(data) > MAX_BYTES:
        raise ImportRefused(
            f"The file is larger than {MAX_BYTES // 1024} KB. Split it into smaller files and "
            "import them one after another."
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ImportRefused(
            "The file is not UTF-8 text. Save it as “CSV UTF-8” (in Excel: Save As, "
            "CSV UTF-8) and try again."
        ) from None
    if "\x00" in text:
        raise ImportRefused("The file is not a CSV text file (is it a spreadsheet file?). "
                            "Save it as CSV and try again.")
    if not text.strip():
        raise ImportRefused("The file is empty.")
    return text


def _delimiter(header_line: str) -> str:
    """The separator the header row uses most outside quotes: comma, semicolon or tab."""
    outside = re.sub(r'"[^"]*"', "", header_line)
    return max((",", ";", "\t"), key=outside.count)


def read_csv(data: bytes, *, max_rows: int = MAX_ROWS) -> ParsedCsv:
    """The contacts in a CSV file (see the module doc); :class:`ImportRefused` for a bad file."""
    text = _text(data)
    first_line = text.lstrip("\r\n").splitlines()[0]
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=_delimiter(first_line))
    parsed = ParsedCsv()
    try:
        header = next((row for row in reader if any(cell.strip() for cell in row)), [])
        fields = [column_of(cell) for cell in header]
        parsed.ignored = [cell.strip() for cell, name in zip(header, fields, strict=True)
                          if name is None and cell.strip()]
        if "email" not in fields:
            raise ImportRefused(
                "The first row must name the columns, one of them “email” (also “E-mail” or "
                "“Email address”); others may be name (or first name and last name), company, "
                "phone and notes."
            )
        seen: dict[str, int] = {}
        count, line = 0, reader.line_num + 1
        for row in reader:
            start, line = line, reader.line_num + 1
            if not any(cell.strip() for cell in row):
                continue
            count += 1
            if count > max_rows:
                raise ImportRefused(
                    f"The file has more than {max_rows:,} contacts. Split it into smaller files "
                    "and import them one after another."
                )
            _row(parsed, seen, start, fields, row)
    except csv.Error as exc:
        raise ImportRefused(f"The file cannot be read as CSV near line {reader.line_num}: {exc}.") from None
    return parsed


def _row(parsed: ParsedCsv, seen: dict[str, int], line: int, fields: list[str | None],
         row: list[str]) -> None:
    """Check one data row: a good one joins ``parsed.rows``, a bad one ``parsed.problems``."""
    values: dict[str, str] = {}
    for name, cell in zip(fields, row, strict=False):
        if name is not None and cell.strip() and name not in values:
            values[name] = cell.strip()
    if "name" not in values and ("first" in values or "last" in values):
        values["name"] = " ".join(v for v in (values.get("first"), values.get("last")) if v)
    if not values.get("email"):
        parsed.problems.append(BadRow(line, "There is no e-mail address."))
        return
    try:
        details = ContactDetails(values["email"], values.get("name", ""), values.get("company", ""),
                                 values.get("phone", ""), values.get("notes", "")).validated()
    except ContactRefused as refused:
        reasons = [f"{key}: {text}" if key != "email" else f"“{values['email']}”: {text}"
                   for key, text in refused.problems.items()]
        parsed.problems.append(BadRow(line, " ".join(reasons)))
        return
    if details.email in seen:
        parsed.problems.append(BadRow(line, f"The same e-mail address as line {seen[details.email]}; "
                                            "only the first was imported."))
        return
    seen[details.email] = line
    parsed.rows.append((line, details))


async def import_csv(contacts: Contacts, owner_id: int, data: bytes, *, max_rows: int = MAX_ROWS
                     ) -> ImportResult:
    """Read ``data`` and merge its good rows into the host's contacts (one transaction)."""
    parsed = read_csv(data, max_rows=max_rows)
    counts = await contacts.merge(owner_id, [details for _, details in parsed.rows])
    return ImportResult(counts.added, counts.updated, parsed.problems, parsed.ignored)
