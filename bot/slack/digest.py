"""The coach's daily digest: yesterday per own client, most urgent first.

A fixed number of queries whatever the number of clients or the length of their history:
the coach's enrolments, the answers of the last eight days, and the open escalations.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session, col, select

from bot.slack.escape import mrkdwn
from conversations.messages import Reply
from conversations.program import Program
from storage import escalations, outbox, staff
from storage.db import session as new_session
from storage.models import Answer, Enrolment, OutboxMessage, Person

DIGEST_AT = time(8, 0)
# A digest missed by more than this (the bot was down all morning) is not sent late.
LATE_LIMIT = timedelta(hours=4)
_DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")


@dataclass
class ClientLine:
    """One client's part of the digest, with how urgent it is."""

    name: str
    urgency: int  # higher first
    parts: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Digest:
    """The digest as plain text and as Block Kit."""

    text: str
    blocks: list[dict]
    quiet: bool


def _arrow(now: float, before: float | None) -> str:
    if before is None:
        return ""
    return " ↑" if now > before else " ↓" if now < before else " →"


def _number(value: float) -> str:
    return f"{value:g}"


def build_digest(session: Session, coach: Person, programs: Mapping[str, Program],
                 now: datetime) -> Digest:
    """The digest of `coach` for the local day before `now`."""
    zone = ZoneInfo(coach.timezone)
    yesterday = now.astimezone(zone).date() - timedelta(days=1)
    start = datetime.combine(yesterday, time(0), tzinfo=zone)
    end = start + timedelta(days=1)
    rows = list(session.exec(
        select(Enrolment, Person).join(Person, col(Person.id) == col(Enrolment.person_id))
        .where(Enrolment.coach_id == coach.id,
               col(Enrolment.status).in_(("consent", "active", "paused")))))
    ids = [e.id for e, _ in rows if e.id is not None]
    answers: list[Answer] = list(session.exec(select(Answer).where(
        col(Answer.enrolment_id).in_(ids), col(Answer.answered_at) >= start - timedelta(days=7),
        col(Answer.answered_at) < end).order_by(col(Answer.answered_at)))) if ids else []
    open_cases = escalations.open_for(session, ids)
    names = {p.id: p.name for p in session.exec(select(Person).where(
        col(Person.id).in_({e.owner_id for e in open_cases if e.owner_id}
                           | {e.acknowledged_by_id for e in open_cases
                              if e.acknowledged_by_id})))} if open_cases else {}
    lines: list[ClientLine] = []
    responded = 0
    for enrolment, person in rows:
        program = programs.get(enrolment.program_id)
        checkin = program.checkin_flow if program else None
        mine = [a for a in answers if a.enrolment_id == enrolment.id and a.flow_id == checkin]
        today = [a for a in mine if a.answered_at >= start]
        before = {a.question_id: a.number for a in mine
                  if a.answered_at < start and a.number is not None}
        if mine:
            responded += 1
        line = ClientLine(name=person.name, urgency=0)
        if today:
            scores = []
            for a in today:
                if a.number is None:
                    continue
                arrow = _arrow(a.number, before.get(a.question_id))
                if arrow == " ↓":
                    line.urgency = max(line.urgency, 2)
                scores.append(f"{a.question_id} {_number(a.number)}{arrow}")
            line.parts.append("checked in: " + (", ".join(scores) or "answered"))
        elif enrolment.status == "active" and enrolment.checkin_day == _DAYS[
                yesterday.weekday()]:
            line.urgency = max(line.urgency, 1)
            line.parts.append("missed the check-in")
        for case in (c for c in open_cases if c.enrolment_id == enrolment.id):
            age = now - case.opened_at
            hours = int(age.total_seconds() // 3600)
            owner = names.get(case.owner_id, f"the {case.owner_role}")
            state = (f"acknowledged by {names.get(case.acknowledged_by_id, '?')}"
                     if case.acknowledged_at else "NOT acknowledged")
            line.urgency = max(line.urgency, 3 if case.acknowledged_at is None else 2)
            line.parts.append(f"open escalation: {case.reason} ({hours}h old, owner {owner}, "
                              f"{state})")
        if line.parts:
            lines.append(line)
    rate = f"{responded}/{len(rows)}" if rows else "0/0"
    title = f"Your digest for {yesterday:%a %d %b}"
    if not lines:
        text = (f"{title}: a quiet day, nothing needs you. "
                f"Check-ins this week: {rate} clients.")
        return Digest(text=text, blocks=[{"type": "section", "text": {
            "type": "mrkdwn", "text": mrkdwn(text)}}], quiet=True)
    lines.sort(key=lambda item: (-item.urgency, item.name))
    body = [f"{item.name}: " + "; ".join(item.parts) for item in lines]
    text = "\n".join([title, *body, f"Check-ins this week: {rate} clients."])
    blocks: list[dict] = [{"type": "header", "text": {"type": "plain_text", "text": title}}]
    for item in lines[:45]:
        marker = ":red_circle:" if item.urgency >= 2 else ":large_yellow_circle:" \
            if item.urgency else ":white_circle:"
        blocks.append({"type": "section", "text": {"type": "mrkdwn", "text": (
            f"{marker} *{mrkdwn(item.name)}*\n" + "\n".join(mrkdwn(p) for p in item.parts)
        )[:2900]}})
    blocks.append({"type": "context", "elements": [
        {"type": "mrkdwn", "text": f"Check-ins this week: {rate} clients."}]})
    return Digest(text=text, blocks=blocks, quiet=False)


def digest_key(coach_id: int, day: date) -> str:
    """One digest per coach per local date, however often the task runs."""
    return f"digest:{coach_id}:{day.isoformat()}"


def digests_due(db: Engine, programs: Mapping[str, Program], now: datetime) -> int:
    """Queue the digest of every coach whose local 08:00 has come today; idempotent.

    Returns how many were queued now (0 when each was queued before).
    """
    queued = 0
    with new_session(db) as session, session.begin():
        for coach in staff.coaches(session):
            local = now.astimezone(ZoneInfo(coach.timezone))
            due = datetime.combine(local.date(), DIGEST_AT, tzinfo=local.tzinfo)
            if not due <= local < due + LATE_LIMIT:
                continue
            address = staff.slack_id_of(session, coach.id)
            if address is None:
                continue
            key = digest_key(coach.id or 0, local.date())
            # Checked first so the digest is built once a day, not every minute.
            if session.exec(select(OutboxMessage.id).where(
                    OutboxMessage.idempotency_key == key)).first() is not None:
                continue
            digest = build_digest(session, coach, programs, now)
            queued += outbox.enqueue(session, key=key, channel="slack", address=address,
                                     person_id=coach.id, reply=Reply(digest.text), now=now)
    return queued
