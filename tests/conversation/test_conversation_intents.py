"""Intents in English, Portuguese and Danish, from messages and from /meet arguments."""

from __future__ import annotations

import pytest

from bot.conversation.intents import Intent, command, understand

MESSAGES = [
    ("when am I free tomorrow afternoon?", Intent("free", "when am i free tomorrow afternoon")),
    ("quando estou livre amanhã à tarde?", Intent("free", "quando estou livre amanhã à tarde")),
    ("hvornår er jeg ledig i morgen eftermiddag?",
     Intent("free", "hvornår er jeg ledig i morgen eftermiddag")),
    ("har jeg tid på fredag", Intent("free", "har jeg tid på fredag")),
    ("Connect my Google calendar", Intent("connect", "google")),
    ("please link my outlook calendar", Intent("connect", "microsoft")),
    ("conectar minha agenda do Google", Intent("connect", "google")),
    ("forbind min kalender", Intent("connect", "")),
    ("tilslut min Microsoft 365-kalender", Intent("connect", "microsoft")),
    ("connect exchange", Intent("connect", "exchange")),
    ("connect my icloud calendar", Intent("connect", "other")),
    ("add an ics feed", Intent("connect", "feed")),
    ("subscribe to a webcal calendar", Intent("connect", "feed")),
    ("connect my nextcloud calendar", Intent("connect", "other")),
    ("share my link", Intent("link", "")),
    ("share my intro link", Intent("link", "intro")),
    ("compartilhar meu link", Intent("link", "")),
    ("del mit link", Intent("link", "")),
    ("my pages", Intent("pages")),
    ("minhas páginas", Intent("pages")),
    ("mine sider", Intent("pages")),
    ("show my calendars", Intent("calendars")),
    ("mostrar minhas agendas", Intent("calendars")),
    ("vis mine kalendere", Intent("calendars")),
    ("open my settings", Intent("settings")),
    ("configurações", Intent("settings")),
    ("indstillinger", Intent("settings")),
    ("disconnect my calendar", Intent("disconnect")),
    ("desconectar agenda", Intent("disconnect")),
    ("afbryd min kalender", Intent("disconnect")),
    ("help", Intent("help")),
    ("ajuda", Intent("help")),
    ("hjælp", Intent("help")),
    ("what can you do?", Intent("help")),
    ("hi", Intent("greeting")),
    ("olá", Intent("greeting")),
    ("hej", Intent("greeting")),
    ("language pt", Intent("language", "pt_BR")),
    ("idioma inglês", Intent("language", "en")),
    ("sprog dansk", Intent("language", "da")),
    ("speak danish please", Intent("language", "da")),
    ("fale português", Intent("language", "pt_BR")),
    ("em português", Intent("language", "pt_BR")),
    ("language auto", Intent("language", "auto")),
    ("tomorrow afternoon?", Intent("unknown", "tomorrow afternoon")),
    ("asdf qwerty", Intent("unknown", "asdf qwerty")),
    ("", Intent("help")),
]


@pytest.mark.parametrize(("text", "intent"), MESSAGES)
def test_messages(text: str, intent: Intent) -> None:
    assert understand(text) == intent


COMMANDS = [
    ("", Intent("help")),
    ("connect", Intent("connect", "")),
    ("connect google", Intent("connect", "google")),
    ("connect microsoft", Intent("connect", "microsoft")),
    ("conectar google", Intent("connect", "google")),
    ("free", Intent("free", "")),
    ("free tomorrow afternoon", Intent("free", "tomorrow afternoon")),
    ("livre amanhã", Intent("free", "amanhã")),
    ("ledig næste uge", Intent("free", "næste uge")),
    ("when am I free?", Intent("free", "when am i free")),
    ("link", Intent("link", "")),
    ("link Intro", Intent("link", "intro")),
    ("pages", Intent("pages")),
    ("calendars", Intent("calendars")),
    ("settings", Intent("settings")),
    ("disconnect", Intent("disconnect")),
    ("help", Intent("help")),
    ("language da", Intent("language", "da")),
    ("language", Intent("language", "")),
    ("idioma pt", Intent("language", "pt_BR")),
    ("share my link", Intent("link", "")),
    ("link my intro page", Intent("link", "intro")),
    ("show my calendars", Intent("calendars")),
    ("frobnicate", Intent("unknown", "frobnicate")),
]


@pytest.mark.parametrize(("text", "intent"), COMMANDS)
def test_commands(text: str, intent: Intent) -> None:
    assert command(text) == intent
