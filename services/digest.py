"""The coach's daily digest: yesterday per own client, most urgent first.

A fixed number of queries whatever the number of clients or the length of their history
(see benchmarks/digest.py): the coach's enrolments, the check-in answers of the last eight
days (columns only, not whole rows: yesterday's and the week before it, for "was"), the
open escalations and their people, yesterday's rule firings, today's sessions and today's
milestone touchpoints, the week's missed check-ins, the intakes stuck for more than a day.
"Missed" is the scheduler's: a check-in row it marked missed after its reminders. Everything
else is done
in memory with the rows grouped by enrolment once, so the cost follows the rows in the
window, not the history.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import NamedTuple
from zoneinfo import ZoneInfo

from sqlmodel import Session, col, select

from conversations.action_items import DONE_TITLE, completion, item_of, metric_of
from conversations.action_items import shown as shown_completion
from conversations.formatting import format_day, format_time
from conversations.journey import CURRENT
from conversations.messages import DigestView, Reply
from conversations.program import Program, YesNoQuestion
from conversations.render import answer_title, shown_answer
from conversations.translations import N_, Translator, translator
from services import keys
from services.client_context import person_language
from services.unit_of_work import Runtime
from storage import escalation_store as escalations
from storage import staff
from storage.models import (
    Answer,
    CoachingSession,
    Conversation,
    Enrolment,
    OutboxMessage,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

DIGEST_AT = time(8, 0)
# A digest missed by more than this (the bot was down all morning) is not sent late.
LATE_LIMIT = timedelta(hours=4)
# An intake still open this long after it began is stuck: the coach should nudge.
STUCK_INTAKE = timedelta(days=1)


@dataclass
class ClientLine:
    """One client's part of the digest, with how urgent it is."""

    name: str
    urgency: int  # higher first
    parts: list[str] = field(default_factory=list)

    def add(self, part: str, urgency: int = 0) -> None:
        self.parts.append(part)
        self.urgency = max(self.urgency, urgency)


class _Client(NamedTuple):
    """What the digest needs of one enrolment and its client."""

    id: int
    program_id: str
    status: str
    checkin_day: str
    name: str


@dataclass(frozen=True)
class Digest:
    """The digest as plain text, and its parts for channels that lay it out."""

    title: str
    text: str
    lines: list[ClientLine]
    footer: str

    @property
    def quiet(self) -> bool:
        """Nothing needs the coach today."""
        return not self.lines

    def view(self) -> DigestView:
        """The digest for a channel to lay out (the same on demand and at 08:00)."""
        return DigestView(title=self.title, footer=self.footer, clients=tuple(
            (line.name, line.urgency, tuple(line.parts)) for line in self.lines))


def _rule_part(programs: Mapping[str, Program], program_id: str,
               rule_id: str, t: Translator) -> tuple[str, int]:
    """How a fired rule reads in the digest (its title, never its evidence) and its urgency.

    The firing's stored values can hold a keyword the client wrote, so they stay out.
    """
    program = programs.get(program_id)
    rule = next((r for r in program.rules if r.id == rule_id), None) if program else None
    title = (rule.title or rule.id) if rule else rule_id
    if rule is not None and rule.then.celebrate is not None:
        return t.gettext("milestone: {title}").format(title=title), 0
    return (t.gettext("rule fired: {title}").format(title=title),
            2 if rule is not None and rule.then.escalate else 1)


def _milestone_touchpoints(programs: Mapping[str, Program]) -> dict[str, str]:
    """Touchpoints on a stage week (week 4 check, halfway...): id -> title."""
    return {tp.id: tp.title or tp.id for program in programs.values()
            for tp in program.touchpoints if tp.when.stage_week is not None}


@dataclass(frozen=True)
class _Day:
    """The coach's local day the digest is about, and the day after (today)."""

    date: date
    start: datetime
    end: datetime
    day_after: datetime

    @classmethod
    def before(cls, now: datetime, zone: ZoneInfo) -> _Day:
        yesterday = now.astimezone(zone).date() - timedelta(days=1)
        return cls(yesterday, *(datetime.combine(yesterday + timedelta(days=n), time(0),
                                                 tzinfo=zone) for n in (0, 1, 2)))


@dataclass
class _Window:
    """The rows of the digest's window, grouped by enrolment id (one query each)."""

    answers: dict[int, list[tuple]] = field(default_factory=lambda: defaultdict(list))
    cases: dict[int, list] = field(default_factory=lambda: defaultdict(list))
    names: dict[int | None, str] = field(default_factory=dict)
    fired: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    sessions: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    milestones: dict[int, list[str]] = field(default_factory=lambda: defaultdict(list))
    missed: dict[int, list[datetime]] = field(default_factory=lambda: defaultdict(list))
    stuck: dict[int, datetime] = field(default_factory=dict)


def build_digest(session: Session, coach: Person, programs: Mapping[str, Program],
                 now: datetime, language: str | None = None) -> Digest:
    """The digest of `coach` for the local day before `now`, and what today holds; days and
    numbers written in the coach's `language`."""
    zone = ZoneInfo(coach.timezone)
    day = _Day.before(now, zone)
    said = _Said(language or person_language(coach))
    # Columns, not ORM rows: building 500 clients' objects costs more than the queries.
    rows = [_Client(*row) for row in session.exec(
        select(Enrolment.id, Enrolment.program_id, Enrolment.status, Enrolment.checkin_day,
               Person.name).join(Person, col(Person.id) == col(Enrolment.person_id))
        .where(Enrolment.coach_id == coach.id, col(Enrolment.status).in_(CURRENT)))]
    if not rows:
        return _render(day.date, [], _footer(0, 0, 0, said), said)
    window = _load(session, [client.id for client in rows], programs, day, now)
    lines: list[ClientLine] = []
    responded = 0
    week_start = day.end - timedelta(days=7)
    for client in rows:
        program = programs.get(client.program_id)
        checkin = program.checkin_flow if program else None
        mine = [a for a in window.answers.get(client.id, ()) if a[0] == checkin]
        # The week is the seven days up to the end of yesterday; the eighth day loaded
        # before it is there only for "was".
        responded += any(a[3] >= week_start for a in mine)
        line = _client_line(client, mine, window, program, day, now, zone, programs, said)
        if line.parts:
            lines.append(line)
    missed = sum(len(days) for days in window.missed.values())
    return _render(day.date, lines, _footer(responded, len(rows), missed, said), said)


class _Said(NamedTuple):
    """The coach's language and its catalog: the digest is written in it."""

    language: str

    @property
    def t(self) -> Translator:
        return translator(self.language)

    def day(self, moment: date | datetime) -> str:
        return format_day(moment, self.language)


# The owner of an escalation named by role when they have no name (yet).
_ROLES = {"coach": N_("the coach"), "team": N_("the team")}


def _footer(responded: int, clients: int, missed: int, said: _Said) -> str:
    return said.t.ngettext(
        "Check-ins this week: {responded} of {clients} client checked in, {missed} missed.",
        "Check-ins this week: {responded} of {clients} clients checked in, {missed} missed.",
        clients).format(responded=responded, clients=clients, missed=missed)


def _load(session: Session, ids: list[int], programs: Mapping[str, Program],
          day: _Day, now: datetime) -> _Window:
    window = _Window()
    checkins = {p.checkin_flow for p in programs.values()}
    for enrolment_id, flow_id, question_id, number, answered_at in session.exec(select(
            Answer.enrolment_id, Conversation.flow_id, Answer.question_id, Answer.number,
            Answer.answered_at).join(Conversation, col(Conversation.id) == Answer.conversation_id)
            .where(col(Answer.enrolment_id).in_(ids), col(Conversation.flow_id).in_(checkins),
            col(Answer.answered_at) >= day.start - timedelta(days=7),
            col(Answer.answered_at) < day.end).order_by(col(Answer.answered_at), col(Answer.id))):
        window.answers[enrolment_id].append((flow_id, question_id, number, answered_at))
    open_cases = escalations.open_for(session, ids)
    for case in open_cases:
        window.cases[case.enrolment_id].append(case)
    wanted = {e.owner_id for e in open_cases} | {e.acknowledged_by_id for e in open_cases}
    wanted.discard(None)
    if wanted:
        window.names = {p.id: p.name for p in session.exec(select(Person).where(
            col(Person.id).in_(wanted)))}
    for enrolment_id, rule_id in session.exec(select(
            RuleFiring.enrolment_id, RuleFiring.rule_id).where(
            col(RuleFiring.enrolment_id).in_(ids), col(RuleFiring.fired_at) >= day.start,
            col(RuleFiring.fired_at) < day.end).order_by(col(RuleFiring.fired_at))):
        window.fired[enrolment_id].append(rule_id)
    for enrolment_id, at in session.exec(select(
            CoachingSession.enrolment_id, CoachingSession.at).where(
            col(CoachingSession.enrolment_id).in_(ids), col(CoachingSession.at) >= day.end,
            col(CoachingSession.at) < day.day_after,
            col(CoachingSession.cancelled_at).is_(None)).order_by(col(CoachingSession.at))):
        window.sessions[enrolment_id].append(at)
    marked = _milestone_touchpoints(programs)
    if marked:
        for enrolment_id, touchpoint_id in session.exec(select(
                PlannedTouchpoint.enrolment_id, PlannedTouchpoint.touchpoint_id).where(
                col(PlannedTouchpoint.enrolment_id).in_(ids),
                col(PlannedTouchpoint.touchpoint_id).in_(marked),
                PlannedTouchpoint.kind == "send",
                col(PlannedTouchpoint.status).in_(("planned", "done")),
                col(PlannedTouchpoint.due_at) >= day.end,
                col(PlannedTouchpoint.due_at) < day.day_after)):
            window.milestones[enrolment_id].append(marked[touchpoint_id])
    _load_missed_and_stuck(session, ids, programs, day, now, window)
    return window


def _load_missed_and_stuck(session: Session, ids: list[int], programs: Mapping[str, Program],
                           day: _Day, now: datetime, window: _Window) -> None:
    checkin_touchpoints = {tp.id for p in programs.values() for tp in p.touchpoints
                           if tp.send.flow == p.checkin_flow}
    for enrolment_id, due_at in session.exec(select(
            PlannedTouchpoint.enrolment_id, PlannedTouchpoint.due_at).where(
            col(PlannedTouchpoint.enrolment_id).in_(ids),
            col(PlannedTouchpoint.touchpoint_id).in_(checkin_touchpoints),
            PlannedTouchpoint.kind == "send", PlannedTouchpoint.status == "missed",
            col(PlannedTouchpoint.due_at) >= day.end - timedelta(days=7),
            col(PlannedTouchpoint.due_at) < day.end).order_by(col(PlannedTouchpoint.due_at))):
        window.missed[enrolment_id or 0].append(due_at)
    intakes = {p.intake_flow.id for p in programs.values()}
    for enrolment_id, started_at in session.exec(select(
            Conversation.enrolment_id, Conversation.started_at).where(
            col(Conversation.enrolment_id).in_(ids), col(Conversation.flow_id).in_(intakes),
            col(Conversation.closed_at).is_(None),
            col(Conversation.started_at) <= now - STUCK_INTAKE)):
        window.stuck[enrolment_id] = started_at


def _client_line(client: _Client, mine: list[tuple], window: _Window,
                 program: Program | None, day: _Day, now: datetime, zone: ZoneInfo,
                 programs: Mapping[str, Program], said: _Said) -> ClientLine:
    """One client's line: the check-in, fired rules, open cases, today's sessions."""
    t = said.t
    line = ClientLine(name=client.name, urgency=0)
    if program is not None:
        _checkin_part(line, mine, day.start, program, said)
    for due_at in window.missed.get(client.id, ()):
        line.add(t.gettext("missed the check-in of {day}").format(
            day=said.day(due_at.astimezone(zone))), 1)
    if client.id in window.stuck:
        line.add(t.gettext("stuck in intake since {day}").format(
            day=said.day(window.stuck[client.id].astimezone(zone))), 1)
    for rule_id in window.fired.get(client.id, ()):
        line.add(*_rule_part(programs, client.program_id, rule_id, t))
    for case in window.cases.get(client.id, ()):
        hours = int((now - case.opened_at).total_seconds() // 3600)
        role = _ROLES.get(case.owner_role)
        owner = window.names.get(case.owner_id,
                                 t.gettext(role) if role else case.owner_role)
        state = (t.gettext("acknowledged by {name}").format(
            name=window.names.get(case.acknowledged_by_id, "?"))
                 if case.acknowledged_at else t.gettext("NOT acknowledged"))
        line.add(t.gettext("open escalation: {reason} ({hours}h old, owner {owner}, {state})")
                 .format(reason=case.reason, hours=hours, owner=owner, state=state),
                 3 if case.acknowledged_at is None else 2)
    for at in window.sessions.get(client.id, ()):
        line.add(t.gettext("session today at {time}").format(
            time=format_time(at.astimezone(zone), said.language)))
    for title in window.milestones.get(client.id, ()):
        line.add(t.gettext("milestone today: {title}").format(title=title))
    return line


def _checkin_part(line: ClientLine, mine: list[tuple], start: datetime,
                  program: Program, said: _Said) -> None:
    """Yesterday's answers as the program names them, each beside the one before it."""
    t = said.t
    today = [a for a in mine if a[3] >= start]
    if not today:
        return
    before = {question: number for _, question, number, at in mine
              if at < start and number is not None}
    flow = program.flow(program.checkin_flow)
    scores = []
    for _, question_id, number, _ in today:
        if number is None:
            continue  # words stay out: the digest shows scores, never what they wrote
        if item_of(question_id) is not None:
            continue  # action items: one figure for all of them, below
        question = flow.question(question_id)
        shown = _shown(question, number, said.language)
        earlier = before.get(question_id)
        if earlier is not None:
            shown = t.gettext("{now}, was {before}").format(
                now=shown, before=_shown(question, earlier, said.language))
            if number < earlier:
                line.urgency = max(line.urgency, 2)
        scores.append(f"{answer_title(program, flow.id, question_id)} {shown}")
    items = _items_part(mine, today, start, program, said)
    if items is not None:
        scores.insert(0, items)
    line.add(t.gettext("checked in: {scores}").format(
        scores=" · ".join(scores) or t.gettext("answered")))


def _items_part(mine: list[tuple], today: list[tuple], start: datetime, program: Program,
                said: _Said) -> str | None:
    """The action items' completion yesterday, beside the one before; None if not asked."""
    done = completion(n for _, q, n, _ in today if item_of(q) is not None and n is not None)
    if done is None:
        return None
    metric = metric_of(program)
    title = metric.title if metric and metric.title else said.t.gettext(DONE_TITLE)
    shown = f"{title} {shown_completion(done)}"
    earlier = completion(n for _, q, n, at in mine
                         if at < start and item_of(q) is not None and n is not None)
    if earlier is None:
        return shown
    return said.t.gettext("{now}, was {before}").format(now=shown,
                                                       before=shown_completion(earlier))


def _shown(question, number: float, language: str) -> str:
    """A stored number as the answer it was: ✓/✗ for a yes/no."""
    value = bool(number) if isinstance(question, YesNoQuestion) else number
    return shown_answer(question, value, language)


def _render(yesterday: date, lines: list[ClientLine], footer: str, said: _Said) -> Digest:
    title = said.t.gettext("Your digest for {day}").format(day=said.day(yesterday))
    if not lines:
        return Digest(title=title, text=said.t.gettext(
            "{title}: a quiet day, nothing needs you. {footer}").format(title=title,
                                                                       footer=footer),
                      lines=[], footer=footer)
    lines.sort(key=lambda item: (-item.urgency, item.name))
    body = [f"{item.name}: " + "; ".join(item.parts) for item in lines]
    return Digest(title=title, text="\n".join([title, *body, footer]), lines=lines,
                  footer=footer)


def digest_time(coach: Person, default: time = DIGEST_AT) -> time:
    """When this coach wants the digest: their own time if set, else the default."""
    if coach.digest_time:
        return time.fromisoformat(coach.digest_time)
    return default


def digests_due(rt: Runtime, default_at: time = DIGEST_AT) -> int:
    """Queue the digest of every coach whose digest time has come today; idempotent.

    Returns how many were queued now (0 when each was queued before).
    """
    queued = 0
    programs = rt.programs
    with rt.transaction() as uow:
        session, now = uow.session, uow.now
        for coach in staff.coaches(session):
            local = now.astimezone(ZoneInfo(coach.timezone))
            due = datetime.combine(local.date(), digest_time(coach, default_at),
                                   tzinfo=local.tzinfo)
            if not due <= local < due + LATE_LIMIT:
                continue
            address = staff.slack_id_of(session, coach.id)
            if address is None:
                continue
            key = keys.digest(coach.id or 0, local.date())
            # Checked first so the digest is built once a day, not every minute.
            if session.exec(select(OutboxMessage.id).where(
                    OutboxMessage.idempotency_key == key)).first() is not None:
                continue
            digest = build_digest(session, coach, programs, now)
            queued += uow.queue(key=key, channel="slack", address=address,
                                person_id=coach.id,
                                reply=Reply(digest.text, digest=digest.view()))
    return queued
