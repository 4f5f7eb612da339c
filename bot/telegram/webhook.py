"""The webhook endpoint: Telegram POSTs updates here with the secret token in a header.

A small aiohttp server rather than PTB's built-in one: PTB's answers a wrong secret with 403,
and we want 401 (unauthenticated); and each update is handled before Telegram gets its 200.
A crash mid-update, or a failure (the database down, the disk full), answers nothing or a
500, so Telegram delivers the update again later (refused as a duplicate if it was stored).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Bot, Update

from bot.telegram.outage import Outage, reason

log = logging.getLogger("coachbot.telegram.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"
# How long a stop waits for the updates being handled before closing their connections.
STOP_GRACE = 5.0

Handle = Callable[[Update], Awaitable[None]]


def webhook_secret(configured: str | None, token: str) -> str:
    """The configured secret, or one derived from the token (the same in every worker)."""
    if configured:
        return configured
    return hmac.new(token.encode(), b"coachbot-telegram-webhook", hashlib.sha256).hexdigest()


def webhook_path(url: str) -> str:
    """The path the public webhook URL points at."""
    return urlsplit(url).path or DEFAULT_PATH


class WebhookServer:
    """Receives updates over HTTP and hands each to `handle`; 200 only once it returned."""

    def __init__(self, bot: Bot, handle: Handle, *, secret: str, path: str,
                 host: str = "0.0.0.0", port: int = 3000) -> None:
        self.bot = bot
        self.handle = handle
        self.secret = secret
        self.path = path
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None
        self.outage = Outage(log)

    def register(self, app: web.Application) -> None:
        """Serve the webhook on another aiohttp app (the one HTTP server) instead."""
        app.router.add_post(self.path, self._post)

    async def start(self) -> None:
        """Listen; `port` becomes the bound port (useful when 0 was asked for)."""
        server = web.Application(client_max_size=1024 * 1024)
        server.router.add_post(self.path, self._post)
        self._runner = web.AppRunner(server, access_log=None, shutdown_timeout=STOP_GRACE)
        await self._runner.setup()
        site = web.TCPSite(self._runner, self.host, self.port)
        await site.start()
        self.port = self._runner.addresses[0][1]
        log.info("telegram webhook listening port=%d path=%s", self.port, self.path)

    async def stop(self) -> None:
        """Stop listening."""
        if self._runner is not None:
            await self._runner.cleanup()
            self._runner = None

    async def _post(self, request: web.Request) -> web.Response:
        given = request.headers.get(SECRET_HEADER, "")
        if not hmac.compare_digest(given.encode(), self.secret.encode()):
            log.warning("webhook request refused: wrong or missing secret token")
            return web.json_response({"ok": False, "error": "unauthorized"}, status=401)
        try:
            data = await request.json()
            update = Update.de_json(data, self.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        try:
            await self.handle(update)
        except Exception as exc:
            # Only the type: the message may quote SQL parameters (a client's words).
            self.outage.failed(reason(exc), "answered 500: Telegram delivers it again")
            log.debug("telegram update failure detail", exc_info=exc)
            return web.json_response({"ok": False, "error": "not handled; retry"},
                                     status=500)
        self.outage.handled()
        return web.json_response({"ok": True})
