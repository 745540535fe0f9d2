"""What the catalog tests share: a domain's messages as its babel-<domain>.cfg extracts them, and its
catalogs as they are on disk."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from tests.support.paths import ROOT

LOCALES = ROOT / "bot" / "locales"
PLACEHOLDER = re.compile(r"\{(\w*)\}")

Message = str | tuple[str, str]
"""A msgid, or a (singular, plural) pair for ngettext."""


def sources(domain: str) -> list[tuple[str, Path]]:
    """The (method, file) pairs babel-<domain>.cfg extracts from (globs expanded)."""
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / f"babel-{domain}.cfg")
    found = []
    for section in config.sections():
        method, pattern = (part.strip() for part in section.split(":", 1))
        paths = sorted(ROOT.glob(pattern))
        assert paths, f"babel-{domain}.cfg: {pattern} matches nothing"
        found.extend((method, path) for path in paths)
    return found


def source_messages(domain: str) -> set[Message]:
    """Every message the sources of ``domain`` mark (``_``, ``N_``, ``ngettext``)."""
    found: set[Message] = set()
    for method, path in sources(domain):
        for _, message, _, _ in extract_from_file(method, str(path)):
            found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def catalog(domain: str, locale: str | None = None) -> Catalog:
    """The template (``locale=None``) or a locale's ``.po`` of ``domain``."""
    path = LOCALES / f"{domain}.pot" if locale is None else LOCALES / locale / "LC_MESSAGES" / f"{domain}.po"
    with path.open("rb") as handle:
        return read_po(handle, locale=locale, domain=domain)


def ids(messages: Catalog) -> set[Message]:
    """The msgids of a catalog, as :func:`source_messages` gives them."""
    return {m.id if isinstance(m.id, str) else (m.id[0], m.id[1]) for m in messages if m.id}


def untranslated_or_broken(messages: Catalog) -> tuple[list[Message], list[Message]]:
    """The messages with no (or a fuzzy) translation, and those whose placeholders differ from the
    source's (every plural form is checked)."""
    missing: list[Message] = []
    broken: list[Message] = []
    for message in messages:
        if not message.id:
            continue
        forms = message.string if isinstance(message.string, tuple) else (message.string,)
        source = message.id if isinstance(message.id, tuple) else (message.id,)
        if message.fuzzy or not all(forms):
            missing.append(message.id)
            continue
        wanted = sorted(set(PLACEHOLDER.findall(" ".join(source))))
        if any(sorted(set(PLACEHOLDER.findall(str(form)))) != wanted for form in forms):
            broken.append(message.id)
    return missing, broken
