"""One-time secrets: dashboard login links, dashboard sessions, and OAuth ``state`` values.

Every secret is 256 random bits, handed out once and stored only as a SHA-256 hash. Login links
and OAuth states are single use (consumed by a conditional UPDATE, so a replay loses even a race)
and expire in minutes; an OAuth state is bound to the user who asked and to one provider.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import secrets as random_secrets
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from storage.crypto import SecretBox
from storage.models import LoginToken, OAuthState, WebSession, utcnow

LOGIN_TTL = timedelta(minutes=15)
STATE_TTL = timedelta(minutes=10)
SESSION_TTL = timedelta(hours=12)
FLOW_PURPOSE = "oauth.flow"


class TokenRefused(Exception):
    """A link, state or session that is unknown, used, expired or for someone else."""


def new_secret() -> str:
    """256 random bits, URL-safe."""
    return random_secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The stored form of ``secret``."""
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


@dataclass(frozen=True, slots=True)
class Session:
    """A signed-in dashboard user."""

    user_id: int
    csrf_token: str

    def csrf_ok(self, submitted: str | None) -> bool:
        """Whether a form's CSRF token matches (constant time)."""
        return submitted is not None and hmac.compare_digest(submitted, self.csrf_token)


@dataclass(frozen=True, slots=True)
class PendingFlow:
    """A consumed OAuth state: who asked, and the provider's flow data."""

    user_id: int
    provider: str
    flow: dict[str, Any]
    reconnect_id: int | None


class Tokens:
    """Issues and redeems the one-time secrets, in Slotbot's database."""

    def __init__(self, sessions: async_sessionmaker[AsyncSession], box: SecretBox) -> None:
        self._sessions = sessions
        self._box = box

    async def login_link_token(self, user_id: int, *, now: datetime | None = None) -> str:
        """A token for a one-time dashboard login link for ``user_id``."""
        token = new_secret()
        async with self._sessions() as session, session.begin():
            session.add(
                LoginToken(
                    token_hash=digest(token),
                    user_id=user_id,
                    expires_at=(now or utcnow()) + LOGIN_TTL,
                )
            )
        return token

    async def redeem_login(self, token: str, *, now: datetime | None = None) -> tuple[str, Session]:
        """Use a login token once; return a new session's cookie value and the session."""
        async with self.login(token, now=now) as signed_in:
            return signed_in

    @asynccontextmanager
    async def login(
        self, token: str, *, now: datetime | None = None
    ) -> AsyncIterator[tuple[str, Session]]:
        """Use a login token once, for what the ``async with`` block does with the new session.

        The token is spent only when the block ends without an error: a request that fails while
        answering (say, building its redirect) rolls back, and the link still works.
        """
        moment = now or utcnow()
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(select(LoginToken).where(LoginToken.token_hash == digest(token)))
            ).scalar_one_or_none()
            if row is None:
                raise TokenRefused("this sign-in link is not valid")
            used = await session.execute(
                update(LoginToken)
                .where(
                    LoginToken.id == row.id,
                    LoginToken.used_at.is_(None),
                    LoginToken.expires_at > moment,
                )
                .values(used_at=moment)
                .execution_options(synchronize_session=False)
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise TokenRefused("this sign-in link was already used or has expired")
            cookie, csrf = new_secret(), new_secret()
            session.add(
                WebSession(
                    session_hash=digest(cookie),
                    user_id=row.user_id,
                    csrf_token=csrf,
                    expires_at=moment + SESSION_TTL,
                )
            )
            await session.flush()
            yield cookie, Session(row.user_id, csrf)

    async def session(self, cookie: str | None, *, now: datetime | None = None) -> Session | None:
        """The live session of a cookie value, or None."""
        if not cookie:
            return None
        async with self._sessions() as session:
            row = (
                await session.execute(
                    select(WebSession).where(
                        WebSession.session_hash == digest(cookie),
                        WebSession.expires_at > (now or utcnow()),
                    )
                )
            ).scalar_one_or_none()
        return None if row is None else Session(row.user_id, row.csrf_token)

    async def end_session(self, cookie: str | None) -> None:
        """Sign out: forget the session of ``cookie``."""
        if not cookie:
            return
        async with self._sessions() as session, session.begin():
            await session.execute(
                update(WebSession)
                .where(WebSession.session_hash == digest(cookie))
                .values(expires_at=utcnow())
            )

    async def oauth_state(
        self,
        user_id: int,
        provider: str,
        flow: dict[str, Any],
        *,
        reconnect_id: int | None = None,
        state: str | None = None,
        now: datetime | None = None,
    ) -> str:
        """Record ``state`` (default: a new one) for ``user_id`` connecting ``provider``.

        ``flow`` (PKCE verifier, MSAL flow) is kept sealed until the callback consumes the state.
        """
        state = state or new_secret()
        async with self._sessions() as session, session.begin():
            session.add(
                OAuthState(
                    state_hash=digest(state),
                    user_id=user_id,
                    provider=provider,
                    flow=self._box.seal(json.dumps(flow), purpose=FLOW_PURPOSE),
                    reconnect_id=reconnect_id,
                    expires_at=(now or utcnow()) + STATE_TTL,
                )
            )
        return state

    async def consume_state(
        self,
        state: str | None,
        provider: str,
        *,
        user_id: int | None = None,
        now: datetime | None = None,
    ) -> PendingFlow:
        """Use a ``state`` once. Refused when unknown, used, expired, for another provider, or
        (when the browser has a dashboard session) for another user."""
        if not state:
            raise TokenRefused("the sign-in response has no state")
        moment = now or utcnow()
        async with self._sessions() as session, session.begin():
            row = (
                await session.execute(select(OAuthState).where(OAuthState.state_hash == digest(state)))
            ).scalar_one_or_none()
            if row is None or row.provider != provider:
                raise TokenRefused("this sign-in response does not match a connect request")
            if user_id is not None and row.user_id != user_id:
                raise TokenRefused("this connect request belongs to someone else")
            used = await session.execute(
                update(OAuthState)
                .where(
                    OAuthState.id == row.id,
                    OAuthState.used_at.is_(None),
                    OAuthState.expires_at > moment,
                )
                .values(used_at=moment)
                .execution_options(synchronize_session=False)
            )
            if used.rowcount != 1:  # type: ignore[attr-defined]
                raise TokenRefused("this connect request was already used or has expired")
            flow = json.loads(self._box.open(row.flow, purpose=FLOW_PURPOSE))
            return PendingFlow(row.user_id, row.provider, flow, row.reconnect_id)
