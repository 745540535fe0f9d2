"""Fixtures of the Teams tests: the real app with Teams configured against the fake Bot Framework."""

from __future__ import annotations

from typing import TYPE_CHECKING

import pytest
from aiohttp.test_utils import TestClient

from tests.conftest import AppClient

if TYPE_CHECKING:  # the modules register the fakes as plugins (pytest_plugins)
    from tests.fakes.teams import FakeBotFramework


@pytest.fixture
def extra_env() -> dict[str, str]:
    """More settings for the app (a test module may override this fixture)."""
    return {}


@pytest.fixture
async def client(app_client: AppClient, teams_fake: FakeBotFramework, extra_env: dict[str, str]
                 ) -> TestClient:
    """The app with Teams configured, seeded with the demo host, on its own address."""
    return await app_client(own_address=True, seed_demo=True, **{**teams_fake.env(), **extra_env})
