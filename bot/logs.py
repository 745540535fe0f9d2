"""Structured logs, free of secrets.

:func:`configure_logging` installs a formatter (JSON lines or plain text) and a filter that
replaces every configured secret value, and anything shaped like a bearer token, Slack token or
password field, with ``[redacted]`` — in the message, its arguments, extra fields (nested ones
too, such as the access log's request headers) and tracebacks. One-time links are secrets too:
the token of a manage link (``/meetings-manage/<token>``) and the ``token``, ``code`` and
``state`` query values (login links, OAuth callbacks) are redacted wherever a URL is logged.
The access log (:func:`access_logger`) goes through the same handler, so it is redacted alike.
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable
from datetime import UTC, datetime
from typing import Any, TextIO

_PATTERNS = (
    re.compile(r"xox[abpre]-[A-Za-z0-9-]+"),  # Slack tokens
    re.compile(r"(?i)bearer\s+[A-Za-z0-9._~+/=-]+"),
    re.compile(r"(?i)([\"']?(?:access_token|refresh_token|id_token|client_secret|password|code_verifier)"
               r"[\"']?\s*[:=]\s*[\"']?)[^\"'&\s,}]+"),
    re.compile(r"v1\.[0-9a-f]{8}\.[A-Za-z0-9_-]{16,}"),  # sealed secrets (storage.crypto)
    re.compile(r"(/meetings-manage/)[^/?#\s\"'<>]+"),  # manage links
    re.compile(r"(?i)([?&;](?:token|code|state|session_state)=)[^&#\s\"'<>]+"),  # links, OAuth callbacks
)
ACCESS_LOGGER = "aiohttp.access"
_RESERVED = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}
REDACTED = "[redacted]"


class Redactor:
    """Replaces known secret values and token-shaped strings in text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        self._secrets = sorted({s for s in secrets if s and len(s) >= 6}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        """Return ``text`` with secrets replaced."""
        for secret in self._secrets:
            text = text.replace(secret, REDACTED)
        for pattern in _PATTERNS:
            text = pattern.sub(
                lambda m: (m.group(1) + REDACTED) if m.re.groups else REDACTED, text
            )
        return text


class RedactingFilter(logging.Filter):
    """Scrubs a record's message, arguments, extras and exception text in place."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def filter(self, record: logging.LogRecord) -> bool:
        """Redact ``record``; never drops it."""
        record.msg = self._redact(record.getMessage())
        record.args = None
        if record.exc_info:
            record.exc_text = self._redact(logging.Formatter().formatException(record.exc_info))
            record.exc_info = None
        for key, value in list(vars(record).items()):
            if key not in _RESERVED:
                setattr(record, key, self._scrub(value))
        return True

    def _scrub(self, value: Any) -> Any:
        """``value`` with every string in it redacted (dicts and lists walked)."""
        if isinstance(value, str):
            return self._redact(value)
        if isinstance(value, dict):
            return {key: self._scrub(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return type(value)(self._scrub(item) for item in value)
        return value


class JsonFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, extras, exception."""

    def format(self, record: logging.LogRecord) -> str:
        """Format ``record`` as JSON."""
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        for key, value in vars(record).items():
            if key not in _RESERVED and not key.startswith("_"):
                entry[key] = value if isinstance(value, int | float | bool | None) else str(value)
        if record.exc_text:
            entry["exception"] = record.exc_text
        elif record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def access_logger() -> logging.Logger:
    """The logger ``slotbot serve`` gives aiohttp for its access log (redacted like the rest)."""
    return logging.getLogger(ACCESS_LOGGER)


def configure_logging(
    level: str, fmt: str, secrets: Iterable[str] = (), *, stream: TextIO | None = None
) -> None:
    """Install Slotbot's handler on the root logger (replacing earlier ones), writing to
    ``stream`` (standard error by default)."""
    handler = logging.StreamHandler(stream)
    handler.addFilter(RedactingFilter(Redactor(secrets)))
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    for old in list(root.handlers):
        root.removeHandler(old)
    root.addHandler(handler)
    root.setLevel(level)
    access_logger().setLevel(max(logging.getLevelName(level), logging.INFO))
    # Migration chatter ("Context impl SQLiteImpl") is noise outside debugging.
    logging.getLogger("alembic").setLevel(
        logging.DEBUG if level == "DEBUG" else logging.WARNING
    )
