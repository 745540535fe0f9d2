"""Which hosts use a custom domain for their links (what the domain's root leads to)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.pages.domains import DomainError, normalize_hostname
from storage.models import CustomDomain, User


async def hosts_on(session: AsyncSession, host_header: str, *, limit: int = 2) -> list[str]:
    """The slugs of up to ``limit`` hosts whose pages are on and whose links use the active custom
    domain of ``host_header`` (a request's Host, with or without its port), oldest first."""
    try:
        name = normalize_hostname(host_header)
    except DomainError:
        return []
    names = {name, name.partition(":")[0]}
    rows = await session.execute(
        select(User.slug)
        .join(CustomDomain, CustomDomain.id == User.domain_id)
        .where(CustomDomain.hostname.in_(names), CustomDomain.active, User.pages_enabled)
        .order_by(User.id)
        .limit(limit)
    )
    return list(rows.scalars())
