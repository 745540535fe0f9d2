"""The ``dashboard`` catalogs (what a host reads on the meetings dashboard): current, complete in every
language, translated with the same placeholders, and compiled by the build."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from bot.i18n import translations
from tests.support.catalogs import LOCALES, catalog, ids, source_messages, untranslated_or_broken
from tests.support.paths import ROOT

DOMAIN = "dashboard"


def test_the_template_has_every_message_of_the_source() -> None:
    source = source_messages(DOMAIN)
    assert len(source) > 100
    assert any(isinstance(m, tuple) for m in source), "plurals go through ngettext"
    assert ids(catalog(DOMAIN)) == source, "see babel-dashboard.cfg"


@pytest.mark.parametrize("locale", ["en", "pt_BR", "da"])
def test_every_message_is_in_every_catalog(locale: str) -> None:
    assert ids(catalog(DOMAIN, locale)) == source_messages(DOMAIN)


@pytest.mark.parametrize("locale", ["pt_BR", "da"])
def test_every_message_is_translated_with_the_same_placeholders(locale: str) -> None:
    messages = catalog(DOMAIN, locale)
    assert untranslated_or_broken(messages) == ([], [])
    copies = [m.id for m in messages
              if m.id and isinstance(m.id, str) and m.string == m.id and len(m.id) > 12]
    assert len(copies) <= 3, f"English left in {locale}: {copies}"


@pytest.mark.parametrize("locale", ["pt_BR", "da"])
def test_plural_forms_are_the_two_of_gettext(locale: str) -> None:
    messages = catalog(DOMAIN, locale)
    assert messages.num_plurals == 2
    plurals = [m for m in messages if isinstance(m.id, tuple)]
    assert plurals and all(len(m.string) == 2 for m in plurals)


def test_the_catalogs_load_by_tag_and_choose_the_plural() -> None:
    singular = "Connected {email}: {count} calendar found."
    plural = "Connected {email}: {count} calendars found."
    portuguese, danish = translations("pt-BR", DOMAIN), translations("da", DOMAIN)
    assert portuguese.ngettext(singular, plural, 1) == "{email} conectado: {count} calendário encontrado."
    assert portuguese.ngettext(singular, plural, 2).endswith("calendários encontrados.")
    assert danish.ngettext(singular, plural, 3) == "{email} er forbundet: {count} kalendere fundet."
    assert translations("en", DOMAIN).ngettext(singular, plural, 1) == singular
    assert translations("fr", DOMAIN).gettext("Sign out") == "Sign out"
    assert translations("da", DOMAIN).gettext("Sign out") == "Log ud"


def test_the_build_compiles_the_dashboard_catalog(tmp_path: Path) -> None:
    spec = importlib.util.spec_from_file_location("slotbot_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    setup = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(setup)
    written = setup.compile_catalogs(LOCALES, tmp_path)
    assert {p.relative_to(tmp_path).as_posix() for p in written} >= {
        f"{locale}/LC_MESSAGES/{DOMAIN}.mo" for locale in ("en", "pt_BR", "da")}
