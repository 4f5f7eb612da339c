"""Escalations in the team channel: post, update after a change, re-escalate past the SLA.

The Web API calls happen outside database transactions; the database says what is due.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping

from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError
from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.slack.blocks import EscalationView, escalation_message
from bot.slack.escape import mrkdwn
from bot.slack.sender import explain
from conversations.program import Program
from scheduler.clock import Clock
from storage import escalations, staff
from storage.db import session as new_session
from storage.models import Answer, Enrolment, Escalation, Person

log = logging.getLogger("coachbot.slack.escalations")


def view_of(session: Session, escalation: Escalation, programs: Mapping[str, Program]
            ) -> EscalationView:
    """What the post of `escalation` shows, read from the database."""
    enrolment = session.get(Enrolment, escalation.enrolment_id)
    assert enrolment is not None
    client = session.get(Person, enrolment.person_id)
    program = programs.get(enrolment.program_id)
    owner = session.get(Person, escalation.owner_id) if escalation.owner_id else None
    acked = (session.get(Person, escalation.acknowledged_by_id)
             if escalation.acknowledged_by_id else None)
    week = max(1, (escalation.opened_at - enrolment.enrolled_at).days // 7 + 1)
    return EscalationView(
        id=escalation.id or 0, client=client.name if client else "?",
        program=program.name if program else enrolment.program_id,
        week=min(week, program.weeks) if program else week, reason=escalation.reason,
        answers=_latest_answers(session, enrolment.id or 0),
        owner=owner.name if owner else f"the {escalation.owner_role}",
        sla_due_at=escalation.sla_due_at,
        acknowledged_by=acked.name if acked else None,
        acknowledged_at=escalation.acknowledged_at, resolved_at=escalation.resolved_at,
        resolution_note=escalation.resolution_note)


def _latest_answers(session: Session, enrolment_id: int) -> list[tuple[str, str]]:
    """The answers of the client's most recent conversation: what the rule looked at."""
    latest = session.exec(select(Answer.conversation_id).where(
        Answer.enrolment_id == enrolment_id).order_by(
        col(Answer.answered_at).desc(), col(Answer.id).desc())).first()
    if latest is None:
        return []
    rows = session.exec(select(Answer).where(Answer.conversation_id == latest)
                        .order_by(col(Answer.id)))
    return [(a.question_id, a.raw_text) for a in rows]


def post_pending(client: WebClient, db: Engine, programs: Mapping[str, Program],
                 channel: str | None) -> int:
    """Post every escalation not yet in the team channel; returns how many were posted."""
    if not channel:
        return 0
    with new_session(db) as session, session.begin():
        claimed = escalations.claim_unposted(session, channel=channel)
        views = [view_of(session, e, programs) for e in claimed]
    posted = 0
    for view in views:
        text, blocks = escalation_message(view)
        ts = None
        try:
            answer = client.chat_postMessage(channel=channel, text=text, blocks=blocks,
                                             unfurl_links=False, unfurl_media=False)
            ts = answer["ts"]
            posted += 1
        except SlackApiError as exc:
            log.error("could not post escalation %s to the team channel: %s", view.id,
                      explain(exc, channel))
        with new_session(db) as session, session.begin():
            # The channel Slack answers with is the id threads and reactions will carry.
            escalations.mark_posted(session, view.id, channel=channel, ts=ts)
    return posted


def refresh_post(client: WebClient, db: Engine, programs: Mapping[str, Program],
                 escalation_id: int) -> None:
    """Update the team post to show who acknowledged or resolved it, and when."""
    with new_session(db) as session:
        escalation = session.get(Escalation, escalation_id)
        if escalation is None or not escalation.slack_ts or not escalation.slack_channel:
            return
        view = view_of(session, escalation, programs)
        channel, ts = escalation.slack_channel, escalation.slack_ts
    text, blocks = escalation_message(view)
    try:
        client.chat_update(channel=channel, ts=ts, text=text, blocks=blocks)
    except SlackApiError as exc:
        log.error("could not update escalation %s: %s", escalation_id, explain(exc, channel))


def due_reescalations(client: WebClient, db: Engine, clock: Clock) -> int:
    """Repost unacknowledged escalations past their SLA in their thread, mentioning the backup.

    Idempotent: each level is reposted once (recorded in the audit log), so calling this
    every minute, or from two workers after the fact, repeats nothing already done.
    """
    now = clock.now()
    with new_session(db) as session:
        due = escalations.overdue(session, now)
        plans = []
        for item in due:
            backup_id = _backup_for(session, item.escalation.owner_id, item.level)
            plans.append((item, backup_id, staff.slack_id_of(session, backup_id)))
    done = 0
    for item, backup_id, slack_id in plans:
        e = item.escalation
        who = f"<@{slack_id}>" if slack_id else "<!here>"
        text = (f"{who} escalation #{e.id} is not acknowledged and its SLA has passed "
                f"(reminder {item.level}). Reason: {mrkdwn(e.reason)}. "
                "Reply *ack* here to take it.")
        try:
            client.chat_postMessage(channel=e.slack_channel or "", thread_ts=e.slack_ts,
                                    text=text, reply_broadcast=item.level == 1)
        except SlackApiError as exc:
            log.error("could not re-escalate %s: %s", e.id, explain(exc, e.slack_channel))
            continue
        with new_session(db) as session, session.begin():
            escalations.record_reescalation(session, e, level=item.level, backup_id=backup_id,
                                            now=now)
        done += 1
    return done


def _backup_for(session: Session, owner_id: int | None, level: int) -> int | None:
    """Level 1 goes to the owner's backup, level 2 to the backup's backup, and so on."""
    current = owner_id
    chosen = None
    for _ in range(level):
        person = session.get(Person, current) if current else None
        if person is None or person.backup_id is None:
            break
        chosen = current = person.backup_id
    return chosen
