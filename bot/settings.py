"""Slotbot's settings: one frozen, typed object built from the environment and passed explicitly.

Nothing reads the environment at import time. :func:`Settings.from_env` takes a mapping (normally
``os.environ`` merged with an optional ``.env`` file) and raises :class:`SettingsError` naming the
variable and what it expects when something is missing or malformed. Every external endpoint is a
setting so tests and sovereign clouds can point elsewhere.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.calendar.ssrf import AddressPolicy
from bot.calendar.tls import trust_context
from bot.environment import EnvReader, Network, networks, with_slash
from bot.environment import SettingsError as SettingsError
from bot.environment import load_environment as load_environment


def decode_key(text: str) -> bytes:
    """Decode a 32-byte AES key written in URL-safe or standard base64 (padding optional)."""
    cleaned = text.strip()
    padded = cleaned + "=" * (-len(cleaned) % 4)
    for decoder in (base64.urlsafe_b64decode, base64.b64decode):
        try:
            raw = decoder(padded)
        except (binascii.Error, ValueError):
            continue
        if len(raw) == 32:
            return raw
    raise ValueError("not a base64-encoded 32-byte key")


def read_address_policy(env: Mapping[str, str]) -> AddressPolicy:
    """``SLOTBOT_ALLOWED_PRIVATE_NETWORKS``: the private networks user-given hosts may reach."""
    name = "SLOTBOT_ALLOWED_PRIVATE_NETWORKS"
    raw = env.get(name, "")
    try:
        return AddressPolicy.parse(raw)
    except ValueError as error:
        raise SettingsError(name, f"comma-separated IP networks; {error}", raw) from None


def read_extra_ca_file(reader: EnvReader) -> str | None:
    """``SLOTBOT_EXTRA_CA_FILE``: a PEM file of CA certificates trusted besides the system store."""
    name = "SLOTBOT_EXTRA_CA_FILE"
    path = reader.text(name, "")
    if not path:
        return None
    if not Path(path).is_file():
        raise SettingsError(name, "the path of an existing file of PEM CA certificates", path)
    try:
        trust_context(path)
    except OSError:  # ssl.SSLError included: no certificate in it
        raise SettingsError(name, "a readable file of PEM CA certificates", path) from None
    return path


@dataclass(frozen=True)
class SmtpSettings:
    """Where e-mail goes. ``host`` empty means mail is not sent: with ``print_unsent`` (the demo,
    ``SLOTBOT_DEMO``) each e-mail is shown in full on standard output, else one log line says so."""

    host: str = ""
    port: int = 587
    tls: str = "starttls"  # "starttls", "tls" (implicit) or "none"
    username: str = ""
    password: str = field(default="", repr=False)
    sender: str = "Slotbot <slotbot@localhost>"
    timeout: float = 20.0
    print_unsent: bool = False


@dataclass(frozen=True)
class GoogleSettings:
    """Google OAuth 2.0 and Calendar v3 endpoints and client."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    auth_uri: str = "https://accounts.google.com/o/oauth2/v2/auth"
    token_uri: str = "https://oauth2.googleapis.com/token"  # noqa: S105 (an endpoint)
    revoke_uri: str = "https://oauth2.googleapis.com/revoke"
    api_base: str = "https://www.googleapis.com/calendar/v3/"

    @property
    def enabled(self) -> bool:
        """Whether a client is configured, so hosts can connect Google calendars."""
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class MicrosoftSettings:
    """Microsoft identity platform and Graph endpoints and client."""

    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    authority: str = "https://login.microsoftonline.com/common"
    graph_base: str = "https://graph.microsoft.com/v1.0"
    ca_bundle: str = ""  # extra trust for a private authority (tests, sovereign proxies)

    @property
    def enabled(self) -> bool:
        """Whether a client is configured, so hosts can connect Microsoft 365 calendars."""
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class SlackSettings:
    """Slack app credentials and Web API endpoint."""

    signing_secret: str = field(default="", repr=False)
    bot_token: str = field(default="", repr=False)
    client_id: str = ""
    client_secret: str = field(default="", repr=False)
    api_base: str = "https://slack.com/api/"
    authorize_url: str = "https://slack.com/oauth/v2/authorize"
    user_requests_per_minute: int = 30

    @property
    def enabled(self) -> bool:
        """Whether Slack requests can be verified (a signing secret is set)."""
        return bool(self.signing_secret)

    @property
    def configured(self) -> bool:
        """Whether the Slack channel can run: a signing secret and a bot token or OAuth client."""
        return self.enabled and bool(self.bot_token or self.multi_workspace)

    @property
    def multi_workspace(self) -> bool:
        """Whether workspaces install the app through OAuth (client id and secret are set)."""
        return bool(self.client_id and self.client_secret)


@dataclass(frozen=True)
class TeamsSettings:
    """The Microsoft Teams bot: its Bot Framework registration (single-tenant) and endpoints.

    ``app_id`` empty means the Teams channel is off. ``login_url`` is the authority the bot's
    client-credentials token comes from (default: the tenant's, on login.microsoftonline.com).
    """

    app_id: str = ""
    app_password: str = field(default="", repr=False)
    tenant_id: str = ""
    openid_metadata_url: str = "https://login.botframework.com/v1/.well-known/openidconfiguration"
    token_issuer: str = "https://api.botframework.com"  # noqa: S105 (an issuer)
    login_url: str = ""
    oauth_scope: str = "https://api.botframework.com"
    ca_bundle: str = ""  # extra trust for private endpoints (tests, proxies)

    @property
    def enabled(self) -> bool:
        """Whether the Teams channel runs (an app id is set)."""
        return bool(self.app_id)

    @property
    def authority(self) -> str:
        """Where the bot's token comes from: ``login_url``, else the tenant's authority."""
        return self.login_url or f"https://login.microsoftonline.com/{self.tenant_id}"


@dataclass(frozen=True)
class Settings:
    """Everything Slotbot is configured with. Build it with :meth:`from_env`."""

    database_url: str
    secret_keys: tuple[bytes, ...] = field(repr=False)
    base_url: str = "http://127.0.0.1:8080"
    host: str = "127.0.0.1"
    port: int = 8080
    default_timezone: str = "UTC"
    log_level: str = "INFO"
    log_format: str = "json"
    data_dir: Path = Path(".")
    outbox_poll_seconds: float = 2.0
    outbox_max_attempts: int = 8
    booking_limit_per_ip: int = 10  # booking POSTs per minute from one address
    booking_limit_per_page: int = 60  # booking POSTs per minute to one page
    trusted_proxies: tuple[Network, ...] = ()  # peers whose X-Forwarded-* headers are believed
    calendar_timeout_seconds: float = 10.0
    unreachable_notice_minutes: float = 60.0  # a calendar service silent this long: its host is told
    address_policy: AddressPolicy = field(default_factory=AddressPolicy)  # private networks allowed
    extra_ca_file: str | None = None  # CA certificates trusted besides the system store (calendars)
    exchange_enabled: bool = True  # on-premises Exchange (EWS) through the dashboard's form
    caldav_enabled: bool = True  # CalDAV (iCloud, Fastmail, Nextcloud...) through the dashboard's form
    feeds_enabled: bool = True  # read-only calendars by address (ICS feeds) through the dashboard
    feed_max_bytes: int = 20 * 1024 * 1024  # the most of one feed Slotbot reads
    sync_poll_seconds: float = 300.0  # calendar sync: how often a calendar without push is read again
    sync_round_seconds: float = 5.0  # calendar sync: how often the background round looks for due work
    sync_push: str = "auto"  # push channels: auto (with an https base URL), on, off
    pushed_cache_seconds: float = 900.0  # cached busy time when every checked calendar is pushed
    smtp: SmtpSettings = SmtpSettings()
    google: GoogleSettings = GoogleSettings()
    microsoft: MicrosoftSettings = MicrosoftSettings()
    slack: SlackSettings = SlackSettings()
    teams: TeamsSettings = TeamsSettings()
    demo: bool = False

    @property
    def secret_key(self) -> bytes:
        """The key new secrets are encrypted with (the first of :attr:`secret_keys`)."""
        return self.secret_keys[0]

    def secret_values(self) -> list[str]:
        """Every configured secret as text, so logs can redact them."""
        values = [
            self.smtp.password,
            self.google.client_secret,
            self.microsoft.client_secret,
            self.slack.signing_secret,
            self.slack.bot_token,
            self.slack.client_secret,
            self.teams.app_password,
        ]
        for key in self.secret_keys:
            values.append(base64.urlsafe_b64encode(key).decode().rstrip("="))
            values.append(base64.b64encode(key).decode().rstrip("="))
        return [v for v in values if v]

    @classmethod
    def from_env(cls, env: Mapping[str, str], *, require_secret: bool = True) -> Settings:
        """Build settings from ``env``; raise :class:`SettingsError` on the first bad value."""
        reader = EnvReader(env)
        database_url = reader.text("DATABASE_URL", "sqlite+aiosqlite:///slotbot.db")
        if not database_url.startswith(("sqlite+aiosqlite://", "postgresql+asyncpg://")):
            raise SettingsError(
                "DATABASE_URL",
                "a sqlite+aiosqlite:/// or postgresql+asyncpg:// URL",
                database_url,
            )
        keys: list[bytes] = []
        current = env.get("SLOTBOT_SECRET_KEY", "").strip()
        if current:
            keys.append(reader.parse("SLOTBOT_SECRET_KEY", "a base64-encoded 32-byte key", decode_key))
        elif require_secret:
            raise SettingsError(
                "SLOTBOT_SECRET_KEY",
                "a base64-encoded 32-byte key (`slotbot genkey` prints one)",
            )
        for old in env.get("SLOTBOT_OLD_SECRET_KEYS", "").split(","):
            if old.strip():
                keys.append(
                    reader.parse(
                        "SLOTBOT_OLD_SECRET_KEYS",
                        "a comma-separated list of base64-encoded 32-byte keys",
                        decode_key,
                        value=old,
                    )
                )
        base_url = reader.url("SLOTBOT_BASE_URL", "http://127.0.0.1:8080").rstrip("/")
        zone = reader.text("SLOTBOT_DEFAULT_TIMEZONE", "UTC")
        try:
            ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("SLOTBOT_DEFAULT_TIMEZONE", "an IANA time zone name", zone) from None
        log_format = reader.choice("SLOTBOT_LOG_FORMAT", ("json", "text"), "json")
        demo = reader.flag("SLOTBOT_DEMO", False)
        return cls(
            database_url=database_url,
            secret_keys=tuple(keys),
            base_url=base_url,
            host=reader.text("SLOTBOT_HOST", "127.0.0.1"),
            port=reader.integer("SLOTBOT_PORT", 8080, low=0, high=65535),
            default_timezone=zone,
            log_level=reader.choice(
                "SLOTBOT_LOG_LEVEL", ("DEBUG", "INFO", "WARNING", "ERROR"), "INFO", upper=True
            ),
            log_format=log_format,
            data_dir=Path(reader.text("SLOTBOT_DATA_DIR", ".")),
            outbox_poll_seconds=reader.number("SLOTBOT_OUTBOX_POLL_SECONDS", 2.0, low=0.01),
            outbox_max_attempts=reader.integer("SLOTBOT_OUTBOX_MAX_ATTEMPTS", 8, low=1, high=100),
            booking_limit_per_ip=reader.integer("SLOTBOT_BOOKING_LIMIT_PER_IP", 10, low=1, high=1_000_000),
            booking_limit_per_page=reader.integer(
                "SLOTBOT_BOOKING_LIMIT_PER_PAGE", 60, low=1, high=1_000_000
            ),
            trusted_proxies=reader.parse(
                "SLOTBOT_TRUSTED_PROXIES",
                "comma-separated IP addresses or networks (e.g. 10.0.0.0/8, ::1)",
                networks,
            ),
            calendar_timeout_seconds=reader.number(
                "SLOTBOT_CALENDAR_TIMEOUT_SECONDS", 10.0, low=0.1
            ),
            address_policy=read_address_policy(env),
            extra_ca_file=read_extra_ca_file(reader),
            unreachable_notice_minutes=reader.number("SLOTBOT_UNREACHABLE_NOTICE_MINUTES", 60.0, low=0.0),
            exchange_enabled=reader.flag("SLOTBOT_EXCHANGE", True),
            caldav_enabled=reader.flag("SLOTBOT_CALDAV", True),
            feeds_enabled=reader.flag("SLOTBOT_FEEDS", True),
            feed_max_bytes=reader.integer("SLOTBOT_FEED_MAX_BYTES", 20 * 1024 * 1024, low=1024, high=1 << 30),
            sync_poll_seconds=reader.number("SLOTBOT_SYNC_POLL_SECONDS", 300.0, low=1.0),
            sync_round_seconds=reader.number("SLOTBOT_SYNC_ROUND_SECONDS", 5.0, low=0.1),
            sync_push=reader.choice("SLOTBOT_SYNC_PUSH", ("auto", "on", "off"), "auto"),
            pushed_cache_seconds=reader.number("SLOTBOT_PUSHED_CACHE_SECONDS", 900.0, low=1.0),
            smtp=SmtpSettings(
                host=reader.text("SMTP_HOST", ""),
                port=reader.integer("SMTP_PORT", 587, low=1, high=65535),
                tls=reader.choice("SMTP_TLS", ("starttls", "tls", "none"), "starttls"),
                username=reader.text("SMTP_USERNAME", ""),
                password=reader.text("SMTP_PASSWORD", ""),
                sender=reader.text("SMTP_FROM", "Slotbot <slotbot@localhost>"),
                timeout=reader.number("SMTP_TIMEOUT_SECONDS", 20.0, low=0.1),
                print_unsent=demo,
            ),
            google=GoogleSettings(
                client_id=reader.text("GOOGLE_CLIENT_ID", ""),
                client_secret=reader.text("GOOGLE_CLIENT_SECRET", ""),
                auth_uri=reader.url("GOOGLE_AUTH_URI", GoogleSettings.auth_uri),
                token_uri=reader.url("GOOGLE_TOKEN_URI", GoogleSettings.token_uri),
                revoke_uri=reader.url("GOOGLE_REVOKE_URI", GoogleSettings.revoke_uri),
                api_base=with_slash(reader.url("GOOGLE_CALENDAR_API_BASE", GoogleSettings.api_base)),
            ),
            microsoft=MicrosoftSettings(
                client_id=reader.text("MICROSOFT_CLIENT_ID", ""),
                client_secret=reader.text("MICROSOFT_CLIENT_SECRET", ""),
                authority=reader.url("MICROSOFT_AUTHORITY", MicrosoftSettings.authority).rstrip("/"),
                graph_base=reader.url("MICROSOFT_GRAPH_BASE", MicrosoftSettings.graph_base).rstrip("/"),
                ca_bundle=reader.text("MICROSOFT_CA_BUNDLE", ""),
            ),
            slack=SlackSettings(
                signing_secret=reader.text("SLACK_SIGNING_SECRET", ""),
                bot_token=reader.text("SLACK_BOT_TOKEN", ""),
                client_id=reader.text("SLACK_CLIENT_ID", ""),
                client_secret=reader.text("SLACK_CLIENT_SECRET", ""),
                api_base=with_slash(reader.url("SLACK_API_BASE", SlackSettings.api_base)),
                authorize_url=reader.url("SLACK_AUTHORIZE_URL", SlackSettings.authorize_url),
                user_requests_per_minute=reader.integer(
                    "SLACK_USER_REQUESTS_PER_MINUTE", 30, low=1, high=100000
                ),
            ),
            teams=TeamsSettings(
                app_id=reader.text("TEAMS_APP_ID", ""),
                app_password=reader.text("TEAMS_APP_PASSWORD", ""),
                tenant_id=reader.text("TEAMS_TENANT_ID", ""),
                openid_metadata_url=reader.url(
                    "TEAMS_OPENID_METADATA_URL", TeamsSettings.openid_metadata_url
                ),
                token_issuer=reader.url("TEAMS_TOKEN_ISSUER", TeamsSettings.token_issuer),
                login_url=reader.optional_url("TEAMS_LOGIN_URL").rstrip("/"),
                oauth_scope=reader.url("TEAMS_OAUTH_SCOPE", TeamsSettings.oauth_scope).rstrip("/"),
                ca_bundle=reader.text("TEAMS_CA_BUNDLE", ""),
            ),
            demo=demo,
        )._checked()

    def _checked(self) -> Settings:
        """``self``, after the checks that involve several variables."""
        slack = self.slack
        if bool(slack.client_id) != bool(slack.client_secret):
            missing = "SLACK_CLIENT_SECRET" if slack.client_id else "SLACK_CLIENT_ID"
            raise SettingsError(missing, "SLACK_CLIENT_ID and SLACK_CLIENT_SECRET set together")
        if (slack.multi_workspace or slack.bot_token) and not slack.enabled:
            raise SettingsError("SLACK_SIGNING_SECRET", "the Slack app's signing secret")
        teams = self.teams
        if teams.enabled and not teams.app_password:
            raise SettingsError("TEAMS_APP_PASSWORD", "the Teams bot's client secret with TEAMS_APP_ID")
        if teams.enabled and not teams.tenant_id:
            raise SettingsError("TEAMS_TENANT_ID", "the Teams bot's tenant id (single-tenant bots)")
        return self


