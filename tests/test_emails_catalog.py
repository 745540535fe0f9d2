"""The ``emails`` catalog (what Slotbot writes about bookings): current, complete, compiled by the build."""

from __future__ import annotations

import configparser
import re
from pathlib import Path

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po

from bot.i18n import translations
from tests.support.paths import ROOT

LOCALES = ROOT / "bot" / "locales"
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _sources() -> list[Path]:
    """The files babel-emails.cfg extracts from."""
    config = configparser.ConfigParser()
    config.read(ROOT / "babel-emails.cfg")
    return [ROOT / section.split(":", 1)[1].strip() for section in config.sections()]


def _source_messages() -> set[str]:
    found = set()
    for path in _sources():
        assert path.is_file(), path
        for _, message, _, _ in extract_from_file("python", str(path)):
            assert isinstance(message, str), f"{path}: plural or context messages are not used"
            found.add(message)
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES / locale / "LC_MESSAGES" / "emails.po").open("rb") as handle:
        return read_po(handle, locale=locale, domain="emails")


def test_the_template_has_every_message_of_the_source() -> None:
    source = _source_messages()
    assert len(source) > 30
    with (LOCALES / "emails.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == source, "see babel-emails.cfg"


@pytest.mark.parametrize("locale", ["en", "pt_BR", "da"])
def test_every_message_is_in_every_catalog(locale: str) -> None:
    assert {m.id for m in _catalog(locale) if m.id} == _source_messages()


@pytest.mark.parametrize("locale", ["pt_BR", "da"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    missing, broken = [], []
    for message in _catalog(locale):
        if not message.id:
            continue
        if not message.string or message.fuzzy:
            missing.append(message.id)
        elif sorted(PLACEHOLDER.findall(str(message.string))) != sorted(PLACEHOLDER.findall(str(message.id))):
            broken.append(message.id)
    assert missing == [] and broken == [], (missing, broken)


def test_the_catalogs_load_by_tag() -> None:
    assert translations("da", "emails").gettext("Booked: {title} with {host}") == "Booket: {title} med {host}"
    assert translations("pt-BR", "emails").gettext("Cancel: {link}") == "Cancelar: {link}"
    assert translations("fr", "emails").gettext("Cancel: {link}") == "Cancel: {link}"


def test_the_build_compiles_the_emails_catalog(tmp_path: Path) -> None:
    import importlib.util

    spec = importlib.util.spec_from_file_location("slotbot_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    written = setup.compile_catalogs(LOCALES, tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} >= {
        f"{locale}/LC_MESSAGES/emails.mo" for locale in ("en", "pt_BR", "da")}
