"""Chat notices: rendered in each language and zone, delivered through registered channels by the
outbox, once per identity; calendar_lost and calendar_connected raised where they happen."""

from __future__ import annotations

import asyncio
import json
import re
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.identities import Identities, Profile
from bot.calendar.base import ProviderRegistry
from bot.calendar.local import local_factory
from bot.conversation.core import notice_reply
from bot.conversation.reply import Fields, Reply, Text
from bot.keys import CHAT_NOTIFIER, CONVERSATION, IDENTITIES, SESSIONS
from bot.notices.chat import NOTICE_KIND, ChatNotifier, enqueue_notice
from bot.notices.outbox import OutboxWorker
from bot.scheduling.scheduler import Scheduler
from storage.crypto import SecretBox
from storage.models import ChatIdentity, OutboxMessage, User
from tests.conftest import AppClient
from tests.support.conversation_world import BROKEN_ICS, HOME_ICS, World, add_calendars, make_world

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle

pytest_plugins = ["tests.fakes.google"]

START = "2026-03-27T13:00:00+00:00"  # 14:00 in Copenhagen, 10:00 in São Paulo
PREVIOUS = "2026-03-26T09:30:00+00:00"
BOOKING = {"visitor_name": "Rui Costa", "visitor_email": "rui@example.com", "title": "Intro call",
           "start": START, "status": "confirmed"}


def flat(reply: Reply) -> str:
    return reply.plain_text().replace("\u202f", " ").replace("\u2009", " ")


RENDERED = [
    ("booking_created", BOOKING, "en", "Europe/Copenhagen",
     "New booking: Intro call with Rui Costa on Fri, Mar 27 at 2:00 PM."),
    ("booking_created", BOOKING, "pt_BR", "America/Sao_Paulo",
     "Novo agendamento: Intro call com Rui Costa em sex., 27 de mar. às 10:00."),
    ("booking_created", BOOKING, "da", "Europe/Copenhagen",
     "Ny booking: Intro call med Rui Costa fre. 27. mar. kl. 14.00."),
    ("booking_created", {**BOOKING, "status": "requested"}, "en", "Europe/Copenhagen",
     "New booking request: Rui Costa asked for Intro call on Fri, Mar 27 at 2:00 PM. No calendar is "
     "connected, so nothing was added to a calendar: write to rui@example.com to confirm."),
    ("booking_cancelled", {"visitor_name": "Rui", "title": "Intro call", "start": START}, "pt_BR",
     "Europe/Copenhagen", "Rui cancelou Intro call de sex., 27 de mar. às 14:00."),
    ("booking_rescheduled", {"visitor_name": "Rui", "title": "Intro call", "start": START,
                             "previous_start": PREVIOUS}, "da", "Europe/Copenhagen",
     "Rui har flyttet Intro call fra tors. 26. mar. kl. 10.30 til fre. 27. mar. kl. 14.00."),
    ("booking_blocked", {"visitor_name": "Rui", "visitor_email": "rui@example.com",
                         "title": "Intro call", "start": ""}, "en", "UTC",
     "Rui (rui@example.com) wanted to book Intro call, but booking is paused because one of your "
     "calendars cannot be read.\n\nReconnect or remove that calendar (say “settings”), then get back "
     "to them."),
    ("booking_blocked", {"visitor_name": "Rui", "visitor_email": "rui@example.com",
                         "title": "Intro call", "start": START}, "pt_BR", "America/Sao_Paulo",
     "Rui (rui@example.com) tentou agendar Intro call em sex., 27 de mar. às 10:00, mas os "
     "agendamentos estão pausados porque uma das suas agendas não pode ser lida.\n\nReconecte ou "
     "remova essa agenda (diga “configurações”) e depois responda a essa pessoa."),
    ("calendar_lost", {"calendar": "Work", "reason": "access_lost"}, "da", "Europe/Copenhagen",
     "Jeg kan ikke længere læse Work (adgang mistet). Indtil det er løst, kan ingen booke dig.\n\n"
     "Skriv “indstillinger” for at forbinde den igen, eller “afbryd” for at fjerne den."),
    ("calendar_lost", {"calendar": "ana@example.com", "reason": "needs_reauth"}, "en", "UTC",
     "I can no longer read ana@example.com (needs reconnecting). Until this is fixed, nobody can "
     "book you.\n\nSay “settings” to reconnect it, or “disconnect” to remove it."),
    ("calendar_connected", {"account": "ana@example.com", "provider": "google"}, "pt_BR", "UTC",
     "ana@example.com (Google Agenda) conectada. Verifico a agenda principal dela para conflitos; "
     "diga “agendas” para ver todas."),
]


@pytest.mark.parametrize(("notice", "params", "locale", "zone", "expected"), RENDERED)
def test_notices_in_each_language_and_zone(notice: str, params: dict[str, str], locale: str,
                                           zone: str, expected: str) -> None:
    reply = notice_reply(notice, params, locale=locale, timezone=zone)
    first = reply.blocks[0]
    assert isinstance(first, Text)
    text = "\n\n".join(b.text for b in reply.blocks if isinstance(b, Text))
    assert text.replace("\u202f", " ").replace("\u2009", " ") == expected
    assert reply.private


def test_a_new_booking_lists_who_and_when() -> None:
    reply = notice_reply("booking_created", BOOKING, locale="da", timezone="Europe/Copenhagen")
    fields = [b for b in reply.blocks if isinstance(b, Fields)]
    assert fields[0].pairs == (("Hvem", "Rui Costa <rui@example.com>"),
                               ("Hvornår", "fre. 27. mar. kl. 14.00"))


def test_unknown_notices_and_bad_parameters_are_refused() -> None:
    with pytest.raises(KeyError):
        notice_reply("booking_exploded", {}, locale="en", timezone="UTC")
    with pytest.raises(KeyError):
        notice_reply("booking_cancelled", {"title": "x", "start": START}, locale="en", timezone="UTC")
    with pytest.raises(ValueError):
        notice_reply("booking_cancelled", {"visitor_name": "a", "title": "x", "start": "soon"},
                     locale="en", timezone="UTC")
    with pytest.raises(ValueError):
        notice_reply("booking_cancelled", {"visitor_name": "a", "title": "x",
                                           "start": "2026-03-27T13:00:00"}, locale="en", timezone="UTC")


class Recorder:
    """A channel's deliver function that records what it was asked to send (the channel boundary)."""

    def __init__(self, failures: int = 0) -> None:
        self.sent: list[tuple[str, str, str]] = []
        self.failures = failures

    async def __call__(self, identity: ChatIdentity, reply: Reply) -> None:
        if self.failures:
            self.failures -= 1
            raise ConnectionError("channel down")
        self.sent.append((identity.channel, identity.external_id, flat(reply)))


async def _user(sessions: async_sessionmaker[AsyncSession]) -> tuple[Identities, int]:
    identities = Identities(sessions)
    slack = await identities.resolve("slack", "T1", "U1", Profile(
        name="Ana", timezone="America/Sao_Paulo", locale="en"))
    await identities.resolve("teams", "tenant", "ana-teams", None)  # someone else
    async with sessions() as session, session.begin():
        session.add(ChatIdentity(user_id=slack.user_id, channel="web", tenant="", external_id="w1"))
    return identities, slack.user_id


async def _notify(sessions: async_sessionmaker[AsyncSession], user_id: int, notice: str,
                  params: dict[str, str]) -> None:
    async with sessions() as session, session.begin():
        enqueue_notice(session, user_id, notice, params)


async def test_delivered_to_registered_channels_in_the_identitys_language_and_users_zone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities, user_id = await _user(sessions)
    await identities.set_language(user_id, "pt_BR")
    notifier = ChatNotifier(sessions)
    slack = Recorder()
    notifier.register("slack", slack)
    with pytest.raises(ValueError, match="already registered"):
        notifier.register("slack", slack)
    worker = OutboxWorker(sessions, {NOTICE_KIND: notifier.handle})
    await _notify(sessions, user_id, "booking_cancelled",
                  {"visitor_name": "Rui", "title": "Intro call", "start": START})
    assert await worker.run_once() == 1
    # web is not registered here: skipped; São Paulo time, Portuguese (the override).
    assert slack.sent == [("slack", "U1", "Rui cancelou Intro call de sex., 27 de mar. às 10:00.")]
    async with sessions() as session:
        statuses = (await session.execute(select(OutboxMessage.status))).scalars().all()
    assert statuses == ["done"]


async def test_each_identity_gets_the_notice_once_even_when_a_channel_fails(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, user_id = await _user(sessions)
    notifier = ChatNotifier(sessions)
    slack, web = Recorder(), Recorder(failures=1)
    notifier.register("slack", slack)
    notifier.register("web", web)
    worker = OutboxWorker(sessions, {NOTICE_KIND: notifier.handle}, base_delay=0.0)
    await _notify(sessions, user_id, "calendar_connected",
                  {"account": "ana@example.com", "provider": "microsoft"})
    await worker.run_once()
    expected = "Connected ana@example.com (Microsoft 365). I check its main calendar for conflicts; " \
               "say “calendars” to see them all."
    assert slack.sent == [("slack", "U1", expected)]
    assert web.sent == [("web", "w1", expected)]
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [(r.status, r.attempts) for r in rows] == [("done", 1), ("done", 1), ("done", 2)]
    assert all(r.dedupe_key for r in rows[1:])


async def test_a_notice_leaves_only_with_its_transaction_and_bad_ones_are_dead(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    _, user_id = await _user(sessions)
    with pytest.raises(ValueError, match="unknown notice"):
        async with sessions() as session, session.begin():
            enqueue_notice(session, user_id, "nonsense", {})
    with pytest.raises(RuntimeError):
        async with sessions() as session, session.begin():
            enqueue_notice(session, user_id, "calendar_lost", {"calendar": "Work", "reason": "x"})
            raise RuntimeError("the business change failed")
    async with sessions() as session:
        assert (await session.execute(select(OutboxMessage))).first() is None
    notifier = ChatNotifier(sessions)
    notifier.register("slack", Recorder())
    worker = OutboxWorker(sessions, {NOTICE_KIND: notifier.handle})
    await _notify(sessions, user_id, "booking_cancelled", {"visitor_name": "Rui"})  # no start
    async with sessions() as session, session.begin():
        session.add(OutboxMessage(kind=NOTICE_KIND, payload={"notice": "calendar_lost"}))
        enqueue_notice(session, 999_999, "calendar_lost", {"calendar": "Work", "reason": "x"})
    await worker.run_once()
    async with sessions() as session:
        rows = (await session.execute(select(OutboxMessage).order_by(OutboxMessage.id))).scalars().all()
    assert [r.status for r in rows] == ["dead", "dead", "done"]  # the unknown user: nothing to do


async def test_a_lost_calendar_is_told_in_chat_once_per_incident(
    sessions: async_sessionmaker[AsyncSession], secrets: SecretBox, make_settings: Any
) -> None:
    world: World = await make_world(sessions, secrets, make_settings)
    await add_calendars(world, secrets, {"Work": BROKEN_ICS, "Home": HOME_ICS})
    registry = ProviderRegistry()
    registry.register("local", local_factory(lambda: sessions))
    scheduler = Scheduler(sessions, registry, secrets, cache_seconds=0)
    start = datetime(2026, 3, 27, tzinfo=UTC)
    for _ in range(3):
        answer = await scheduler.availability(world.speaker.user_id, start=start,
                                              end=start + timedelta(days=1), now=start)
        assert [p.name for p in answer.problems] == ["Work"]
    notifier = ChatNotifier(sessions)
    slack = Recorder()
    notifier.register("slack", slack)
    worker = OutboxWorker(sessions, {NOTICE_KIND: notifier.handle, "email.send": _ignore})
    await worker.run_once()
    assert slack.sent == [("slack", "U1", "I can no longer read Work (access lost). Until this is "
                                          "fixed, nobody can book you.\n\nSay “settings” to reconnect "
                                          "it, or “disconnect” to remove it.")]


async def _ignore(payload: dict[str, Any]) -> None:
    return None


async def test_connect_from_chat_to_the_confirmation_in_chat(
    app_client: AppClient, google_fake: FakeGoogle, google_insecure_transport: None,
) -> None:
    client = await app_client(own_address=True, **google_fake.env())
    google_fake.redirect_uris = {str(client.make_url("/oauth/google/callback"))}
    assert client.app is not None
    app = client.app
    web = Recorder()
    app[CHAT_NOTIFIER].register("web", web)
    speaker = await app[IDENTITIES].resolve("web", "", "browser-1", Profile(
        name="Host", email=google_fake.account_email, timezone="Europe/Copenhagen", locale="pt-BR"))

    reply = await app[CONVERSATION].message(speaker, "conectar minha agenda do Google",
                                            now=datetime.now(UTC))
    button = next(b for b in reply.blocks if getattr(b, "url", None))
    link = urlsplit(button.url or "")
    signed_in = await client.get(f"{link.path}?{link.query}", allow_redirects=False)
    assert signed_in.status == 303 and signed_in.headers["Location"] == "/dashboard/connect/google"
    page = await (await client.get("/dashboard/connect/google")).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, page
    started = await client.post("/dashboard/connect/google", data={"csrf": csrf.group(1)},
                                allow_redirects=False)
    callback = urlsplit(google_fake.consent(started.headers["Location"]))
    landed = await client.get(f"{callback.path}?{callback.query}", allow_redirects=False)
    assert landed.status == 303

    for _ in range(100):
        if web.sent:
            break
        await asyncio.sleep(0.05)
    assert web.sent == [("web", "browser-1", f"{google_fake.account_email} (Google Agenda) conectada. "
                         "Verifico a agenda principal dela para conflitos; diga “agendas” para ver "
                         "todas.")]
    async with app[SESSIONS]() as session:
        user = await session.get(User, speaker.user_id)
        kinds = (await session.execute(select(OutboxMessage.kind, OutboxMessage.payload))).all()
    assert user is not None
    assert [json.dumps(p["params"], sort_keys=True) for k, p in kinds if k == NOTICE_KIND] == [
        json.dumps({"account": google_fake.account_email, "provider": "google"}, sort_keys=True)]
