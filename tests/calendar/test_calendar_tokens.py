"""The shared provider plumbing: token refresh per connection, the worker threads, the scope check.

Google and Microsoft run these for real in their own tests (google-auth, msal against the fakes);
here each rule is pinned alone with small stand-ins for the blocking refresh.
"""

from __future__ import annotations

import asyncio
import contextvars
import logging
import threading
import time

import pytest

from bot.calendar.base import ConnectionContext, ProviderTimeout, ReauthRequired
from bot.calendar.oauth import granted_scopes, missing_scopes
from bot.calendar.threads import WorkerThreads
from bot.calendar.tokens import TokenStore


class Saved:
    def __init__(self, fail: bool = False) -> None:
        self.values: list[str] = []
        self.fail = fail

    async def __call__(self, value: str) -> None:
        self.values.append(value)
        if self.fail:
            raise RuntimeError("database is down; secret=token-2")


class Account:
    """A token endpoint stand-in: each refresh turns ``token-n`` into ``token-n+1``."""

    def __init__(self, refuse: bool = False) -> None:
        self.refreshes = 0
        self.refuse = refuse

    async def renew(self, current: str) -> str:
        await asyncio.sleep(0.01)  # a round trip, so concurrent callers overlap
        self.refreshes += 1
        if self.refuse:
            raise ReauthRequired("refused")
        return f"token-{int(current.split('-')[1]) + 1}"


class Instance:
    """What a provider instance keeps: the token it holds (valid or not)."""

    def __init__(self, store: TokenStore, saved: Saved, account: Account, connection_id: int = 7) -> None:
        self.tokens = store.connection(ConnectionContext(connection_id, "a@example.com", "token-1", saved))
        self.account = account
        self.valid = False

    def adopt(self, credentials: str) -> None:
        self.valid = True  # a token another instance just refreshed

    async def renew(self, force: bool) -> str:
        new = await self.account.renew(self.tokens.credentials)
        self.valid = True
        return new

    async def token(self, *, force: bool = False) -> None:
        await self.tokens.refresh(self.renew, adopt=self.adopt, valid=lambda: self.valid, force=force)


async def test_instances_of_one_connection_refresh_once_and_save_once() -> None:
    store, saved, account = TokenStore("example"), Saved(), Account()
    instances = [Instance(store, saved, account) for _ in range(5)]

    await asyncio.gather(*(i.token() for i in instances))

    assert account.refreshes == 1
    assert saved.values == ["token-2"]
    assert {i.tokens.credentials for i in instances} == {"token-2"}


async def test_other_connections_refresh_on_their_own() -> None:
    store, saved, account = TokenStore("example"), Saved(), Account()
    one, two = Instance(store, saved, account, 1), Instance(store, saved, account, 2)
    await asyncio.gather(one.token(), two.token())
    assert account.refreshes == 2


async def test_a_forced_refresh_refreshes_unless_it_adopts_a_newer_token() -> None:
    store, saved, account = TokenStore("example"), Saved(), Account()
    first, second = Instance(store, saved, account), Instance(store, saved, account)
    await first.token()
    await first.token(force=True)  # a 401: the token in hand is not trusted
    assert account.refreshes == 2 and saved.values == ["token-2", "token-3"]
    await second.token(force=True)  # its token-1 is older than what the connection has
    assert account.refreshes == 2 and second.tokens.credentials == "token-3"


async def test_a_refusal_is_remembered_for_those_credentials_only() -> None:
    store, saved, account = TokenStore("example"), Saved(), Account(refuse=True)
    instances = [Instance(store, saved, account) for _ in range(4)]
    outcomes = await asyncio.gather(*(i.token() for i in instances), return_exceptions=True)
    assert all(isinstance(o, ReauthRequired) for o in outcomes)
    assert account.refreshes == 1 and saved.values == []

    account.refuse = False
    reconnected = store.connection(ConnectionContext(7, "a@example.com", "token-10", saved))
    assert reconnected.credentials == "token-10"
    reconnected.check_refused()  # new credentials: not refused


async def test_a_failing_save_is_logged_without_secrets_and_not_raised(
    caplog: pytest.LogCaptureFixture,
) -> None:
    saved = Saved(fail=True)
    instance = Instance(TokenStore("example"), saved, Account())
    with caplog.at_level(logging.WARNING):
        await instance.token()
    assert saved.values == ["token-2"] and instance.tokens.credentials == "token-2"
    assert "connection 7" in caplog.text and "RuntimeError" in caplog.text
    assert "token-2" not in caplog.text and "secret" not in caplog.text


async def test_saving_the_same_tokens_again_is_skipped() -> None:
    saved = Saved()
    tokens = TokenStore("example", same=lambda a, b: a.split(";")[0] == b.split(";")[0]).connection(
        ConnectionContext(1, "a@example.com", "token-1;format-a", saved)
    )
    await tokens.save("token-1;format-b")
    assert saved.values == []
    await tokens.save("token-2;format-b")
    await tokens.save("token-2;format-b")
    assert saved.values == ["token-2;format-b"]


# -- worker threads -------------------------------------------------------------------------


async def test_worker_threads_run_in_the_pool_with_the_callers_context() -> None:
    marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker")
    marker.set("request-42")
    threads = WorkerThreads(2, name="test-pool")
    try:
        seen = await threads.run(
            lambda: (threading.current_thread().name, marker.get()), timeout=5, what="look around"
        )
    finally:
        threads.shutdown()
    assert seen[0].startswith("test-pool") and seen[1] == "request-42"


async def test_a_slow_call_is_a_provider_timeout() -> None:
    threads = WorkerThreads(1)
    try:
        with pytest.raises(ProviderTimeout, match="read busy times"):
            await threads.run(lambda: time.sleep(0.5), timeout=0.05, what="Example: read busy times")

        def socket_timeout() -> None:
            raise TimeoutError("timed out")

        with pytest.raises(ProviderTimeout):
            await threads.run(socket_timeout, timeout=5, what="Example: read")
    finally:
        threads.shutdown()


async def test_errors_of_the_call_pass_through_and_a_shut_pool_refuses() -> None:
    threads = WorkerThreads(1)

    def broken() -> None:
        raise KeyError("x")

    with pytest.raises(KeyError):
        await threads.run(broken, timeout=5, what="x")
    threads.shutdown()
    with pytest.raises(RuntimeError):
        await threads.run(lambda: None, timeout=5, what="x")


async def test_without_a_pool_calls_use_the_loops_default_executor() -> None:
    assert await WorkerThreads.loop_default().run(lambda: 41 + 1, timeout=5, what="x") == 42
    WorkerThreads.loop_default().shutdown()  # owns nothing: a no-op


# -- the scope check ------------------------------------------------------------------------


def test_scopes_are_compared_normalized() -> None:
    assert granted_scopes("a b  c") == ("a", "b", "c")
    assert granted_scopes(["a", "b"]) == ("a", "b")
    assert granted_scopes(None) == ()
    assert missing_scopes(["https://x/a", "https://x/b"], ["https://x/a"]) == {"https://x/b"}
    assert missing_scopes(["https://x/a"], [" https://x/a "]) == frozenset()

    def name(scope: str) -> str:
        return scope.rsplit("/", 1)[-1].lower()

    required = ("Calendars.ReadWrite", "User.Read")
    granted = ["https://graph.example/calendars.readwrite", "openid"]
    assert missing_scopes(required, granted, normalize=name) == {"User.Read"}
