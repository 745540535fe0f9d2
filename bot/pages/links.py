"""Public links: every URL a visitor or a chat user is given is built here.

A user may choose one of the admin's custom domains; their links then use that host name (with
the scheme of ``SLOTBOT_BASE_URL``), so changing the domain changes every link at once. Paths are
the same on every domain: ``/meetings/<user slug>[/<page slug>]`` is one page wherever it is served.
"""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import CustomDomain, SchedulingPage, User


class Links:
    """Builds absolute links from the deployment's base URL and a user's chosen domain."""

    def __init__(self, base_url: str) -> None:
        self._base_url = base_url.rstrip("/")
        self._scheme = urlsplit(self._base_url).scheme or "https"

    @property
    def base_url(self) -> str:
        """The deployment's own address (no trailing slash)."""
        return self._base_url

    def base(self, hostname: str | None) -> str:
        """The address pages are served from for ``hostname`` (None: the deployment's own)."""
        return f"{self._scheme}://{hostname}" if hostname else self._base_url

    def page(self, user_slug: str, page_slug: str | None = None, *, hostname: str | None = None) -> str:
        """The link of a user's page (``page_slug`` None: the user's default page)."""
        path = f"/meetings/{quote(user_slug, safe='')}"
        if page_slug:
            path += f"/{quote(page_slug, safe='')}"
        return self.base(hostname) + path

    def manage(self, token: str, *, hostname: str | None = None) -> str:
        """The manage link (cancel, reschedule) of a booking."""
        return f"{self.base(hostname)}/meetings-manage/{quote(token, safe='')}"

    async def hostname_of(self, session: AsyncSession, user: User) -> str | None:
        """The custom domain ``user`` chose, when it is still active."""
        if user.domain_id is None:
            return None
        domain = await session.get(CustomDomain, user.domain_id)
        return domain.hostname if domain is not None and domain.active else None

    async def page_of(self, session: AsyncSession, user: User, page: SchedulingPage | None = None) -> str:
        """The link of ``page`` (default: the user's default page) on the user's domain."""
        hostname = await self.hostname_of(session, user)
        if page is None or page.is_default:
            return self.page(user.slug, hostname=hostname)
        return self.page(user.slug, page.slug, hostname=hostname)
