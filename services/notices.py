"""Telling people about what arrived from outside: a client's coach, or the program team.

A coach is told in their own Slack DM when they have one; anything without a coach (a
payment nobody claims, a booking for an unknown email) goes to the team channel, where
the program owner reads it. Nothing is ever dropped in silence: with neither, it is
logged as a warning (and the row that caused it stays in the database).
"""

from __future__ import annotations

import logging

from conversations.messages import Reply
from services.unit_of_work import Runtime, UnitOfWork
from storage import people
from storage.models import Enrolment

log = logging.getLogger("coachbot.services.notices")

TEAM_CHANNEL = "slack"


def tell_team(runtime: Runtime, uow: UnitOfWork, *, key: str, text: str) -> bool:
    """Post `text` in the team channel, once per `key`; False when there is none."""
    if not runtime.team_channel:
        log.warning("no team channel to tell (set COACHBOT_SLACK_TEAM_CHANNEL): %s", key)
        return False
    uow.queue(key=f"{key}:team", channel=TEAM_CHANNEL, address=runtime.team_channel,
              person_id=None, reply=Reply(text))
    return True


def tell_coach(runtime: Runtime, uow: UnitOfWork, enrolment: Enrolment | None, *, key: str,
               text: str) -> bool:
    """Tell the enrolment's coach, or the team when the client has no reachable coach."""
    coach_id = enrolment.coach_id if enrolment is not None else None
    if coach_id is not None and people.identities_of(uow.session, coach_id):
        return uow.queue_to_person(coach_id, f"{key}:coach", [Reply(text)]) > 0
    return tell_team(runtime, uow, key=key, text=text)
