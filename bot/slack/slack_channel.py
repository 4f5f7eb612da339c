"""Running Slack in the serve() loop: HTTP or Socket Mode, and the outbox drain.

HTTP mode when a signing secret is set (the route verifies every request); Socket Mode with
the app-level token otherwise, so a small team needs no public URL. The digests and the
re-escalations are periodic jobs (scheduler/jobs.py); what they queue leaves here.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.composition import App
from bot.http_server import HttpServer
from bot.slack.channel_names import resolve_team_channel
from bot.slack.listeners import build_bolt_app
from bot.slack.slack_http import SlackRoute
from bot.slack.slack_sender import async_web_client, drain_slack, web_client
from bot.wakeup import Wakeup
from services.delivery import keep_leases
from services.health import database_reachable
from services.send_budget import SLACK, SendBudget, budget_for

log = logging.getLogger("coachbot.slack.runner")

OUTBOX_EVERY = 1.0  # seconds between outbox drains when nothing wakes it sooner


async def run_slack(app: App, *, route: SlackRoute | None = None) -> None:
    """Serve Slack until cancelled; `route`: HTTP mode on the one HTTP server."""
    settings = app.settings
    if not settings.slack_bot_token:
        raise RuntimeError("COACHBOT_SLACK_BOT_TOKEN is not set")
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    async_client = async_web_client(settings.slack_bot_token, settings.slack_api_url)
    resolve_team_channel(app, client)
    bolt = build_bolt_app(app, client)
    wakeup = Wakeup.attach(app.rt)
    # One budget per Slack app, named by a digest of its token (never the token itself):
    # every worker of the app paces a channel's posts together (PostgreSQL).
    app_key = hashlib.sha256(settings.slack_bot_token.encode()).hexdigest()[:16]
    budget = budget_for(app.rt, bot=f"slack:{app_key}", limits=SLACK)
    stop = await _start_receiver(app, bolt, route)
    try:
        await _outbox_loop(app, async_client, wakeup, budget)
    finally:
        wakeup.detach()
        await stop()


async def _start_receiver(app: App, bolt, route: SlackRoute | None = None):
    """Start receiving Slack's requests; returns the coroutine function that stops it."""
    settings = app.settings
    if settings.slack_signing_secret:
        server = None
        if route is None:  # no integrations: the HTTP server carries Slack alone
            server = HttpServer(host=settings.http_host, port=settings.http_port,
                                ready=lambda: database_reachable(app.rt))
            route = SlackRoute()
            server.add(route.register)
            await server.start()
        route.attach(bolt, settings.slack_signing_secret)
        log.info("slack http mode path=%s", route.path)
        return server.stop if server is not None else _nothing
    if not settings.slack_app_token:
        raise RuntimeError("set COACHBOT_SLACK_APP_TOKEN (Socket Mode) or "
                           "COACHBOT_SLACK_SIGNING_SECRET (HTTP mode)")
    handler = SocketModeHandler(bolt, settings.slack_app_token)
    handler.connect()
    log.info("slack socket mode connected")

    async def close() -> None:
        handler.close()
    return close


async def _nothing() -> None:
    """The shared HTTP server is stopped by whoever started it (bot/serve.py)."""


async def _outbox_loop(app: App, client, wakeup: Wakeup, budget: SendBudget) -> None:
    # A channel's posts paced at 1/s may take longer than a lease: renewed meanwhile.
    leases = asyncio.create_task(keep_leases(app.rt), name="slack-leases")
    try:
        while True:
            try:
                while await drain_slack(app.rt, client, budget):
                    pass
            except Exception as exc:
                log.error("slack outbox drain failed: %s", type(exc).__name__)
            await wakeup.wait(OUTBOX_EVERY)
    finally:
        leases.cancel()
