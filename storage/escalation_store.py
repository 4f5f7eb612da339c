"""Escalations: opened for a client, acknowledged and resolved by listed staff, audited.

Every change writes an audit entry (ids and roles only, never answer text).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import update
from sqlmodel import Session, col, select

from storage import staff
from storage.models import AuditEntry, Enrolment, Escalation, Person

# How many times an unacknowledged escalation is reposted to the backup before we stop:
# after that the thread already holds three mentions and more noise helps nobody.
MAX_LEVEL = 3


class NotAllowed(Exception):
    """Someone who is not a listed coach or team member tried to change an escalation."""


def _audit(session: Session, *, at: datetime, actor: str, action: str,
           escalation: Escalation, **detail: object) -> None:
    session.add(AuditEntry(at=at, actor=actor, action=action,
                           enrolment_id=escalation.enrolment_id,
                           detail={"escalation_id": escalation.id, **detail}))


def open_escalation(session: Session, *, enrolment_id: int, reason: str, owner_role: str,
                    sla: timedelta, now: datetime, actor: str = "system",
                    rule_firing_id: int | None = None,
                    owner_id: int | None = None) -> Escalation:
    """Open an escalation; the owner is `owner_id`, else whoever the program's role names."""
    # The client's coach, the program owner, or for "team" no one person: the whole
    # channel, which its reminders then address (@here unless a backup is named).
    enrolment = session.get(Enrolment, enrolment_id)
    if enrolment is None:
        raise LookupError(f"no enrolment {enrolment_id}")
    if owner_id is not None:
        pass
    elif owner_role in ("coach", "client"):
        # A client cannot own a case about themselves: their coach does.
        owner_id = enrolment.coach_id
    elif owner_role == "program_owner":
        owner = staff.first_of_role(session, "program_owner")
        owner_id = owner.id if owner else None
    escalation = Escalation(enrolment_id=enrolment_id, rule_firing_id=rule_firing_id,
                            reason=reason[:300], owner_role=owner_role, owner_id=owner_id,
                            opened_at=now, sla_due_at=now + sla)
    session.add(escalation)
    session.flush()
    _audit(session, at=now, actor=actor, action="escalation_opened", escalation=escalation,
           owner_role=owner_role, sla_seconds=int(sla.total_seconds()))
    return escalation


def at_post(session: Session, *, channel: str, ts: str) -> Escalation | None:
    """The escalation whose Slack post is (channel, ts), if any."""
    return session.exec(select(Escalation).where(
        Escalation.slack_channel == channel, Escalation.slack_ts == ts)).first()


def _require_staff(person: Person | None) -> Person:
    if person is None or person.role not in staff.STAFF_ROLES:
        raise NotAllowed("only listed coaches and team members can change escalations")
    return person


def acknowledge(session: Session, escalation: Escalation, *, by: Person | None,
                now: datetime, via: str) -> bool:
    """Acknowledge; False when it was already acknowledged or resolved (nothing changes)."""
    person = _require_staff(by)
    if escalation.acknowledged_at is not None or escalation.resolved_at is not None:
        return False
    escalation.acknowledged_by_id = person.id
    escalation.acknowledged_at = now
    session.add(escalation)
    _audit(session, at=now, actor=f"person:{person.id}", action="escalation_acknowledged",
           escalation=escalation, via=via)
    session.flush()
    return True


def resolve(session: Session, escalation: Escalation, *, by: Person | None, note: str,
            now: datetime, via: str) -> bool:
    """Resolve with a note (acknowledging it too); False when it was already resolved."""
    person = _require_staff(by)
    if escalation.resolved_at is not None:
        return False
    if escalation.acknowledged_at is None:
        escalation.acknowledged_by_id = person.id
        escalation.acknowledged_at = now
    escalation.resolved_at = now
    escalation.resolution_note = note[:1000]
    session.add(escalation)
    # The note is staff text, possibly about the client: the audit keeps only its length.
    _audit(session, at=now, actor=f"person:{person.id}", action="escalation_resolved",
           escalation=escalation, via=via, note_chars=len(note))
    session.flush()
    return True


def claim_unposted(session: Session, *, channel: str) -> list[Escalation]:
    """Open escalations not yet posted to Slack, marked as being posted to `channel`.

    The conditional update makes the claim atomic, so two workers never post one twice.
    """
    rows = list(session.exec(select(Escalation).where(
        col(Escalation.slack_channel).is_(None), col(Escalation.resolved_at).is_(None))
        .order_by(col(Escalation.id))))
    claimed = []
    for row in rows:
        done = session.execute(update(Escalation).where(
            col(Escalation.id) == row.id, col(Escalation.slack_channel).is_(None))
            .values(slack_channel=channel))
        if done.rowcount:  # type: ignore[attr-defined]
            row.slack_channel = channel
            claimed.append(row)
    return claimed


def mark_posted(session: Session, escalation_id: int, *, channel: str, ts: str | None) -> None:
    """Record the Slack post; ts None releases the claim so a later run retries it."""
    session.execute(update(Escalation).where(col(Escalation.id) == escalation_id).values(
        slack_channel=channel if ts else None, slack_ts=ts))


@dataclass(frozen=True)
class Overdue:
    """An unacknowledged escalation past its SLA, and the level of this reminder."""

    escalation: Escalation
    level: int
    # How many reposts came before, plus one: after downtime the first one is still 1.
    number: int = 1


def level_at(escalation: Escalation, now: datetime) -> int:
    """0 before the SLA; then 1, 2, ... one more for each further SLA period, up to MAX_LEVEL."""
    if now < escalation.sla_due_at:
        return 0
    period = max(escalation.sla_due_at - escalation.opened_at, timedelta(minutes=1))
    return min(MAX_LEVEL, int((now - escalation.sla_due_at) / period) + 1)


def overdue(session: Session, now: datetime) -> list[Overdue]:
    """Posted, unacknowledged escalations whose current level has not been reposted yet."""
    rows = list(session.exec(select(Escalation).where(
        col(Escalation.acknowledged_at).is_(None), col(Escalation.resolved_at).is_(None),
        col(Escalation.slack_ts).is_not(None), col(Escalation.sla_due_at) <= now)
        .order_by(col(Escalation.sla_due_at))))
    if not rows:
        return []
    done = {(entry.detail.get("escalation_id"), entry.detail.get("level"))
            for entry in session.exec(select(AuditEntry).where(
                AuditEntry.action == "escalation_reescalated",
                col(AuditEntry.enrolment_id).in_({r.enrolment_id for r in rows})))}
    found = []
    for row in rows:
        level = level_at(row, now)
        if (row.id, level) not in done:
            earlier = sum(1 for escalation_id, _ in done if escalation_id == row.id)
            found.append(Overdue(row, level, earlier + 1))
    return found


def record_reescalation(session: Session, escalation: Escalation, *, level: int,
                        backup_id: int | None, now: datetime) -> None:
    """Note that `level` was reposted, so it happens once per level."""
    _audit(session, at=now, actor="system", action="escalation_reescalated",
           escalation=escalation, level=level, backup_id=backup_id)


def open_for(session: Session, enrolment_ids: list[int]) -> list[Escalation]:
    """Unresolved escalations of these enrolments, oldest first."""
    if not enrolment_ids:
        return []
    return list(session.exec(select(Escalation).where(
        col(Escalation.enrolment_id).in_(enrolment_ids), col(Escalation.resolved_at).is_(None))
        .order_by(col(Escalation.opened_at))))
