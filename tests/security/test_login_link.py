"""A one-time login link leads to a dashboard path only, and is spent only by a request that
succeeds: a ``next`` with control characters falls back to ``/dashboard`` instead of breaking
the answer after the link was used."""

from __future__ import annotations

import pytest

from tests.conftest import AppClient
from tests.support.signing_in import demo_client, login_token


@pytest.mark.parametrize("target", [
    "/dashboard\r\nX-Injected: 1", "/dashboard\rX:1", "/dashboard\nX:1", "/dashboard\x00", "/dashboard\t/x",
    "/dashboard\x7f", "/dashboard/pages\u2028X:1", "/dashboard\u0085", "/dashboard /x", "/dashboard/\u0100",
])
async def test_control_characters_in_next_fall_back_to_the_dashboard(
        app_client: AppClient, target: str) -> None:
    client, host = await demo_client(app_client)
    token = await login_token(client, host.user_id)
    response = await client.get("/dashboard/login", params={"token": token, "next": target},
                                allow_redirects=False)
    assert response.status == 303
    assert response.headers["Location"] == "/dashboard"
    assert "X-Injected" not in response.headers
    dashboard = await client.get("/dashboard")
    assert dashboard.status == 200 and "Demo calendar" in await dashboard.text()


async def test_a_dashboard_path_is_kept(app_client: AppClient) -> None:
    client, host = await demo_client(app_client)
    token = await login_token(client, host.user_id)
    response = await client.get("/dashboard/login", params={"token": token, "next": "/dashboard/pages?x=1"},
                                allow_redirects=False)
    assert response.status == 303 and response.headers["Location"] == "/dashboard/pages?x=1"
