"""Who is writing: a Slack user's profile (users.info), cached briefly, resolved to a Slotbot speaker.

:meth:`People.speaker` asks ``users.info`` (``include_locale=true``) for the name, e-mail, time zone
and locale, keeps the answer for a few minutes (concurrent requests for one user share one call),
and hands it to :meth:`Identities.resolve` with the channel ``"slack"``, the team as tenant and the
Slack user id. When Slack cannot say (an error, a missing scope) the user is resolved without a
fresh profile rather than refused.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable

import aiohttp
from slack_sdk.errors import SlackApiError, SlackClientError
from slack_sdk.web.async_client import AsyncWebClient

from bot.accounts.identities import Identities, Profile
from bot.conversation.speaker import Speaker

log = logging.getLogger(__name__)

CHANNEL = "slack"
PROFILE_SECONDS = 600.0
MAX_CACHED = 5000


class People:
    """Slack users as Slotbot speakers (see the module docstring)."""

    def __init__(self, identities: Identities, *, ttl: float = PROFILE_SECONDS,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self._identities = identities
        self._ttl = ttl
        self._clock = clock
        self._profiles: dict[tuple[str, str], tuple[float, Profile | None]] = {}
        self._pending: dict[tuple[str, str], asyncio.Future[Profile | None]] = {}

    def cached_locale(self, team_id: str, user_id: str) -> str | None:
        """The Slack locale of a user seen recently (no API call), e.g. for a refusal."""
        entry = self._profiles.get((team_id, user_id))
        return entry[1].locale if entry and entry[1] else None

    async def profile(self, client: AsyncWebClient, team_id: str, user_id: str) -> Profile | None:
        """The user's profile from users.info, from the cache when fresh."""
        key = (team_id, user_id)
        entry = self._profiles.get(key)
        if entry is not None and entry[0] > self._clock():
            return entry[1]
        pending = self._pending.get(key)
        if pending is not None:
            return await asyncio.shield(pending)
        future: asyncio.Future[Profile | None] = asyncio.get_running_loop().create_future()
        self._pending[key] = future
        try:
            profile = await _fetch(client, user_id)
            future.set_result(profile)
            self._remember(key, profile)
            return profile
        except asyncio.CancelledError:
            future.cancel()
            raise
        except Exception as exc:
            future.set_exception(exc)
            future.exception()  # marked as retrieved; callers waiting on it re-raise it
            raise
        finally:
            del self._pending[key]

    def _remember(self, key: tuple[str, str], profile: Profile | None) -> None:
        now = self._clock()
        if len(self._profiles) >= MAX_CACHED:
            for old in [k for k, (until, _) in self._profiles.items() if until <= now]:
                del self._profiles[old]
            if len(self._profiles) >= MAX_CACHED:
                self._profiles.clear()
        # An unreadable profile is asked again soon, not after the full lifetime.
        self._profiles[key] = (now + (self._ttl if profile else 30.0), profile)

    async def speaker(self, client: AsyncWebClient, team_id: str, user_id: str) -> Speaker:
        """The Slotbot speaker behind a Slack user (created on first contact)."""
        profile = await self.profile(client, team_id, user_id)
        return await self._identities.resolve(CHANNEL, team_id, user_id, profile)


def slack_error(exc: BaseException) -> str:
    """Slack's error code of a failed call (``invalid_auth``...), or the exception's kind."""
    if isinstance(exc, SlackApiError):
        data = exc.response.data
        if isinstance(data, dict) and data.get("error"):
            return str(data["error"])
        return f"http_{exc.response.status_code}"
    return type(exc).__name__


async def _fetch(client: AsyncWebClient, user_id: str) -> Profile | None:
    try:
        answer = await client.users_info(user=user_id, include_locale=True)
    except (SlackClientError, aiohttp.ClientError, TimeoutError) as exc:
        log.warning("slack users.info failed", extra={"error": slack_error(exc)})
        return None
    user = answer.get("user") or {}
    details = user.get("profile") or {}
    name = details.get("real_name") or user.get("real_name") or details.get("display_name") or user_id
    return Profile(
        name=str(name),
        email=details.get("email") or None,
        timezone=user.get("tz") or None,
        locale=user.get("locale") or None,
        photo_url=details.get("image_72") or None,
    )
