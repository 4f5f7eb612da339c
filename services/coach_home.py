"""A coach's Home tab: their clients at a glance (stage, last check-in, main metric and its
trend, at risk), their open escalations with age and SLA, and today's sessions.

Built when the coach opens the tab; a coach's words never reach a client from here, and
nothing here is stored, so it is read in one session without a transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func
from sqlmodel import col, select

from conversations.formatting import format_number
from conversations.journey import STATUSES, is_open
from conversations.messages import Reply
from conversations.translations import DEFAULT_LANGUAGE, translator
from services import keys
from services.unit_of_work import Runtime, UnitOfWork
from storage import escalation_store, staff
from storage.models import (
    CoachingSession,
    Conversation,
    Enrolment,
    MetricValue,
    Person,
    RuleFiring,
)


@dataclass(frozen=True)
class HomeClient:
    """One client's row on the coach's Home tab."""

    enrolment_id: int
    name: str
    stage: str
    status: str
    last_checkin: datetime | None
    main_metric: str | None  # "Confidence 3, was 8"
    at_risk: tuple[str, ...]  # titles of the rules that fired and still hold


@dataclass(frozen=True)
class HomeCase:
    """An open escalation of one of the coach's clients."""

    id: int
    client: str
    reason: str
    age: timedelta
    sla_due_at: datetime
    acknowledged: bool


@dataclass(frozen=True)
class Home:
    """What a coach's Home tab shows, in the coach's zone."""

    zone: str
    clients: tuple[HomeClient, ...]
    cases: tuple[HomeCase, ...]
    sessions: tuple[tuple[str, datetime], ...]
    # The coach's language (`staff add --language`): its days, times and numbers.
    language: str = DEFAULT_LANGUAGE


def home_of(rt: Runtime, slack_id: str) -> Home | None:
    """The Home tab of the coach behind `slack_id`; None for anyone else."""
    now = rt.clock.now()
    with rt.reading() as session:
        coach = staff.staff_at(session, slack_id)
        if coach is None or coach.role != "coach":
            return None
        language = coach.language or DEFAULT_LANGUAGE
        rows = list(session.exec(
            select(Enrolment, Person).join(Person, col(Person.id) == col(Enrolment.person_id))
            .where(Enrolment.coach_id == coach.id,
                   col(Enrolment.status).in_([s for s in STATUSES if is_open(s)]))
            .order_by(col(Person.name))))
        ids = [e.id or 0 for e, _ in rows]
        names = {e.id: p.name for e, p in rows}
        last = dict(session.exec(select(Conversation.enrolment_id, func.max(
            Conversation.closed_at)).where(
            col(Conversation.enrolment_id).in_(ids), Conversation.outcome == "completed",
            col(Conversation.flow_id).in_({p.checkin_flow for p in rt.programs.values()}))
            .group_by(col(Conversation.enrolment_id))).all())
        firings: dict[int, list[str]] = {}
        for enrolment_id, rule_id in session.exec(select(
                RuleFiring.enrolment_id, RuleFiring.rule_id).where(
                col(RuleFiring.enrolment_id).in_(ids), col(RuleFiring.cleared_at).is_(None))):
            firings.setdefault(enrolment_id, []).append(rule_id)
        values: dict[tuple[int, str], list[float]] = {}
        for enrolment_id, metric_id, value in session.exec(select(
                MetricValue.enrolment_id, MetricValue.metric_id, MetricValue.value).where(
                col(MetricValue.enrolment_id).in_(ids)).order_by(col(MetricValue.at).desc())):
            values.setdefault((enrolment_id, metric_id), []).append(value)
        clients = []
        for enrolment, person in rows:
            program = rt.programs.get(enrolment.program_id)
            main = next((m for m in program.metrics if m.main), None) if program else None
            shown = None
            if main is not None and (series := values.get((enrolment.id or 0, main.id))):
                latest = format_number(series[0], language, grouping=False)
                shown = f"{main.title or main.id} {latest}"
                if len(series) > 1:
                    # TRANSLATORS: a metric's latest value and the one before it on the Home
                    # tab, e.g. "Weekly revenue 900, was 2500".
                    shown = translator(language).gettext("{metric} {value}, was {before}").format(
                        metric=main.title or main.id, value=latest,
                        before=format_number(series[1], language, grouping=False))
            rules = {r.id: r.title or r.id for r in program.rules} if program else {}
            clients.append(HomeClient(
                enrolment_id=enrolment.id or 0, name=person.name, stage=enrolment.stage,
                status=enrolment.status,
                last_checkin=last.get(enrolment.id), main_metric=shown,
                at_risk=tuple(rules.get(r, r) for r in firings.get(enrolment.id or 0, ()))))
        cases = tuple(HomeCase(id=c.id or 0, client=names.get(c.enrolment_id, "?"),
                               reason=c.reason,
                               age=now - c.opened_at, sla_due_at=c.sla_due_at,
                               acknowledged=c.acknowledged_at is not None)
                      for c in escalation_store.open_for(session, ids))
        zone = ZoneInfo(coach.timezone)
        start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
        sessions = tuple((names.get(enrolment_id, "?"), at) for enrolment_id, at in session.exec(
            select(CoachingSession.enrolment_id, CoachingSession.at).where(
                col(CoachingSession.enrolment_id).in_(ids), col(CoachingSession.at) >= start,
                col(CoachingSession.at) < start + timedelta(days=1),
                col(CoachingSession.cancelled_at).is_(None)).order_by(col(CoachingSession.at))))
        return Home(zone=coach.timezone, clients=tuple(clients), cases=cases,
                    sessions=sessions, language=language)


def refresh(uow: UnitOfWork, coach_id: int | None, cause: str) -> None:
    """Queue a coach's Home tab to be published again, once per cause."""
    address = staff.slack_id_of(uow.session, coach_id)
    if coach_id is None or address is None:
        return
    uow.queue(key=keys.home_refresh(coach_id, cause), channel="slack", address=address,
              person_id=None, reply=Reply(text="Home tab", home=True))
