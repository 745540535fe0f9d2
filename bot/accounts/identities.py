"""Chat identities: who a Slack, Teams or web chat user is in Slotbot.

Start with :meth:`Identities.resolve`. A channel calls it with its own ids (Slack: team and user
id) and whatever profile it knows; the first contact creates the Slotbot user (a unique slug made
from the name, and one default scheduling page), later contacts keep name, e-mail, zone and
language fresh from the profile. The answer is a :class:`~bot.conversation.speaker.Speaker`: the
user id, the language to answer in and the user's zone.

Languages: a profile's language tag is mapped to a supported locale (:func:`bot.i18n.supported_locale`)
and kept on the user; a language the user chose in chat ("language pt") is an *override*, stored on
each of the user's chat identities, and wins over the profile until cleared ("language auto").
The database guards one user per identity (``uq_chat_identity``) and unique slugs; a race between
two first contacts is retried (after two lost races, with a random suffix on the slug).
"""

from __future__ import annotations

import logging
import re
import secrets
import unicodedata
from dataclasses import dataclass

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.conversation.speaker import Speaker
from bot.i18n import supported_locale, translations
from bot.zones import zone_named
from storage.models import CHANNELS, ChatIdentity, SchedulingPage, User

log = logging.getLogger(__name__)

DEFAULT_PAGE_SLUG = "meeting"
DEFAULT_DURATIONS = [30, 60]
_ATTEMPTS = 8


@dataclass(frozen=True, slots=True)
class Profile:
    """What a channel knows about its user (any field may be missing)."""

    name: str
    email: str | None = None
    timezone: str | None = None
    locale: str | None = None
    photo_url: str | None = None  # their picture (https only; shown on their scheduling pages)


def slugify(name: str) -> str:
    """A URL-safe slug from a display name: ``"Ana Lúcia Sá"`` -> ``"ana-lucia-sa"``."""
    ascii_name = unicodedata.normalize("NFKD", name).encode("ascii", "ignore").decode("ascii")
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_name.lower()).strip("-")
    return slug[:48].strip("-") or "host"


def _zone(name: str | None) -> str | None:
    return zone_named(name)


class Identities:
    """Resolves chat users to Slotbot users, creating them on first contact."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], *, default_timezone: str = "UTC"
    ) -> None:
        self._sessions = sessions
        self._default_timezone = default_timezone

    async def resolve(
        self, channel: str, tenant: str, external_id: str, profile: Profile | None = None
    ) -> Speaker:
        """The speaker behind a channel's user id (created on first contact, refreshed after)."""
        if channel not in CHANNELS:
            raise ValueError(f"unknown channel {channel!r}")
        if not external_id:
            raise ValueError("a chat identity needs an id")
        for attempt in range(_ATTEMPTS):
            try:
                return await self._resolve(channel, tenant, external_id, profile, crowded=attempt >= 2)
            except IntegrityError:  # a concurrent first contact, or a slug just taken
                log.info("identity resolve retried", extra={"channel": channel, "attempt": attempt})
        raise RuntimeError("could not create the chat identity")

    async def _resolve(
        self, channel: str, tenant: str, external_id: str, profile: Profile | None, *, crowded: bool
    ) -> Speaker:
        async with self._sessions() as session, session.begin():
            identity = (
                await session.execute(
                    select(ChatIdentity).where(
                        ChatIdentity.channel == channel,
                        ChatIdentity.tenant == tenant,
                        ChatIdentity.external_id == external_id,
                    )
                )
            ).scalar_one_or_none()
            if identity is None:
                user = await self._new_user(session, profile, crowded=crowded)
                identity = ChatIdentity(
                    user_id=user.id, channel=channel, tenant=tenant, external_id=external_id
                )
                session.add(identity)
                await session.flush()
            else:
                found = await session.get(User, identity.user_id)
                if found is None:  # pragma: no cover - the foreign key forbids it
                    raise RuntimeError("chat identity without a user")
                user = found
                if profile is not None:
                    _refresh(user, profile)
            return Speaker(user.id, identity.locale or user.locale, user.timezone)

    async def _new_user(self, session: AsyncSession, profile: Profile | None, *, crowded: bool) -> User:
        name = (profile.name.strip() if profile else "") or "Slotbot user"
        base = slugify(name)
        if crowded:  # several first contacts race for the same slugs: step aside at random
            base = f"{base[:43]}-{secrets.token_hex(2)}"
        locale = supported_locale(profile.locale if profile else None)
        user = User(
            display_name=name[:200],
            email=(profile.email or None) if profile else None,
            timezone=_zone(profile.timezone if profile else None) or self._default_timezone,
            locale=locale,
            slug=await _free_slug(session, base),
            photo_url=_photo(profile.photo_url if profile else None),
        )
        session.add(user)
        await session.flush()
        _ = translations(locale, "conversation").gettext
        session.add(
            SchedulingPage(
                owner_id=user.id,
                slug=DEFAULT_PAGE_SLUG,
                title=_("Meeting with {name}").format(name=name)[:200],
                durations=list(DEFAULT_DURATIONS),
                rules={},
                is_default=True,
            )
        )
        return user

    async def identities_of(self, user_id: int) -> list[ChatIdentity]:
        """Every chat identity of the user, oldest first."""
        async with self._sessions() as session:
            rows = (
                await session.execute(
                    select(ChatIdentity)
                    .where(ChatIdentity.user_id == user_id)
                    .order_by(ChatIdentity.id)
                )
            ).scalars().all()
        return list(rows)

    async def set_language(self, user_id: int, locale: str | None) -> str:
        """Override the language on every chat identity of the user (None: follow the profile
        again); the language now in effect."""
        chosen = supported_locale(locale) if locale else None
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(ChatIdentity).where(ChatIdentity.user_id == user_id).values(locale=chosen)
            )
            user = await session.get(User, user_id)
            fallback = user.locale if user is not None else "en"
        return chosen or fallback


def _refresh(user: User, profile: Profile) -> None:
    if profile.name.strip():
        user.display_name = profile.name.strip()[:200]
    if profile.email:
        user.email = profile.email
    zone = _zone(profile.timezone)
    if zone:
        user.timezone = zone
    if profile.locale:
        user.locale = supported_locale(profile.locale)
    photo = _photo(profile.photo_url)
    if photo:
        user.photo_url = photo


def _photo(url: str | None) -> str | None:
    """``url`` when it is an https address that fits the column, else None (pages show initials)."""
    value = (url or "").strip()
    return value if value.startswith("https://") and len(value) <= 1024 and " " not in value else None


async def _free_slug(session: AsyncSession, base: str) -> str:
    """``base``, or ``base-2``, ``base-3``... whichever no user has yet."""
    taken = set(
        (
            await session.execute(
                select(User.slug).where((User.slug == base) | User.slug.like(f"{base}-%"))
            )
        ).scalars()
    )
    if base not in taken:
        return base
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"
