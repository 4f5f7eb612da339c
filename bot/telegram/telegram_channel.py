"""Running the Telegram channel: PTB's Application, polling or a webhook, and the outbox drain."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import BotCommand, Update
from telegram.error import NetworkError
from telegram.ext import Application, ApplicationBuilder, ContextTypes, TypeHandler

from bot.composition import App
from bot.http_server import HttpServer
from bot.settings import Settings
from bot.telegram.limits import FloodLimiter
from bot.telegram.telegram_sender import PER_CHAT_RATE, TelegramSender
from bot.telegram.updates import TelegramAdapter
from bot.telegram.webhook import WebhookServer, webhook_path, webhook_secret
from bot.wakeup import Wakeup
from conversations.engine import COMMAND_DESCRIPTIONS

log = logging.getLogger("coachbot.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# How often the outbox is looked at when nothing woke the drain (scheduled messages,
# retries coming due, messages queued by another worker).
DRAIN_EVERY = 2.0
MENU = [BotCommand(name, COMMAND_DESCRIPTIONS[name]) for name in (
    "checkin", "skip", "back", "later", "pause", "resume", "progress", "schedule", "privacy",
    "mydata", "delete", "help")]


def build_application(settings: Settings, *, webhook: bool) -> Application:
    """PTB's Application pointed at the configured Bot API server, with its rate limiter."""
    if not settings.telegram_token:
        raise RuntimeError("COACHBOT_TELEGRAM_TOKEN is not set")
    root = settings.telegram_api_url.rstrip("/")
    builder = (ApplicationBuilder().token(settings.telegram_token)
               .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
               .rate_limiter(FloodLimiter()))
    if webhook:
        builder = builder.updater(None)
    return builder.build()


async def _initialize(application: Application) -> None:
    """getMe until it works: a wrong token fails at once, a network outage is waited out."""
    delay = 1.0
    while True:
        try:
            await application.initialize()
            return
        except NetworkError as exc:  # InvalidToken is not a NetworkError: it propagates
            log.warning("telegram unreachable at start (%s); retrying in %.0f s",
                        type(exc).__name__, delay)
            await asyncio.sleep(delay)
            delay = min(60.0, delay * 2)


class TelegramChannel:
    """The whole Telegram side of one process; `run()` until cancelled or `stop` is set."""

    def __init__(self, app: App, *, per_chat_rate: float = PER_CHAT_RATE,
                 drain_every: float = DRAIN_EVERY, webhook_host: str | None = None,
                 http: HttpServer | None = None) -> None:
        self.app = app
        settings = app.settings
        self.webhook_url = settings.telegram_webhook_url
        self.application = build_application(settings, webhook=bool(self.webhook_url))
        self.sender = TelegramSender(self.application.bot, rt=app.rt,
                                     per_chat_rate=per_chat_rate)
        self.drain_every = drain_every
        self._wakeup: Wakeup | None = None
        self.adapter = TelegramAdapter(app)
        self.application.add_handler(TypeHandler(Update, self._on_update))
        self.application.add_error_handler(self._on_error)
        self.webhook: WebhookServer | None = None
        if self.webhook_url:
            self.webhook = WebhookServer(
                self.application, path=webhook_path(self.webhook_url),
                secret=webhook_secret(settings.telegram_webhook_secret,
                                      settings.telegram_token or ""),
                host=webhook_host or settings.http_host, port=settings.telegram_webhook_port)
        # With the one HTTP server running (integrations on), the webhook is one of its
        # routes rather than a listener of its own.
        self.shared_http = http is not None and self.webhook is not None
        if http is not None and self.webhook is not None:
            http.add(self.webhook.register)
        self.ready = asyncio.Event()

    def wake(self) -> None:
        """Look at the outbox now (e.g. after the clock moved in a simulation)."""
        if self._wakeup is not None:
            self._wakeup.set()

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set or the task is cancelled; shut PTB down cleanly."""
        application = self.application
        await _initialize(application)
        drain: asyncio.Task[None] | None = None
        self._wakeup = Wakeup.attach(self.app.rt)
        try:
            await application.bot.set_my_commands(MENU)
            await application.start()
            if self.webhook is not None:
                if not self.shared_http:
                    await self.webhook.start()
                await application.bot.set_webhook(
                    self.webhook_url or "", secret_token=self.webhook.secret,
                    allowed_updates=ALLOWED_UPDATES)
            else:
                assert application.updater is not None
                await application.updater.start_polling(allowed_updates=ALLOWED_UPDATES)
            drain = asyncio.create_task(self._drain_loop(), name="telegram-outbox")
            log.info("telegram channel running mode=%s",
                     "webhook" if self.webhook else "polling")
            self.ready.set()
            await (stop.wait() if stop is not None else asyncio.Event().wait())
        finally:
            self._wakeup.detach()
            if drain is not None:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain
            if application.updater is not None and application.updater.running:
                await application.updater.stop()
            if self.webhook is not None and not self.shared_http:
                await self.webhook.stop()
            if application.running:
                await application.stop()
            await application.shutdown()

    async def _on_update(self, update: Update, context: ContextTypes.DEFAULT_TYPE) -> None:
        await self.adapter.handle(update, context.bot)

    async def _on_error(self, update: object, context: ContextTypes.DEFAULT_TYPE) -> None:
        kind = type(context.error).__name__ if context.error else "unknown"
        update_id = update.update_id if isinstance(update, Update) else None
        # Only the error's type: its message may quote SQL parameters, i.e. answer text.
        log.error("telegram update failed update=%s error=%s", update_id, kind)
        log.debug("telegram update failure detail", exc_info=context.error)

    async def _drain_loop(self) -> None:
        assert self._wakeup is not None
        while True:
            try:
                sent = await self.sender.drain()
            except Exception as exc:  # keep draining after a database hiccup
                log.error("outbox drain failed error=%s", type(exc).__name__)
                sent = 0
            if sent:
                continue
            await self._wakeup.wait(self.drain_every)
