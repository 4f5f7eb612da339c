"""The invite deep link: https://t.me/<bot username>?start=<code>, which sends /start <code>."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import NetworkError

from bot.settings import Settings

log = logging.getLogger("coachbot.telegram.links")

# getMe tries when Telegram is unreachable, and the pause before the next (times the try).
TRIES = 3
RETRY_AFTER = 0.5


async def bot_username(settings: Settings, *, tries: int = TRIES) -> str | None:
    """The bot's @username from getMe; None when no token is set or Telegram can't be asked."""
    # Optional (the plain code works without it): a network failure is tried again a few
    # times, anything else gives up at once; either way one log line, never an error.
    if not settings.telegram_token:
        return None
    root = settings.telegram_api_url.rstrip("/")
    for attempt in range(1, tries + 1):
        try:
            async with Bot(settings.telegram_token, base_url=f"{root}/bot") as bot:
                return bot.username
        except NetworkError as exc:
            if attempt == tries:
                log.warning("getMe failed %d times, printing the plain code: %s", tries,
                            type(exc).__name__)
                return None
            await asyncio.sleep(RETRY_AFTER * attempt)
        except Exception as exc:  # a wrong token or URL, an odd answer: no link, no traceback
            log.warning("getMe failed, printing the plain code: %s", type(exc).__name__)
            return None
    return None


def invite_link(settings: Settings, code: str) -> str | None:
    """The deep link for an invite code, or None (then the client types /start CODE)."""
    username = asyncio.run(bot_username(settings))
    return f"https://t.me/{username}?start={code}" if username else None
