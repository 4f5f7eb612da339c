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
from sqlmodel import Session, col, select

from conversations.formatting import format_number
from conversations.journey import STATUSES, is_open
from conversations.messages import Reply
from conversations.program import Program
from conversations.translations import DEFAULT_LANGUAGE, translator
from services import keys
from services.client_context import person_language
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
        language = person_language(coach)
        rows = _open_enrolments(session, coach.id)
        ids = [e.id or 0 for e, _ in rows]
        names = {e.id: p.name for e, p in rows}
        last = _last_checkins(session, ids, {p.checkin_flow for p in rt.programs.values()})
        firings = _open_firings(session, ids)
        values = _metric_series(session, ids)
        clients = tuple(_client(rt.programs.get(enrolment.program_id), enrolment, person,
                                last, firings, values, language)
                        for enrolment, person in rows)
        cases = tuple(HomeCase(id=c.id or 0, client=names.get(c.enrolment_id, "?"),
                               reason=c.reason, age=now - c.opened_at,
                               sla_due_at=c.sla_due_at,
                               acknowledged=c.acknowledged_at is not None)
                      for c in escalation_store.open_for(session, ids))
        sessions = _sessions_today(session, ids, names, now, ZoneInfo(coach.timezone))
        return Home(zone=coach.timezone, clients=clients, cases=cases, sessions=sessions,
                    language=language)


def _open_enrolments(session: Session, coach_id: int | None) -> list[tuple[Enrolment, Person]]:
    """The coach's clients whose enrolment is open, by name."""
    return list(session.exec(
        select(Enrolment, Person).join(Person, col(Person.id) == col(Enrolment.person_id))
        .where(Enrolment.coach_id == coach_id,
               col(Enrolment.status).in_([s for s in STATUSES if is_open(s)]))
        .order_by(col(Person.name))))


def _last_checkins(session: Session, ids: list[int], flows: set[str]) -> dict:
    """Each enrolment's last completed check-in."""
    return dict(session.exec(select(Conversation.enrolment_id, func.max(
        Conversation.closed_at)).where(
        col(Conversation.enrolment_id).in_(ids), Conversation.outcome == "completed",
        col(Conversation.flow_id).in_(flows))
        .group_by(col(Conversation.enrolment_id))).all())


def _open_firings(session: Session, ids: list[int]) -> dict[int, list[str]]:
    """The rules that fired for each enrolment and have not cleared: who is at risk."""
    firings: dict[int, list[str]] = {}
    for enrolment_id, rule_id in session.exec(select(
            RuleFiring.enrolment_id, RuleFiring.rule_id).where(
            col(RuleFiring.enrolment_id).in_(ids), col(RuleFiring.cleared_at).is_(None))):
        firings.setdefault(enrolment_id, []).append(rule_id)
    return firings


def _metric_series(session: Session, ids: list[int]) -> dict[tuple[int, str], list[float]]:
    """Each enrolment's stored values per metric, the latest first."""
    values: dict[tuple[int, str], list[float]] = {}
    for enrolment_id, metric_id, value in session.exec(select(
            MetricValue.enrolment_id, MetricValue.metric_id, MetricValue.value).where(
            col(MetricValue.enrolment_id).in_(ids)).order_by(col(MetricValue.at).desc())):
        values.setdefault((enrolment_id, metric_id), []).append(value)
    return values


def _client(program: Program | None, enrolment: Enrolment, person: Person, last: dict,
            firings: dict[int, list[str]], values: dict[tuple[int, str], list[float]],
            language: str) -> HomeClient:
    """One client's line on the Home tab."""
    main = next((m for m in program.metrics if m.main), None) if program else None
    series = values.get((enrolment.id or 0, main.id)) if main is not None else None
    rules = {r.id: r.title or r.id for r in program.rules} if program else {}
    return HomeClient(
        enrolment_id=enrolment.id or 0, name=person.name, stage=enrolment.stage,
        status=enrolment.status, last_checkin=last.get(enrolment.id),
        main_metric=_metric_line(main.title or main.id, series, language)
        if main is not None and series else None,
        at_risk=tuple(rules.get(r, r) for r in firings.get(enrolment.id or 0, ())))


def _metric_line(title: str, series: list[float], language: str) -> str:
    """The main metric's latest value, and the one before it when there is one."""
    latest = format_number(series[0], language, grouping=False)
    if len(series) < 2:
        return f"{title} {latest}"
    # TRANSLATORS: a metric's latest value and the one before it on the Home tab,
    # e.g. "Weekly revenue 900, was 2500".
    return translator(language).gettext("{metric} {value}, was {before}").format(
        metric=title, value=latest, before=format_number(series[1], language, grouping=False))


def _sessions_today(session: Session, ids: list[int], names: dict, now: datetime,
                    zone: ZoneInfo) -> tuple[tuple[str, datetime], ...]:
    """Today's sessions (in the coach's zone), by time."""
    start = datetime.combine(now.astimezone(zone).date(), time(0), tzinfo=zone)
    return tuple((names.get(enrolment_id, "?"), at) for enrolment_id, at in session.exec(
        select(CoachingSession.enrolment_id, CoachingSession.at).where(
            col(CoachingSession.enrolment_id).in_(ids), col(CoachingSession.at) >= start,
            col(CoachingSession.at) < start + timedelta(days=1),
            col(CoachingSession.cancelled_at).is_(None)).order_by(col(CoachingSession.at))))


def refresh(uow: UnitOfWork, coach_id: int | None, cause: str) -> None:
    """Queue a coach's Home tab to be published again, once per cause."""
    address = staff.slack_id_of(uow.session, coach_id)
    if coach_id is None or address is None:
        return
    uow.queue(key=keys.home_refresh(coach_id, cause), channel="slack", address=address,
              person_id=None, reply=Reply(text="Home tab", home=True))
