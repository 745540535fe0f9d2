"""Message catalogs (gettext) for the languages Slotbot speaks: English, Portuguese (Brazil), Danish.

Catalogs live in ``bot/locales/<locale>/LC_MESSAGES/<domain>.po``, one *domain* per surface
(``conversation`` for the chat bot; ``pages`` for the scheduling pages; ``emails`` for what is
written about bookings: e-mails, invitations, meeting times). The build compiles each
``.po`` to a ``.mo`` next to it (``setup.py``'s ``build_py`` hook); when a ``.mo`` is missing (an
editable install, a source checkout) :func:`load` compiles the ``.po`` in memory instead, so both
ways give the same translations. :func:`translations` caches one catalog per locale and domain.

English msgids are the source texts: the ``en`` catalog exists so every language is handled the
same way, and an untranslated or unknown message falls back to English.

Adding a language or messages: see :data:`EXTRACT_RECIPE`.
"""

from __future__ import annotations

import functools
import gettext
import io
from importlib import resources
from importlib.resources.abc import Traversable

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = ("en", "pt_BR", "da")
"""The locales Slotbot speaks (Babel / gettext spelling)."""

DEFAULT_LOCALE = "en"

EXTRACT_RECIPE = """\
pybabel extract -F babel.cfg --no-wrap -o bot/locales/conversation.pot \\
    bot/conversation bot/chat_notify.py bot/identities.py
pybabel update --no-wrap -i bot/locales/conversation.pot -d bot/locales -D conversation
"""
"""How the ``conversation`` catalogs are refreshed from the source (see the README)."""

_ALIASES = {
    "pt": "pt_BR",
    "pt_br": "pt_BR",
    "pt_pt": "pt_BR",
    "da": "da",
    "da_dk": "da",
    "en": "en",
}


def supported_locale(tag: str | None) -> str:
    """The supported locale for a language tag: ``pt-BR``/``pt``/``pt-PT`` -> ``pt_BR``,
    ``da``/``da-DK`` -> ``da``, anything else (or nothing) -> ``en``."""
    if not tag:
        return DEFAULT_LOCALE
    key = tag.strip().replace("-", "_").lower()
    if key in _ALIASES:
        return _ALIASES[key]
    return _ALIASES.get(key.split("_")[0], DEFAULT_LOCALE)


def catalog_root() -> Traversable:
    """The folder of the bundled catalogs (``bot/locales``)."""
    return resources.files("bot").joinpath("locales")


def load(root: Traversable, locale: str, domain: str) -> gettext.NullTranslations:
    """The catalog of ``domain`` in ``locale`` under ``root``: the compiled ``.mo`` when there is one,
    else the ``.po`` compiled in memory; an unknown locale or domain gives the source texts."""
    folder = root.joinpath(locale).joinpath("LC_MESSAGES")
    compiled = folder.joinpath(f"{domain}.mo")
    if compiled.is_file():
        return gettext.GNUTranslations(io.BytesIO(compiled.read_bytes()))
    source = folder.joinpath(f"{domain}.po")
    if source.is_file():
        return gettext.GNUTranslations(io.BytesIO(compile_po(source.read_bytes(), locale, domain)))
    return gettext.NullTranslations()


def compile_po(po: bytes, locale: str, domain: str) -> bytes:
    """A ``.po`` file's bytes compiled to ``.mo`` bytes (fuzzy entries are left out, as msgfmt does)."""
    catalog = read_po(io.BytesIO(po), locale=locale, domain=domain)
    out = io.BytesIO()
    write_mo(out, catalog, use_fuzzy=False)
    return out.getvalue()


@functools.lru_cache(maxsize=32)
def translations(locale: str, domain: str) -> gettext.NullTranslations:
    """The cached catalog of ``domain`` for ``locale`` (any tag; see :func:`supported_locale`)."""
    return load(catalog_root(), supported_locale(locale), domain)
