"""The ``slotbot`` command: serve, demo, db upgrade, free, genkey, slack-manifest, teams-package.

Every user error ends with one line on stderr and exit code 2 — never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import cast

from aiohttp import web

from bot.cli.domains import DomainCommandError, add_domain_parser
from bot.cli.free import OneLineArgumentParser, add_free_parser
from bot.settings import Settings, SettingsError, load_environment

USAGE_ERROR = 2


class CommandError(Exception):
    """A user-facing failure: printed as one line, exit code 2."""


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand."""
    parser = OneLineArgumentParser(
        prog="slotbot",
        description="Slotbot: meeting scheduling that lives in chat (Slack, Teams, web).",
    )
    sub = parser.add_subparsers(
        dest="command", metavar="COMMAND", required=True, parser_class=OneLineArgumentParser
    )

    serve = sub.add_parser(
        "serve",
        help="run the web service (settings from the environment and .env)",
        description="Run Slotbot's web service. Settings come from the environment and an "
        "optional .env file; the database must be migrated first (slotbot db upgrade).",
    )
    serve.add_argument("--host", help="interface to listen on (default: SLOTBOT_HOST)")
    serve.add_argument("--port", type=int, help="port to listen on (default: SLOTBOT_PORT)")
    serve.set_defaults(handler=_serve)

    demo = sub.add_parser(
        "demo",
        help="run a local demo: SQLite, a sample calendar, no accounts needed",
        description="Start a self-contained demo: SQLite and a generated secret key in a data "
        "folder, a demo host with a local calendar seeded from a bundled .ics, and the pages.",
    )
    demo.add_argument(
        "--data-dir", type=Path, default=Path("slotbot-demo-data"),
        help="folder for the demo database and key (default: ./slotbot-demo-data)",
    )
    demo.add_argument("--host", default="127.0.0.1", help="interface (default: 127.0.0.1)")
    demo.add_argument("--port", type=int, default=8080, help="port (default: 8080)")
    demo.add_argument(
        "--exchange", action="store_true",
        help="also run a local Exchange server (EWS, https, sample mailboxes) to connect from the dashboard",
    )
    demo.set_defaults(handler=_demo)

    db = sub.add_parser("db", help="database maintenance", description="Database maintenance.")
    db_sub = db.add_subparsers(
        dest="db_command", metavar="ACTION", required=True, parser_class=OneLineArgumentParser
    )
    upgrade = db_sub.add_parser(
        "upgrade",
        help="migrate the database (DATABASE_URL) to this version",
        description="Apply every pending migration to the database named by DATABASE_URL.",
    )
    upgrade.set_defaults(handler=_db_upgrade)
    current = db_sub.add_parser(
        "current", help="print the database's migration revision",
        description="Print the revision the database is at, and the newest one this version has.",
    )
    current.set_defaults(handler=_db_current)

    genkey = sub.add_parser(
        "genkey",
        help="print a new random SLOTBOT_SECRET_KEY",
        description="Print a new random 32-byte key for SLOTBOT_SECRET_KEY.",
    )
    genkey.set_defaults(handler=_genkey)

    manifest = sub.add_parser(
        "slack-manifest",
        help="print the Slack app manifest for this deployment",
        description="Print the Slack app manifest (JSON) with this deployment's URLs and domain, "
        "to paste at https://api.slack.com/apps (Create New App, From an app manifest).",
    )
    manifest.add_argument("--base-url", required=True, help="public https URL of this deployment")
    manifest.add_argument(
        "--single-workspace", action="store_true",
        help="for SLACK_BOT_TOKEN installs: keep token rotation off",
    )
    manifest.add_argument(
        "--unfurl-domain", action="append", default=[], metavar="DOMAIN",
        help="another domain whose meeting links Slotbot unfurls (repeatable)",
    )
    manifest.set_defaults(handler=_slack_manifest)

    teams = sub.add_parser(
        "teams-package",
        help="write the Teams app package (zip) for this deployment",
        description="Write the Microsoft Teams app package (manifest.json, color.png, outline.png) "
        "with this deployment's URL, bot and domains, to upload in Teams (Apps, Manage your apps, "
        "Upload an app) or in the Teams admin center.",
    )
    teams.add_argument("--base-url", required=True, help="public https URL of this deployment")
    teams.add_argument("--app-id", required=True, help="the Azure Bot's Microsoft app id (TEAMS_APP_ID)")
    teams.add_argument(
        "--domain", action="append", default=[], metavar="DOMAIN",
        help="another domain whose meeting links Slotbot unfurls (repeatable)",
    )
    teams.add_argument(
        "--custom-domains", action="store_true",
        help="also unfurl every active custom domain of the database (DATABASE_URL)",
    )
    teams.add_argument("--version", default="1.0.0", help="the app's version (default: 1.0.0)")
    teams.add_argument("--privacy-url", default="", help="privacy statement (default: the base URL)")
    teams.add_argument("--terms-url", default="", help="terms of use (default: the base URL)")
    teams.add_argument(
        "--output", type=Path, default=Path("slotbot-teams.zip"),
        help="where to write the zip (default: ./slotbot-teams.zip)",
    )
    teams.set_defaults(handler=_teams_package)

    add_free_parser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    add_domain_parser(cast("argparse._SubParsersAction[argparse.ArgumentParser]", sub))
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    handler: Callable[[argparse.Namespace], int] = args.handler
    try:
        return handler(args)
    except (CommandError, SettingsError, DomainCommandError) as exc:
        print(f"slotbot: {exc}", file=sys.stderr)
        return USAGE_ERROR
    except KeyboardInterrupt:
        return 130


def _settings(require_secret: bool = True) -> Settings:
    return Settings.from_env(load_environment(), require_secret=require_secret)


def _serve(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.app import create_app
    from bot.logs import access_logger, configure_logging
    from storage.db import DatabaseNotMigrated, create_engine, first_line, require_migrated
    from storage.readiness import DatabaseNotWritable, require_writable

    settings = _settings()
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())

    async def check() -> None:
        engine = create_engine(settings.database_url)
        try:
            await require_migrated(engine)
            await require_writable(engine)
        finally:
            await engine.dispose()

    try:
        asyncio.run(check())
    except (DatabaseNotMigrated, DatabaseNotWritable) as exc:
        raise CommandError(str(exc)) from None
    except OSError as exc:
        raise CommandError(f"cannot reach the database: {exc.strerror or exc}") from None
    except SQLAlchemyError as exc:
        raise CommandError(f"cannot use the database: {first_line(exc)}") from None
    app = create_app(settings)
    app.on_startup.append(_freeze_startup_objects)
    web.run_app(
        app,
        host=args.host or settings.host,
        port=args.port if args.port is not None else settings.port,
        print=None,
        access_log=access_logger(),
    )
    return 0


async def _freeze_startup_objects(app: web.Application) -> None:
    """Move what start-up built out of the garbage collector's sight: full collections then stop
    pausing the event loop for a long-lived heap (measured: 140-230 ms pauses -> under 40 ms)."""
    gc.collect()
    gc.freeze()


def _demo(args: argparse.Namespace) -> int:
    from bot.cli.demo import run_demo
    from bot.demo.seed import DemoSetupError, prepare_data_dir

    try:
        key = prepare_data_dir(args.data_dir)
    except DemoSetupError as exc:
        raise CommandError(str(exc)) from None
    if not 0 <= args.port <= 65535:
        raise CommandError(f"--port must be from 0 to 65535, not {args.port}")
    try:
        return run_demo(args.data_dir.resolve(), key, host=args.host, port=args.port, exchange=args.exchange)
    except DemoSetupError as exc:
        raise CommandError(str(exc)) from None


def _db_upgrade(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import create_engine, current_revision, first_line, upgrade

    settings = _settings(require_secret=False)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            await upgrade(engine)
            return await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        revision = asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        raise CommandError(f"migration failed: {first_line(exc)}") from None
    print(f"database is at revision {revision}")
    return 0


def _db_current(args: argparse.Namespace) -> int:
    from sqlalchemy.exc import SQLAlchemyError

    from storage.db import create_engine, current_revision, first_line, head_revision

    settings = _settings(require_secret=False)

    async def run() -> str | None:
        engine = create_engine(settings.database_url)
        try:
            return await current_revision(engine)
        finally:
            await engine.dispose()

    try:
        revision = asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        raise CommandError(f"cannot read the database: {first_line(exc)}") from None
    print(f"current: {revision or 'none (empty database)'}; newest: {head_revision()}")
    return 0


def _genkey(args: argparse.Namespace) -> int:
    from storage.crypto import generate_key

    print(generate_key())
    return 0


def _slack_manifest(args: argparse.Namespace) -> int:
    from bot.handlers.slack.manifest import ManifestError, manifest_json

    try:
        text = manifest_json(
            args.base_url,
            single_workspace=args.single_workspace,
            unfurl_domains=tuple(args.unfurl_domain),
        )
    except ManifestError as exc:
        raise CommandError(str(exc)) from None
    sys.stdout.write(text)
    return 0


def _teams_package(args: argparse.Namespace) -> int:
    from bot.handlers.teams.package import PackageError, build_manifest, package

    domains = list(args.domain)
    if args.custom_domains:
        domains += _active_custom_domains()
    try:
        manifest = build_manifest(args.base_url, args.app_id, domains=tuple(domains), version=args.version,
                                  privacy_url=args.privacy_url, terms_url=args.terms_url)
    except PackageError as exc:
        raise CommandError(str(exc)) from None
    try:
        args.output.write_bytes(package(manifest))
    except OSError as exc:
        raise CommandError(f"cannot write {args.output}: {exc.strerror or exc}") from None
    hosts = ", ".join(manifest["validDomains"])
    print(f"wrote {args.output} (Teams app {manifest['id']}, unfurls links on {hosts})")
    return 0


def _active_custom_domains() -> list[str]:
    from sqlalchemy.exc import SQLAlchemyError

    from bot.pages.domains import Domains
    from storage.db import create_engine, session_factory

    settings = _settings(require_secret=False)

    async def run() -> list[str]:
        engine = create_engine(settings.database_url)
        try:
            return [d.hostname for d in await Domains(session_factory(engine)).all() if d.active]
        finally:
            await engine.dispose()

    try:
        return asyncio.run(run())
    except (SQLAlchemyError, OSError) as exc:
        raise CommandError(f"cannot read the custom domains: {_first_line(exc)}") from None


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc)
    return text.splitlines()[0] if text else type(exc).__name__


if __name__ == "__main__":
    raise SystemExit(main())
