"""The Slack channel's tables in Slotbot's database (created by migration 0005, never at run time).

slack_sdk's installation and OAuth-state stores bring their own table definitions
(``slack_installations``, ``slack_bots``, ``slack_oauth_states``). :func:`slack_metadata` builds them
as slack_sdk does, with one change: the token columns are text sealed with Slotbot's
:class:`~storage.crypto.SecretBox` (AES-GCM, like every other credential at rest), so they are
``Text`` instead of ``String(200)``. It adds Slotbot's ``slack_seen_requests`` (signatures and event
ids already handled, so replayed requests and retried events are refused across workers). Alembic
compares the migrations with this metadata next to the models' (``storage/migrations/env.py``).
"""

from __future__ import annotations

from typing import Any

from slack_sdk.oauth.installation_store.sqlalchemy import AsyncSQLAlchemyInstallationStore
from slack_sdk.oauth.state_store.sqlalchemy import AsyncSQLAlchemyOAuthStateStore
from sqlalchemy import Column, MetaData, String, Table, Text
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

from storage.crypto import SecretBox
from storage.types import UTCDateTime

INSTALLATIONS = AsyncSQLAlchemyInstallationStore.default_installations_table_name
BOTS = AsyncSQLAlchemyInstallationStore.default_bots_table_name
OAUTH_STATES = AsyncSQLAlchemyOAuthStateStore.default_table_name
SEEN_REQUESTS = "slack_seen_requests"
SEALED_COLUMNS = {
    INSTALLATIONS: ("bot_token", "bot_refresh_token", "user_token", "user_refresh_token"),
    BOTS: ("bot_token", "bot_refresh_token"),
}


class SealedText(TypeDecorator[str]):
    """Text sealed with a :class:`SecretBox` on the way in and opened on the way out."""

    impl = Text
    cache_ok = True

    def __init__(self, box: SecretBox, purpose: str) -> None:
        super().__init__()
        self.box = box
        self.purpose = purpose

    def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
        """Seal ``value``."""
        return None if value is None else self.box.seal(value, purpose=self.purpose)

    def process_result_value(self, value: Any, dialect: Dialect) -> str | None:
        """Open a stored value."""
        return None if value is None else self.box.open(str(value), purpose=self.purpose)


def installation_tables(metadata: MetaData, box: SecretBox | None = None) -> tuple[Table, Table]:
    """``slack_installations`` and ``slack_bots`` on ``metadata``; tokens sealed with ``box``."""
    store = AsyncSQLAlchemyInstallationStore
    tables = (
        store.build_installations_table(metadata, INSTALLATIONS),
        store.build_bots_table(metadata, BOTS),
    )
    for table in tables:
        for name in SEALED_COLUMNS[table.name]:
            purpose = f"slack.{table.name}.{name}"
            table.c[name].type = Text() if box is None else SealedText(box, purpose)
    return tables


def seen_requests_table(metadata: MetaData) -> Table:
    """``slack_seen_requests``: a key (``sig:``/``event:`` + value) kept until ``expires_at``."""
    return Table(
        SEEN_REQUESTS,
        metadata,
        Column("key", String(100), primary_key=True),
        Column("expires_at", UTCDateTime(), nullable=False, index=True),
    )


def slack_metadata() -> MetaData:
    """Every Slack table, as the stores and the request guard use them (for Alembic)."""
    metadata = MetaData()
    installation_tables(metadata)
    AsyncSQLAlchemyOAuthStateStore.build_oauth_states_table(metadata, OAUTH_STATES)
    seen_requests_table(metadata)
    return metadata
