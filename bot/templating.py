"""Jinja2 templates for every server-rendered page, autoescaped."""

from __future__ import annotations

from typing import Any

import jinja2
from aiohttp import web

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; img-src 'self' data: https:; style-src 'self'; script-src 'self'; "
    "frame-ancestors 'self'; form-action 'self'; base-uri 'none'; object-src 'none'"
)
"""Every page's policy: no inline script or style, framed only by this site."""


class Templates:
    """Loads templates from ``bot/templates`` and renders them into responses."""

    def __init__(self) -> None:
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

    def render(self, name: str, context: dict[str, Any]) -> str:
        """Render template ``name`` with ``context``."""
        return self._env.get_template(name).render(context)

    def response(self, name: str, context: dict[str, Any], *, status: int = 200) -> web.Response:
        """An HTML response of template ``name``."""
        return web.Response(
            text=self.render(name, context), status=status, content_type="text/html", charset="utf-8"
        )
