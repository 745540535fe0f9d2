"""The Teams channel's own sentences (gettext domain ``teams``); the core words everything else.

What only Teams needs: a failure on our side, the note in a channel when a private answer went
to the user's 1:1 chat instead (Teams has no ephemeral messages), the confirmation after a link
was shared, the welcome on install and the message extension's "no page matches". Catalogs live
in ``bot/locales/<locale>/LC_MESSAGES/teams.po``; refresh them with :data:`EXTRACT_RECIPE`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import supported_locale, translations

DOMAIN = "teams"

EXTRACT_RECIPE = """\
pybabel extract -F babel.cfg --no-wrap -o bot/locales/teams.pot bot/handlers/teams
pybabel update --no-wrap -i bot/locales/teams.pot -d bot/locales -D teams
"""
"""How the ``teams`` catalogs are refreshed from the source."""


def language(tag: str | None) -> str:
    """Slotbot's locale for a Teams locale tag (``en-US``, ``pt-BR``, ``da-DK``...)."""
    return supported_locale(tag)


def gettext_for(locale: str | None) -> Callable[[str], str]:
    """The ``gettext`` of the Teams catalog in ``locale`` (any language tag)."""
    return translations(language(locale), DOMAIN).gettext


def sorry_text(locale: str | None) -> str:
    """What a user reads when their request failed on Slotbot's side."""
    _ = gettext_for(locale)
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


def sent_privately_text(locale: str | None) -> str:
    """The note in a channel or group chat when the answer went to the user's 1:1 chat."""
    _ = gettext_for(locale)
    return _("I've answered you in our 1:1 chat, because the answer is for you only.")


def shared_text(locale: str | None) -> str:
    """The confirmation after the share button posted a link in the conversation."""
    _ = gettext_for(locale)
    return _("Posted in the conversation.")


def welcome_text(locale: str | None) -> str:
    """The first line of the welcome card on install."""
    _ = gettext_for(locale)
    return _("Thanks for adding Slotbot! I find your free time across your calendars and "
             "share your booking link.")


def no_page_text(locale: str | None, query: str) -> str:
    """The message extension's answer when none of the user's pages matches ``query``."""
    _ = gettext_for(locale)
    return _("None of your pages matches “{query}”.").format(query=query)
