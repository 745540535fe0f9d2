"""What the user wants: plain language (English, Portuguese, Danish) or ``/meet`` words -> an intent.

:func:`understand` reads a message ("when am I free tomorrow?", "compartilhar meu link",
"forbind min Google-kalender"); :func:`command` reads the arguments of the slash command
("connect google", "free next week", "link intro"). Both answer an :class:`Intent`:

``task`` (argument: the text; the core passes the message as written), ``agenda`` (argument: the
text holding the day: "what's on my calendar today?", "o que tenho amanhã?", "hvad har jeg i
morgen?"), ``schedule`` (argument:
the text, holding the contact's e-mail address and the time),
``connect`` (argument: ``google``, ``microsoft``, ``exchange``, ``feed``, ``other`` or ``""``), ``free``
(argument: the text holding the time expression), ``link`` (argument: what may name a page),
``pages``, ``calendars``, ``settings``, ``disconnect``, ``help``, ``language`` (argument: ``en``,
``pt_BR``, ``da``, ``auto`` or ``""``), ``greeting`` and ``unknown``. PURE: words only.

Words of every supported language are understood whatever the speaker's language, because people
mix them ("link pra sexta?").
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from bot.conversation.daytime import normalize

INTENTS = (
    "task", "agenda", "schedule", "connect", "free", "link", "pages", "calendars", "settings", "disconnect",
    "help", "language", "greeting", "unknown",
)


@dataclass(frozen=True, slots=True)
class Intent:
    """An intent and its argument (see the module docstring)."""

    kind: str
    argument: str = ""


_LANGUAGE_NAMES = {
    "en": r"english|inglês|ingles|engelsk|en",
    "pt_BR": r"portuguese|português|portugues|portugisisk|brazilian portuguese|pt-br|pt_br|pt",
    "da": r"danish|dansk|dinamarquês|dinamarques|da",
    "auto": r"auto|automatic|automático|automatico|default|padrão|padrao|standard|reset",
}
_LANGUAGE_WORD = "|".join(f"(?:{words})" for words in _LANGUAGE_NAMES.values())

_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("task", re.compile(
        r"^(?:(?:add|new|create|adicionar|adicione|nova|criar|tilføj|ny|opret)\s+(?:a\s+|uma\s+|en\s+)?)?"
        r"(?:task|to-?do|tarefa|opgave)\b")),
    ("agenda", re.compile(
        r"^(?!.*\b(?:free|available|availability|livre|livres|disponível|disponivel|ledig|ledige"
        r"|fri tid|har jeg tid)\b)(?:.*\b(?:"
        r"what(?:'s| is)? (?:on|in) (?:my|the) (?:calendar|agenda|schedule)"
        r"|what do i have|what have i got|what(?:'s| is) on (?:for )?(?:today|tomorrow)"
        r"|what(?:'s| is) my (?:agenda|schedule|day)|my (?:agenda|schedule) (?:for )?(?:today|tomorrow)"
        r"|o que (?:eu )?tenho|o que (?:há|ha|tem) (?:na|em) (?:minha )?agenda|minha agenda (?:de |para )?"
        r"(?:hoje|amanhã|amanha)|meus compromissos"
        r"|hvad har jeg|hvad står der i (?:min )?kalender(?:en)?|hvad sker der i (?:min )?kalender(?:en)?"
        r"|min kalender i (?:dag|morgen)|hvad skal jeg i (?:dag|morgen)"
        r")\b"
        r"|.*\b(?:show|mostrar|mostre|vis)\b.*\b(?:calendar|agenda|kalender|kalenderen)\b.*\b(?:today"
        r"|tomorrow|hoje|amanhã|amanha|i dag|i morgen)\b)")),
    ("schedule", re.compile(
        r"\b(?:schedule|book|set up|arrange|plan|agendar|agende|marcar|marque|planlæg|planlaeg)\b"
        r".*\S@\S|^(?:schedule|agendar|planlæg|planlaeg)\b")),
    ("language", re.compile(
        r"\b(?:language|idioma|língua|lingua|sprog)\b"
        r"|\b(?:speak|talk|write|fale|falar|fala|escreva|tal|snak|skriv)\b.*\b(?:"
        r"english|inglês|ingles|engelsk|portuguese|português|portugues|portugisisk|danish|dansk"
        r"|dinamarquês|dinamarques)\b"
        r"|^(?:in |em |på )?(?:english|inglês|engelsk|portuguese|português|portugisisk|danish|dansk"
        r"|dinamarquês)(?: please| por favor| tak)?$")),
    ("disconnect", re.compile(
        r"\b(?:disconnect|unlink|desconectar|desconecte|desvincular|afbryd|frakobl)"
        r"|\b(?:remove|remover|fjern)\b.*\b(?:calendar|calendário|calendario|agenda|kalender)")),
    ("connect", re.compile(
        r"\b(?:connect|add|link|hook up|conectar|conecte|ligar|adicionar|adicione|vincular|vincule"
        r"|forbind|tilslut|tilføj)\b.*\b(?:calendars?|google|gmail|outlook|microsoft|office|365|m365"
        r"|exchange|icloud|apple|caldav|agenda|calendários?|calendarios?|kalender|kalendere"
        r"|google-kalender|ics|ical|icalendar|webcal|feeds?|kalenderfeeds?)\b"
        r"|^(?:connect|conectar|forbind|tilslut)\b"
        r"|\b(?:subscribe|assinar|abonner)\b.*\b(?:calendars?|ics|ical|webcal|feeds?|agenda"
        r"|calendários?|kalender)\b")),
    ("settings", re.compile(
        r"\b(?:settings?|preferences|dashboard|configurações|configuracoes|configuração|ajustes"
        r"|preferências|painel|indstillinger|opsætning|kontrolpanel)\b")),
    ("calendars", re.compile(
        r"\b(?:calendars|calendar status|calendários|calendarios|agendas|kalendere|kalenderstatus"
        r"|health|status|saúde)\b"
        r"|\b(?:show|list|mostrar|mostre|listar|liste|vis)\b.*\b(?:calendar|calendário|agenda|kalender)\b")),
    ("pages", re.compile(r"\b(?:pages|páginas|paginas|sider)\b")),
    ("link", re.compile(
        r"\b(?:link|links|share|booking page|scheduling page|compartilhar|compartilhe|partilhar"
        r"|enviar meu|meu link|del|dele|delingslink|bookingside)\b")),
    ("free", re.compile(
        r"\b(?:free|available|availability|open slots?|livre|livres|disponível|disponivel"
        r"|disponibilidade|horários livres|ledig|ledige|fri tid|er jeg fri|har jeg tid)\b")),
    ("help", re.compile(
        r"\b(?:help|ajuda|hjælp|hjaelp|commands|comandos|kommandoer|what can you do"
        r"|o que você faz|o que voce faz|hvad kan du)\b|^\?$")),
    ("greeting", re.compile(
        r"^(?:hi|hello|hey|oi|olá|ola|hej|hejsa|goddag|bom dia|boa tarde|boa noite|good morning"
        r"|good afternoon|tak|thanks|thank you|obrigad[oa])\b")),
)

_COMMANDS = {
    "connect": "connect", "conectar": "connect", "forbind": "connect", "tilslut": "connect",
    "free": "free", "when": "free", "livre": "free", "quando": "free", "ledig": "free",
    "availability": "free", "hvornår": "free",
    "link": "link", "share": "link", "compartilhar": "link", "del": "link",
    "pages": "pages", "páginas": "pages", "paginas": "pages", "sider": "pages",
    "calendars": "calendars", "calendários": "calendars", "calendarios": "calendars",
    "kalendere": "calendars", "status": "calendars",
    "settings": "settings", "configurações": "settings", "ajustes": "settings",
    "indstillinger": "settings", "dashboard": "settings",
    "disconnect": "disconnect", "desconectar": "disconnect", "afbryd": "disconnect",
    "help": "help", "ajuda": "help", "hjælp": "help",
    "language": "language", "lang": "language", "idioma": "language", "sprog": "language",
    "task": "task", "tarefa": "task", "opgave": "task",
    "agenda": "agenda", "kalender": "agenda",
    "schedule": "schedule", "agendar": "schedule", "planlæg": "schedule", "planlaeg": "schedule",
}

_PROVIDERS = (
    ("google", re.compile(r"\b(?:google|gmail|gsuite|workspace)")),
    ("microsoft", re.compile(r"\b(?:microsoft|outlook|office|365|m365|o365)")),
    ("exchange", re.compile(r"\bexchange\b")),
    ("feed", re.compile(r"\b(?:ics|ical|icalendar|webcal|feeds?|kalenderfeeds?|subscribe|subscription|assinar"
                        r"|abonner|holidays?|feriados|helligdage)\b")),
    ("other", re.compile(r"\b(?:icloud|apple|caldav|yahoo|fastmail|zoho|nextcloud)\b")),
)

_LINK_NOISE = re.compile(
    r"\b(?:please|can you|could you|the|my|me|a|an|for|of|to|share|link|links|send|give|post|page"
    r"|booking|scheduling|meeting|por favor|pode|o|meu|minha|de|do|da|para|pra|compartilhar"
    r"|compartilhe|enviar|envie|página|pagina|kan du|du|mit|min|mig|til|del|dele|side)\b"
)


def provider_of(text: str) -> str:
    """Which calendar service ``text`` names (``""`` when none)."""
    for kind, pattern in _PROVIDERS:
        if pattern.search(text):
            return kind
    return ""


def language_of(text: str) -> str:
    """Which language ``text`` names: ``en``, ``pt_BR``, ``da``, ``auto`` or ``""``."""
    for code, words in _LANGUAGE_NAMES.items():
        if re.search(rf"(?:^|\s)(?:{words})(?:\s|$)", text):
            return code
    return ""


def _with_argument(kind: str, text: str) -> Intent:
    if kind == "connect":
        return Intent(kind, provider_of(text))
    if kind == "language":
        stripped = re.sub(r"\b(?:language|idioma|língua|lingua|sprog|lang|set|to|para|til)\b", " ", text)
        return Intent(kind, language_of(" ".join(stripped.split())))
    if kind == "link":
        return Intent(kind, " ".join(_LINK_NOISE.sub(" ", text).split()))
    if kind in ("free", "schedule", "agenda"):
        return Intent(kind, text)
    return Intent(kind)


def understand(text: str) -> Intent:
    """The intent of a plain-language message."""
    said = normalize(text)
    if not said:
        return Intent("help")
    for kind, pattern in _PATTERNS:
        if pattern.search(said):
            return _with_argument(kind, said)
    return Intent("unknown", said)


def command(text: str) -> Intent:
    """The intent of the slash command's arguments; ``""`` is help, other words are read as a
    message (and may still be unknown)."""
    said = normalize(text)
    if not said:
        return Intent("help")
    word, _, rest = said.partition(" ")
    kind = _COMMANDS.get(word)
    if kind is None:
        return understand(text)
    if kind == "free":
        return Intent(kind, said if word in ("when", "quando", "hvornår") else rest)
    if kind in ("schedule", "agenda"):
        return Intent(kind, said)
    if kind == "link":
        return _with_argument(kind, rest)
    return _with_argument(kind, said)
