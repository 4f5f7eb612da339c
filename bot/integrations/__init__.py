"""The door in: payments, bookings and the API on the one HTTP server, wired from settings.

Each integration is an adapter that registers its routes; it verifies what arrives, turns
it into one call to a service and the service's answer into HTTP. None imports storage.
"""

from __future__ import annotations

import asyncio

from bot.composition import App
from bot.http_server import HttpServer
from bot.integrations.api_routes import Api
from bot.integrations.booking_hooks import BookingHooks
from bot.integrations.join import JoinPage, SlackJoin
from bot.integrations.stripe_hooks import StripeHooks
from services.health import database_reachable
from services.payments import JoinTicket


def build_http_server(app: App, *, port: int | None = None) -> HttpServer:
    """The HTTP server with health, readiness and every configured integration's routes."""
    settings = app.settings
    runtime = app.rt
    server = HttpServer(host=settings.http_host,
                        port=settings.http_port if port is None else port,
                        ready=lambda: database_reachable(runtime))
    username = _telegram_username(app)
    if settings.stripe_webhook_secret:
        server.add(StripeHooks(runtime, secret=settings.stripe_webhook_secret,
                               api_key=settings.stripe_api_key,
                               api_url=settings.stripe_api_url).register)
        server.add(JoinPage(runtime, telegram_username=username,
                            slack_join=_slack_join(app)).register)
    if settings.calcom_webhook_secret or settings.calendly_signing_key:
        server.add(BookingHooks(runtime, calcom_secret=settings.calcom_webhook_secret,
                                calendly_key=settings.calendly_signing_key).register)
    if settings.api_enabled:
        async def invite_link(code: str) -> str | None:
            name = await username() if username else None
            return f"https://t.me/{name}?start={code}" if name else None

        server.add(Api(runtime, invite_link=invite_link).register)
    return server


def _telegram_username(app: App):
    """Ask Telegram for the bot's @username once, when a link first needs it."""
    if not app.settings.telegram_token:
        return None
    from bot.telegram.links import bot_username

    known: list[str] = []

    async def username() -> str | None:
        if not known:
            found = await bot_username(app.settings)
            if found:
                known.append(found)
        return known[0] if known else None

    return username


def _slack_join(app: App) -> SlackJoin | None:
    """Clients on Slack (a Slack bot token and no Telegram): /join opens their DM."""
    settings = app.settings
    if not settings.slack_bot_token or settings.telegram_token:
        return None
    from bot.slack.dm_join import join_by_email
    from bot.slack.slack_sender import web_client

    client = web_client(settings.slack_bot_token, settings.slack_api_url)

    async def join(ticket: JoinTicket) -> bool:
        if ticket.code is None or ticket.email is None:
            return False
        return await asyncio.to_thread(join_by_email, app, client, email=ticket.email,
                                       code=ticket.code, enrolment_id=ticket.enrolment_id)

    return join
