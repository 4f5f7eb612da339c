"""python-telegram-bot's own floor: what handling an update costs before any of our code.

    python benchmarks/ptb_floor.py [--clients 300]

The same synthetic check-in updates as benchmarks/peer_ptb.py (wire JSON, N clients x 6
messages, interleaved) go through `Update.de_json` and `Application.process_update` to one
handler that does nothing: no database, no reply. The Application is initialized against the
local fake Bot API (tests/fakes/telegram_api.py), which it asks only `getMe`. Prints the
rate, the median per update and `de_json` alone: the part of peer_ptb's figures that is the
library's, not coachbot's. Also the hop to a worker thread and back (`asyncio.to_thread` of a
function that does nothing), which coachbot's adapter takes once per message so that a slow
database never stalls the event loop.
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.machine import machine, peak_rss_mb
from benchmarks.peer_ptb import FIRST_CHAT, TOKEN, checkin_updates, load


async def measure(api_url: str, updates: list[dict]) -> dict[str, float]:
    """Handle `updates` once to warm up, then timed; the rate and per-update figures."""
    from telegram import Update
    from telegram.ext import Application, MessageHandler, filters

    application = (Application.builder().token(TOKEN).base_url(f"{api_url}/bot")
                   .updater(None).build())
    await application.initialize()
    handled = 0

    async def nothing(_update, _context) -> None:
        nonlocal handled
        handled += 1

    application.add_handler(MessageHandler(filters.ALL, nothing))
    for data in updates:
        await application.process_update(Update.de_json(data, application.bot))
    latencies = []
    began = time.perf_counter()
    for data in updates:
        t0 = time.perf_counter()
        await application.process_update(Update.de_json(data, application.bot))
        latencies.append(time.perf_counter() - t0)
    elapsed = time.perf_counter() - began
    t0 = time.perf_counter()
    for data in updates:
        Update.de_json(data, application.bot)
    parsing = time.perf_counter() - t0
    hops = []
    for _ in updates:
        t0 = time.perf_counter()
        await asyncio.to_thread(int)
        hops.append(time.perf_counter() - t0)
    await application.shutdown()
    assert handled == 2 * len(updates)
    return {"rate": len(updates) / elapsed, "median_us": statistics.median(latencies) * 1e6,
            "de_json_us": parsing / len(updates) * 1e6, "hop_us": statistics.median(hops) * 1e6}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=300)
    args = parser.parse_args()
    from tests.fakes.telegram_api import FakeTelegramAPI

    updates = checkin_updates([FIRST_CHAT + i for i in range(args.clients)], 1)
    print(f"machine: {machine()}; {load()}")
    with FakeTelegramAPI(token=TOKEN, flood_limits=False, chats=(FIRST_CHAT,)) as api:
        r = asyncio.run(measure(api.url, updates))
    print(f"{len(updates):,} updates to a handler that does nothing: {r['rate']:,.0f} updates/s, "
          f"median {r['median_us']:.0f} us each, Update.de_json alone {r['de_json_us']:.0f} us; "
          f"a hop to a worker thread and back (asyncio.to_thread) {r['hop_us']:.0f} us (median); "
          f"peak RSS {peak_rss_mb():.0f} MB")


if __name__ == "__main__":
    main()
