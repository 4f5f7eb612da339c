"""Who gets the quarterly review in Slack: the program owner, else the team channel."""

from __future__ import annotations

from dataclasses import dataclass

from services.unit_of_work import Runtime
from storage import staff


class NoRecipient(ValueError):
    """Nobody to send the review to."""


@dataclass(frozen=True)
class Recipient:
    """A person (their Slack user id) or a channel."""

    name: str
    slack_id: str

    @property
    def is_person(self) -> bool:
        return self.slack_id[:1] in ("U", "W")


def review_recipient(runtime: Runtime) -> Recipient:
    """The first program owner listed with `staff add --role program_owner`, else the team
    channel (COACHBOT_SLACK_TEAM_CHANNEL)."""
    with runtime.reading() as session:
        owners = staff.in_slack(session, "program_owner")
    if owners:
        name, slack_id = owners[0]
        return Recipient(name, slack_id)
    if runtime.team_channel:
        return Recipient("the team channel", runtime.team_channel)
    raise NoRecipient("no one to send the review to: add a program owner (coachbot staff add "
                      "--role program_owner ...) or set COACHBOT_SLACK_TEAM_CHANNEL")
