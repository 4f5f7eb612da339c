"""Running the platform channels and the clock together in one asyncio process."""

from __future__ import annotations

import asyncio
import logging

from bot.app import App

log = logging.getLogger("coachbot.serve")


async def serve(app: App) -> None:
    """Run every configured channel until cancelled (Ctrl-C)."""
    tasks: list[asyncio.Task[None]] = []
    # Each channel adds its runner here: Telegram, Slack; and the scheduler's clock.
    if not tasks:
        raise RuntimeError("no platform channel is configured")
    await asyncio.gather(*tasks)
