"""Running what is due: claim due rows, apply the catch-up policy, hand each to the bot.

`Runner.tick(now)` is all there is: replan enrolments whose inputs changed, claim the rows
due (several workers share them through the lease), and for each decide what it means now:
send it, send it late with a "catching up" wording, skip it (paused, already answered, too
late after downtime), remind, or record it as missed. Sending itself is the bot's callable;
the scheduler never touches a channel. See docs/scheduling.md for the policy in words.
"""

from __future__ import annotations

import logging
import socket
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlalchemy import Engine
from sqlmodel import Session

from conversations.program import Program, Touchpoint
from scheduler.planner import quiet_adjusted, stage_spans
from scheduler.planning import STAGE_PREFIX, quiet_hours, replan, replan_stale
from storage import answering, plans
from storage import touchpoints as rows
from storage.db import session as new_session
from storage.models import Enrolment, Person

log = logging.getLogger("coachbot.scheduler")

Action = Literal["send", "remind", "no_answer"]
Outcome = Literal["sent", "not_sent"]

# Later than this after its due time, a touchpoint counts as late (the tick runs every 20 s).
ON_TIME = timedelta(minutes=10)
# After downtime: a recurring touchpoint (weekly, cron, session-bound) later than this is
# skipped, the next one is near; a one-off (welcome, stage start, week N) is still worth
# sending for a week.
RECURRING_GRACE = timedelta(hours=12)
ONE_OFF_GRACE = timedelta(days=7)
# A reminder this late is stale: it is dropped, the no-answer clock still runs.
REMINDER_GRACE = timedelta(hours=1)
# A recurring flow completed this long before its due time counts as this occurrence's.
ANSWERED_WINDOW = timedelta(hours=24)
ONE_OFF = ("after_enrolment", "stage_start", "stage_week")
SENDING_STATUSES = ("consent", "active", "graduated")


@dataclass(frozen=True)
class DueTouchpoint:
    """What the bot is asked to do for one due row."""

    row_id: int
    enrolment_id: int
    program_id: str
    touchpoint: Touchpoint
    action: Action
    due_at: datetime
    catching_up: bool = False
    reminder: int = 0

    @property
    def key(self) -> str:
        """The idempotency key prefix of whatever the bot queues for this row."""
        return f"tp:{self.row_id}"


Deliver = Callable[[DueTouchpoint], Outcome]


@dataclass
class TickReport:
    """What one tick did."""

    replanned: int = 0
    claimed: int = 0
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    missed: int = 0
    stage_moves: int = 0
    errors: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1


@dataclass(frozen=True)
class _Finish:
    status: str
    reason: str | None = None


def backoff(attempts: int) -> timedelta:
    """How long a row that raised waits before its next try: 30 s doubling, at most 10 min."""
    return timedelta(seconds=min(600, 30 * 2 ** max(0, attempts - 1)))


class Runner:
    """Runs due touchpoints through the bot's `deliver` callable."""

    def __init__(self, db: Engine, programs: Mapping[str, Program], deliver: Deliver, *,
                 worker: str | None = None, lease: timedelta = timedelta(minutes=2),
                 batch: int = 100, replan_batch: int = 50,
                 sweep_every: timedelta = timedelta(minutes=1)) -> None:
        self.db = db
        self.programs = programs
        self.deliver = deliver
        self.worker = worker or f"{socket.gethostname()}:{id(self):x}"
        self.lease = lease
        self.batch = batch
        self.replan_batch = replan_batch
        self.sweep_every = sweep_every
        self._swept_at: datetime | None = None

    def tick(self, now: datetime) -> TickReport:
        """Replan what changed, then run every row due at `now` (one batch)."""
        report = TickReport()
        if self._swept_at is None or now - self._swept_at >= self.sweep_every \
                or now < self._swept_at:
            # Finding what changed compares every enrolment with its plan: it grows with
            # the number of clients, so it runs once a minute (again at once while a full
            # batch suggests more), not on every 20 s tick.
            with new_session(self.db) as session, session.begin():
                report.replanned = replan_stale(session, self.programs, now=now,
                                                limit=self.replan_batch)
            self._swept_at = None if report.replanned >= self.replan_batch else now
        with new_session(self.db) as session, session.begin():
            claimed = rows.claim(session, worker=self.worker, now=now, lease=self.lease,
                                 limit=self.batch)
        report.claimed = len(claimed)
        for row in claimed:
            try:
                self._run(row, now, report)
            except Exception:
                # One bad row must not stop the others; it is tried again after a backoff.
                log.exception("touchpoint failed row=%s kind=%s", row.id, row.kind)
                report.errors += 1
                with new_session(self.db) as session, session.begin():
                    rows.release(session, row.id, retry_at=now + backoff(row.attempts),
                                 attempts=row.attempts, now=now, reason="error")
        return report

    # --- one row ---------------------------------------------------------------------------

    def _run(self, row: rows.Claimed, now: datetime, report: TickReport) -> None:
        with new_session(self.db) as session, session.begin():
            decision = self._decide(session, row, now, report)
            if isinstance(decision, _Finish):
                if rows.finish(session, row.id, status=decision.status, now=now,
                               reason=decision.reason) and decision.status == "skipped":
                    report.skip(decision.reason or "skipped")
                return
        outcome = self.deliver(decision)
        with new_session(self.db) as session, session.begin():
            rows.finish(session, row.id, status="done", now=now,
                        reason=None if outcome == "sent" else outcome)
            if decision.action in ("send", "remind"):
                report.sent += outcome == "sent"
                self._follow_up(session, row, decision.touchpoint, now)

    def _decide(self, session: Session, row: rows.Claimed, now: datetime,
                report: TickReport) -> DueTouchpoint | _Finish:
        enrolment = session.get(Enrolment, row.enrolment_id, with_for_update=True)
        program = self.programs.get(enrolment.program_id) if enrolment else None
        if enrolment is None or program is None:
            return _Finish("skipped", "unknown")
        if enrolment.status not in plans.PLANNED_STATUSES:
            return _Finish("skipped", "closed")
        if row.kind == "stage":
            return self._move_stage(session, program, enrolment, row, now, report)
        tp = next((t for t in program.touchpoints if t.id == row.touchpoint_id), None)
        if tp is None:
            return _Finish("skipped", "unknown")
        due = DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id, program_id=program.id,
                            touchpoint=tp, action="send", due_at=row.due_at)
        if row.kind == "send":
            return self._send(session, enrolment, tp, row, due, now)
        parent = rows.get(session, row.parent_id or 0)
        if parent is None or tp.send.flow is None:
            return _Finish("skipped", "unknown")
        state = answering.flow_state_since(session, row.enrolment_id, tp.send.flow,
                                           parent.done_at or parent.due_at)
        if state == "completed":
            return _Finish("skipped", "answered")
        if row.kind == "remind" and state == "open":
            if enrolment.status == "paused" or now - row.due_at > REMINDER_GRACE:
                # No nudge on a pause or this late, but the no-answer clock keeps running.
                self._follow_up(session, row, tp, row.due_at)
                return _Finish("skipped", "paused" if enrolment.status == "paused" else "stale")
            return DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id,
                                 program_id=program.id, touchpoint=tp, action="remind",
                                 due_at=row.due_at, reminder=_step(row.occurrence))
        return self._no_answer(session, enrolment, tp, parent.id or 0, row, now, report)

    def _send(self, session: Session, enrolment: Enrolment, tp: Touchpoint, row: rows.Claimed,
              due: DueTouchpoint, now: datetime) -> DueTouchpoint | _Finish:
        if enrolment.status not in SENDING_STATUSES:
            return _Finish("skipped", enrolment.status)
        one_off = tp.when.kind in ONE_OFF
        late = now - row.due_at
        if late >= (ONE_OFF_GRACE if one_off else RECURRING_GRACE):
            return _Finish("skipped", "downtime")
        if tp.send.flow is not None:
            since = ((enrolment.joined_at or enrolment.enrolled_at) if one_off
                     else row.due_at - ANSWERED_WINDOW)
            state = answering.flow_state_since(session, enrolment.id or 0, tp.send.flow, since)
            if state == "completed":
                return _Finish("skipped", "answered")
            stale = answering.open_of_flow(session, enrolment.id or 0, tp.send.flow)
            if stale is not None and stale.started_at < since:
                # Left open from an earlier occurrence: it gives way to this one.
                answering.close_unanswered(session, stale, outcome="expired", now=now)
        return DueTouchpoint(row_id=due.row_id, enrolment_id=due.enrolment_id,
                             program_id=due.program_id, touchpoint=tp, action="send",
                             due_at=row.due_at, catching_up=late > ON_TIME)

    def _no_answer(self, session: Session, enrolment: Enrolment, tp: Touchpoint,
                   parent_id: int, row: rows.Claimed, now: datetime,
                   report: TickReport) -> DueTouchpoint | _Finish:
        assert tp.send.flow is not None
        conversation = answering.open_of_flow(session, enrolment.id or 0, tp.send.flow)
        if conversation is not None:
            answering.close_unanswered(session, conversation, outcome="missed", now=now)
        rows.mark(session, parent_id, status="missed", reason="no_answer")
        report.missed += 1
        log.info("touchpoint missed enrolment=%s touchpoint=%s", enrolment.id, tp.id)
        policy = tp.on_no_answer
        if policy is None or policy.then == "mark_missed" or enrolment.status == "paused":
            return _Finish("done")
        return DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id,
                             program_id=enrolment.program_id, touchpoint=tp,
                             action="no_answer", due_at=row.due_at)

    def _move_stage(self, session: Session, program: Program, enrolment: Enrolment,
                    row: rows.Claimed, now: datetime, report: TickReport) -> _Finish:
        target = row.touchpoint_id.removeprefix(STAGE_PREFIX)
        if enrolment.stage == target:
            return _Finish("done", "already")
        ahead = [span.stage for span in stage_spans(program, enrolment.stage,
                                                    enrolment.stage_started_at,
                                                    wait_for_flows=True)[1:]]
        if target not in ahead:
            return _Finish("skipped", "stage_mismatch")
        # The stage starts when it was due, not when a late tick got to it: the calendar of
        # the rest of the journey stays where it was planned.
        enrolment.stage = target
        enrolment.stage_started_at = row.due_at
        final = program.stage(target)
        if final.next is None and final.duration is None and final.until_flow_done is None:
            # The journey's last stage (alumni): the program is over for this client. Its
            # own touchpoints (the graduation message) still go out.
            enrolment.status = "graduated"
        session.add(enrolment)
        session.flush()
        replan(session, program, enrolment.id or 0, now=now)
        report.stage_moves += 1
        log.info("stage moved enrolment=%s stage=%s", enrolment.id, target)
        return _Finish("done")

    def _follow_up(self, session: Session, row: rows.Claimed, tp: Touchpoint,
                   base: datetime) -> None:
        """Plan the next step of an unanswered flow: a reminder, or the no-answer check."""
        policy = tp.on_no_answer
        if policy is None or tp.send.flow is None:
            return
        if row.kind == "send":
            if answering.open_of_flow(session, row.enrolment_id, tp.send.flow) is None:
                return  # nothing open to answer (already answered, or never opened)
            parent_id, occurrence, step = row.id, row.occurrence, 1
        else:
            parent = rows.get(session, row.parent_id or 0)
            if parent is None:
                return
            parent_id, occurrence, step = parent.id or 0, parent.occurrence, \
                _step(row.occurrence) + 1
        due = base + policy.remind_after
        if step <= policy.max_reminders:
            rows.add(session, enrolment_id=row.enrolment_id, touchpoint_id=tp.id,
                     occurrence=f"{occurrence}/r{step}", kind="remind", parent_id=parent_id,
                     due_at=self._quiet(session, row.enrolment_id, due))
        else:
            rows.add(session, enrolment_id=row.enrolment_id, touchpoint_id=tp.id,
                     occurrence=f"{occurrence}/no-answer", kind="no_answer",
                     parent_id=parent_id, due_at=due)

    def _quiet(self, session: Session, enrolment_id: int, moment: datetime) -> datetime:
        enrolment = session.get(Enrolment, enrolment_id)
        assert enrolment is not None
        person = session.get(Person, enrolment.person_id)
        program = self.programs[enrolment.program_id]
        assert person is not None
        return quiet_adjusted(moment, ZoneInfo(person.timezone), quiet_hours(program, person))


def _step(occurrence: str) -> int:
    """Which reminder an occurrence key names ("2026-W11/r2" -> 2; the no-answer step: 0)."""
    _, _, suffix = occurrence.rpartition("/r")
    return int(suffix) if suffix.isdigit() else 0
