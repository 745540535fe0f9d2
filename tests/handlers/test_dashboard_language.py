"""The dashboard speaks the host's language: chosen in chat, else their chat account's, else the
browser's, else English; ``<html lang>`` says which."""

from __future__ import annotations

import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import update

from bot.handlers.dashboard_base import browser_locale, choose_locale
from bot.keys import SESSIONS
from storage.models import ChatIdentity, User
from tests.conftest import AppClient
from tests.support.signing_in import add_user, sign_in


async def _host(client: TestClient, *, account: str = "en", chosen: str | None = None) -> int:
    """A signed-in host whose chat account says ``account``, with ``chosen`` set in chat."""
    assert client.app is not None
    user_id = await add_user(client, "lena", "lena@example.com")
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).where(User.id == user_id).values(locale=account))
        session.add(ChatIdentity(user_id=user_id, channel="slack", tenant="T1", external_id="U1",
                                 locale=chosen))
    await sign_in(client, user_id)
    return user_id


def _lang(page: str) -> str:
    found = re.search(r'<html lang="([^"]+)">', page)
    assert found, page
    return found.group(1)


async def test_a_host_who_chose_portuguese_in_chat_reads_the_dashboard_in_portuguese(
        app_client: AppClient) -> None:
    client = await app_client()
    await _host(client, account="da", chosen="pt_BR")
    page = await (await client.get("/dashboard", headers={"Accept-Language": "da"})).text()
    assert _lang(page) == "pt-BR"
    assert "<h1>Painel de reuniões</h1>" in page
    assert "Calendários conectados" in page and "Sair" in page and "Contatos" in page
    assert "Connected calendars" not in page and "Sign out" not in page


async def test_the_browser_decides_when_nothing_else_does(app_client: AppClient) -> None:
    client = await app_client()
    await _host(client)
    page = await (await client.get("/dashboard", headers={"Accept-Language": "da-DK,en;q=0.5"})).text()
    assert _lang(page) == "da"
    assert "<h1>Mødeoversigt</h1>" in page and "Forbind en kalender" in page and "Log ud" in page
    english = await (await client.get("/dashboard", headers={"Accept-Language": "fr,en;q=0.8"})).text()
    assert _lang(english) == "en" and "<h1>Meetings dashboard</h1>" in english


async def test_the_chat_account_language_wins_over_the_browser(app_client: AppClient) -> None:
    client = await app_client()
    await _host(client, account="da")
    page = await (await client.get("/dashboard/contacts", headers={"Accept-Language": "pt-BR"})).text()
    assert _lang(page) == "da" and "Kontakter" in page


async def test_refusals_and_notices_speak_the_language_too(app_client: AppClient) -> None:
    client = await app_client()
    await _host(client, chosen="pt_BR")
    expired = await client.post("/dashboard/sync", data={"csrf": "wrong", "enabled": "on"})
    assert expired.status == 403
    text = await expired.text()
    assert "O formulário expirou" in text and "Voltar ao seu painel" in text and _lang(text) == "pt-BR"
    notice = await (await client.get("/dashboard?notice=sync-off")).text()
    assert "A sincronização de calendário está desativada." in notice
    fresh = await app_client()
    refused = await fresh.get("/dashboard", headers={"Accept-Language": "da"})
    assert refused.status == 401 and "Log ind" in await refused.text()


@pytest.mark.parametrize(("header", "locale"), [
    ("da", "da"), ("pt-PT,en;q=0.1", "pt_BR"), ("en;q=0.4, da;q=0.9", "da"), ("fr, de", "en"),
    ("", "en"), (None, "en"), ("da;q=0, pt", "pt_BR"), ("da;q=x", "en"),
])
def test_the_browser_language(header: str | None, locale: str) -> None:
    assert browser_locale(header) == locale


def test_the_order_of_the_choice() -> None:
    assert choose_locale("da", "pt_BR", "en") == "da"
    assert choose_locale(None, "pt_BR", "da") == "pt_BR"
    assert choose_locale(None, "en", "da") == "da"  # English is also the account's default
    assert choose_locale(None, None, None) == "en"


async def test_contacts_and_tasks_speak_portuguese_with_plurals(app_client: AppClient) -> None:
    client = await app_client()
    await _host(client, chosen="pt_BR")
    empty = await (await client.get("/dashboard/contacts")).text()
    assert "Nenhum contato ainda." in empty and "Adicionar um contato" in empty
    tasks = await (await client.get("/dashboard/tasks?notice=added")).text()
    assert "Tarefa adicionada." in tasks and "Adicionar uma tarefa" in tasks and "A fazer" in tasks
    form = await (await client.get("/dashboard/contacts/import")).text()
    assert "Importar contatos de um arquivo CSV" in form and "<strong>email</strong>" in form


async def test_the_scheduling_pages_list_speaks_danish(app_client: AppClient) -> None:
    client = await app_client()
    await _host(client, account="da")
    page = await (await client.get("/dashboard/pages")).text()
    assert _lang(page) == "da"
    assert "<h1>Bookingsider</h1>" in page and "Din adresse" in page
    assert "Dine sider tager imod bookinger." in page


async def test_the_demo_free_time_page_speaks_the_language_asked(app_client: AppClient) -> None:
    client = await app_client(seed_demo=True, SLOTBOT_DEMO="1")
    danish = await (await client.get("/demo/free?lang=da&days=2")).text()
    assert '<html lang="da">' in danish and "Hvornår har Demo Host tid?" in danish
    assert "<th scope=\"col\">Ledig</th>" in danish
    english = await (await client.get("/demo/free?lang=xx")).text()
    assert '<html lang="en">' in english and "When is Demo Host free?" in english
