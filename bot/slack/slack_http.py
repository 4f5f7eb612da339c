"""Slack's HTTP requests (events, interactivity, commands) to the Bolt app, on the HTTP server.

The server has read the body within its bounds (bot/http_server.py). Here the signature is
checked on those raw bytes before anything parses them (401), then a body Slack would never
send (not UTF-8, not a JSON object, a `payload=` that is not one) is answered 400; only a
signed, well-formed request reaches Bolt. A refused one leaves one short log line.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime
from urllib.parse import parse_qs

from aiohttp import web
from slack_bolt import App as BoltApp
from slack_bolt import BoltRequest

from bot.http_server import error
from bot.integrations.signatures import BadSignature, verify_slack

log = logging.getLogger("coachbot.slack.http")

_JSON = "application/json"
_FORM = "application/x-www-form-urlencoded"


class SlackRoute:
    """POST /slack/events (every Slack request URL points there) on an `HttpServer`."""

    def __init__(self, path: str = "/slack/events") -> None:
        self.path = path
        self.bolt: BoltApp | None = None
        self.signing_secret = ""

    def register(self, app: web.Application) -> None:
        """Add the route (before the server starts)."""
        app.router.add_post(self.path, self.post)

    def attach(self, bolt: BoltApp, signing_secret: str) -> None:
        """Start answering with this Bolt app (Slack's runner builds it)."""
        self.bolt, self.signing_secret = bolt, signing_secret

    async def post(self, request: web.Request) -> web.Response:
        if self.bolt is None or not self.signing_secret:
            return error(503, "starting", "the Slack runner is starting")  # Slack retries
        raw = await request.read()
        try:
            # Slack signs with its wall clock, so the request's age is on ours, not the
            # app's clock (which tests move by hand).
            verify_slack(raw, request.headers.get("X-Slack-Request-Timestamp"),
                         request.headers.get("X-Slack-Signature"), self.signing_secret,
                         now=datetime.now(UTC))
        except BadSignature as refused:
            log.warning("slack request refused: %s", refused)
            return error(401, "bad_signature", "the request is not signed by this app's Slack")
        body = slack_body(raw, request.content_type)
        if body is None:
            log.warning("slack request refused: a signed body Slack does not send")
            return error(400, "bad_body", "the body is not one Slack sends")
        headers = {k.lower(): [v] for k, v in request.headers.items()}
        answer = await asyncio.to_thread(self.bolt.dispatch, BoltRequest(
            body=body, query=request.query_string, headers=headers))
        return web.Response(status=answer.status, body=(answer.body or "").encode("utf-8"),
                            headers={k: v[0] for k, v in answer.headers.items()
                                     if v and k.lower() != "content-length"})


def slack_body(raw: bytes, content_type: str) -> str | None:
    """The body as text when it is one Slack sends (what Bolt parses without failing)."""
    try:
        text = raw.decode("utf-8")
        if content_type == _JSON:
            return text if isinstance(json.loads(text), dict) else None
        if content_type != _FORM:
            return None
        form = parse_qs(text, keep_blank_values=True, errors="strict")
        if "payload" in form:  # interactivity: one field holding a JSON object
            return text if isinstance(json.loads(form["payload"][0]), dict) else None
        return text
    except ValueError:  # UnicodeDecodeError and JSONDecodeError are ValueErrors
        return None
