"""Every intent of the core in a Teams personal chat and as a channel @mention, in English,
Portuguese and Danish (from the activity's locale); private answers to a mention go to the
user's 1:1 chat; identities, language and zone come from Teams."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from aiohttp.test_utils import TestClient

from bot.accounts.identities import Profile
from bot.handlers.teams.texts import sent_privately_text
from bot.i18n import translations
from bot.keys import IDENTITIES, SESSIONS
from storage.models import User
from tests.handlers.teams.talk import actions, card_of, connect_local, post, say, texts, user_of

if TYPE_CHECKING:
    from tests.fakes.teams import FakeBotFramework, Sent

pytest_plugins = ["tests.fakes.teams", "tests.fakes.google"]

PERSONAL = "a:personal-29:ulla"
CHANNEL = "19:general@thread.tacv2;messageid=1700000000001"
TEAM = {"tenant": {"id": "8d7e2c11-0000-4000-8000-7e4a470000aa"}, "team": {"id": "19:team@thread.tacv2"},
        "channel": {"id": "19:general@thread.tacv2"}}

# (intent, message, what the answer must say: a msgid of the core, in the answer's language)
INTENTS: dict[str, list[tuple[str, str, str]]] = {
    "en-US": [
        ("help", "help", "Here is what I can do:"),
        ("connect", "connect my google calendar",
         "Connect your calendar: you will see what Slotbot reads and writes before you agree."),
        ("free", "when am I free this week?",
         "You have no calendar connected yet, so I can't tell when you're free. Connect one:"),
        ("link", "share my link", "Share in this conversation"),
        ("pages", "my pages", "Your scheduling pages:"),
        ("calendars", "show my calendars", "You have no calendar connected yet."),
        ("settings", "open my settings",
         "Here are your settings: calendars, which ones are checked, and where bookings go."),
        ("disconnect", "disconnect my calendar", "No calendar account is connected."),
        ("language", "language da", "OK, from now on I'll talk to you in {language}."),
    ],
    "pt-BR": [
        ("help", "ajuda", "Here is what I can do:"),
        ("connect", "conectar minha agenda do Google",
         "Connect your calendar: you will see what Slotbot reads and writes before you agree."),
        ("free", "quando estou livre esta semana?",
         "You have no calendar connected yet, so I can't tell when you're free. Connect one:"),
        ("link", "compartilhar meu link", "Share in this conversation"),
        ("pages", "minhas páginas", "Your scheduling pages:"),
        ("calendars", "mostrar minhas agendas", "You have no calendar connected yet."),
        ("settings", "configurações",
         "Here are your settings: calendars, which ones are checked, and where bookings go."),
        ("disconnect", "desconectar agenda", "No calendar account is connected."),
        ("language", "idioma inglês", "OK, from now on I'll talk to you in {language}."),
    ],
    "da-DK": [
        ("help", "hjælp", "Here is what I can do:"),
        ("connect", "forbind min Google-kalender",
         "Connect your calendar: you will see what Slotbot reads and writes before you agree."),
        ("free", "hvornår er jeg ledig i denne uge?",
         "You have no calendar connected yet, so I can't tell when you're free. Connect one:"),
        ("link", "del mit link", "Share in this conversation"),
        ("pages", "mine sider", "Your scheduling pages:"),
        ("calendars", "vis mine kalendere", "You have no calendar connected yet."),
        ("settings", "indstillinger",
         "Here are your settings: calendars, which ones are checked, and where bookings go."),
        ("disconnect", "afbryd min kalender", "No calendar account is connected."),
        ("language", "sprog portugisisk", "OK, from now on I'll talk to you in {language}."),
    ],
}
SWITCHED_TO = {"en-US": "da", "pt-BR": "en", "da-DK": "pt_BR"}


@pytest.fixture
def extra_env() -> dict[str, str]:
    return {"GOOGLE_CLIENT_ID": "client", "GOOGLE_CLIENT_SECRET": "secret"}


def _said(locale: str, msgid: str) -> str:
    """What the core's ``msgid`` reads like in ``locale``, up to its first placeholder."""
    return translations(locale, "conversation").gettext(msgid).split("{")[0]


def _check(intent: str, sent: Sent, locale: str, msgid: str, *, origin: str = "") -> None:
    card = card_of(sent)
    assert card["version"] == "1.5" and card["fallbackText"].strip()
    assert sent.activity["summary"].strip()
    answer_locale = SWITCHED_TO[locale] if intent == "language" else locale
    assert _said(answer_locale, msgid) in texts(card), (intent, texts(card))
    if intent in ("connect", "settings"):  # sign-in links, opened in the browser
        links = [a for a in actions(card) if a["type"] == "Action.OpenUrl"]
        assert links and all("/dashboard/login?token=" in a["url"] for a in links)
    if intent == "link":
        [share] = [a for a in actions(card) if a["type"] == "Action.Execute"]
        assert share["data"]["slotbot"] == "share_link" and "/meetings/" in share["data"]["value"]
        assert share["data"].get("to", "") == origin


@pytest.mark.parametrize("locale", list(INTENTS))
async def test_every_intent_in_a_personal_chat(
        client: TestClient, teams_fake: FakeBotFramework, locale: str) -> None:
    for intent, text, msgid in INTENTS[locale]:
        sent = await say(client, teams_fake, text, locale=locale)
        assert sent.kind == "reply"  # in the thread of the message
        _check(intent, sent, locale, msgid)
    typing = [s for s in teams_fake.sent if s.activity.get("type") == "typing"]
    assert len(typing) == len(INTENTS[locale])  # a typing activity before every answer


async def _mention(client: TestClient, fake: FakeBotFramework, text: str, locale: str,
                   kind: str = "channel", conversation: str = CHANNEL) -> tuple[Sent, Sent]:
    """@mention the bot in a channel; (the card in the 1:1 chat, the note in the channel)."""
    activity = fake.message(text, user="29:ulla", mention=True, locale=locale, conversation=conversation,
                            conversation_type=kind, channelData=TEAM)
    before, notes = len(fake.sent_to(PERSONAL)), len(fake.sent_to(conversation))
    assert (await post(client, fake, activity)).status == 200
    await fake.wait_for(lambda: len(fake.sent_to(conversation)) > notes)
    return fake.sent_to(PERSONAL)[before], fake.sent_to(conversation)[notes]


@pytest.mark.parametrize("locale", list(INTENTS))
async def test_every_intent_as_a_channel_mention_answers_in_the_personal_chat(
        client: TestClient, teams_fake: FakeBotFramework, locale: str) -> None:
    for intent, text, msgid in INTENTS[locale]:
        private, note = await _mention(client, teams_fake, text, locale)
        _check(intent, private, locale, msgid, origin=CHANNEL)
        noted_in = SWITCHED_TO[locale] if intent == "language" else locale
        assert note.activity["text"] == sent_privately_text(noted_in)
    # The 1:1 chat was opened once, for the user, in the tenant; then its reference was kept.
    [created] = teams_fake.conversations_created
    assert created["members"] == [{"id": "29:ulla"}] and created["isGroup"] is False
    assert created["channelData"]["tenant"]["id"] == teams_fake.tenant


async def test_group_chats_too_and_only_when_mentioned(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    group = "19:meeting-chat@thread.v2"
    for kind, conversation in (("channel", CHANNEL), ("groupChat", group)):
        ignored = teams_fake.message("help", user="29:ulla", conversation=conversation,
                                     conversation_type=kind, channelData=TEAM)
        assert (await post(client, teams_fake, ignored)).status == 200
    private, _ = await _mention(client, teams_fake, "help", "en-US", kind="groupChat", conversation=group)
    assert "Here is what I can do:" in texts(card_of(private))
    assert len(teams_fake.sent_to(group)) == 1 and teams_fake.sent_to(CHANNEL) == []


async def test_the_mention_is_stripped_and_other_markup_ignored(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    from bot.handlers.teams.answers import message_text

    activity = teams_fake.message("when am I <b>free</b> with <at>Ana</at> &amp; co?", user="29:ulla",
                                  mention=True)
    assert message_text(activity) == "when am I free with Ana & co?"


async def test_a_teams_user_is_their_own_slotbot_user(
        client: TestClient, teams_fake: FakeBotFramework) -> None:
    assert client.app is not None
    slack = await client.app[IDENTITIES].resolve("slack", "T0ACME", "U0ULLA", Profile(
        name="Ulla Jensen", email="ulla@example.com"))
    await say(client, teams_fake, "help", timezone="America/Sao_Paulo")
    teams_user = await user_of(client)
    assert teams_user != slack.user_id  # same e-mail address, never merged
    async with client.app[SESSIONS]() as session:
        user = await session.get(User, teams_user)
    assert user is not None and user.display_name == "Ulla Jensen"
    assert user.email == "ulla@example.com"  # from the member profile
    assert user.timezone == "America/Sao_Paulo"  # from clientInfo


async def test_free_time_across_connected_calendars(client: TestClient, teams_fake: FakeBotFramework) -> None:
    await say(client, teams_fake, "help", locale="da-DK", timezone="Europe/Copenhagen")
    await connect_local(client, await user_of(client))
    sent = await say(client, teams_fake, "hvornår er jeg ledig i næste uge?", locale="da-DK")
    shown = texts(card_of(sent))
    assert _said("da", "You're free at these times, {window}:") in shown
    assert _said("da", "Times are in {zone}.") in shown


def test_the_teams_catalogs_are_complete() -> None:
    from babel.messages.extract import extract_from_file
    from babel.messages.pofile import read_po

    from tests.support.paths import ROOT

    source = {m for _, m, _, _ in extract_from_file("python", str(ROOT / "bot/handlers/teams/texts.py"))}
    with (ROOT / "bot/locales/teams.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == source
    for locale in ("pt_BR", "da"):
        with (ROOT / f"bot/locales/{locale}/LC_MESSAGES/teams.po").open("rb") as handle:
            catalog: Any = read_po(handle, locale=locale)
        done = {m.id for m in catalog if m.id and m.string and not m.fuzzy}
        assert done == source, locale
