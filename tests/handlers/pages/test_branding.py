"""Host branding: a page colour as a readable accent, the host in the header, the favicon, and a
custom domain's root and 404 pages leading somewhere."""

from __future__ import annotations

import colorsys
import re

import pytest
from aiohttp.test_utils import TestClient
from sqlalchemy import select, update

from bot.keys import DOMAINS, SESSIONS
from bot.pages.theme import (
    MIN_CONTRAST,
    PAGE_BACKGROUND,
    accent_theme,
    contrast,
    parse_hex,
    readable_shade,
    text_on,
    theme_css,
)
from storage.models import CustomDomain, SchedulingPage, User
from tests.conftest import AppClient

CUSTOM = {"Host": "meet.example.com"}


@pytest.fixture
async def client(app_client: AppClient) -> TestClient:
    return await app_client(seed_demo=True, SLOTBOT_BASE_URL="http://slotbot.test")


def test_contrast_follows_wcag() -> None:
    assert contrast("#ffffff", "#000000") == pytest.approx(21.0)
    assert contrast("#777777", "#ffffff") == pytest.approx(4.48, abs=0.01)
    assert contrast("#2358c4", "#2358c4") == pytest.approx(1.0)


@pytest.mark.parametrize("given", ["#ffd400", "#00ff00", "#ffffff", "#87ceeb", "#ff69b4", "#777777"])
def test_a_light_colour_is_darkened_until_it_reads_keeping_its_hue(given: str) -> None:
    shade = readable_shade(given)
    assert shade != given
    assert contrast(shade, PAGE_BACKGROUND) >= MIN_CONTRAST
    assert contrast(shade, "#ffffff") >= MIN_CONTRAST  # white button text on it reads too
    assert contrast(shade, PAGE_BACKGROUND) < MIN_CONTRAST + 0.2  # darkened just enough
    def hue(c: str) -> float:
        return colorsys.rgb_to_hls(*(int(c[i:i + 2], 16) / 255 for i in (1, 3, 5)))[0]
    if given not in ("#ffffff", "#777777"):
        assert hue(shade) == pytest.approx(hue(given), abs=0.02)


@pytest.mark.parametrize("given", ["#2358c4", "#1d2330", "#7a1fa2", "#000000"])
def test_a_dark_colour_is_kept(given: str) -> None:
    assert readable_shade(given) == given


def test_text_on_any_colour_reads() -> None:
    for red in range(0, 256, 17):
        for green in range(0, 256, 17):
            for blue in range(0, 256, 51):
                colour = f"#{red:02x}{green:02x}{blue:02x}"
                assert contrast(colour, text_on(colour)) >= MIN_CONTRAST, colour
    assert text_on("#ffd400") == "#1d2330" and text_on("#2358c4") == "#ffffff"
    assert text_on("#0077ff") == "#000000"  # neither white nor the ink reach 4.5 on it


def test_colours_are_parsed_strictly() -> None:
    assert parse_hex("#FFD400") == "#ffd400" and parse_hex("2358c4") == "#2358c4"
    for bad in ("red", "#fff", "#12345g", "#1234567", "", "url(x)"):
        assert parse_hex(bad) is None
    theme = accent_theme("#ffd400")
    assert theme_css("#ffd400") == (f":root{{--accent:{theme.accent};--accent-raw:#ffd400;"
                                     f"--on-accent-raw:{theme.on_raw}}}\n")


async def test_the_theme_sheet_is_the_readable_accent_cached_for_long(client: TestClient) -> None:
    sheet = await client.get("/meetings-theme/ffd400.css")
    assert sheet.status == 200 and sheet.content_type == "text/css"
    assert await sheet.text() == theme_css("#ffd400")
    assert "max-age=31536000" in sheet.headers["Cache-Control"]
    for bad in ("FFD400.css", "ffd40.css", "ffd400.js", "ffd400", "zzzzzz.css", "%23ffd400.css"):
        assert (await client.get(f"/meetings-theme/{bad}")).status == 404, bad


async def test_a_coloured_page_shows_its_host_and_its_colour(client: TestClient) -> None:
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(SchedulingPage).values(colour="#FFD400"))
    body = await (await client.get("/meetings/demo?lang=da")).text()
    assert '<link rel="stylesheet" href="/meetings-theme/ffd400.css">' in body
    header = re.search(r'<header class="top host-top">(.*?)</header>', body, re.S)
    assert header is not None
    assert 'href="/meetings/demo?lang=da"' in header.group(1)
    assert re.search(r'<span class="avatar initials" aria-hidden="true">DH</span>', header.group(1))
    assert "Demo Host" in header.group(1) and "<img" not in header.group(1)

    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).values(photo_url="https://avatars.example.com/ana.png"))
        await session.execute(update(SchedulingPage).values(colour=None))
    body = await (await client.get("/meetings/demo")).text()
    assert '<img class="avatar" src="https://avatars.example.com/ana.png" alt=""' in body
    assert "/meetings-theme/" not in body

    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).values(photo_url="javascript:alert(1)"))
    body = await (await client.get("/meetings/demo")).text()
    assert "javascript:" not in body and 'class="avatar initials"' in body


async def test_the_favicon_is_linked_and_answers(client: TestClient) -> None:
    start = await (await client.get("/")).text()
    assert re.search(r'<link rel="icon" href="/static/favicon\.svg\?v=[0-9a-f]+" type="image/svg\+xml">',
                     start)
    for path in ("/favicon.ico", "/static/favicon.svg"):
        icon = await client.get(path)
        assert icon.status == 200 and (await icon.read()).startswith(b"<svg"), path
    assert client.app is not None
    await client.app[DOMAINS].add("meet.example.com")
    assert (await client.get("/favicon.ico", headers=CUSTOM)).content_type == "image/svg+xml"
    assert (await client.get("/meetings-theme/2358c4.css", headers=CUSTOM)).status == 200


async def test_a_custom_domains_root_leads_to_its_host(client: TestClient) -> None:
    assert client.app is not None
    await client.app[DOMAINS].add("meet.example.com")
    nobody = await client.get("/", headers={**CUSTOM, "Accept-Language": "pt-BR"}, allow_redirects=False)
    assert nobody.status == 200
    assert "Para agendar um horário, abra o link" in await nobody.text()

    async with client.app[SESSIONS]() as session, session.begin():
        domain = (await session.execute(select(CustomDomain))).scalar_one()
        await session.execute(update(User).values(domain_id=domain.id))
    one = await client.get("/", headers={"Host": "meet.example.com:8443"}, allow_redirects=False)
    assert one.status == 302 and one.headers["Location"] == "/meetings/demo"

    async with client.app[SESSIONS]() as session, session.begin():
        session.add(User(display_name="Bo Berg", slug="bo", timezone="UTC", domain_id=domain.id))
    two = await client.get("/", headers=CUSTOM, allow_redirects=False)
    assert two.status == 200 and "/meetings/bo" not in await two.text()  # no list of hosts
    assert (await client.get("/", allow_redirects=False)).status == 200  # the main site's start page

    async with client.app[SESSIONS]() as session, session.begin():
        await session.execute(update(User).where(User.slug == "bo").values(pages_enabled=False))
    assert (await client.get("/", headers=CUSTOM, allow_redirects=False)).status == 302


async def test_not_found_pages_link_to_a_page_that_exists(client: TestClient) -> None:
    assert client.app is not None
    await client.app[DOMAINS].add("meet.example.com")
    for headers in ({}, CUSTOM):
        for path in ("/meetings/nobody", "/dashboard", "/nothing-here"):
            missing = await client.get(path, headers=headers)
            if missing.status != 404:
                continue  # /dashboard on the main site is the sign-in, not a 404
            links = re.findall(r'<a href="([^"]+)"', await missing.text())
            assert "/" in links, (headers, path, links)
            assert (await client.get("/", headers=headers)).status == 200, (headers, path)
