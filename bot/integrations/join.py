"""GET /join/{checkout_session_id}: from Stripe's success page straight into the chat.

Point the checkout's success URL at `https://YOUR.HOST/join/{CHECKOUT_SESSION_ID}` (Stripe
fills the id in). The client is sent to the Telegram deep link that starts their intake;
on Slack (without Telegram) their DM is opened and the intake starts there, or, when they
cannot be found by their email, they are shown the code to send to the bot. When the payment did
not say the client's time zone, the page first asks their browser for it.
"""

from __future__ import annotations

import asyncio
import html
import logging
from collections.abc import Awaitable, Callable
from urllib.parse import quote

from aiohttp import web

from services import payments
from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.integrations.join")

PATH = "/join/{checkout_session_id}"
# The payment page may send the client here before Stripe's event reached us: the page
# looks again every few seconds until the enrolment exists.
WAITING = """<!doctype html><meta charset="utf-8"><meta http-equiv="refresh" content="3">
<title>Setting up your place</title><p>Thank you! We are setting up your place in the
program; this page moves on by itself in a few seconds.</p>"""
# Stripe does not know the buyer's time zone; their browser does.
ASK_ZONE = """<!doctype html><meta charset="utf-8"><title>Joining</title>
<p>Taking you to your coach's chat...</p>
<script>var z = ""; try { z = Intl.DateTimeFormat().resolvedOptions().timeZone || ""; }
catch (e) {} location.replace(location.pathname + "?tz=" + encodeURIComponent(z));</script>
<noscript><a href="?tz=">Continue</a></noscript>"""

BotUsername = Callable[[], Awaitable[str | None]]
# Opens the client's Slack DM and starts their intake there; False when it cannot.
SlackJoin = Callable[[payments.JoinTicket], Awaitable[bool]]


class JoinPage:
    """Sends a paying client into the chat where their intake waits."""

    def __init__(self, runtime: Runtime, *, telegram_username: BotUsername | None = None,
                 slack_join: SlackJoin | None = None) -> None:
        self.runtime = runtime
        self.telegram_username = telegram_username
        self.slack_join = slack_join

    def register(self, app: web.Application) -> None:
        """Add the route to the HTTP server."""
        app.router.add_get(PATH, self.get)

    async def get(self, request: web.Request) -> web.Response:
        checkout = request.match_info["checkout_session_id"]
        zone = request.query.get("tz")
        ticket = await asyncio.to_thread(payments.join_ticket, self.runtime, checkout,
                                         zone=zone)
        if ticket is None:
            return _page(WAITING, status=404)
        if ticket.zone_guessed and zone is None:
            return _page(ASK_ZONE)
        username = await self.telegram_username() if self.telegram_username else None
        if username is not None:
            start = f"?start={quote(ticket.code)}" if ticket.code else ""
            raise web.HTTPSeeOther(f"https://t.me/{username}{start}")
        name = html.escape(ticket.program_name)
        if ticket.code is None:
            return _page(f"<p>You have already joined {name}: your coach's chat is open.</p>")
        if self.slack_join is not None and ticket.email and await self.slack_join(ticket):
            return _page(f"<p>Welcome to {name}! Your chat is open in Slack: look for a direct "
                         "message from the coachbot app, it has your first question.</p>")
        where = "the coachbot app in Slack" if self.slack_join else "the coachbot"
        code = html.escape(ticket.code)
        return _page(f"<p>Welcome to {name}! Open a direct message with {where} and send "
                     f"<code>/start {code}</code> to begin.</p>")


def _page(body: str, *, status: int = 200) -> web.Response:
    return web.Response(text=body if body.startswith("<!doctype") else
                        f"<!doctype html><meta charset=\"utf-8\"><title>Joining</title>{body}",
                        status=status, content_type="text/html")
