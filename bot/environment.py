"""Reading settings from the environment: typed values, one-line errors naming the variable, ``.env``.

:class:`EnvReader` is what :meth:`bot.settings.Settings.from_env` reads with; every bad value
becomes a :class:`SettingsError` saying which variable and what it expects.
"""

from __future__ import annotations

import ipaddress
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

T = TypeVar("T")
Network = ipaddress.IPv4Network | ipaddress.IPv6Network


class SettingsError(Exception):
    """A setting is missing or malformed. ``str()`` is one line naming the variable."""

    def __init__(self, variable: str, expected: str, got: str | None = None) -> None:
        self.variable = variable
        self.expected = expected
        detail = "is not set" if got is None else "is malformed"
        super().__init__(f"{variable} {detail}: expected {expected}")


def networks(text: str) -> tuple[Network, ...]:
    """Comma-separated addresses and networks (``10.0.0.0/8``, ``::1``); empty: none."""
    return tuple(ipaddress.ip_network(part.strip(), strict=False) for part in text.split(",") if part.strip())


def with_slash(url: str) -> str:
    """``url`` ending in one slash."""
    return url if url.endswith("/") else url + "/"


class EnvReader:
    """Typed access to an environment mapping, raising :class:`SettingsError` on bad values."""

    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def text(self, name: str, default: str) -> str:
        """The raw value of ``name``, or ``default`` when it is unset or empty."""
        value = self._env.get(name)
        return default if value is None or value.strip() == "" else value.strip()

    def parse(
        self, name: str, expected: str, parse: Callable[[str], T], value: str | None = None
    ) -> T:
        """``name`` converted by ``convert``; a value it refuses is a :class:`SettingsError`."""
        raw = self._env.get(name, "") if value is None else value
        try:
            return parse(raw)
        except (ValueError, TypeError):
            raise SettingsError(name, expected, raw) from None

    def integer(self, name: str, default: int, *, low: int, high: int) -> int:
        """``name`` as a whole number in ``[low, high]``."""
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        expected = f"an integer from {low} to {high}"
        value = self.parse(name, expected, int, raw)
        if not low <= value <= high:
            raise SettingsError(name, expected, raw)
        return value

    def number(self, name: str, default: float, *, low: float) -> float:
        """``name`` as a number of at least ``low``."""
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        expected = f"a number of at least {low}"
        value = self.parse(name, expected, float, raw)
        if not value >= low:
            raise SettingsError(name, expected, raw)
        return value

    def choice(
        self, name: str, options: tuple[str, ...], default: str, *, upper: bool = False
    ) -> str:
        """``name`` as one of the allowed ``options``."""
        raw = self._env.get(name, "").strip()
        if not raw:
            return default
        value = raw.upper() if upper else raw.lower()
        if value not in options:
            raise SettingsError(name, "one of " + ", ".join(options), raw)
        return value

    def flag(self, name: str, default: bool) -> bool:
        """``name`` as true or false (1/0, yes/no, on/off)."""
        raw = self._env.get(name, "").strip().lower()
        if not raw:
            return default
        if raw in ("1", "true", "yes", "on"):
            return True
        if raw in ("0", "false", "no", "off"):
            return False
        raise SettingsError(name, "true or false", raw)

    def optional_url(self, name: str) -> str:
        """An http(s) URL, or "" when the variable is not set."""
        return self.url(name, "") if self.text(name, "") else ""

    def url(self, name: str, default: str) -> str:
        """``name`` as an http(s) URL, ``default`` when unset."""
        value = self.text(name, default)
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise SettingsError(name, "an http:// or https:// URL", value)
        return value


def load_environment(dotenv_path: Path | None = None) -> dict[str, str]:
    """The process environment, over the values of an optional ``.env`` file."""
    import os

    from dotenv import dotenv_values

    merged: dict[str, str] = {}
    path = dotenv_path if dotenv_path is not None else Path(".env")
    if path.is_file():
        merged.update({k: v for k, v in dotenv_values(path).items() if v is not None})
    merged.update(os.environ)
    return merged
