"""Enrolling a client straight into a Slack DM: `coachbot enroll ... --slack-id U456`.

The DM is opened first (conversations.open), so a wrong user id or a missing scope stops
the enrolment before anything is stored. Then the invite is redeemed through the same
path as a client typing `/start CODE` in that DM: the handler binds the Slack identity,
opens the intake flow and queues its first question in the outbox, where the Slack
runner's drain delivers it. One join path, whoever starts it.
"""

from __future__ import annotations

import logging

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.composition import App
from bot.slack.slack_sender import CHANNEL, explain
from conversations.messages import Inbound
from services import staff_directory
from services.enrolment import EnrolError, Enrolled, refuse_taken_address

log = logging.getLogger("coachbot.slack.dm_join")


def open_dm(client: WebClient, slack_id: str) -> str:
    """Open (or find) the bot's DM with `slack_id`; its channel id, or a plain EnrolError."""
    try:
        answer = client.conversations_open(users=slack_id)
    except SlackApiError as exc:
        raise EnrolError(f"cannot open a Slack DM with {slack_id}: "
                         f"{explain(exc, slack_id)}") from None
    return str(answer["channel"]["id"])


def refuse_staff(app: App, slack_id: str) -> None:
    """A coach's or team member's Slack id is not a client's: binding it would move their
    identity to the client and cut them off from digests and escalations."""
    # The same holds for a client still in a program: their check-ins would move.
    if staff_directory.is_staff(app.rt, slack_id):
        raise EnrolError(f"{slack_id} is a coach or team member, not a client")
    refuse_taken_address(app.rt, channel=CHANNEL, address=slack_id)


def join_on_slack(app: App, enrolled: Enrolled, slack_id: str) -> bool:
    """Redeem the invite for `slack_id` and queue the intake's first question to them.

    False when the code could not be redeemed (already used): nothing was changed.
    """
    handled = app.inbound.handle(Inbound(channel=CHANNEL, sender=slack_id,
                                         event_id=f"enrol:{enrolled.enrolment_id}",
                                         text=f"/start {enrolled.code}"))
    return handled.outcome == "joined"


def join_by_email(app: App, client: WebClient, *, email: str, code: str,
                  enrolment_id: int) -> bool:
    """A paying client who is in the workspace: find them by email, open the DM and start
    their intake there (the /join page then says so). False when they cannot be found
    (no such member, or the app lacks users:read.email) or are staff: the page then shows
    the code to send instead."""
    try:
        found = client.users_lookupByEmail(email=email)
    except SlackApiError as exc:
        log.info("no slack member for a paying client: %s", explain(exc, None))
        return False
    slack_id = str(found["user"]["id"])
    try:
        refuse_staff(app, slack_id)
        open_dm(client, slack_id)
    except EnrolError:
        return False
    handled = app.inbound.handle(Inbound(channel=CHANNEL, sender=slack_id,
                                         event_id=f"join:{enrolment_id}",
                                         text=f"/start {code}"))
    return handled.outcome == "joined"
