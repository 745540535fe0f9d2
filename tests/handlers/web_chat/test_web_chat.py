"""The web chat and the website widget through the running app (aiohttp test client).

The chat: sign-in required, the session's CSRF token required, the same answers as the conversation
core in English, Portuguese and Danish, the language selector, buttons, the page without JavaScript,
escaping. The widget: the public JSON API (opted-in pages give the link, others a polite refusal,
unknown pages a 404), CORS, rate and length limits, the script and the demo's customer site.
"""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from typing import Any

import pytest
from aiohttp.test_utils import TestClient
from babel.messages.extract import extract_from_file
from babel.messages.pofile import read_po
from sqlalchemy import func, select, update

from bot.conversation import dates
from bot.conversation.speaker import Speaker
from bot.demo.seed import DEMO_TIMEZONE
from bot.handlers.web_chat import visitor
from bot.handlers.web_chat.render import parts, reply_view
from bot.handlers.web_chat.texts import MAX_TEXT, MAX_VISITOR_TEXT
from bot.handlers.web_chat.widget import MESSAGES_PER_IP_PER_MINUTE
from bot.keys import CONVERSATION, SESSIONS, TOKENS
from storage.models import ChatIdentity, SchedulingPage, User
from tests.conftest import AppClient
from tests.support.chat_calendar import ZONE, free_ranges, known_tomorrow

QUESTIONS = [
    ("en", "when am I free tomorrow?", "en-US", "You're free at these times"),
    ("pt_BR", "quando estou livre amanhã?", "pt-BR", "Você está livre nestes horários"),
    ("da", "hvornår er jeg ledig i morgen?", "da-DK", "Du er ledig på disse tidspunkter"),
]


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_DEMO="true")


async def _sign_in(client: TestClient) -> tuple[int, str]:
    """Sign in as the demo host (the way /demo/chat does) and return its id and the CSRF token."""
    assert client.app is not None
    response = await client.get("/demo/chat", allow_redirects=False)
    assert response.status == 303
    landed = await client.get(response.headers["Location"])
    assert landed.status == 200 and landed.url.path == "/dashboard/chat"
    page = await landed.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf, page
    async with client.app[SESSIONS]() as session:
        user_id = (await session.execute(select(User.id).where(User.slug == "demo"))).scalar_one()
    return user_id, csrf.group(1)


async def _say(client: TestClient, csrf: str, **body: Any) -> Any:
    return await client.post("/dashboard/chat/messages", data=json.dumps(body),
                             headers={"Content-Type": "application/json", "X-CSRF-Token": csrf})


async def test_the_chat_needs_a_signed_in_user(client: TestClient) -> None:
    page = await client.get("/dashboard/chat")
    assert page.status == 401
    body = await page.text()
    assert "sign in" in body and 'href="/demo/chat"' in body and "chat.js" not in body
    api = await client.post("/dashboard/chat/messages", json={"text": "help"})
    assert api.status == 401 and "signed out" in (await api.json())["error"]
    form = await client.post("/dashboard/chat", data={"text": "help"})
    assert form.status == 401


async def test_csrf_is_required(client: TestClient) -> None:
    _, csrf = await _sign_in(client)
    for token in ("", "forged", csrf[:-1]):
        refused = await _say(client, token, text="help")
        assert refused.status == 403, token
        assert "expired" in (await refused.json())["error"]
    no_header = await client.post("/dashboard/chat/messages", json={"text": "help"})
    assert no_header.status == 403
    form = await client.post("/dashboard/chat", data={"text": "help", "csrf": "forged"})
    assert form.status == 403
    language = await client.post("/dashboard/chat/language", data={"language": "da"})
    assert language.status == 403
    accepted = await _say(client, csrf, text="help")
    assert accepted.status == 200


@pytest.mark.parametrize(("locale", "question", "tag", "heading"), QUESTIONS)
async def test_free_time_answers_as_the_core_does(client: TestClient, locale: str, question: str, tag: str,
                                                  heading: str) -> None:
    assert client.app is not None
    tomorrow = await known_tomorrow(client.app[SESSIONS])
    user_id, csrf = await _sign_in(client)
    response = await _say(client, csrf, text=question, lang=tag)
    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    reply = (await response.json())["reply"]
    assert reply["locale"] == locale
    core = await client.app[CONVERSATION].message(Speaker(user_id, locale, DEMO_TIMEZONE), question,
                                                  now=datetime.now(UTC))
    assert reply["text"] == core.plain_text()
    assert heading in reply["text"]
    section = next(b for b in reply["blocks"] if b["type"] == "section")
    assert section["heading"] == dates.day(tomorrow, locale)
    expected = [dates.hours(start, end, ZONE, locale) for start, end in free_ranges(tomorrow)]
    assert [line[0]["text"] for line in section["lines"]] == expected


async def test_the_browser_language_is_followed_and_accept_language_is_the_fallback(
        client: TestClient) -> None:
    await _sign_in(client)
    page = await client.get("/dashboard/chat", headers={"Accept-Language": "da-DK,da;q=0.9"})
    assert '<html lang="da">' in await page.text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', await page.text())
    assert csrf
    response = await client.post("/dashboard/chat/messages", data=json.dumps({"text": "help"}),
                                 headers={"X-CSRF-Token": csrf.group(1), "Accept-Language": "pt-BR"})
    assert "Veja o que posso fazer" in (await response.json())["reply"]["text"]


async def test_the_language_selector_overrides_the_browser_like_saying_language(client: TestClient) -> None:
    assert client.app is not None
    user_id, csrf = await _sign_in(client)
    chosen = await client.post("/dashboard/chat/language", data={"csrf": csrf, "language": "da"},
                               allow_redirects=False)
    assert chosen.status == 303 and chosen.headers["Location"] == "/dashboard/chat"
    reply = (await (await _say(client, csrf, text="help", lang="en-US")).json())["reply"]
    assert reply["locale"] == "da" and "Det kan jeg" in reply["text"]
    page = await (await client.get("/dashboard/chat")).text()
    assert '<option value="da" lang="da" selected>' in page and "Chat med Slotbot" in page
    # Saying it works the same way, and "auto" hands the choice back to the browser.
    said = await (await _say(client, csrf, text="language pt", lang="en-US")).json()
    assert said["reply"]["locale"] == "pt_BR" and said["language"] == "pt_BR"
    await client.post("/dashboard/chat/language", data={"csrf": csrf, "language": "auto"})
    reply = (await (await _say(client, csrf, text="help", lang="en-US")).json())["reply"]
    assert reply["locale"] == "en" and "Here is what I can do" in reply["text"]
    async with client.app[SESSIONS]() as session:
        identities = (await session.execute(select(ChatIdentity))).scalars().all()
        users = (await session.execute(select(func.count(User.id)))).scalar_one()
    assert [(i.channel, i.tenant, i.external_id, i.user_id) for i in identities] == [
        ("web", "", str(user_id), user_id)]
    assert users == 1  # chatting on the web never creates a user


async def test_share_my_link_is_ready_to_copy_and_buttons_post_back(client: TestClient) -> None:
    _, csrf = await _sign_in(client)
    reply = (await (await _say(client, csrf, text="share my link")).json())["reply"]
    share = next(b for b in reply["blocks"] if b["type"] == "share")
    assert share["text"] == "Book a time with Demo Host: http://127.0.0.1:8080/meetings/demo"
    assert share["copy"] == "Copy"
    opened = next(b for b in reply["blocks"] if b["type"] == "link")
    assert opened["url"] == "http://127.0.0.1:8080/meetings/demo"
    first = next(b for b in reply["blocks"] if b["type"] == "text")
    assert {"link": "http://127.0.0.1:8080/meetings/demo"} in first["parts"]
    settings = (await (await _say(client, csrf, action="settings", value="")).json())["reply"]
    sign_in = next(b for b in settings["blocks"] if b["type"] == "link")
    assert "/dashboard/login?token=" in sign_in["url"]
    stale = (await (await _say(client, csrf, action="no-such-button", value="")).json())["reply"]
    assert "no longer does anything" in stale["text"]
    command = (await (await _say(client, csrf, text="/meet pages")).json())["reply"]
    assert "Intro call" in command["text"]


async def test_the_page_works_without_javascript_and_escapes_everything(client: TestClient) -> None:
    await known_tomorrow(client.app[SESSIONS])  # type: ignore[index]
    _, csrf = await _sign_in(client)
    page = await (await client.get("/dashboard/chat")).text()
    assert re.search(r'<script src="/static/chat\.js\?v=[0-9a-f]+" defer></script>', page)
    assert 'action="/dashboard/chat"' in page and 'name="text"' in page
    answered = await client.post("/dashboard/chat", data={"csrf": csrf, "text": "when am I free tomorrow?"})
    body = await answered.text()
    assert answered.status == 200 and "You&#39;re free at these times" in body
    assert "<p>when am I free tomorrow?</p>" in body
    hostile = await client.post("/dashboard/chat",
                                data={"csrf": csrf, "text": "<script>alert(1)</script>"})
    html = await hostile.text()
    assert "<script>alert(1)</script>" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    link = await (await client.post("/dashboard/chat", data={"csrf": csrf, "text": "share my link"})).text()
    assert '<textarea readonly rows="2"' in link
    assert "Book a time with Demo Host: http://127.0.0.1:8080" in link
    button = await client.post("/dashboard/chat", data={"csrf": csrf, "action": "settings", "value": ""})
    assert "/dashboard/login?token=" in await button.text()
    assert "Content-Security-Policy" in answered.headers and "'unsafe-inline'" not in (
        answered.headers["Content-Security-Policy"])


async def test_long_messages_and_bad_json_are_refused(client: TestClient) -> None:
    _, csrf = await _sign_in(client)
    long = await _say(client, csrf, text="x" * (MAX_TEXT + 1))
    assert long.status == 400 and str(MAX_TEXT) in (await long.json())["error"]
    broken = await client.post("/dashboard/chat/messages", data="{not json",
                               headers={"X-CSRF-Token": csrf})
    assert broken.status == 400
    wrong = await _say(client, csrf, text=["help"])
    assert wrong.status == 400
    form = await client.post("/dashboard/chat", data={"csrf": csrf, "text": "x" * (MAX_TEXT + 1)})
    assert form.status == 400


# --- the website widget -------------------------------------------------------------------------

async def _visit(client: TestClient, **body: Any) -> Any:
    return await client.post("/widget/messages", data=json.dumps(body),
                             headers={"Content-Type": "application/json", "Origin": "https://customer.example"})


@pytest.mark.parametrize(("text", "lang", "locale", "opening", "button"), [
    ("can I book a meeting?", "en-US", "en", "Of course!", "Book here"),
    ("quero marcar uma reunião", "pt-BR", "pt_BR", "Claro!", "Agendar aqui"),
    ("kan jeg booke et møde?", "da", "da", "Selvfølgelig!", "Book her"),
    ("quero marcar uma reunião", "en-US", "pt_BR", "Claro!", "Agendar aqui"),  # the words tell
])
async def test_an_opted_in_page_gives_the_link_in_the_visitors_language(
        client: TestClient, text: str, lang: str, locale: str, opening: str, button: str) -> None:
    response = await _visit(client, page="demo/intro", text=text, lang=lang)
    assert response.status == 200
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "Set-Cookie" not in response.headers
    data = await response.json()
    assert data["locale"] == locale and data["title"] == "Intro call"
    assert data["reply"]["text"].startswith(opening)
    book = next(b for b in data["reply"]["blocks"] if b["type"] == "book")
    assert book["label"] == button and book["url"] == "http://127.0.0.1:8080/meetings/demo"
    page_lang = {"en": "en", "pt_BR": "pt", "da": "da"}[locale]
    assert book["embed"] == f"http://127.0.0.1:8080/meetings/demo?embed=1&lang={page_lang}"
    assert any(b["type"] == "chips" for b in data["reply"]["blocks"])  # the next free times
    assert data["labels"]["send"]


async def test_the_embedded_page_may_be_framed_and_others_may_not(client: TestClient) -> None:
    data = await (await _visit(client, page="demo/intro", text="book a meeting")).json()
    embed = next(b for b in data["reply"]["blocks"] if b["type"] == "book")["embed"]
    framed = await client.get(embed.removeprefix("http://127.0.0.1:8080"))
    assert framed.status == 200 and "frame-ancestors *" in framed.headers["Content-Security-Policy"]
    plain = await client.get("/meetings/demo")
    assert "frame-ancestors 'self'" in plain.headers["Content-Security-Policy"]


async def test_greeting_help_and_free_times(client: TestClient) -> None:
    hello = await (await _visit(client, page="demo/intro", text="", lang="da")).json()
    assert hello["reply"]["text"].startswith("Hej!") and hello["labels"]["close"] == "Luk"
    free = await (await _visit(client, page="demo", text="when is Demo Host available?")).json()
    assert free["reply"]["text"].startswith("Here is when Demo Host is free")
    lost = await (await _visit(client, page="demo/intro", text="ok", lang="pt")).json()
    assert "posso marcar uma reunião?" in lost["reply"]["text"]
    assert any(b["type"] == "book" for b in lost["reply"]["blocks"])


async def test_a_page_not_offered_in_the_widget_is_refused_politely(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(in_widget=False))
    response = await _visit(client, page="demo/intro", text="can I book a meeting?")
    assert response.status == 403
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    data = await response.json()
    assert data["error"].startswith("Sorry, Demo Host does not take bookings through this chat")
    assert not any(b["type"] == "book" for b in data["reply"]["blocks"])
    framed = await client.get("/meetings/demo/intro?embed=1")
    assert "frame-ancestors 'self'" in framed.headers["Content-Security-Policy"]


async def test_a_switched_off_page_says_so(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(enabled=False))
    data = await (await _visit(client, page="demo/intro", text="can I book a meeting?")).json()
    assert data["reply"]["text"] == "Demo Host is not taking bookings right now. Please try again later."


@pytest.mark.parametrize("page", ["demo/nope", "nobody/intro", "nobody", "demo/intro/extra", "/"])
async def test_unknown_pages_get_a_clear_error(client: TestClient, page: str) -> None:
    response = await _visit(client, page=page, text="can I book a meeting?")
    assert response.status == 404
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert "There is no scheduling page" in (await response.json())["error"]


async def test_cors_preflight_and_malformed_requests(client: TestClient) -> None:
    preflight = await client.options("/widget/messages", headers={
        "Origin": "https://customer.example", "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type"})
    assert preflight.status == 204
    assert preflight.headers["Access-Control-Allow-Origin"] == "*"
    assert "POST" in preflight.headers["Access-Control-Allow-Methods"]
    assert preflight.headers["Access-Control-Allow-Headers"].lower() == "content-type"
    assert "Access-Control-Allow-Credentials" not in preflight.headers
    for body in ("{oops", json.dumps(["demo/intro"]), json.dumps({"text": "hi"}),
                 json.dumps({"page": "demo/intro", "text": 3})):
        bad = await client.post("/widget/messages", data=body)
        assert bad.status == 400, body
        assert bad.headers["Access-Control-Allow-Origin"] == "*"
    huge = await client.post("/widget/messages", data=json.dumps({"page": "demo/intro", "text": "x" * 5000}))
    assert huge.status == 413


async def test_long_visitor_messages_are_refused(client: TestClient) -> None:
    response = await _visit(client, page="demo/intro", text="x" * (MAX_VISITOR_TEXT + 1), lang="da")
    assert response.status == 400
    error = (await response.json())["error"]
    assert error == f"Beskeden er for lang: hold den under {MAX_VISITOR_TEXT} tegn."
    fits = await _visit(client, page="demo/intro", text="x" * MAX_VISITOR_TEXT)
    assert fits.status == 200


async def test_visitors_are_rate_limited_per_ip(client: TestClient) -> None:
    for _ in range(MESSAGES_PER_IP_PER_MINUTE):
        assert (await _visit(client, page="demo/intro", text="hi")).status == 200
    limited = await _visit(client, page="demo/intro", text="hi", lang="pt")
    assert limited.status == 429
    assert limited.headers["Retry-After"] == "60" and limited.headers["Access-Control-Allow-Origin"] == "*"
    assert "Espere um minuto" in (await limited.json())["error"]


async def test_the_script_and_the_demo_customer_site(client: TestClient) -> None:
    script = await client.get("/widget.js?page=demo/intro")
    assert script.status == 200 and script.content_type == "text/javascript"
    assert script.headers["Cross-Origin-Resource-Policy"] == "cross-origin"
    source = await script.text()
    assert "attachShadow" in source and "/widget/messages" in source and "innerHTML" not in source
    site = await (await client.get("/demo/site")).text()
    assert '<script src="http://127.0.0.1:8080/widget.js?page=demo/intro" async></script>' in site
    assert "&lt;script src=&#34;http://127.0.0.1:8080/widget.js?page=demo/intro&#34; async&gt;" in site
    start = await (await client.get("/")).text()
    assert 'href="/demo/chat"' in start and 'href="/demo/site"' in start


async def test_demo_pages_exist_only_in_the_demo(app_client: AppClient) -> None:
    client = await app_client()
    assert (await client.get("/demo/site")).status == 404
    assert (await client.get("/demo/chat")).status == 404
    assert (await client.get("/widget.js")).status == 200
    assert (await client.get("/dashboard/chat")).status == 401


async def test_a_signed_in_host_who_is_not_the_demo_host(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        other = User(display_name="Ana Sá", slug="ana", timezone="America/Sao_Paulo", locale="pt_BR")
        session.add(other)
        await session.flush()
        other_id = other.id
    token = await client.app[TOKENS].login_link_token(other_id)
    await client.get(f"/dashboard/login?token={token}&next=/dashboard/chat")
    page = await (await client.get("/dashboard/chat", headers={"Accept-Language": "pt-BR"})).text()
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    assert csrf and "Converse com o Slotbot" in page
    reply = (await (await _say(client, csrf.group(1), text="quando estou livre amanhã?",
                               lang="pt-BR")).json())["reply"]
    assert reply["text"].startswith("Você ainda não tem nenhuma agenda conectada")


# --- pure parts ---------------------------------------------------------------------------------

@pytest.mark.parametrize(("text", "kind", "language"), [
    ("can I book a meeting?", "book", "en"),
    ("quero marcar uma reunião", "book", "pt_BR"),
    ("kan jeg booke et møde?", "book", "da"),
    ("I'd like to schedule a call", "book", "en"),
    ("posso agendar uma conversa?", "book", "pt_BR"),
    ("when is she available?", "free", "en"),
    ("quando ela está disponível?", "free", "pt_BR"),
    ("hvornår er hun ledig?", "free", "da"),
    ("hej", "greeting", "da"),
    ("olá", "greeting", "pt_BR"),
    ("", "greeting", None),
    ("help", "help", "en"),
    ("asdf", "help", None),
])
def test_visitor_intents_and_their_language(text: str, kind: str, language: str | None) -> None:
    assert visitor.understand(text) == visitor.VisitorIntent(kind, language)


def test_links_in_texts_and_only_web_links() -> None:
    assert parts("Book: https://x.example/meetings/a. Thanks") == [
        {"text": "Book: "}, {"link": "https://x.example/meetings/a"}, {"text": ". Thanks"}]
    assert parts("javascript:alert(1) <b>") == [{"text": "javascript:alert(1) <b>"}]
    from bot.conversation.reply import Button, Reply
    view = reply_view(Reply((Button("Evil", url="javascript:alert(1)"), Button("Nothing"))), "en")
    assert view["blocks"] == []


def test_the_web_chat_catalogs_are_complete() -> None:

    from tests.support.paths import ROOT as root
    sources = sorted((root / "bot" / "handlers" / "web_chat").glob("*.py"))
    found = {message for path in sources for _, message, _, _ in extract_from_file("python", str(path))}
    assert len(found) > 30
    with (root / "bot" / "locales" / "web_chat.pot").open("rb") as handle:
        assert {m.id for m in read_po(handle) if m.id} == found, (
            "run the recipe in bot/handlers/web_chat/texts.py")
    placeholder = re.compile(r"\{(\w*)\}")
    for locale in ("en", "pt_BR", "da"):
        with (root / "bot" / "locales" / locale / "LC_MESSAGES" / "web_chat.po").open("rb") as handle:
            catalog = read_po(handle, locale=locale)
        assert {m.id for m in catalog if m.id} == found, locale
        if locale == "en":
            continue
        for message in catalog:
            if message.id:
                assert message.string and not message.fuzzy, (locale, message.id)
                assert sorted(placeholder.findall(str(message.string))) == sorted(
                    placeholder.findall(str(message.id))), (locale, message.id)
