"""The invite deep link: https://t.me/<bot username>?start=<code>, which sends /start <code>."""

from __future__ import annotations

import asyncio
import logging

from telegram import Bot
from telegram.error import TelegramError

from bot.settings import Settings

log = logging.getLogger("coachbot.telegram.links")


async def bot_username(settings: Settings) -> str | None:
    """The bot's @username from getMe; None when no token is set or Telegram can't be asked."""
    if not settings.telegram_token:
        return None
    root = settings.telegram_api_url.rstrip("/")
    try:
        async with Bot(settings.telegram_token, base_url=f"{root}/bot") as bot:
            return bot.username
    except (TelegramError, OSError) as exc:
        log.warning("getMe failed, printing the plain code: %s", type(exc).__name__)
        return None


def invite_link(settings: Settings, code: str) -> str | None:
    """The deep link for an invite code, or None (then the client types /start CODE)."""
    username = asyncio.run(bot_username(settings))
    return f"https://t.me/{username}?start={code}" if username else None
