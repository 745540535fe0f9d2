"""A fake Slack: the Web API, OAuth v2 and ``response_url`` endpoints, on 127.0.0.1 port 0.

It speaks Slack's wire format closely enough that slack_sdk and Bolt talk to it unchanged:

* ``POST /api/<method>`` with a form or JSON body (or ``GET`` with a query), the token as
  ``Authorization: Bearer`` (or a ``token`` field), answers ``{"ok": true, ...}`` or
  ``{"ok": false, "error": ...}`` with HTTP 200
  (``not_authed``, ``invalid_auth``, ``token_expired``, ``missing_scope`` with ``needed`` and
  ``provided``, ``channel_not_found``, ``user_not_found``, ``no_text``, ``invalid_blocks``...), and
  HTTP 429 with ``Retry-After`` when told to (:meth:`FakeSlack.rate_limit`). Methods:
  ``auth.test``, ``oauth.v2.access`` (``code`` and ``refresh_token`` grants; client credentials by
  HTTP Basic or in the body; with :attr:`FakeSlack.token_rotation`, expiring ``xoxe.xoxb-`` access
  tokens with single-use ``xoxe-1-`` refresh tokens), ``chat.postMessage``, ``chat.postEphemeral``,
  ``chat.unfurl``, ``views.publish``, ``users.info`` (``include_locale``), ``conversations.open``.
  Messages and views are checked against Block Kit's limits (block types, text lengths, unique
  action ids, 50 blocks per message, 100 per view).
* ``GET /oauth/v2/authorize`` approves at once (the workspace's admin "clicks Allow") and redirects
  to the exact ``redirect_uri`` with ``code`` and ``state``; :meth:`FakeSlack.consent` does the same
  without HTTP.
* ``POST /commands/<team>/<id>/<secret>``: response URLs (:meth:`FakeSlack.response_url`); the
  messages posted there are kept in :attr:`FakeSlack.responses`.

And it plays Slack's part towards the app: :meth:`FakeSlack.signed` signs a request body with the
signing secret (``X-Slack-Signature``, ``X-Slack-Request-Timestamp``); :meth:`command`,
:meth:`event` and :meth:`block_actions` build the payloads Slack sends. Every Web API call is kept
in :attr:`FakeSlack.calls` with its arrival time (``perf_counter``); :attr:`FakeSlack.latency` delays
every answer (both from the shared base, :mod:`tests.fakes.base`). Use the ``slack_fake`` fixture,
or ``await FakeSlack().start()`` (``with FakeSlack():`` on a loop of its own). Modules:
``server.py`` (the fake), ``blocks.py`` (Block Kit's limits).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio

from tests.fakes.slack.blocks import check_blocks
from tests.fakes.slack.server import Call, FakeSlack, Response, SlackUser

__all__ = ["Call", "FakeSlack", "Response", "SlackUser", "check_blocks", "slack_fake"]


@pytest_asyncio.fixture
async def slack_fake() -> AsyncIterator[FakeSlack]:
    """A running fake Slack workspace with one member, Ulla (U0ULLA)."""
    fake = await FakeSlack().start()
    fake.add_user("U0ULLA", "Ulla Jensen", email="ulla@example.com", tz="Europe/Copenhagen", locale="en-US")
    try:
        yield fake
    finally:
        await fake.stop()
