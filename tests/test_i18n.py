"""Message catalogs: complete in every language, compiled by the build, compiled in memory otherwise."""

from __future__ import annotations

import importlib.util
import re
import shutil
from pathlib import Path
from types import ModuleType

import pytest
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from setuptools import Distribution

from bot import i18n
from tests.support.paths import ROOT

LOCALES = ROOT / "bot" / "locales"
SOURCES = [*sorted((ROOT / "bot" / "conversation").glob("*.py")), ROOT / "bot" / "notices" / "chat.py",
           ROOT / "bot" / "accounts" / "identities.py"]
PLACEHOLDER = re.compile(r"\{(\w*)\}")


def _setup_module() -> ModuleType:
    spec = importlib.util.spec_from_file_location("slotbot_setup", ROOT / "setup.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _source_messages() -> set[str]:
    found = set()
    for path in SOURCES:
        for _, message, _, _ in extract_from_file("python", str(path)):
            assert isinstance(message, str), f"{path}: plural or context messages are not used"
            found.add(message)
    return found


def _catalog(locale: str):  # type: ignore[no-untyped-def]
    with (LOCALES / locale / "LC_MESSAGES" / "conversation.po").open("rb") as handle:
        return read_po(handle, locale=locale, domain="conversation")


def test_the_source_has_messages_and_the_template_is_current() -> None:
    source = _source_messages()
    assert len(source) > 50
    with (LOCALES / "conversation.pot").open("rb") as handle:
        template = {m.id for m in read_po(handle) if m.id}
    assert template == source, "run the extract recipe in babel.cfg"


@pytest.mark.parametrize("locale", ["en", "pt_BR", "da"])
def test_every_message_is_in_every_catalog(locale: str) -> None:
    catalog = _catalog(locale)
    ids = {m.id for m in catalog if m.id}
    assert ids == _source_messages(), f"update {locale}: pybabel update (see babel.cfg)"


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
    assert missing == [], f"untranslated in {locale}"
    assert broken == [], f"placeholders changed in {locale}"


def test_translations_by_locale_tag_and_english_fallback() -> None:
    for tag, expected in (("pt-BR", "Reunião com {name}"), ("da-DK", "Møde med {name}"),
                          ("en", "Meeting with {name}"), ("fr", "Meeting with {name}")):
        assert i18n.translations(tag, "conversation").gettext("Meeting with {name}") == expected
    assert i18n.translations("da", "conversation") is i18n.translations("da", "conversation")
    assert i18n.translations("da", "no-such-domain").gettext("Who") == "Who"


def test_a_compiled_catalog_is_read_when_present(tmp_path: Path) -> None:
    written = _setup_module().compile_catalogs(LOCALES, tmp_path)
    assert tmp_path / "da" / "LC_MESSAGES" / "conversation.mo" in written
    assert not list(tmp_path.rglob("*.po"))  # only .mo files: the loader must read them
    catalog = i18n.load(tmp_path, "da", "conversation")  # type: ignore[arg-type]
    assert catalog.gettext("Who") == "Hvem"
    assert i18n.load(tmp_path, "pt_BR", "conversation").gettext("When") == "Quando"  # type: ignore[arg-type]


def test_a_source_catalog_is_compiled_in_memory_when_no_mo_exists(tmp_path: Path) -> None:
    folder = tmp_path / "pt_BR" / "LC_MESSAGES"
    folder.mkdir(parents=True)
    shutil.copy(LOCALES / "pt_BR" / "LC_MESSAGES" / "conversation.po", folder)
    catalog = i18n.load(tmp_path, "pt_BR", "conversation")  # type: ignore[arg-type]
    assert catalog.gettext("Who") == "Quem"
    assert not list(tmp_path.rglob("*.mo"))
    assert i18n.load(tmp_path, "da", "conversation").gettext("Who") == "Who"  # type: ignore[arg-type]


def test_the_build_compiles_the_catalogs_into_the_package(tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    setup_module = _setup_module()
    monkeypatch.chdir(ROOT)
    dist = Distribution({"name": "slotbot", "packages": ["bot"], "script_name": "setup.py",
                         "cmdclass": {"build_py": setup_module.BuildWithCatalogs}})
    command = dist.get_command_obj("build_py")
    command.build_lib = str(tmp_path)  # type: ignore[attr-defined]
    command.ensure_finalized()
    command.run()
    for locale in ("en", "pt_BR", "da"):
        assert (tmp_path / "bot" / "locales" / locale / "LC_MESSAGES" / "conversation.mo").is_file()
    built = i18n.load(tmp_path / "bot" / "locales", "da", "conversation")  # type: ignore[arg-type]
    assert built.gettext("Book a time") == "Book en tid"
