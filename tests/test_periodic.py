"""The background round: runs every interval, survives a failing round, and a stop lets a running
round finish instead of cutting it off."""

from __future__ import annotations

import asyncio

from bot.periodic import Periodic


async def test_rounds_run_a_failure_is_survived_and_stop_waits_for_the_running_round() -> None:
    calls: list[str] = []
    release, third = asyncio.Event(), asyncio.Event()

    async def one_round() -> None:
        calls.append("start")
        if len(calls) == 1:
            raise RuntimeError("the database away for a moment")
        if len(calls) == 3:
            third.set()
            await release.wait()  # a round in the middle of its work when stop comes
            calls.append("finished")

    periodic = Periodic("test round", 0.01, one_round)
    periodic.start()
    await asyncio.wait_for(third.wait(), 5)
    stopping = asyncio.create_task(periodic.stop())
    await asyncio.sleep(0.05)
    assert not stopping.done()  # it waits for the running round
    release.set()
    await stopping
    assert calls == ["start", "start", "start", "finished"]
    await asyncio.sleep(0.05)
    assert calls[-1] == "finished"  # no round after the stop
