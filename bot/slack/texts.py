"""The Slack channel's own sentences (the conversation core words everything else).

Two situations never reach the conversation: a user over their request rate, and a failure on our
side. Both are answered in the user's language (English, Portuguese, Danish), from the Slack
profile's locale (``en-US``, ``pt-BR``, ``da-DK``...) or a resolved speaker's.
"""

from __future__ import annotations

_SLOW_DOWN = {
    "en": "You're sending me requests quickly. Please try again in {seconds} seconds.",
    "pt_BR": "Você está me enviando pedidos muito rápido. Tente novamente em {seconds} segundos.",
    "da": "Du sender mig forespørgsler meget hurtigt. Prøv igen om {seconds} sekunder.",
}
_SORRY = {
    "en": "Sorry, something went wrong on my side. Please try again in a moment.",
    "pt_BR": "Desculpe, algo deu errado do meu lado. Tente novamente daqui a pouco.",
    "da": "Beklager, noget gik galt hos mig. Prøv igen om lidt.",
}


def language(tag: str | None) -> str:
    """Slotbot's locale for a Slack or Slotbot locale tag: ``pt_BR``, ``da`` or ``en``."""
    key = (tag or "").strip().replace("-", "_").lower()
    if key.startswith("pt"):
        return "pt_BR"
    if key == "da" or key.startswith("da_"):
        return "da"
    return "en"


def slow_down_text(locale: str | None, seconds: float) -> str:
    """The polite refusal for a user over their request rate."""
    return _SLOW_DOWN[language(locale)].format(seconds=max(1, round(seconds + 0.5)))


def sorry_text(locale: str | None) -> str:
    """What a user reads when their request failed on Slotbot's side."""
    return _SORRY[language(locale)]
