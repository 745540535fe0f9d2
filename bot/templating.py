"""Jinja2 templates for every server-rendered page, autoescaped, and the static files' addresses.

Templates name a static file through ``static_url("booking.css")``, which gives
``/static/booking.css?v=<hash>``: the hash of the file's content, computed once when the
:class:`StaticFiles` are made at start-up. A changed file gets a new address, so the file served
at an address with the current hash never changes and may be cached for a year
(:func:`bot.handlers.site.static_file`).
"""

from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

import jinja2
from aiohttp import web

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
"""Every page's policy: no inline script or style, framed only by this site."""

STATIC_DIR = Path(__file__).resolve().parent / "static"
STATIC_PREFIX = "/static/"


class StaticFiles:
    """The files of one folder served under ``/static/``, each with its content hash."""

    def __init__(self, directory: Path = STATIC_DIR) -> None:
        self.directory = directory
        self._versions = {
            path.name: hashlib.sha256(path.read_bytes()).hexdigest()[:16]
            for path in sorted(directory.iterdir()) if path.is_file() and not path.name.startswith(".")
        }

    def url(self, name: str) -> str:
        """The address of file ``name`` with its content hash; an unknown name is a template bug."""
        version = self._versions.get(name)
        if version is None:
            raise ValueError(f"no static file {name!r} in {self.directory}")
        return f"{STATIC_PREFIX}{name}?v={version}"

    def path(self, name: str) -> Path | None:
        """The file ``name`` (a plain file name of the folder), or None."""
        return self.directory / name if name in self._versions else None

    def current(self, name: str, version: str) -> bool:
        """Whether ``version`` is the hash of file ``name`` as served now."""
        return bool(version) and self._versions.get(name) == version


class Templates:
    """Loads templates from ``bot/templates`` and renders them into responses."""

    def __init__(self, static: StaticFiles | None = None) -> None:
        self.static = static or StaticFiles()
        self._env = jinja2.Environment(
            loader=jinja2.PackageLoader("bot", "templates"),
            autoescape=jinja2.select_autoescape(default=True, default_for_string=True),
            undefined=jinja2.StrictUndefined,
            trim_blocks=True,
            lstrip_blocks=True,
        )
        # Pages that are not translated still render: ``_`` is the identity unless a caller
        # passes the reader's translations in the context.
        self._env.globals["_"] = str
        self._env.globals["static_url"] = self.static.url

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render template ``name`` with ``context``."""
        return self._env.get_template(name).render(context)

    def response(self, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
        """An HTML response of template ``name``."""
        return web.Response(
            text=self.render(name, context), status=status, content_type="text/html", charset="utf-8"
        )
