"""Benchmark of the scheduling pages under load. Prints figures; not a timed test.

    python bench/pages.py [--seconds 10] [--visitors 50] [--rate 300] [--bookings 80]
                          [--book-concurrency 4] [--postgres] [--profile FILE]

A server process serves the demo as ``slotbot demo`` does (``bot.cli.demo.demo_settings``: SQLite
and a key in its own data folder, here a temporary one; the demo host seeded with its local
calendar from ``bot/demo/data/sample.ics``; the outbox worker running), through a small launcher
in this file, so that it can raise the booking rate limits (``bot.handlers.pages.page.PER_IP`` and
``PER_PAGE``) before the app starts: otherwise a few booking posts from one address are refused.
This process is the load: a bounded aiohttp client loop over real TCP.

1. Slot page: ``--visitors`` concurrent visitors GET ``/meetings/demo?tz=...`` (with the form
   cookie, as a browser after the page script's redirect) for ``--seconds`` each run, after a
   warm-up that fills the availability cache. Two runs:

   * back to back: each visitor sends its next request when the previous one is answered; this
     gives the server's throughput (and, by Little's law, latency = visitors / throughput: with
     50 in flight a p95 of 50 ms needs about 1000 requests/s);
   * paced: the visitors together send ``--rate`` requests/s on a fixed schedule; latency counts
     from the scheduled send time, so a server that falls behind is not flattered.

   Targets: p95 <= 50 ms and >= 300 requests/s.

   Then the same back-to-back loop, for as long, against a bare aiohttp handler served by the
   same server process (``/bench/bare``: a prepared body of as many bytes as the slot page, with
   the same content type, no database, no template). The slot page's throughput is printed as a
   percentage of it: a ratio of two rates measured minutes apart on the same machine survives
   other work on it far better than either rate alone. Target: >= 8 %.
2. Booking: ``--bookings`` posts of the booking form for distinct, non-overlapping slots,
   ``--book-concurrency`` at a time, each as its own visitor. Target: p95 <= 150 ms.

``--postgres`` serves from a throw-away PostgreSQL server (``tests/postgres.py``) instead of the
demo's SQLite. ``--profile FILE`` runs the server under cProfile and prints its top functions
(also saved to FILE for ``python -m pstats``). Exit code 1 when a target is missed. The load
average is printed first: the machine may be shared.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import os
import pstats
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import aiohttp
    from aiohttp import web

    from tests.support.page_client import PageVisitor

ROOT = Path(__file__).resolve().parent.parent
PAGE = "/meetings/demo"
VISITOR_ZONE = "Europe/Lisbon"
HOST_ZONE = "Europe/Copenhagen"
DURATION = 30
BARE = "/bench/bare"  # the bare handler of the server process: ?bytes=N
GET_P95_MS, GET_RATE, POST_P95_MS, BARE_SHARE = 50.0, 300.0, 150.0, 8.0


def main() -> None:
    """Parse the arguments; run the benchmark (or, with ``--serve``, be its server)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of the page load")
    parser.add_argument("--visitors", type=int, default=50, help="concurrent page visitors")
    parser.add_argument("--rate", type=float, default=300.0, help="paced run: requests/s in all")
    parser.add_argument("--bookings", type=int, default=80, help="booking posts (distinct slots; 0: none)")
    parser.add_argument("--book-concurrency", type=int, default=4, help="booking posts at once")
    parser.add_argument("--postgres", action="store_true", help="serve from a PostgreSQL server")
    parser.add_argument("--profile", type=Path, help="profile the server into this file")
    parser.add_argument("--serve", type=Path, help=argparse.SUPPRESS)  # the server process
    parser.add_argument("--database-url", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    if args.serve is not None:
        serve(args.serve, args.profile, args.database_url)
        return
    raise SystemExit(0 if asyncio.run(_bench(args)) else 1)


# -- the server process ----------------------------------------------------------------------


def serve(data_dir: Path, profile: Path | None, database_url: str | None) -> None:
    """Serve the demo on 127.0.0.1 (a free port, printed as ``READY <port>``) until SIGTERM."""
    if profile is None:
        asyncio.run(_serve(data_dir, database_url))
        return
    import cProfile

    profiler = cProfile.Profile()
    profiler.enable()
    try:
        asyncio.run(_serve(data_dir, database_url))
    finally:
        profiler.disable()
        profiler.dump_stats(profile)


async def _serve(data_dir: Path, database_url: str | None) -> None:
    import dataclasses

    from aiohttp import web

    from bot.app import create_app
    from bot.cli.demo import demo_settings
    from bot.demo.seed import prepare_data_dir, seed
    from bot.handlers.pages.page import PER_IP, PER_PAGE
    from bot.handlers.pages.visitor import RateLimiter
    from bot.keys import SECRETS, SESSIONS
    from bot.logs import configure_logging
    from storage.db import create_engine, upgrade

    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    settings = demo_settings(data_dir, prepare_data_dir(data_dir), host="127.0.0.1", port=port)
    if database_url:
        settings = dataclasses.replace(settings, database_url=database_url)
    configure_logging(settings.log_level, settings.log_format, settings.secret_values())
    engine = create_engine(settings.database_url)
    await upgrade(engine)
    app = create_app(settings, engine=engine)
    app[PER_IP] = RateLimiter(1_000_000, 60.0)
    app[PER_PAGE] = RateLimiter(1_000_000, 60.0)
    app.router.add_get(BARE, _bare_handler())
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    try:
        await seed(app[SESSIONS], app[SECRETS])
        await web.SockSite(runner, sock, backlog=1024).start()
        print(f"READY {port}", flush=True)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await stop.wait()
    finally:
        await runner.cleanup()
        await engine.dispose()
        sock.close()


def _bare_handler() -> Callable[[web.Request], Awaitable[web.Response]]:
    """The framework's own cost: a prepared body of ``?bytes=N`` bytes (made once per size)."""
    from aiohttp import web

    bodies: dict[int, bytes] = {}

    async def bare(request: web.Request) -> web.Response:
        size = min(int(request.query.get("bytes", "0")), 10_000_000)
        body = bodies.get(size)
        if body is None:
            body = bodies[size] = b"<!doctype html>" + b"x" * max(0, size - 15)
        return web.Response(body=body, content_type="text/html", charset="utf-8")

    return bare


@contextlib.contextmanager
def _server(
    directory: Path, profile: Path | None, database_url: str | None
) -> Iterator[tuple[str, int]]:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SLOTBOT_LOG_LEVEL": "WARNING"}
    command = [sys.executable, str(Path(__file__).resolve()), "--serve", str(directory / "data")]
    if profile is not None:
        command += ["--profile", str(profile.resolve())]
    if database_url:
        command += ["--database-url", database_url]
    log = (directory / "server.log").open("w")
    process = subprocess.Popen(command, cwd=directory, env=env, stdout=subprocess.PIPE, stderr=log,
                               text=True)
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        if not line.startswith("READY "):
            raise SystemExit(f"the server did not start:\n{(directory / 'server.log').read_text()}")
        yield f"http://127.0.0.1:{int(line.split()[1])}", process.pid
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        log.close()


# -- the load ----------------------------------------------------------------------------------


async def _bench(args: argparse.Namespace) -> bool:
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.2f} "
          "(other work on the machine skews the figures)")
    with tempfile.TemporaryDirectory(prefix="slotbot-bench-pages-") as tmp, _database(args) as url:
        directory = Path(tmp)
        print(f"database: {'PostgreSQL' if url else 'SQLite (the demo)'}")
        with _server(directory, args.profile, url) as (base_url, pid):
            ok = await _load(base_url, pid, args)
        errors = [line for line in (directory / "server.log").read_text().splitlines()
                  if "ERROR" in line or "Traceback" in line]
        if errors:
            print(f"server log: {len(errors)} error lines, first: {errors[0]}")
            ok = False
    if args.profile is not None:
        _print_profile(args.profile)
    return ok


@contextlib.contextmanager
def _database(args: argparse.Namespace) -> Iterator[str | None]:
    if not args.postgres:
        yield None
        return
    from tests.support import postgres

    server = postgres.start()
    try:
        yield server.url
    finally:
        server.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of process ``pid`` so far (Linux ``/proc``; 0 elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def _load(base_url: str, pid: int, args: argparse.Namespace) -> bool:
    import aiohttp

    from tests.support.page_client import PageVisitor, offered_starts, spread_starts

    connector = aiohttp.TCPConnector(limit=max(args.visitors, args.book_concurrency))
    async with aiohttp.ClientSession(connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as http:
        url = base_url + PAGE
        query = f"?tz={VISITOR_ZONE}"
        visitors = [PageVisitor(http, url) for _ in range(args.visitors)]
        first = await asyncio.gather(*(v.open(query) for v in visitors))
        starts = offered_starts(first[0].text)
        size = len(first[0].text.encode())
        print(f"demo page: {len(starts)} slots offered over the next 14 days, "
              f"{size // 1024} KiB of HTML")
        page = _page_fetch(query)
        await _back_to_back(visitors, page, 1.0)  # warm-up: caches, connections
        cpu = _cpu_seconds(pid)
        seconds, latencies, failures = await _back_to_back(visitors, page, args.seconds)
        cpu = _cpu_seconds(pid) - cpu
        rate = len(latencies) / seconds
        _report(f"slot page GET back to back, {args.visitors} visitors, {seconds:.1f} s",
                latencies, failures, GET_P95_MS)
        print(f"  throughput: {rate:.0f} requests/s (target >= {GET_RATE:.0f}) "
              f"{'ok' if rate >= GET_RATE else 'MISSED'}")
        page_cpu = cpu * 1000 / len(latencies)
        if cpu:
            per = page_cpu
            print(f"  server CPU: {per:.2f} ms per request, {cpu / seconds * 100:.0f}% of one core "
                  f"(one process can serve at most ~{1000 / per:.0f} requests/s)")
        latencies, failures, behind = await _paced(visitors, query, args.rate, args.seconds)
        get_ok = _report(f"slot page GET paced at {args.rate:.0f}/s, {args.visitors} visitors, "
                         f"{args.seconds:.1f} s", latencies, failures, GET_P95_MS)
        print(f"  requests sent more than 100 ms behind schedule: {behind}")
        get_ok = get_ok and rate >= GET_RATE

        bare = _bare_fetch(http, base_url, size)
        await _back_to_back(visitors, bare, 1.0)
        cpu = _cpu_seconds(pid)
        seconds, latencies, failures = await _back_to_back(visitors, bare, args.seconds)
        cpu = _cpu_seconds(pid) - cpu
        bare_rate = len(latencies) / seconds
        print(f"bare aiohttp handler, {size} bytes, same process and loop, {args.visitors} visitors, "
              f"{seconds:.1f} s: {len(latencies)} requests, {failures} not 200")
        bare_cpu = cpu * 1000 / len(latencies)
        print(f"  throughput: {bare_rate:.0f} requests/s"
              + (f"; server CPU {bare_cpu:.2f} ms per request" if cpu else ""))
        if cpu and page_cpu:
            print(f"  server CPU per request, slot page / bare handler: {page_cpu / bare_cpu:.0f}x "
                  "(the bare rate is bounded by this client loop when that is far above 1)")
        share = 100 * rate / bare_rate
        print(f"  slot page / bare handler: {share:.1f} % (target >= {BARE_SHARE:.0f} %) "
              f"{'ok' if share >= BARE_SHARE else 'MISSED'}")
        get_ok = get_ok and share >= BARE_SHARE and failures == 0

        if args.bookings <= 0:
            return get_ok
        slots = spread_starts(starts, minutes=DURATION, zone=HOST_ZONE)[: args.bookings]
        bookers = [PageVisitor(http, url) for _ in slots]
        await asyncio.gather(*(b.open(query) for b in bookers))
        gate = asyncio.Semaphore(args.book_concurrency)
        failed: list[str] = []

        async def book(number: int, visitor: PageVisitor) -> float:
            async with gate:
                began = time.perf_counter()
                answer = await visitor.book(slots[number], duration=DURATION, name=f"Bench {number}",
                                            email=f"bench{number}@example.com", timezone=VISITOR_ZONE)
                took = (time.perf_counter() - began) * 1000
            if answer.status != 200:
                failed.append(f"{answer.status}")
            return took

        cpu = _cpu_seconds(pid)
        posts = await asyncio.gather(*(book(n, v) for n, v in enumerate(bookers)))
        cpu = _cpu_seconds(pid) - cpu
        post_ok = _report(f"booking POST, {len(slots)} distinct slots, {args.book_concurrency} at a time",
                          list(posts), len(failed), POST_P95_MS)
        if cpu:
            print(f"  server CPU: {cpu * 1000 / len(slots):.2f} ms per booking (with the outbox work "
                  "that ran meanwhile)")
        if failed:
            print(f"  non-200 answers: {sorted(set(failed))}")
    return get_ok and post_ok


Fetch = Callable[["PageVisitor"], Awaitable[int]]  # one request of one visitor -> its status


def _page_fetch(query: str) -> Fetch:
    async def fetch(visitor: PageVisitor) -> int:
        return (await visitor.open(query)).status
    return fetch


def _bare_fetch(http: aiohttp.ClientSession, base_url: str, size: int) -> Fetch:
    """The bare handler, asked as a visitor asks for the page (its cookie, the body read as text)."""
    from tests.support.page_client import FORM_COOKIE

    url = f"{base_url}{BARE}?bytes={size}"

    async def fetch(visitor: PageVisitor) -> int:
        async with http.get(url, headers={"Cookie": f"{FORM_COOKIE}={visitor.token}"}) as response:
            await response.text()
            return response.status
    return fetch


async def _back_to_back(
    visitors: list[PageVisitor], fetch: Fetch, seconds: float
) -> tuple[float, list[float], int]:
    latencies: list[float] = []
    failures = 0
    began = time.perf_counter()
    deadline = began + seconds

    async def visit(visitor: PageVisitor) -> None:
        nonlocal failures
        while time.perf_counter() < deadline:
            start = time.perf_counter()
            status = await fetch(visitor)
            latencies.append((time.perf_counter() - start) * 1000)
            if status != 200:
                failures += 1

    await asyncio.gather(*(visit(v) for v in visitors))
    return time.perf_counter() - began, latencies, failures


async def _paced(
    visitors: list[PageVisitor], query: str, rate: float, seconds: float
) -> tuple[list[float], int, int]:
    """Each visitor sends on its own fixed schedule; all together ``rate`` requests/s."""
    latencies: list[float] = []
    failures = behind = 0
    interval = len(visitors) / rate
    began = time.perf_counter() + 0.05

    async def visit(number: int, visitor: PageVisitor) -> None:
        nonlocal failures, behind
        due = began + interval * number / len(visitors)
        while due < began + seconds:
            wait = due - time.perf_counter()
            if wait > 0:
                await asyncio.sleep(wait)
            elif wait < -0.1:
                behind += 1
            answer = await visitor.open(query)
            latencies.append((time.perf_counter() - due) * 1000)
            if answer.status != 200:
                failures += 1
            due += interval

    await asyncio.gather(*(visit(n, v) for n, v in enumerate(visitors)))
    return latencies, failures, behind


def _report(label: str, values: list[float], failures: int, p95_target: float) -> bool:
    cuts = statistics.quantiles(values, n=100, method="inclusive")
    p50, p95, p99 = cuts[49], cuts[94], cuts[98]
    ok = p95 <= p95_target and failures == 0
    print(f"{label}: {len(values)} requests, {failures} not 200")
    print(f"  latency ms: p50 {p50:.1f}  p95 {p95:.1f}  p99 {p99:.1f}  max {max(values):.1f}  "
          f"mean {statistics.fmean(values):.1f}  (target p95 <= {p95_target:.0f}) "
          f"{'ok' if ok else 'MISSED'}")
    return ok


def _print_profile(path: Path) -> None:
    print(f"\nserver profile ({path}), top 25 by own time:")
    stats = pstats.Stats(str(path))
    stats.sort_stats("tottime").print_stats(25)
    print("top 25 by cumulative time:")
    stats.sort_stats("cumulative").print_stats(25)


if __name__ == "__main__":
    main()
