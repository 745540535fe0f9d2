"""The website widget's conversation: a visitor on a host's site wants to meet the host.

:func:`understand` (PURE) reads what the visitor wrote in English, Portuguese or Danish ("can I
book a meeting?", "quero marcar uma reunião", "kan jeg booke et møde?") and tells the intent
(``book``, ``free``, ``greeting`` or ``help``) and, when the words give it away, the language
they are in, so a visitor is answered in the language they wrote. :func:`answer` builds the
channel-neutral :class:`~bot.conversation.reply.Reply`: the next free times come from the
conversation core's preview of the page (:meth:`Conversation.unfurl`, what anyone holding the
link may see), and a ``book`` button carries the page's URL for the widget to open inline.

The handler reads the page once (:class:`bot.pages.public.PublicView`); its mode decides: a page
that is switched off says so, and while a calendar cannot be read no time is offered. Only pages
the host offered in the widget get here (the handler checks ``in_widget``); :func:`refusal` is
the polite answer for the others.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from bot.conversation.core import Conversation
from bot.conversation.reply import Block, Button, Reply, Section, Text
from bot.conversation.when import normalize
from bot.handlers.web_chat.render import BOOK_ACTION
from bot.handlers.web_chat.texts import gettext_for
from bot.pages.public import Mode, PublicView

INTENTS = ("book", "free", "greeting", "help")

_INTENT_WORDS: dict[str, dict[str, str]] = {
    "book": {
        "en": r"book|booking|schedule|meeting|meet|appointment|call|reserve",
        "pt_BR": r"marcar|agendar|reservar|reunião|reuniao|reuniões|encontro|consulta|conversar|marcação",
        "da": r"booke|bestille|bestil|møde|mødes|aftale|samtale|reservere",
    },
    "free": {
        "en": r"when|available|availability|free|open|slots?|times?",
        "pt_BR": r"quando|disponível|disponivel|disponibilidade|livre|horários?|horarios?",
        "da": r"hvornår|hvornaar|ledig|ledige|tid|tider|tidspunkt",
    },
    "greeting": {
        "en": r"hi|hello|hey|good morning|good afternoon|good evening",
        "pt_BR": r"oi|olá|ola|bom dia|boa tarde|boa noite",
        "da": r"hej|hejsa|goddag|god morgen|davs",
    },
    "help": {
        "en": r"help|what can you do",
        "pt_BR": r"ajuda|o que você faz|o que voce faz",
        "da": r"hjælp|hjaelp|hvad kan du",
    },
}

# Small words that tell the language apart when the intent words are shared ("book").
_LANGUAGE_WORDS = {
    "en": r"can|could|i|an|the|with|you|is|are|please|want|would|like|to",
    "pt_BR": r"quero|queria|posso|pode|uma|um|com|você|voce|é|está|por favor|gostaria|de|para|pra",
    "da": r"kan|jeg|et|en|med|du|er|vil|gerne|har|til|hvad",
}

_INTENT_PATTERNS = {
    kind: re.compile(r"(?:^|\s)(?:" + "|".join(words.values()) + r")(?=\s|$)")
    for kind, words in _INTENT_WORDS.items()
}
_LANGUAGE_PATTERNS = {
    language: re.compile(
        r"(?:^|\s)(?:" + "|".join([*(w[language] for w in _INTENT_WORDS.values()), extra]) + r")(?=\s|$)"
    )
    for language, extra in _LANGUAGE_WORDS.items()
}


@dataclass(frozen=True, slots=True)
class VisitorIntent:
    """What the visitor wants, and the language their words are in (None when they don't tell)."""

    kind: str
    language: str | None = None


def _language(said: str) -> str | None:
    scores = {
        language: len(pattern.findall(said)) for language, pattern in _LANGUAGE_PATTERNS.items()
    }
    best = max(scores.values())
    leaders = [language for language, score in scores.items() if score == best]
    return leaders[0] if best > 0 and len(leaders) == 1 else None


def understand(text: str) -> VisitorIntent:
    """The intent of a visitor's message (empty: a greeting; nothing recognised: help)."""
    said = normalize(text)
    if not said:
        return VisitorIntent("greeting")
    for kind in INTENTS:
        if _INTENT_PATTERNS[kind].search(said):
            return VisitorIntent(kind, _language(said))
    return VisitorIntent("help", _language(said))


def refusal(host_name: str, locale: str) -> Reply:
    """The answer on a page its host did not offer in the widget."""
    _ = gettext_for(locale)
    return Reply((Text(_("Sorry, {host} does not take bookings through this chat. Please get in touch "
                         "with {host} another way.").format(host=host_name)),), private=False)


async def answer(
    conversation: Conversation, intent: VisitorIntent, view: PublicView, *, now: datetime, locale: str,
) -> Reply:
    """The widget's answer to ``intent`` about the page of ``view``."""
    _ = gettext_for(locale)
    host_name, page_title = view.host.display_name, view.page.title
    book = Button(_("Book here"), url=view.url, action=BOOK_ACTION, value=view.url, primary=True)
    if intent.kind == "greeting":
        return Reply((
            Text(_("Hi! I can help you book a meeting with {host}. Ask me “can I book a meeting?” or "
                   "“when is {host} free?”").format(host=host_name)),
        ), private=False)
    if intent.kind == "help":
        return Reply((
            Text(_("I can help you book “{title}” with {host}: ask me “can I book a meeting?” or “when "
                   "is {host} free?”").format(title=page_title, host=host_name)),
            book,
        ), private=False)
    sections: list[Block] = []
    bookable = view.mode is not Mode.OFF
    if view.mode in (Mode.BOOKABLE, Mode.OFFLINE):  # blocked: no time is offered (the page takes details)
        preview = await conversation.unfurl(view.url, now=now, locale=locale)
        sections = [b for b in (preview.blocks if preview else ()) if isinstance(b, Section)]
        bookable = preview is not None and any(isinstance(b, Button) and b.url for b in preview.blocks)
    if not bookable:
        return Reply((Text(_("{host} is not taking bookings right now. Please try again later.").format(
            host=host_name)),), private=False)
    if intent.kind == "book":
        opening = _("Of course! Pick a time for “{title}” with {host} right here.")
    else:
        opening = _("Here is when {host} is free for “{title}”. Pick a time right here.")
    blocks: list[Block] = [Text(opening.format(title=page_title, host=host_name)), *sections, book]
    return Reply(tuple(blocks), private=False)
