"""Escalations: opened once per cause, posted to the team channel, acknowledged, resolved,
and reposted to the backup past their SLA.

Every team-channel message goes through the outbox like any other message: the post is
queued in the transaction that opens the escalation, so it reaches the channel at the next
drain (seconds), and a crash never loses or doubles it.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Literal

from sqlmodel import Session, col, select

from conversations.journey import program_week
from conversations.messages import EscalationCard, Reply
from conversations.translations import N_, translator
from services import coach_home, keys
from services.client_context import shared_language
from services.unit_of_work import Runtime, UnitOfWork
from storage import dedupe, staff
from storage import escalation_store as cases
from storage.models import Enrolment, Escalation, Person, RuleFiring

log = logging.getLogger("coachbot.escalations")

TEAM_CHANNEL = "slack"
# Whom a case without a named owner goes to, as its post says it.
_ROLES = {"team": N_("the team"), "coach": N_("the coach")}
Change = Literal["duplicate", "not_an_escalation", "refused", "changed", "unchanged"]


def open_case(rt: Runtime, uow: UnitOfWork, *, enrolment_id: int, reason: str,
              owner_role: str, sla: timedelta, actor: str = "system",
              rule_firing_id: int | None = None, owner_id: int | None = None,
              evidence: tuple[tuple[str, str], ...] = ()) -> Escalation | None:
    """Open an escalation and queue its team post; None when the same cause is still open.

    A rule firing is its own cause (it fires once while its condition holds); anything else
    (an unanswered touchpoint, a coach's request) is the same cause while an unresolved
    escalation with the same reason exists.
    """
    session = uow.session
    if rule_firing_id is None and session.exec(select(Escalation.id).where(
            Escalation.enrolment_id == enrolment_id, Escalation.reason == reason[:300],
            col(Escalation.resolved_at).is_(None))).first() is not None:
        return None
    escalation = cases.open_escalation(
        session, enrolment_id=enrolment_id, reason=reason, owner_role=owner_role, sla=sla,
        now=uow.now, actor=actor, rule_firing_id=rule_firing_id, owner_id=owner_id)
    if rt.team_channel:
        card = card_of(rt, session, escalation, evidence)
        uow.queue(key=keys.escalation_post(escalation.id or 0), channel=TEAM_CHANNEL,
                  address=rt.team_channel, person_id=None,
                  reply=Reply(text=_title(card), card=card))
    coach_home.refresh(uow, _coach_of(session, enrolment_id), f"case:{escalation.id}:opened")
    log.info("escalation opened escalation=%s enrolment=%s owner_role=%s", escalation.id,
             enrolment_id, owner_role)
    return escalation


def card_of(rt: Runtime, session: Session, escalation: Escalation,
            evidence: tuple[tuple[str, str], ...] | None = None) -> EscalationCard:
    """What the post of `escalation` shows; the evidence is what fired it, as it was."""
    enrolment = session.get(Enrolment, escalation.enrolment_id)
    assert enrolment is not None
    client = session.get(Person, enrolment.person_id)
    program = rt.programs.get(enrolment.program_id)
    owner = session.get(Person, escalation.owner_id) if escalation.owner_id else None
    acked = (session.get(Person, escalation.acknowledged_by_id)
             if escalation.acknowledged_by_id else None)
    coach = session.get(Person, enrolment.coach_id) if enrolment.coach_id else None
    if evidence is None:
        evidence = _evidence(session, escalation)
    language = shared_language(rt.programs.values())
    t = translator(language)
    return EscalationCard(
        id=escalation.id or 0, client=client.name if client else "?",
        program=program.name if program else enrolment.program_id,
        week=program_week(enrolment.enrolled_at, escalation.opened_at,
                          program.weeks if program else None),
        reason=escalation.reason, evidence=evidence,
        owner=owner.name if owner else t.gettext(
            _ROLES.get(escalation.owner_role, escalation.owner_role)),
        sla_due_at=escalation.sla_due_at,
        acknowledged_by=acked.name if acked else None,
        acknowledged_at=escalation.acknowledged_at, resolved_at=escalation.resolved_at,
        resolution_note=escalation.resolution_note, coach=coach.name if coach else None,
        owner_zone=owner.timezone if owner else None, language=language)


def _evidence(session: Session, escalation: Escalation) -> tuple[tuple[str, str], ...]:
    """The values stored with the rule firing that opened it, if a rule did."""
    if escalation.rule_firing_id is None:
        return ()
    firing = session.get(RuleFiring, escalation.rule_firing_id)
    return evidence_of(firing.values) if firing is not None else ()


def evidence_of(values: dict) -> tuple[tuple[str, str], ...]:
    """A firing's stored values as (what, value) pairs for the post."""
    def shown(value: object) -> str:
        if isinstance(value, list | tuple):
            return ", ".join(shown(v) for v in value)
        if isinstance(value, float):
            return f"{value:g}"
        return str(value)

    return tuple((str(k), shown(v)) for k, v in values.items())


def change(rt: Runtime, *, event_id: str, user: str, channel: str, ts: str | None,
           escalation_id: int | None, note: str | None, via: str) -> Change:
    """Acknowledge (note None) or resolve an escalation once, for a listed staff member;
    the post is updated through the outbox."""
    with rt.transaction() as uow:
        session = uow.session
        if not dedupe.first_delivery(session, channel=TEAM_CHANNEL, event_id=event_id,
                                     now=uow.now):
            return "duplicate"
        if escalation_id is not None:
            case = session.get(Escalation, escalation_id, with_for_update=True)
        else:
            case = cases.at_post(session, channel=channel, ts=ts or "")
        if case is None:
            return "not_an_escalation"
        person = staff.staff_at(session, user)
        if person is None:
            log.info("escalation change refused escalation=%s via=%s", case.id, via)
            return "refused"
        done = (cases.resolve(session, case, by=person, note=note, now=uow.now, via=via)
                if note is not None else
                cases.acknowledge(session, case, by=person, now=uow.now, via=via))
        if not done:
            return "unchanged"
        coach_home.refresh(uow, _coach_of(session, case.enrolment_id),
                           f"case:{case.id}:{'resolved' if note is not None else 'acked'}")
        if case.slack_channel:
            card = card_of(rt, session, case)
            state = "resolved" if note is not None else "acknowledged"
            uow.queue(key=keys.escalation_update(case.id or 0, state), channel=TEAM_CHANNEL,
                      address=case.slack_channel, person_id=None,
                      reply=Reply(text=_title(card), card=card,
                                  edit=True))
        return "changed"


def _title(card: EscalationCard) -> str:
    """The post's one line (notifications, search), in the team channel's language."""
    return translator(card.language).gettext("Escalation #{id}: {reason}").format(
        id=card.id, reason=card.reason)


def _coach_of(session: Session, enrolment_id: int) -> int | None:
    enrolment = session.get(Enrolment, enrolment_id)
    return enrolment.coach_id if enrolment is not None else None


def reescalate_due(rt: Runtime) -> int:
    """Repost unacknowledged escalations past their SLA in their thread, to the backup.

    Each level is queued once (its key and the audit log say so), so running this every
    minute, or from two workers, repeats nothing.
    """
    done = 0
    t = translator(shared_language(rt.programs.values()))  # the team channel's language
    with rt.transaction() as uow:
        for item in cases.overdue(uow.session, uow.now):
            e = item.escalation
            backup_id = _backup_for(uow.session, e.owner_id, item.level)
            slack_id = staff.slack_id_of(uow.session, backup_id)
            text = t.gettext(
                "escalation #{id} is not acknowledged and its SLA has passed (reminder "
                "{number}). Reason: {reason}. Reply ack here to take it.").format(
                id=e.id, number=item.number, reason=e.reason)
            uow.queue(key=keys.reescalation(e.id or 0, item.level), channel=TEAM_CHANNEL,
                      address=e.slack_channel or "", person_id=None,
                      reply=Reply(text=text, about=e.id, mention=slack_id or "here"))
            cases.record_reescalation(uow.session, e, level=item.level, backup_id=backup_id,
                                      now=uow.now)
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


def record_post(session: Session, escalation_id: int, *, channel: str, ts: str | None) -> None:
    """The team post was sent: threads and reactions on (channel, ts) now reach it."""
    cases.mark_posted(session, escalation_id, channel=channel, ts=ts)


def anchor_of(session: Session, escalation_id: int) -> str | None:
    """The platform id of an escalation's post, for an edit or a thread reply."""
    escalation = session.get(Escalation, escalation_id)
    return escalation.slack_ts if escalation is not None else None
