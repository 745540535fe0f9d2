"""Secrets at rest: AES-GCM, key ids for rotation, clear errors, no plaintext in the database."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from storage.crypto import SecretBox, SecretKeyError, key_id
from storage.models import CalendarConnection, User

SECRET = '{"refresh_token": "1//0g-very-secret-refresh-token"}'


def test_round_trip_and_fresh_nonce() -> None:
    box = SecretBox([os.urandom(32)])
    one = box.seal(SECRET, purpose="connection.credentials")
    two = box.seal(SECRET, purpose="connection.credentials")
    assert one != two
    assert "secret" not in one
    assert box.open(one, purpose="connection.credentials") == SECRET


def test_wrong_key_is_a_clear_error_not_garbage() -> None:
    sealed = SecretBox([os.urandom(32)]).seal(SECRET, purpose="p")
    with pytest.raises(SecretKeyError, match="not configured") as info:
        SecretBox([os.urandom(32)]).open(sealed, purpose="p")
    assert "refresh" not in str(info.value)


def test_same_key_id_but_tampered_value_is_refused() -> None:
    box = SecretBox([os.urandom(32)])
    sealed = box.seal(SECRET, purpose="p")
    head, body = sealed.rsplit(".", 1)
    flipped = body[:-2] + ("A" if body[-2] != "A" else "B") + body[-1]
    with pytest.raises(SecretKeyError, match="wrong or the value was altered"):
        box.open(f"{head}.{flipped}", purpose="p")


def test_purpose_is_bound() -> None:
    box = SecretBox([os.urandom(32)])
    sealed = box.seal(SECRET, purpose="connection.credentials")
    with pytest.raises(SecretKeyError):
        box.open(sealed, purpose="exchange.password")


def test_rotation_reads_old_values_and_seals_with_the_new_key() -> None:
    old, new = os.urandom(32), os.urandom(32)
    sealed_old = SecretBox([old]).seal(SECRET, purpose="p")
    rotated = SecretBox([new, old])
    assert rotated.open(sealed_old, purpose="p") == SECRET
    assert rotated.needs_rotation(sealed_old)
    resealed = rotated.seal(SECRET, purpose="p")
    assert resealed.split(".")[1] == key_id(new)
    assert not rotated.needs_rotation(resealed)
    with pytest.raises(SecretKeyError):
        SecretBox([old]).open(resealed, purpose="p")


def test_missing_key_is_refused() -> None:
    with pytest.raises(SecretKeyError, match="SLOTBOT_SECRET_KEY"):
        SecretBox([])


async def test_encrypted_column_holds_no_plaintext(
    sessions: async_sessionmaker[AsyncSession], engine: AsyncEngine, secrets: SecretBox
) -> None:
    async with sessions() as session, session.begin():
        user = User(display_name="Host", email="host@example.com", slug="host")
        session.add(user)
        await session.flush()
        session.add(CalendarConnection(
            user_id=user.id, provider="google", account_email="host@example.com",
            credentials=secrets.seal(SECRET, purpose="connection.credentials"),
        ))
    async with engine.connect() as conn:
        raw = (await conn.execute(text("SELECT credentials FROM calendar_connections"))).scalar_one()
    assert "very-secret" not in raw and "refresh_token" not in raw
    assert secrets.open(raw, purpose="connection.credentials") == SECRET
