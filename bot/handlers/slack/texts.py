"""The Slack channel's own sentences (the conversation core words everything else).

Two situations never reach the conversation: a user over their request rate, and a failure on our
side. Both are answered in the user's language (English, Portuguese, Danish), from the Slack
profile's locale (``en-US``, ``pt-BR``, ``da-DK``...) or a resolved speaker's.
"""

from __future__ import annotations

from datetime import timedelta

from babel.dates import format_timedelta

from bot.i18n import supported_locale

_SLOW_DOWN = {
    "en": "You're sending me requests quickly. Please try again in {wait}.",
    "pt_BR": "Você está me enviando pedidos muito rápido. Tente novamente em {wait}.",
    "da": "Du sender mig forespørgsler meget hurtigt. Prøv igen om {wait}.",
}
_SORRY = {
    "en": "Sorry, something went wrong on my side. Please try again in a moment.",
    "pt_BR": "Desculpe, algo deu errado do meu lado. Tente novamente daqui a pouco.",
    "da": "Beklager, noget gik galt hos mig. Prøv igen om lidt.",
}


def language(tag: str | None) -> str:
    """Slotbot's locale for a Slack or Slotbot locale tag: ``pt_BR``, ``da`` or ``en``."""
    return supported_locale(tag)


def slow_down_text(locale: str | None, seconds: float) -> str:
    """The polite refusal for a user over their request rate."""
    locale = language(locale)
    wait = format_timedelta(timedelta(seconds=max(1, round(seconds + 0.5))), locale=locale, threshold=2)
    return _SLOW_DOWN[locale].format(wait=wait)


def sorry_text(locale: str | None) -> str:
    """What a user reads when their request failed on Slotbot's side."""
    return _SORRY[language(locale)]
