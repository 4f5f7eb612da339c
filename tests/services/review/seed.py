"""Writing a program's history straight into the tables, the way the bot leaves it.

A send row per touchpoint occurrence; for a flow, its conversation (completed some hours
after it was sent, or missed), the reminder rows and the no-answer step; metric values,
rule firings and their escalations. Tests say what happened; this writes the rows.
"""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta

from sqlmodel import Session

from conversations.program import Program
from storage.models import (
    Answer,
    Conversation,
    Enrolment,
    Escalation,
    MetricValue,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

H = timedelta(hours=1)
WEEK = timedelta(weeks=1)


class History:
    """Adds one program's rows through an open session (the caller commits)."""

    def __init__(self, session: Session, program: Program) -> None:
        self.s = session
        self.program = program
        self._occurrence = itertools.count(1)

    def client(self, name: str, *, enrolled: datetime, intake: dict[str, object],
               baseline: float) -> int:
        """Enrol a client who answered intake at once; the enrolment id."""
        person = Person(name=name, role="client", timezone="UTC", created_at=enrolled)
        self.s.add(person)
        self.s.flush()
        e = Enrolment(person_id=person.id, program_id=self.program.id, stage="active",
                      status="active", checkin_day="mon", checkin_time="09:00",
                      enrolled_at=enrolled, stage_started_at=enrolled, joined_at=enrolled)
        self.s.add(e)
        self.s.flush()
        # The welcome touchpoint sends the intake, answered within the hour.
        welcome = enrolled + timedelta(minutes=10)
        conv = self.send(e.id, "welcome", welcome, answered_after=1)
        self.answers(e.id, conv, intake, welcome + H)
        self.value(e.id, "confidence.baseline", baseline, welcome + H)
        return e.id

    def answers(self, enrolment_id: int, conversation_id: int | None,
                answers: dict[str, object], at: datetime) -> None:
        """Answers given in one conversation, of its flow (a number is also stored as one)."""
        for question_id, value in answers.items():
            number = float(value) if isinstance(value, int | float) else None
            self.s.add(Answer(enrolment_id=enrolment_id, conversation_id=conversation_id,
                              question_id=question_id, value={"v": value},
                              number=number, raw_text=str(value), answered_at=at))

    def _conversation(self, enrolment_id: int, flow_id: str, started: datetime,
                      closed: datetime | None, outcome: str | None) -> int:
        conv = Conversation(enrolment_id=enrolment_id, flow_id=flow_id, state={},
                            started_at=started, updated_at=closed or started,
                            closed_at=closed, outcome=outcome)
        self.s.add(conv)
        self.s.flush()
        return conv.id

    def send(self, enrolment_id: int, touchpoint_id: str, due: datetime, *,
             late: timedelta = timedelta(0), answered_after: float | None = None,
             reminders: int = 0, missed: bool = False, ahead: bool = False) -> int | None:
        """One occurrence of a touchpoint: sent `late` after it was due; for a flow,
        answered `answered_after` hours after it was sent, or missed after its reminders
        (the no-answer step ran), or answered ahead (the send was skipped). The id of the
        flow's conversation, if any."""
        tp = next(t for t in self.program.touchpoints if t.id == touchpoint_id)
        sent = due + late
        status, reason = ("missed", "no_answer") if missed else \
            ("skipped", "answered") if ahead else ("done", None)
        row = PlannedTouchpoint(enrolment_id=enrolment_id, touchpoint_id=touchpoint_id,
                                occurrence=f"o{next(self._occurrence)}", due_at=due,
                                status=status, reason=reason, done_at=sent, kind="send",
                                attempts=1)
        self.s.add(row)
        self.s.flush()
        flow = tp.send.flow
        if flow is None:
            return None
        if ahead:
            return self._conversation(enrolment_id, flow, due - 3 * H, due - 2 * H,
                                      "completed")
        policy = tp.on_no_answer
        step = policy.remind_after if policy else timedelta(hours=24)
        for k in range(1, reminders + 1):
            self.s.add(PlannedTouchpoint(
                enrolment_id=enrolment_id, touchpoint_id=touchpoint_id,
                occurrence=f"{row.occurrence}/r{k}", due_at=sent + k * step, status="done",
                done_at=sent + k * step, kind="remind", parent_id=row.id, attempts=1))
        if missed:
            gave_up = sent + (reminders + 1) * step
            self.s.add(PlannedTouchpoint(
                enrolment_id=enrolment_id, touchpoint_id=touchpoint_id,
                occurrence=f"{row.occurrence}/no-answer", due_at=gave_up, status="done",
                done_at=gave_up, kind="no_answer", parent_id=row.id, attempts=1))
            return self._conversation(enrolment_id, flow, sent, gave_up, "missed")
        assert answered_after is not None, "an answered flow needs answered_after"
        return self._conversation(enrolment_id, flow, sent, sent + answered_after * H,
                                  "completed")

    def value(self, enrolment_id: int, metric_id: str, value: float, at: datetime) -> None:
        self.s.add(MetricValue(enrolment_id=enrolment_id, metric_id=metric_id, value=value,
                               at=at))

    def fire(self, enrolment_id: int, rule_id: str, at: datetime, *,
             evidence: dict | None = None, acknowledged_after: float | None = None,
             escalated: bool = False, sla_hours: float = 24) -> None:
        """A rule firing; with `escalated`, its escalation, acknowledged some hours later
        (or never)."""
        firing = RuleFiring(enrolment_id=enrolment_id, rule_id=rule_id,
                            values=evidence or {}, fired_at=at)
        self.s.add(firing)
        self.s.flush()
        if escalated:
            self.s.add(Escalation(
                enrolment_id=enrolment_id, rule_firing_id=firing.id, reason=rule_id,
                owner_role="team", opened_at=at, sla_due_at=at + sla_hours * H,
                acknowledged_at=at + acknowledged_after * H
                if acknowledged_after is not None else None))
