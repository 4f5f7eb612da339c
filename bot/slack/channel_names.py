"""A Slack channel given by name (`#coaching-escalations`) resolved to its id at start-up.

Events name channels by id only: a team channel stored as a name would receive posts (Slack
accepts a name there) while thread replies and reactions, which carry the id, matched none.
"""

from __future__ import annotations

import re

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from bot.composition import App
from bot.slack.slack_sender import explain

_CHANNEL_ID = re.compile(r"[CG][A-Z0-9]{2,}")


def channel_id(client: WebClient, channel: str) -> str:
    """The id of `channel`, given as an id or as a name with or without `#`."""
    if _CHANNEL_ID.fullmatch(channel):
        return channel
    name = channel.removeprefix("#").lower()
    try:
        for page in client.conversations_list(types="public_channel,private_channel",
                                              exclude_archived=True, limit=200):
            for found in page.get("channels", []):
                if str(found.get("name", "")).lower() == name:
                    return str(found["id"])
    except SlackApiError as exc:
        raise RuntimeError(f"cannot look up the Slack channel {channel}: "
                           f"{explain(exc, channel)} (the app needs channels:read and "
                           "groups:read, or give the channel's id)") from None
    raise RuntimeError(f"no Slack channel named {channel} that the bot can see; invite the "
                       "bot there (/invite @coachbot) or give the channel's id")


def resolve_team_channel(app: App, client: WebClient) -> None:
    """Replace a team channel given by name with its id, once, before anything is posted."""
    if app.rt.team_channel:
        app.rt.team_channel = channel_id(client, app.rt.team_channel)
