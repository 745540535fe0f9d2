"""Which of the three languages a message is written in (English, Portuguese, Danish). PURE.

The same idea as the widget's (:mod:`bot.handlers.web_chat.visitor`): count the words that belong
to only one language; the language with the most wins, and a tie or no such word tells nothing
(the reader's own locale is used then). Short questions ("free tomorrow?") often say nothing.
"""

from __future__ import annotations

import re

from bot.conversation.daytime import normalize

_WORDS = {
    "en": (
        r"am|i|is|are|what|whats|what's|when|my|on|calendar|today|tomorrow|free|busy|at|the|this|next"
        r"|week|morning|afternoon|evening|do|have|show|meeting|can|you|please|share|link|connect"
    ),
    "pt_BR": (
        r"estou|sou|tenho|o|que|quando|meu|minha|na|no|agenda|hoje|amanhã|amanha|livre|livres|às"
        r"|esta|próxima|proxima|semana|manhã|tarde|noite|reunião|reuniao|você|voce|por|favor"
        r"|compartilhar|conectar|estou livre|depois"
    ),
    "da": (
        r"jeg|er|har|hvad|hvornår|hvornar|min|mit|mine|kalenderen|kalender|dag|morgen|ledig|ledige"
        r"|kl|optaget|denne|næste|naeste|uge|formiddag|eftermiddag|aften|møde|mode|kan|du|vis|tak"
        r"|i morgen|i dag|del|forbind"
    ),
}
_PATTERNS = {
    language: re.compile(r"(?:^|(?<=\s))(?:" + words + r")(?=\s|$)") for language, words in _WORDS.items()
}


def written_language(text: str) -> str | None:
    """``en``, ``pt_BR`` or ``da`` when ``text`` is clearly written in it, else None."""
    said = re.sub(r"[?!.,;:]", " ", normalize(text))
    scores = {language: len(pattern.findall(said)) for language, pattern in _PATTERNS.items()}
    best = max(scores.values())
    leaders = [language for language, score in scores.items() if score == best]
    if best < 2 or len(leaders) != 1:
        return None
    runner_up = max(score for language, score in scores.items() if language != leaders[0])
    return leaders[0] if best > runner_up else None
