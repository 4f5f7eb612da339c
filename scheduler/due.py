"""What a due row means now: the catch-up policy, reminders and the no-answer step.

`DueRows.decide` looks at one claimed row inside the caller's transaction and says what it
means at `now`: send it, send it late with a "catching up" wording, skip it (paused,
already answered, too late after downtime), remind, or record it as missed.
`DueRows.follow_up` plans the next step of an unanswered flow. Doing it (queueing a
message) is the caller's; the scheduler never touches a channel and opens no transaction.
See docs/scheduling.md for the policy in words.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import Session

from conversations.action_items import AskedItem
from conversations.journey import ANSWERED_EARLY, is_planned, may_receive
from conversations.program import Program, Touchpoint
from scheduler.occurrences import quiet_adjusted, stage_spans
from scheduler.replanning import STAGE_PREFIX, quiet_hours, replan
from storage import action_item_store, answering
from storage import touchpoint_rows as rows
from storage.conversation_store import LOOK_UP, LookUp
from storage.models import Conversation, Enrolment, Person

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
ONE_OFF = ("after_enrolment", "stage_start", "stage_week")


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
    # The enrolment's open conversation as the batch read it: opening a flow then needs no
    # lookup of its own. LOOK_UP (not known): whoever opens one looks it up.
    conversation: Conversation | LookUp | None = LOOK_UP
    # Its open action items, when the batch read them (None: whoever needs them reads them).
    items: tuple[AskedItem, ...] | None = None


@dataclass
class TickReport:
    """What one tick did."""

    replanned: int = 0
    claimed: int = 0
    sent: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    missed: int = 0
    errors: int = 0

    def skip(self, reason: str) -> None:
        self.skipped[reason] = self.skipped.get(reason, 0) + 1

    def add(self, other: TickReport) -> None:
        """Count what a committed batch did (a batch rolled back counts nothing)."""
        self.replanned += other.replanned
        self.claimed += other.claimed
        self.sent += other.sent
        self.missed += other.missed
        self.errors += other.errors
        for reason, count in other.skipped.items():
            self.skipped[reason] = self.skipped.get(reason, 0) + count


@dataclass(frozen=True)
class Finish:
    """The row is settled without sending anything: done, skipped (with why) or missed."""

    status: str
    reason: str | None = None


class DueRows:
    """The catch-up policy over claimed rows, for the programs that are loaded."""

    def __init__(self, programs: Mapping[str, Program]) -> None:
        self.programs = programs
        self.flows: answering.FlowsOf | None = None
        self.items: dict[int, tuple[AskedItem, ...]] = {}

    def prefetch(self, session: Session, enrolment_ids: list[int]) -> None:
        """Read what a batch of rows will ask about its enrolments' conversations and open
        action items at once (until `forget`); the same as asking row by row."""
        self.flows = answering.flows_of(session, enrolment_ids)
        self.items = action_item_store.open_items_of_many(session, enrolment_ids)

    def forget(self, enrolment_id: int | None = None) -> None:
        """An enrolment's row has run (or, with no id, the batch is over): ask afresh."""
        if self.flows is not None:
            if enrolment_id is None:
                self.flows = None
            else:
                self.flows.forget(enrolment_id)
        if enrolment_id is None:
            self.items = {}
        else:
            self.items.pop(enrolment_id, None)

    def _completed_since(self, session: Session, enrolment_id: int, flow_id: str,
                         since: datetime) -> bool:
        flows = self.flows
        if flows is not None and flows.knows(enrolment_id):
            last = flows.completed.get((enrolment_id, flow_id))
            return last is not None and last >= since
        return answering.completed_since(session, enrolment_id, flow_id, since)

    def _open_of_flow(self, session: Session, enrolment_id: int, flow_id: str):
        flows = self.flows
        if flows is not None and flows.knows(enrolment_id):
            found = flows.open.get(enrolment_id)
            return found if found is not None and found.flow_id == flow_id else None
        return answering.open_of_flow(session, enrolment_id, flow_id)

    def decide(self, session: Session, row: rows.Claimed, now: datetime,
               report: TickReport) -> DueTouchpoint | Finish:
        """What the claimed `row` calls for at `now`. The caller has locked the row's
        enrolment in this transaction (`touchpoint_rows.lock_enrolments`)."""
        enrolment = session.get(Enrolment, row.enrolment_id)
        program = self.programs.get(enrolment.program_id) if enrolment else None
        if enrolment is None or program is None:
            return Finish("skipped", "unknown")
        program = program.with_variant(enrolment.variant)  # a variant's own touchpoints
        if not is_planned(enrolment.status):
            return Finish("skipped", "closed")
        if row.kind == "stage":
            return self._move_stage(session, program, enrolment, row, now, report)
        tp = next((t for t in program.touchpoints if t.id == row.touchpoint_id), None)
        if tp is None:
            return Finish("skipped", "unknown")
        if row.kind == "send":
            due = DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id,
                                program_id=program.id, touchpoint=tp, action="send",
                                due_at=row.due_at)
            return self._send(session, enrolment, tp, row, due, now)
        return self._after_send(session, program, enrolment, tp, row, now, report)

    def _after_send(self, session: Session, program: Program, enrolment: Enrolment,
                    tp: Touchpoint, row: rows.Claimed, now: datetime,
                    report: TickReport) -> DueTouchpoint | Finish:
        """A reminder or no-answer row: what its flow's state since the send calls for."""
        parent = rows.get(session, row.parent_id or 0)
        if parent is None or tp.send.flow is None:
            return Finish("skipped", "unknown")
        state = answering.flow_state_since(session, row.enrolment_id, tp.send.flow,
                                           parent.done_at or parent.due_at)
        if state == "completed":
            return Finish("skipped", "answered")
        if row.kind == "remind" and state == "open":
            if enrolment.status == "paused" or now - row.due_at > REMINDER_GRACE:
                # No nudge on a pause or this late, but the no-answer clock keeps running.
                self.follow_up(session, row, tp, row.due_at)
                return Finish("skipped", "paused" if enrolment.status == "paused" else "stale")
            return DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id,
                                 program_id=program.id, touchpoint=tp, action="remind",
                                 due_at=row.due_at, reminder=_step(row.occurrence))
        return self._no_answer(session, enrolment, tp, parent.id or 0, row, now, report)

    def _send(self, session: Session, enrolment: Enrolment, tp: Touchpoint, row: rows.Claimed,
              due: DueTouchpoint, now: datetime) -> DueTouchpoint | Finish:
        if not may_receive(enrolment.status):
            return Finish("skipped", enrolment.status)
        one_off = tp.when.kind in ONE_OFF
        late = now - row.due_at
        if late >= (ONE_OFF_GRACE if one_off else RECURRING_GRACE):
            return Finish("skipped", "downtime")
        if tp.send.flow is not None:
            since = ((enrolment.joined_at or enrolment.enrolled_at) if one_off
                     else row.due_at - ANSWERED_EARLY)
            if self._completed_since(session, enrolment.id or 0, tp.send.flow, since):
                return Finish("skipped", "answered")
            stale = self._open_of_flow(session, enrolment.id or 0, tp.send.flow)
            if stale is not None and stale.started_at < since:
                # Left open from an earlier occurrence: it gives way to this one.
                answering.close_unanswered(session, stale, outcome="expired", now=now)
        return DueTouchpoint(row_id=due.row_id, enrolment_id=due.enrolment_id,
                             program_id=due.program_id, touchpoint=tp, action="send",
                             due_at=row.due_at, catching_up=late > ON_TIME,
                             conversation=self._open_now(enrolment.id or 0),
                             items=self.items.get(enrolment.id or 0))

    def _open_now(self, enrolment_id: int) -> Conversation | LookUp | None:
        """The open conversation from what the batch read; LOOK_UP if it does not know."""
        flows = self.flows
        if flows is None or not flows.knows(enrolment_id):
            return LOOK_UP
        found = flows.open.get(enrolment_id)
        return found if found is not None and found.closed_at is None else None

    def _no_answer(self, session: Session, enrolment: Enrolment, tp: Touchpoint,
                   parent_id: int, row: rows.Claimed, now: datetime,
                   report: TickReport) -> DueTouchpoint | Finish:
        assert tp.send.flow is not None
        conversation = answering.open_of_flow(session, enrolment.id or 0, tp.send.flow)
        if conversation is not None:
            answering.close_unanswered(session, conversation, outcome="missed", now=now)
        rows.mark(session, parent_id, status="missed", reason="no_answer")
        report.missed += 1
        log.info("touchpoint missed enrolment=%s touchpoint=%s", enrolment.id, tp.id)
        policy = tp.on_no_answer
        if policy is None or policy.then == "mark_missed" or enrolment.status == "paused":
            return Finish("done")
        return DueTouchpoint(row_id=row.id, enrolment_id=row.enrolment_id,
                             program_id=enrolment.program_id, touchpoint=tp,
                             action="no_answer", due_at=row.due_at)

    def _move_stage(self, session: Session, program: Program, enrolment: Enrolment,
                    row: rows.Claimed, now: datetime, report: TickReport) -> Finish:
        target = row.touchpoint_id.removeprefix(STAGE_PREFIX)
        if enrolment.stage == target:
            return Finish("done", "already")
        ahead = [span.stage for span in stage_spans(program, enrolment.stage,
                                                    enrolment.stage_started_at,
                                                    wait_for_flows=True)[1:]]
        if target not in ahead:
            return Finish("skipped", "stage_mismatch")
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
        log.info("stage moved enrolment=%s stage=%s", enrolment.id, target)
        return Finish("done")

    def follow_up_many(self, session: Session,
                       sent: list[tuple[rows.Claimed, Touchpoint, datetime]]) -> None:
        """`follow_up` for rows of a batch sent to different enrolments, with their open
        conversations read in one query (each enrolment's, as it is now)."""
        asked = [row.enrolment_id for row, tp, _ in sent
                 if row.kind == "send" and tp.on_no_answer is not None
                 and tp.send.flow is not None]
        open_flows = answering.open_flow_ids(session, asked)
        planned: list[dict] = []
        for row, tp, base in sent:
            self.follow_up(session, row, tp, base,
                           open_flow=open_flows.get(row.enrolment_id), into=planned)
        rows.add_rows(session, planned)  # the batch's follow-ups in one statement

    def follow_up(self, session: Session, row: rows.Claimed, tp: Touchpoint,
                  base: datetime, *, open_flow: str | bool | None = False,
                  into: list[dict] | None = None) -> None:
        """Plan the next step of an unanswered flow: a reminder, or the no-answer check.
        `open_flow`: the flow open for the enrolment, when the caller read it already;
        `into`: collect the row there (the caller inserts it) instead of inserting it."""
        policy = tp.on_no_answer
        if policy is None or tp.send.flow is None:
            return
        if row.kind == "send":
            if open_flow is False:
                open_flow = answering.open_flow_id(session, row.enrolment_id)
            if open_flow != tp.send.flow:
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
            planned = rows.planned_row(
                enrolment_id=row.enrolment_id, touchpoint_id=tp.id,
                occurrence=f"{occurrence}/r{step}", kind="remind", parent_id=parent_id,
                due_at=self._quiet(session, row.enrolment_id, due))
        else:
            planned = rows.planned_row(
                enrolment_id=row.enrolment_id, touchpoint_id=tp.id,
                occurrence=f"{occurrence}/no-answer", kind="no_answer", parent_id=parent_id,
                due_at=due)
        if into is None:
            rows.add_rows(session, [planned])
        else:
            into.append(planned)

    def _quiet(self, session: Session, enrolment_id: int, moment: datetime) -> datetime:
        enrolment = session.get(Enrolment, enrolment_id)
        assert enrolment is not None
        person = session.get(Person, enrolment.person_id)
        program = self.programs[enrolment.program_id].with_variant(enrolment.variant)
        assert person is not None
        return quiet_adjusted(moment, ZoneInfo(person.timezone), quiet_hours(program, person))


def _step(occurrence: str) -> int:
    """Which reminder an occurrence key names ("2026-W11/r2" -> 2; the no-answer step: 0)."""
    _, _, suffix = occurrence.rpartition("/r")
    return int(suffix) if suffix.isdigit() else 0
