"""Chat identities: first contact, unique slugs, profile refresh, the language override."""

from __future__ import annotations

import asyncio

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.accounts.identities import Identities, Profile, slugify
from bot.conversation.speaker import Speaker
from bot.i18n import supported_locale
from storage.models import ChatIdentity, SchedulingPage, User


async def test_first_contact_creates_a_user_and_a_default_page(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions, default_timezone="Europe/Lisbon")
    profile = Profile(name="Ana Lúcia Sá", email="ana@example.com", timezone="America/Sao_Paulo",
                      locale="pt-BR")
    speaker = await identities.resolve("slack", "T1", "U1", profile)
    assert speaker == Speaker(speaker.user_id, "pt_BR", "America/Sao_Paulo")
    async with sessions() as session:
        user = await session.get(User, speaker.user_id)
        pages = (await session.execute(select(SchedulingPage))).scalars().all()
    assert user is not None and user.slug == "ana-lucia-sa" and user.email == "ana@example.com"
    assert len(pages) == 1 and pages[0].is_default and pages[0].owner_id == user.id
    assert pages[0].title == "Reunião com Ana Lúcia Sá" and pages[0].durations == [30, 60]
    again = await identities.resolve("slack", "T1", "U1", profile)
    assert again == speaker
    async with sessions() as session:
        assert (await session.execute(select(func.count()).select_from(User))).scalar_one() == 1


async def test_slugs_are_unique_and_a_user_without_profile_gets_defaults(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions, default_timezone="Europe/Copenhagen")
    first = await identities.resolve("slack", "T1", "U1", Profile(name="Bo Ek"))
    second = await identities.resolve("slack", "T2", "U1", Profile(name="Bo  Ek!"))
    third = await identities.resolve("teams", "tenant", "bo", Profile(name="bo-ek"))
    anonymous = await identities.resolve("web", "", "session-1")
    async with sessions() as session:
        slugs = [
            (await session.get(User, s.user_id)).slug  # type: ignore[union-attr]
            for s in (first, second, third, anonymous)
        ]
    assert slugs == ["bo-ek", "bo-ek-2", "bo-ek-3", "slotbot-user"]
    assert anonymous.locale == "en" and anonymous.timezone == "Europe/Copenhagen"


async def test_concurrent_first_contacts_make_one_user_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions)
    same = await asyncio.gather(*(identities.resolve("slack", "T", "U", Profile(name="Kim"))
                                  for _ in range(8)))
    assert len({s.user_id for s in same}) == 1
    others = await asyncio.gather(*(identities.resolve("slack", "T", f"U{n}", Profile(name="Kim"))
                                    for n in range(8)))
    assert len({s.user_id for s in others}) == 8
    async with sessions() as session:
        slugs = (await session.execute(select(User.slug))).scalars().all()
        pages = (await session.execute(select(func.count()).select_from(SchedulingPage))).scalar_one()
    assert len(slugs) == len(set(slugs)) == 9 and pages == 9


async def test_profile_refresh_and_the_language_override(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions)
    speaker = await identities.resolve("slack", "T", "U", Profile(name="Mia", locale="en-US",
                                                                 timezone="Europe/Copenhagen"))
    web = await identities.resolve("web", "", "cookie")
    assert speaker.locale == "en"
    refreshed = await identities.resolve(
        "slack", "T", "U", Profile(name="Mia Holm", email="mia@example.com", timezone="Not/AZone",
                                   locale="da-DK"))
    assert refreshed == Speaker(speaker.user_id, "da", "Europe/Copenhagen")  # a bad zone is ignored
    async with sessions() as session:
        user = await session.get(User, speaker.user_id)
    assert user is not None and (user.display_name, user.email) == ("Mia Holm", "mia@example.com")

    assert await identities.set_language(speaker.user_id, "pt") == "pt_BR"
    overridden = await identities.resolve("slack", "T", "U", Profile(name="Mia Holm", locale="da"))
    assert overridden.locale == "pt_BR"  # the chosen language wins over the profile
    assert (await identities.resolve("slack", "T", "U")).locale == "pt_BR"
    assert web.user_id != speaker.user_id  # another identity, another user

    assert await identities.set_language(speaker.user_id, None) == "da"
    assert (await identities.resolve("slack", "T", "U", Profile(name="Mia Holm"))).locale == "da"
    found = await identities.identities_of(speaker.user_id)
    assert [(i.channel, i.tenant, i.external_id, i.locale) for i in found] == [("slack", "T", "U", None)]


async def test_unknown_channels_and_empty_ids_are_refused(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions)
    with pytest.raises(ValueError, match="channel"):
        await identities.resolve("irc", "", "x")
    with pytest.raises(ValueError, match="id"):
        await identities.resolve("slack", "T", "")
    async with sessions() as session:
        assert (await session.execute(select(ChatIdentity))).first() is None


@pytest.mark.parametrize(("tag", "locale"), [
    ("pt-BR", "pt_BR"), ("pt_BR", "pt_BR"), ("pt", "pt_BR"), ("pt-PT", "pt_BR"), ("da", "da"),
    ("da-DK", "da"), ("en-US", "en"), ("en", "en"), ("fr-FR", "en"), ("", "en"), (None, "en"),
])
def test_locale_mapping(tag: str | None, locale: str) -> None:
    assert supported_locale(tag) == locale


@pytest.mark.parametrize(("name", "slug"), [
    ("Ana Lúcia Sá", "ana-lucia-sa"), ("Søren Ærø", "sren-r"), ("  ", "host"), ("李雷", "host"),
    ("x" * 80, "x" * 48),
])
def test_slugify(name: str, slug: str) -> None:
    assert slugify(name) == slug


async def test_the_chat_profiles_photo_becomes_the_hosts_picture(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    identities = Identities(sessions, default_timezone="UTC")
    first = await identities.resolve("slack", "T", "U", Profile(name="Ana", photo_url="https://a.test/1.png"))
    async with sessions() as session:
        user = await session.get(User, first.user_id)
        assert user is not None and user.photo_url == "https://a.test/1.png"
    await identities.resolve("slack", "T", "U", Profile(name="Ana", photo_url="https://a.test/2.png"))
    await identities.resolve("slack", "T", "U", Profile(name="Ana"))  # no picture: the last one stays
    await identities.resolve("slack", "T", "U", Profile(name="Ana", photo_url="javascript:alert(1)"))
    async with sessions() as session:
        user = await session.get(User, first.user_id)
        assert user is not None and user.photo_url == "https://a.test/2.png"
    other = await identities.resolve("slack", "T", "U2", Profile(name="Bo", photo_url="http://plain.test/b.png"))
    async with sessions() as session:
        user = await session.get(User, other.user_id)
        assert user is not None and user.photo_url is None  # not https: initials instead
