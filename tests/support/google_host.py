"""A host whose default (and checked) calendar is the fake Google account's primary calendar."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING

from aiohttp.test_utils import TestClient
from google.oauth2.credentials import Credentials

from bot.accounts.credentials import CREDENTIALS_PURPOSE
from bot.calendar.google.credentials import credentials_json_of
from bot.keys import SECRETS, SESSIONS
from storage.models import Calendar, CalendarConnection, Contact, User

if TYPE_CHECKING:
    from tests.fakes.google import FakeGoogle


async def google_host(client: TestClient, google: FakeGoogle) -> tuple[int, int]:
    """(user id, calendar id) of a new host "Hana" (Europe/Lisbon) with a contact, Ana."""
    assert client.app is not None
    issued = google.issue_tokens()
    settings = google.settings()
    credentials = Credentials(
        token=issued["access_token"], refresh_token=issued["refresh_token"], token_uri=settings.token_uri,
        client_id=settings.client_id, client_secret=settings.client_secret, scopes=issued["scope"].split(),
        expiry=(datetime.now(UTC) + timedelta(seconds=issued["expires_in"])).replace(tzinfo=None))
    sealed = client.app[SECRETS].seal(str(credentials_json_of(credentials)), purpose=CREDENTIALS_PURPOSE)
    async with client.app[SESSIONS]() as session, session.begin():
        user = User(display_name="Hana", email=google.account_email, slug="hana", timezone="Europe/Lisbon")
        session.add(user)
        await session.flush()
        connection = CalendarConnection(user_id=user.id, provider="google",
                                        account_email=google.account_email, credentials=sealed)
        session.add(connection)
        await session.flush()
        calendar = Calendar(connection_id=connection.id, user_id=user.id, external_id=google.account_email,
                            name="Hana", access_role="owner", is_default=True, checks_conflicts=True,
                            time_zone="Europe/Lisbon")
        session.add_all([calendar, Contact(owner_id=user.id, email="ana@example.com", name="Ana")])
        await session.flush()
        return user.id, calendar.id
