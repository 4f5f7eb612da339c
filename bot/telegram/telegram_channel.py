"""Running the Telegram channel: PTB's Bot, our polling loop or a webhook, and the outbox drain.

PTB's Application gives the Bot (its HTTP client and rate limiter) and nothing else: its
Updater confirms updates to Telegram before they are handled, and its process_update hides
a failed update from whoever should answer Telegram. Updates go straight to our adapter,
from `bot/telegram/polling.py` or `bot/telegram/webhook.py`, and a failure is theirs to see.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from telegram import Bot, BotCommand, Update
from telegram.error import NetworkError, TelegramError
from telegram.ext import Application, ApplicationBuilder

from bot.composition import App
from bot.http_server import HttpServer
from bot.settings import Settings
from bot.telegram.limits import FloodLimiter
from bot.telegram.polling import Poller
from bot.telegram.telegram_sender import PER_CHAT_RATE, TelegramSender
from bot.telegram.updates import TelegramAdapter
from bot.telegram.webhook import WebhookServer, webhook_path, webhook_secret
from bot.wakeup import Wakeup
from conversations.engine import command_descriptions
from conversations.translations import DEFAULT_LANGUAGE, SUPPORTED_LANGUAGES
from services.delivery import keep_leases
from services.send_budget import TELEGRAM, TELEGRAM_PAID, SendBudget, budget_for
from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.telegram")

ALLOWED_UPDATES = ["message", "edited_message", "callback_query"]
# How often the outbox is looked at when nothing woke the drain (scheduled messages,
# retries coming due, messages queued by another worker).
DRAIN_EVERY = 2.0
# Drains running at once: a new one starts when something is queued while others still
# pace their chats (each claims only chats no other drain holds). One that holds a chat's
# second message lives a pace (1 s) or longer, and a reply queued while every drain is
# busy waits for one to end: 16 held the 17th chat of a check-in burst for up to 0.2 s
# with Telegram's 30/s not reached (benchmarks/wire_latency.py). Twice the messages
# Telegram takes in a second.
OVERLAPPING_DRAINS = 64
# How long a stop lets a drain finish its sends before cutting it off (the rest are handed
# back by releasing the leases).
DRAIN_GRACE = 2.0
# Tries of the optional start-up calls (the command menu) before going on without.
OPTIONAL_TRIES = 4
MENU_COMMANDS = ("checkin", "skip", "back", "later", "pause", "resume", "progress", "schedule",
                 "language", "privacy", "mydata", "delete", "help")


def menu(language: str) -> list[BotCommand]:
    """The command menu with its descriptions in `language` (the names stay English)."""
    described = command_descriptions(language)
    return [BotCommand(name, described[name]) for name in MENU_COMMANDS]


def menu_languages() -> list[tuple[str, str]]:
    """(Telegram's language_code, our language) per menu: "" is the default (English).
    Telegram's codes are ISO 639-1 only, so "pt" carries Brazilian Portuguese."""
    return [("", DEFAULT_LANGUAGE)] + [(language.split("-")[0], language)
                                      for language in SUPPORTED_LANGUAGES
                                      if language != DEFAULT_LANGUAGE]


async def set_menus(bot: Bot) -> bool:
    """Register the command menu once per language."""
    for code, language in menu_languages():
        await bot.set_my_commands(menu(language), language_code=code or None)
    return True


def send_budget(rt: Runtime, settings: Settings, *,
                per_chat_rate: float = PER_CHAT_RATE) -> SendBudget:
    """The bot's send budget: one per bot (its id, the token's public part), shared by every
    worker on PostgreSQL; Telegram's paid broadcast limit when the operator opted in."""
    limits = TELEGRAM_PAID if settings.telegram_paid_broadcast else TELEGRAM
    bot_id = (settings.telegram_token or "").split(":", 1)[0]
    return budget_for(rt, bot=f"telegram:{bot_id}",
                      limits=limits.paced_per_address(1.0 / per_chat_rate))


def build_application(settings: Settings, *, webhook: bool,
                      budget: SendBudget | None = None) -> Application:
    """PTB's Application pointed at the configured Bot API server, its rate limiter holding
    the bot's send budget (`send_budget`; without one, this process's own)."""
    # `webhook`: without PTB's Updater (the channel never uses it: polling.py polls).
    if not settings.telegram_token:
        raise RuntimeError("COACHBOT_TELEGRAM_TOKEN is not set")
    root = settings.telegram_api_url.rstrip("/")
    builder = (ApplicationBuilder().token(settings.telegram_token)
               .base_url(f"{root}/bot").base_file_url(f"{root}/file/bot")
               .rate_limiter(FloodLimiter(budget)))
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


async def _until_done(call, what: str, *, tries: int | None, first_delay: float = 1.0
                      ) -> bool:
    """Run `call()` until it works, `tries` times at most (None: until cancelled)."""
    # Never raises: one log line when it gives up.
    delay, attempt = first_delay, 0
    while True:
        attempt += 1
        try:
            await call()
            return True
        except (TelegramError, OSError) as exc:
            if tries is not None and attempt >= tries:
                log.warning("%s failed %d times (%s); going on without it", what, attempt,
                            type(exc).__name__)
                return False
            # A call we cannot serve without says so once; an optional one only when it gives up.
            level = logging.WARNING if tries is None and attempt == 1 else logging.DEBUG
            log.log(level, "%s failed (%s); retrying until it works", what,
                    type(exc).__name__)
            await asyncio.sleep(delay)
            delay = min(30.0, delay * 2)


class TelegramChannel:
    """The whole Telegram side of one process; `run()` until cancelled or `stop` is set."""

    def __init__(self, app: App, *, per_chat_rate: float = PER_CHAT_RATE,
                 drain_every: float = DRAIN_EVERY, webhook_host: str | None = None,
                 http: HttpServer | None = None) -> None:
        self.app = app
        settings = app.settings
        self.webhook_url = settings.telegram_webhook_url
        # No Updater in either mode: it would confirm updates before they are stored.
        self.application = build_application(
            settings, webhook=True,
            budget=send_budget(app.rt, settings, per_chat_rate=per_chat_rate))
        bot = self.application.bot
        self.sender = TelegramSender(bot, rt=app.rt, per_chat_rate=per_chat_rate,
                                     paid_broadcast=settings.telegram_paid_broadcast)
        self.drain_every = drain_every
        self._wakeup: Wakeup | None = None
        self.adapter = TelegramAdapter(app)
        self.webhook: WebhookServer | None = None
        self.poller: Poller | None = None
        if self.webhook_url:
            self.webhook = WebhookServer(
                bot, self.handle, path=webhook_path(self.webhook_url),
                secret=webhook_secret(settings.telegram_webhook_secret,
                                      settings.telegram_token or ""),
                host=webhook_host or settings.http_host, port=settings.telegram_webhook_port)
        else:
            self.poller = Poller(bot, self.handle, allowed_updates=ALLOWED_UPDATES)
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

    async def handle(self, update: Update) -> None:
        """One update, handled and stored when this returns; a failure raises."""
        await self.adapter.handle(update, self.application.bot)

    async def run(self, stop: asyncio.Event | None = None) -> None:
        """Serve until `stop` is set or the task is cancelled."""
        # On `stop`: no more fetching, the updates in hand are finished, the drain gets a
        # moment to finish its sends; handing leases back is the caller's (bot/serve.py).
        stop = stop or asyncio.Event()
        application = self.application
        bot = application.bot
        if not await _unless(stop, _initialize(application)):
            return
        drain: asyncio.Task[None] | None = None
        menu: asyncio.Task[bool] | None = None
        self._wakeup = Wakeup.attach(self.app.rt)
        try:
            # The menu is a nicety: retried in the background, never a reason not to serve.
            menu = asyncio.create_task(_until_done(
                lambda: set_menus(bot), "setMyCommands", tries=OPTIONAL_TRIES))
            if self.webhook is not None and not self.shared_http:
                await self.webhook.start()
            drain = asyncio.create_task(self._drain_loop(stop), name="telegram-outbox")
            if self.webhook is not None:
                webhook = self.webhook
                registered = _until_done(lambda: bot.set_webhook(
                    self.webhook_url or "", secret_token=webhook.secret,
                    allowed_updates=ALLOWED_UPDATES), "setWebhook", tries=None)
                if not await _unless(stop, registered):
                    return
                log.info("telegram channel running mode=webhook")
                self.ready.set()
                await stop.wait()
            else:
                assert self.poller is not None
                # A webhook left from an earlier run would make getUpdates fail (409).
                if not await _unless(stop, _until_done(
                        lambda: bot.delete_webhook(drop_pending_updates=False),
                        "deleteWebhook", tries=None)):
                    return
                log.info("telegram channel running mode=polling")
                self.ready.set()
                await self.poller.run(stop)
        finally:
            if menu is not None:
                menu.cancel()
            if self.webhook is not None and not self.shared_http:
                await self.webhook.stop()  # finishes the requests in flight first
            if drain is not None:
                self._wakeup.event.set()  # an idle drain sees the stop at once
                await _finish(drain, DRAIN_GRACE)
            self._wakeup.detach()
            await application.shutdown()

    async def _drain_loop(self, stop: asyncio.Event) -> None:
        assert self._wakeup is not None
        # A drain lasts as long as its slowest chat (paced at 1/s). A reply queued meanwhile
        # for another chat goes out in a drain of its own at once instead of waiting for it:
        # claims never overlap (a chat with a message in flight is left to the drain that
        # holds it), so each chat still gets its messages once and in order.
        running: set[asyncio.Task[None]] = set()
        leases = asyncio.create_task(keep_leases(self.app.rt), name="telegram-leases")
        try:
            while not stop.is_set():
                if len(running) < OVERLAPPING_DRAINS:
                    task = asyncio.create_task(self._drain_once(), name="telegram-drain")
                    running.add(task)
                    task.add_done_callback(running.discard)
                await self._wakeup.wait(self.drain_every)
            if running:
                await asyncio.gather(*running, return_exceptions=True)
        finally:
            leases.cancel()
            for task in running:
                task.cancel()
            if running:
                await asyncio.gather(*running, return_exceptions=True)

    async def _drain_once(self) -> None:
        try:
            sent = await self.sender.drain()
        except Exception as exc:  # keep draining after a database hiccup
            log.error("outbox drain failed error=%s", type(exc).__name__)
            return
        if sent:
            self.wake()  # there may be more (a chat's next share, retries come due)


async def _unless(stop: asyncio.Event, work) -> bool:
    """Run `work` unless `stop` is set first (then it is cancelled); True if it finished."""
    task = asyncio.ensure_future(work)
    stopping = asyncio.ensure_future(stop.wait())
    try:
        await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        stopping.cancel()
        if not task.done():
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    if task.cancelled():
        return False
    task.result()  # a failure (a wrong token) is the caller's
    return True


async def _finish(task: asyncio.Task, grace: float) -> None:
    """Let `task` end on its own within `grace` seconds, then cancel it."""
    done, _ = await asyncio.wait({task}, timeout=grace)
    if not done:
        task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task
