"""Running Slack in the serve() loop: HTTP or Socket Mode, the outbox, and the minute tick.

HTTP mode when a signing secret is set (Bolt verifies every request); Socket Mode with the
app-level token otherwise, so a small team needs no public URL.
"""

from __future__ import annotations

import asyncio
import logging

from slack_bolt.adapter.socket_mode import SocketModeHandler

from bot.app import App
from bot.slack.app import build_bolt_app
from bot.slack.digest import digests_due
from bot.slack.escalations import due_reescalations, post_pending
from bot.slack.http import SlackHTTPServer, SlackRoute
from bot.slack.sender import async_web_client, drain_slack, web_client

log = logging.getLogger("coachbot.slack.runner")

OUTBOX_EVERY = 1.0  # seconds between outbox drains
TICK_EVERY = 60.0  # seconds between SLA and digest checks


def tick(app: App, client) -> None:
    """One pass of the timed Slack work; every part is idempotent."""
    post_pending(client, app.db, app.handler.programs, app.settings.slack_team_channel)
    due_reescalations(client, app.db, app.clock)
    digests_due(app.db, app.handler.programs, app.clock.now(), app.settings.digest_time)


async def run_slack(app: App, *, route: SlackRoute | None = None) -> None:
    """Serve Slack until cancelled; `route`: HTTP mode on the one HTTP server."""
    settings = app.settings
    if not settings.slack_bot_token:
        raise RuntimeError("COACHBOT_SLACK_BOT_TOKEN is not set")
    client = web_client(settings.slack_bot_token, settings.slack_api_url)
    async_client = async_web_client(settings.slack_bot_token, settings.slack_api_url)
    bolt = build_bolt_app(app, client, signing_secret=settings.slack_signing_secret)
    stop = _start_receiver(app, bolt, route)
    try:
        await asyncio.gather(_outbox_loop(app, async_client), _tick_loop(app, client))
    finally:
        stop()


def _start_receiver(app: App, bolt, route: SlackRoute | None = None):
    settings = app.settings
    if settings.slack_signing_secret and route is not None:
        route.attach(bolt)
        log.info("slack http mode on the http server, path %s", route.path)
        return lambda: None
    if settings.slack_signing_secret:
        server = SlackHTTPServer(bolt, port=settings.http_port).start()
        log.info("slack http mode on port %s", settings.http_port)
        return server.stop
    if not settings.slack_app_token:
        raise RuntimeError("set COACHBOT_SLACK_APP_TOKEN (Socket Mode) or "
                           "COACHBOT_SLACK_SIGNING_SECRET (HTTP mode)")
    handler = SocketModeHandler(bolt, settings.slack_app_token)
    handler.connect()
    log.info("slack socket mode connected")
    return handler.close


async def _outbox_loop(app: App, client) -> None:
    while True:
        try:
            while await drain_slack(app.db, app.clock, client):
                pass
        except Exception as exc:
            log.error("slack outbox drain failed: %s", type(exc).__name__)
        await asyncio.sleep(OUTBOX_EVERY)


async def _tick_loop(app: App, client) -> None:
    while True:
        try:
            await asyncio.to_thread(tick, app, client)
        except Exception as exc:
            log.error("slack periodic task failed: %s", type(exc).__name__)
        await asyncio.sleep(TICK_EVERY)
