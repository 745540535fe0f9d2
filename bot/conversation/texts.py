"""The conversation's message catalog (gettext domain ``conversation``) and shared wordings.

Code marks a message for translation with ``_("...")`` (``_`` is :func:`gettext_for` of the
reader's locale) or, in tables built before the reader is known, with :func:`N_`, translating it
later. Placeholders use ``str.format`` names (``{title}``), which translators keep as they are.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import translations

DOMAIN = "conversation"

Gettext = Callable[[str], str]


def N_(message: str) -> str:
    """Mark ``message`` for extraction; it is translated where it is shown."""
    return message


def gettext_for(locale: str) -> Gettext:
    """The ``gettext`` of the conversation catalog in ``locale``."""
    return translations(locale, DOMAIN).gettext


PROVIDER_LABELS = {
    "google": N_("Google Calendar"),
    "microsoft": "Microsoft 365",
    "exchange": "Microsoft Exchange",
    "caldav": "iCloud, Fastmail, Nextcloud (CalDAV)",
    "feed": N_("an ICS calendar feed"),
    "local": N_("Slotbot calendar"),
}

REASONS = {
    "access_lost": N_("access lost"),
    "inactive": N_("access lost"),
    "needs_reauth": N_("needs reconnecting"),
    "unavailable": N_("did not answer"),
    "rate_limited": N_("asked us to slow down"),
}


def provider_label(kind: str, _: Gettext) -> str:
    """The name people know a calendar service by."""
    return _(PROVIDER_LABELS[kind]) if kind in PROVIDER_LABELS else kind


def reason_text(reason: str, _: Gettext) -> str:
    """Why a calendar could not be read, in a few words."""
    return _(REASONS[reason]) if reason in REASONS else reason
