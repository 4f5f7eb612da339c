"""Sending the outbox's Slack messages: Block Kit with a fallback, retries by slack_sdk.

slack_sdk's own retry handlers deal with rate limits (Retry-After) and dropped connections;
what they cannot fix becomes a `DeliveryError` for the outbox to retry or fail. A channel the
bot cannot reach is an operator's problem, so it is logged as an error in plain words.
"""

from __future__ import annotations

import asyncio
import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from slack_sdk.http_retry.builtin_async_handlers import (
    AsyncConnectionErrorRetryHandler,
    AsyncRateLimitErrorRetryHandler,
)
from slack_sdk.http_retry.builtin_handlers import (
    ConnectionErrorRetryHandler,
    RateLimitErrorRetryHandler,
)
from slack_sdk.web.async_client import AsyncWebClient

from bot.slack.blocks import (
    checkin_card_message,
    digest_message,
    escalation_message,
    home_view,
    notes_offer_message,
    reply_message,
    team_message,
)
from bot.slack.escape import mrkdwn
from conversations.messages import Reply
from services import coach_home
from services.delivery import DeliveryError, drain_async
from services.send_budget import SendBudget, within
from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.slack.sender")

CHANNEL = "slack"
_UNREACHABLE = {
    "channel_not_found": "the channel {channel} does not exist or the bot cannot see it; "
                         "check COACHBOT_SLACK_TEAM_CHANNEL or the user id",
    "not_in_channel": "the bot is not a member of {channel}; invite it with /invite @coachbot",
    "is_archived": "the channel {channel} is archived",
    "user_not_found": "the Slack user {channel} does not exist in this workspace",
    "account_inactive": "the Slack user {channel} is deactivated",
    "invalid_auth": "the Slack bot token is invalid; check COACHBOT_SLACK_BOT_TOKEN",
    "not_authed": "no Slack bot token was sent; check COACHBOT_SLACK_BOT_TOKEN",
    "missing_scope": "the Slack app lacks a scope; reinstall it from bot/slack/manifest.yml",
}


def explain(exc: SlackApiError, channel: str | None) -> str:
    """A Slack API error in plain words for the operator."""
    error = str(exc.response.get("error", "unknown_error")) if exc.response else "no_response"
    template = _UNREACHABLE.get(error)
    return template.format(channel=channel or "?") if template else f"Slack said {error}"


def web_client(token: str, base_url: str | None = None) -> WebClient:
    """A sync Web API client with rate-limit and connection retries."""
    client = WebClient(token=token, base_url=base_url or WebClient.BASE_URL)
    client.retry_handlers.extend([RateLimitErrorRetryHandler(max_retry_count=2),
                                  ConnectionErrorRetryHandler(max_retry_count=2)])
    return client


def async_web_client(token: str, base_url: str | None = None) -> AsyncWebClient:
    """The async client the outbox sender uses, with the same retries."""
    client = AsyncWebClient(token=token, base_url=base_url or AsyncWebClient.BASE_URL)
    client.retry_handlers.extend([AsyncRateLimitErrorRetryHandler(max_retry_count=2),
                                  AsyncConnectionErrorRetryHandler(max_retry_count=2)])
    return client


class SlackSender:
    """Sends one outbox reply to a Slack user (a DM) or channel."""

    def __init__(self, client: AsyncWebClient, rt: Runtime | None = None) -> None:
        self.client = client
        self.rt = rt

    async def __call__(self, address: str, reply: Reply) -> str | None:
        """Deliver one reply; the message's ts, or None when there was nothing to send."""
        try:
            return await self._deliver(address, reply)
        except SlackApiError as exc:
            raise _delivery_error(exc, address, reply) from None
        except (OSError, TimeoutError) as exc:
            raise DeliveryError(type(exc).__name__) from None

    async def _deliver(self, address: str, reply: Reply) -> str | None:
        """The App Home, an upload, an edit or a new post, as the reply asks."""
        if reply.home:
            return await self._publish_home(address)
        if reply.attachment is not None:
            return await self._upload(address, reply)
        if reply.edit:
            return await self._edit(address, reply)
        answer = await self._post(address, reply)
        return str(answer.get("ts")) if answer.get("ts") else None

    async def _edit(self, address: str, reply: Reply) -> str | None:
        """Update a message already posted; None when the post never went out."""
        if reply.anchor is None:
            return None  # the post never went out: nothing to update
        if reply.card is None:
            # A plain edit replaces the whole message (an erased client's post): no
            # block of the old one may stay.
            await self.client.chat_update(channel=await self._channel_of(address),
                                          ts=reply.anchor, text=reply.text, blocks=[])
            return reply.anchor
        text, blocks = escalation_message(reply.card)
        await self.client.chat_update(channel=address, ts=reply.anchor, text=text,
                                      blocks=blocks)
        return reply.anchor

    async def _post(self, address: str, reply: Reply):
        """A new message, laid out for what the reply carries; Slack's answer."""
        layout = _block_layout(reply)
        if layout is not None:
            text, blocks = layout
            return await self.client.chat_postMessage(
                channel=address, text=text, blocks=blocks, unfurl_links=False,
                unfurl_media=False)
        if reply.thread_of is not None:
            return await self.client.chat_postMessage(
                channel=address, text=mrkdwn(reply.text), thread_ts=reply.anchor,
                unfurl_links=False, unfurl_media=False)
        if reply.about is not None:
            text, _ = team_message(reply)
            return await self.client.chat_postMessage(
                channel=address, text=text, thread_ts=reply.anchor,
                reply_broadcast=reply.anchor is not None, unfurl_links=False)
        text, blocks = reply_message(reply)
        return await self.client.chat_postMessage(channel=address, text=text,
                                                  blocks=blocks, unfurl_links=False)

    async def _publish_home(self, address: str) -> str | None:
        """A coach's Home tab as it is now (built at sending, so it is never stale)."""
        if self.rt is None:
            return None
        home = await asyncio.to_thread(coach_home.home_of, self.rt, address)
        if home is not None:
            await self.client.views_publish(user_id=address, view=home_view(home, home.language))
        return None

    async def _upload(self, address: str, reply: Reply) -> str | None:
        """A file with the reply's text as its comment; a user id is opened as a DM first."""
        assert reply.attachment is not None
        await self.client.files_upload_v2(
            channel=await self._channel_of(address), content=reply.attachment.data,
            filename=reply.attachment.filename, title=reply.attachment.filename,
            initial_comment=reply.text)
        return None

    async def _channel_of(self, address: str) -> str:
        """The channel id for `address`: a user id is their DM with the bot, opened first."""
        if address[:1] not in ("U", "W"):
            return address
        opened = await self.client.conversations_open(users=address)
        return str(opened["channel"]["id"])


async def drain_slack(rt: Runtime, client: AsyncWebClient,
                      budget: SendBudget | None = None) -> int:
    """Send every due Slack message in the outbox once, within `budget` when given."""
    send = SlackSender(client, rt)
    return await drain_async(rt, CHANNEL, send if budget is None else within(budget, send))


def _block_layout(reply: Reply) -> tuple[str, list] | None:
    """The text and blocks of an escalation card, digest, check-in card or notes offer."""
    if reply.card is not None:
        return escalation_message(reply.card)
    if reply.digest is not None:
        return digest_message(reply.text, reply.digest)
    if reply.relay_card is not None:
        return checkin_card_message(reply)
    if reply.notes_for is not None:
        return notes_offer_message(reply)
    return None


def _delivery_error(exc: SlackApiError, address: str, reply: Reply) -> DeliveryError:
    """What a Slack API error means for the outbox: permanent, or worth trying again (when)."""
    error = str(exc.response.get("error", "")) if exc.response else ""
    if error in _UNREACHABLE:
        log.error("cannot deliver to Slack: %s", explain(exc, address))
        # A client's DM that cannot be reached stays so; the team channel is a
        # setting an operator fixes, so its posts wait and are tried again.
        team = (reply.card is not None or reply.about is not None
                or reply.relay_card is not None or reply.thread_of is not None)
        return DeliveryError(error, permanent=not team)
    retry_after = exc.response.headers.get("Retry-After") if exc.response else None
    return DeliveryError(error or "slack_error",
                         retry_after=float(retry_after) if retry_after else None)
