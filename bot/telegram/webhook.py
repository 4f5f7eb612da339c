"""The webhook endpoint: Telegram POSTs updates here with the secret token in a header.

A small aiohttp server rather than PTB's built-in one: PTB's answers a wrong secret with 403,
and we want 401 (unauthenticated); and each update is handled before Telegram gets its 200,
so a crash mid-update means Telegram delivers it again (deduplicated on update_id).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
from urllib.parse import urlsplit

from aiohttp import web
from telegram import Update
from telegram.ext import Application

log = logging.getLogger("coachbot.telegram.webhook")

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
DEFAULT_PATH = "/telegram"


def webhook_secret(configured: str | None, token: str) -> str:
    """The configured secret, or one derived from the token (the same in every worker)."""
    if configured:
        return configured
    return hmac.new(token.encode(), b"coachbot-telegram-webhook", hashlib.sha256).hexdigest()


def webhook_path(url: str) -> str:
    """The path the public webhook URL points at."""
    return urlsplit(url).path or DEFAULT_PATH


class WebhookServer:
    """Receives updates over HTTP and hands each to PTB's Application."""

    def __init__(self, application: Application, *, secret: str, path: str,
                 host: str = "127.0.0.1", port: int = 3000) -> None:
        self.application = application
        self.secret = secret
        self.path = path
        self.host = host
        self.port = port
        self._runner: web.AppRunner | None = None

    def register(self, app: web.Application) -> None:
        """Serve the webhook on another aiohttp app (the one HTTP server) instead."""
        app.router.add_post(self.path, self._post)

    async def start(self) -> None:
        """Listen; `port` becomes the bound port (useful when 0 was asked for)."""
        server = web.Application(client_max_size=1024 * 1024)
        server.router.add_post(self.path, self._post)
        self._runner = web.AppRunner(server, access_log=None)
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
            update = Update.de_json(data, self.application.bot)
        except (json.JSONDecodeError, ValueError, TypeError, KeyError):
            return web.json_response({"ok": False, "error": "not an update"}, status=400)
        await self.application.process_update(update)
        return web.json_response({"ok": True})
