"""The dashboard's notice comes from fixed codes and the host's own data, never from the URL's text."""

from __future__ import annotations

from sqlalchemy import select

from bot.keys import SECRETS, SESSIONS
from storage.models import Calendar, CalendarConnection, User
from tests.conftest import AppClient
from tests.support.signing_in import demo_client, sign_in

SPOOF = "Your account is suspended. Call +1 555 0100 to restore it."


async def test_arbitrary_notice_text_is_never_shown(app_client: AppClient) -> None:
    client, host = await demo_client(app_client)
    await sign_in(client, host.user_id)
    page = await (await client.get("/dashboard", params={"notice": SPOOF})).text()
    assert "Demo calendar" in page  # the dashboard itself is shown
    assert "suspended" not in page and "555" not in page
    assert 'role="status"' not in page


async def test_the_connected_notice_names_only_the_hosts_own_connection(
        app_client: AppClient) -> None:
    client, host = await demo_client(app_client)
    assert client.app is not None
    async with client.app[SESSIONS]() as session, session.begin():
        own = (await session.execute(select(CalendarConnection.id).where(
            CalendarConnection.user_id == host.user_id))).scalar_one()
        other = User(display_name="Other", email="other@example.com", slug="other", timezone="UTC")
        session.add(other)
        await session.flush()
        sealed = client.app[SECRETS].seal("{}", purpose="connection.credentials")
        theirs = CalendarConnection(user_id=other.id, provider="local",
                                    account_email="secret@other.example", credentials=sealed)
        session.add(theirs)
        await session.flush()
        session.add(Calendar(connection_id=theirs.id, user_id=other.id, external_id="x", name="Theirs",
                             access_role="owner"))
    await sign_in(client, host.user_id)

    mine = await (await client.get("/dashboard", params={"notice": "connected", "connection": own})).text()
    assert "Connected demo.host@example.com: 1 calendar found; bookings land in Demo calendar." in mine
    peek = await (await client.get("/dashboard", params={"notice": "connected",
                                                         "connection": theirs.id})).text()
    assert "secret@other.example" not in peek and 'role="status"' not in peek
