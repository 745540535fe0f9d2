"""The website widget's conversation: a visitor on a host's site wants to meet the host.

:func:`understand` (PURE) reads what the visitor wrote in English, Portuguese or Danish ("can I
book a meeting?", "quero marcar uma reunião", "kan jeg booke et møde?") and tells the intent
(``book``, ``free``, ``greeting`` or ``help``) and, when the words give it away, the language
they are in, so a visitor is answered in the language they wrote. :func:`answer` builds the
channel-neutral :class:`~bot.conversation.reply.Reply`: the next free times, worded in the
visitor's own zone (:func:`visitor_zone`: the browser's, else the host's, and the reply says
which), each a button (action :data:`~bot.handlers.web_chat.render.SLOT_ACTION`, value: the
instant) that opens the page's form at that time; and a ``book`` button carries the page's URL for
the widget to open inline.

The free times come from the page's own engine (the handler passes
:func:`bot.handlers.pages.visitor.offered`: the page's rules, lengths, notice and horizon), so a
time offered here is a time the page offers. The handler reads the page once
(:class:`bot.pages.public.PublicView`); its mode decides: a page that is switched off says so, and
while a calendar cannot be read no time is offered. Only pages the host offered in the widget get
here (the handler checks ``in_widget``); :func:`refusal` is the polite answer for the others.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from babel import Locale

from bot.availability import AvailabilityRules
from bot.conversation import dates
from bot.conversation.reply import Block, Button, Reply, Section, Text
from bot.conversation.when import normalize
from bot.handlers.pages.month import clock_of, time_label
from bot.handlers.web_chat.render import BOOK_ACTION, SLOT_ACTION
from bot.handlers.web_chat.texts import gettext_for
from bot.i18n import supported_locale
from bot.pages.public import Mode, PublicView
from bot.scheduling.results import UserAvailability
from bot.zones import zone_named

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


DAYS_AHEAD = 14
"""How far ahead the widget looks for free times (the page's horizon may stop sooner)."""

CHIP_DAYS = 3
"""Days with free times the widget offers at most (the page shows them all)."""

CHIPS_PER_DAY = 4
"""Free times the widget offers at most on each of those days."""

FreeTimes = Callable[[AvailabilityRules, datetime, datetime, int], Awaitable[UserAvailability]]
"""A page's free slots under its rules from a start to an end, of a length (minutes): the page's
own engine."""


@dataclass(frozen=True, slots=True)
class VisitorZone:
    """The zone the widget words times in, and what the browser sent when it named no zone."""

    name: str
    unknown: str | None = None


def visitor_zone(sent: object, fallback: str) -> VisitorZone:
    """The browser's zone (``sent``) when it is an IANA zone, else ``fallback`` (the host's).

    Nothing sent (an older widget) is no mistake; anything else that names no zone is kept, cut
    short, for the reply to say so.
    """
    if sent is None or sent == "":
        return VisitorZone(fallback)
    named = zone_named(sent) if isinstance(sent, str) else None
    if named is not None:
        return VisitorZone(named)
    shown = str(sent)
    return VisitorZone(fallback, shown if len(shown) <= 40 else shown[:40] + "…")


def booking_url(page_url: str, start: datetime, zone: str, minutes: int) -> str:
    """The page's address with its form open at ``start`` for ``minutes``, worded in ``zone``."""
    query = urlencode({"start": start.isoformat(), "tz": zone, "d": str(minutes)})
    return f"{page_url}?{query}#book"


def zone_sentence(zone: VisitorZone, locale: str) -> str:
    """Which zone the times are in (and, when the browser's was no zone, that it was not used)."""
    _ = gettext_for(locale)
    shown = f"{dates.zone_name(ZoneInfo(zone.name), locale)} ({zone.name})"
    if zone.unknown is not None:
        return _("“{zone}” is not a time zone I know, so the times are in {shown}.").format(
            zone=zone.unknown, shown=shown)
    return _("The times are in {zone}.").format(zone=shown)


def time_chips(starts: list[datetime], view: PublicView, zone: VisitorZone, minutes: int,
               locale: str) -> list[Block]:
    """The first free times of the first days, in the visitor's zone: per day a heading (a
    :class:`Section` without lines) and a button per time (value: the instant, ISO 8601)."""
    where = ZoneInfo(zone.name)
    babel_locale = Locale.parse(supported_locale(locale))
    clock = clock_of(None, babel_locale)
    by_day: dict[str, list[datetime]] = {}
    for start in starts:
        day = dates.day(start.astimezone(where).date(), locale)
        if day not in by_day and len(by_day) == CHIP_DAYS:
            break
        by_day.setdefault(day, [])
        if len(by_day[day]) < CHIPS_PER_DAY:
            by_day[day].append(start)
    blocks: list[Block] = []
    for day, times in by_day.items():
        blocks.append(Section(day))
        blocks.extend(Button(time_label(start, where, babel_locale, clock),
                             url=booking_url(view.url, start, zone.name, minutes),
                             action=SLOT_ACTION, value=start.isoformat()) for start in times)
    return blocks


async def answer(
    intent: VisitorIntent, view: PublicView, *, free: FreeTimes, now: datetime, locale: str,
    zone: VisitorZone,
) -> Reply:
    """The widget's answer to ``intent`` about the page of ``view``; free times in ``zone``."""
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
    if view.mode is Mode.OFF:
        return Reply((Text(_("{host} is not taking bookings right now. Please try again later.").format(
            host=host_name)),), private=False)
    if intent.kind == "book":
        opening = _("Of course! Pick a time for “{title}” with {host} right here.")
    else:
        opening = _("Here is when {host} is free for “{title}”. Pick a time right here.")
    blocks: list[Block] = [Text(opening.format(title=page_title, host=host_name))]
    # Blocked (a calendar cannot be read) or being set up: no time is offered; the page explains.
    if view.mode in (Mode.BOOKABLE, Mode.OFFLINE) and view.rules is not None:
        minutes = view.page.durations[0]
        found = await free(view.rules, now, now + timedelta(days=DAYS_AHEAD), minutes)
        starts = [slot.start for slot in found.result.slots]
        if starts:
            blocks.append(Text(zone_sentence(zone, locale)))
            blocks.extend(time_chips(starts, view, zone, minutes, locale))
        elif found.complete:
            blocks.append(Text(_("There are no free times in the next two weeks.")))
        else:
            blocks.append(Text(_("I cannot see the free times right now: open the page to pick one.")))
    blocks.append(book)
    return Reply(tuple(blocks), private=False)
