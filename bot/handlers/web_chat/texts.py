"""The web chat's own sentences (gettext domain ``web_chat``) and the language choices it offers.

The bot's answers come translated from the conversation core; this catalog holds only what the
web surfaces add: the chat page's and the widget's labels, the visitor's side of the widget
(:mod:`bot.handlers.web_chat.visitor`) and the channel's error sentences. Catalogs live next to the
others in ``bot/locales/<locale>/LC_MESSAGES/web_chat.po``; refresh them with :data:`EXTRACT_RECIPE`.
"""

from __future__ import annotations

from collections.abc import Callable

from bot.i18n import supported_locale, translations

DOMAIN = "web_chat"

EXTRACT_RECIPE = """\
pybabel extract -F babel.cfg -o bot/locales/web_chat.pot bot/handlers/web_chat
pybabel update -i bot/locales/web_chat.pot -d bot/locales -D web_chat
"""
"""How the ``web_chat`` catalogs are refreshed from the source."""

LANGUAGE_NAMES = (("en", "English"), ("pt_BR", "Português"), ("da", "Dansk"))
"""The languages offered in the chat's selector, each named in itself."""

PAGE_LANGUAGES = {"en": "en", "pt_BR": "pt", "da": "da"}
"""A locale's code on scheduling pages (``?lang=``)."""

MAX_TEXT = 1000
"""The longest message a signed-in host may send (characters)."""

MAX_VISITOR_TEXT = 500
"""The longest message a website visitor may send (characters)."""

Gettext = Callable[[str], str]


def gettext_for(locale: str) -> Gettext:
    """The ``gettext`` of the web chat catalog in ``locale`` (any language tag)."""
    return translations(supported_locale(locale), DOMAIN).gettext


def chat_labels(locale: str) -> dict[str, str]:
    """The chat page's labels in ``locale``."""
    _ = gettext_for(locale)
    return {
        "title": _("Chat with Slotbot"),
        "intro": _("Ask in your own words: “when am I free tomorrow?”, “share my link”, “calendars” "
                   "or “help”."),
        "message": _("Your message"),
        "placeholder": _("Ask Slotbot…"),
        "send": _("Send"),
        "you": _("You"),
        "bot": _("Slotbot"),
        "language": _("Language"),
        "auto": _("Automatic (your browser)"),
        "change": _("Change"),
        "thinking": _("Slotbot is thinking…"),
        "failed": _("That did not reach Slotbot. Check your connection and try again."),
        "dashboard": _("Back to your dashboard"),
    }


def widget_labels(locale: str) -> dict[str, str]:
    """The website widget's labels in ``locale``."""
    _ = gettext_for(locale)
    return {
        "open": _("Chat with us"),
        "close": _("Close"),
        "message": _("Your message"),
        "placeholder": _("Ask to book a meeting…"),
        "send": _("Send"),
        "back": _("Back to the chat"),
        "booking": _("Book a time"),
        "failed": _("That did not go through. Please try again."),
    }


def too_long(locale: str, limit: int) -> str:
    """The sentence for a message over ``limit`` characters."""
    _ = gettext_for(locale)
    return _("That message is too long: please keep it under {limit} characters.").format(limit=limit)


def slow_down(locale: str) -> str:
    """The sentence for a sender over the rate limit."""
    _ = gettext_for(locale)
    return _("Too many messages at once. Please wait a minute and try again.")


def sorry(locale: str) -> str:
    """The sentence when answering failed on our side."""
    _ = gettext_for(locale)
    return _("Sorry, something went wrong on my side. Please try again in a moment.")


def signed_out(locale: str) -> str:
    """The sentence when the chat's session is over."""
    _ = gettext_for(locale)
    return _("You are signed out. Reload the page to sign in again.")


def expired(locale: str) -> str:
    """The sentence when the chat page's form token no longer matches."""
    _ = gettext_for(locale)
    return _("This page has expired. Reload it and try again.")


def unknown_page(locale: str, page: str) -> str:
    """The sentence for a widget pasted with a page that does not exist (for the site's owner)."""
    _ = gettext_for(locale)
    return _("There is no scheduling page “{page}” here: check the page in the widget's script "
             "address.").format(page=page)
