"""``python -m bot.demo.ews``: a standalone demo Exchange on 127.0.0.1 with sample data."""

from __future__ import annotations

import argparse
import asyncio
from pathlib import Path

from bot.demo.ews.sample import COLLEAGUES, HOST, HOST_PASSWORD, seeded_store
from bot.demo.ews.server import serve


async def _run(host: str, port: int, tls: tuple[Path, Path] | None, schemes: tuple[str, ...]) -> None:
    running = await serve(seeded_store(), host, port, tls, schemes=schemes)
    print(f"EWS endpoint: {running.url}", flush=True)
    print(
        f"Sign in as {HOST} (or CONTOSO\\host), password {HOST_PASSWORD};",
        f"colleagues: {', '.join(COLLEAGUES)}",
        flush=True,
    )
    print("Press Ctrl+C to stop.", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await running.runner.cleanup()


def main(argv: list[str] | None = None) -> int:
    """Parse the options and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m bot.demo.ews", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0, help="default: a free port")
    parser.add_argument("--cert", type=Path, help="PEM certificate, for https (with --key)")
    parser.add_argument("--key", type=Path, help="PEM private key")
    parser.add_argument(
        "--schemes", default="NTLM,Basic", help="sign-in schemes offered (default: NTLM,Basic)"
    )
    args = parser.parse_args(argv)
    tls = (args.cert, args.key) if args.cert and args.key else None
    schemes = tuple(s.strip() for s in args.schemes.split(",") if s.strip())
    try:
        asyncio.run(_run(args.host, args.port, tls, schemes))
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
