"""``slotbot domain add|remove|list``: the operator manages custom domains.

Pages are served on every active custom domain (point the domain's DNS and TLS at this
deployment first); each user then picks the domain their links use in the dashboard.
"""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import SQLAlchemyError

from bot.pages.domains import DomainError, Domains
from bot.settings import Settings, load_environment
from storage.db import create_engine, session_factory


class DomainCommandError(Exception):
    """A one-line failure of a domain command."""


def add_domain_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Add ``slotbot domain ...`` to the command line."""
    domain = sub.add_parser(
        "domain", help="custom domains that serve scheduling pages",
        description="Manage the custom domains scheduling pages are served on.",
    )
    actions = domain.add_subparsers(dest="domain_command", metavar="ACTION", required=True,
                                    parser_class=type(domain))
    add = actions.add_parser("add", help="serve pages on HOST too", description="Add a custom domain.")
    add.add_argument("hostname", metavar="HOST", help="e.g. meet.example.com")
    add.set_defaults(handler=_run(lambda domains, args: _add(domains, args.hostname)))
    remove = actions.add_parser("remove", help="stop serving pages on HOST",
                                description="Deactivate a custom domain; its users' links fall back.")
    remove.add_argument("hostname", metavar="HOST")
    remove.set_defaults(handler=_run(lambda domains, args: _remove(domains, args.hostname)))
    listing = actions.add_parser("list", help="list custom domains", description="List custom domains.")
    listing.set_defaults(handler=_run(lambda domains, args: _list(domains)))


def _run(action: Callable[[Domains, argparse.Namespace], Awaitable[str]]
         ) -> Callable[[argparse.Namespace], int]:
    def handler(args: argparse.Namespace) -> int:
        settings = Settings.from_env(load_environment(), require_secret=False)

        async def run() -> str:
            engine = create_engine(settings.database_url)
            try:
                return await action(Domains(session_factory(engine)), args)
            finally:
                await engine.dispose()

        try:
            print(asyncio.run(run()))
        except DomainError as exc:
            raise DomainCommandError(str(exc)) from None
        except (SQLAlchemyError, OSError) as exc:
            raise DomainCommandError(f"cannot use the database: {str(exc).splitlines()[0]}") from None
        return 0

    return handler


async def _add(domains: Domains, hostname: str) -> str:
    domain = await domains.add(hostname)
    return f"{domain.hostname}: pages are served there now"


async def _remove(domains: Domains, hostname: str) -> str:
    await domains.remove(hostname)
    return f"{hostname.strip().lower()}: removed; its users' links use the main address again"


async def _list(domains: Domains) -> str:
    rows = await domains.all()
    if not rows:
        return "no custom domains"
    return "\n".join(f"{d.hostname}\t{'active' if d.active else 'removed'}" for d in rows)
