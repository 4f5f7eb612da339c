"""Running due touchpoints: the tick claims due rows and does what each calls for.

`TouchpointRunner.tick` replans enrolments whose inputs changed, claims the rows due
(several workers share them through a lease), and for each row, in ONE transaction, asks
the scheduler what the row means now (scheduler/due.py) and does it: a flow touchpoint
opens its flow, a message touchpoint is filled and queued, a reminder repeats the open
question, an unanswered flow under a flag_coach or escalate policy opens an escalation.
Everything queued carries a key made from the row id, so a retried row never sends twice;
a worker killed mid-row leaves nothing half done, and its lease passes the row on.
"""

from __future__ import annotations

import logging
import socket
from collections import Counter
from datetime import datetime, timedelta
from typing import Protocol

from conversations import engine as core
from conversations.messages import Reply
from conversations.program import Program, Touchpoint
from conversations.render import buttons, fill, prompt
from conversations.translations import N_, translator
from scheduler.due import DueRows, DueTouchpoint, Finish, Outcome, TickReport
from scheduler.replanning import replan_drifted, replan_due
from services import escalations, flows, keys, next_offer, program_versions, session_notes
from services.backoff import backoff
from services.unit_of_work import Runtime, UnitOfWork
from storage import touchpoint_rows as rows

log = logging.getLogger("coachbot.touchpoints")

CATCHING_UP = N_("Catching up: this should have reached you a little earlier, sorry for the "
                 "delay.")
NO_ANSWER_SLA = timedelta(hours=24)


class Deliver(Protocol):
    """Does what a due row calls for, inside the row's unit of work."""

    def __call__(self, uow: UnitOfWork, due: DueTouchpoint) -> Outcome: ...


class TouchpointSender:
    """The default `Deliver`: queues messages and opens escalations, never a platform call."""

    def __init__(self, rt: Runtime) -> None:
        self.rt = rt

    def __call__(self, uow: UnitOfWork, due: DueTouchpoint) -> Outcome:
        key = keys.touchpoint(due.row_id)
        if due.action == "send":
            queued = self._send(uow, due, key)
            if queued and due.touchpoint.when.after_session is not None:
                # The session is over: its coach is offered the notes form.
                session_notes.offer_to_coach(uow, due.enrolment_id,
                                             key=keys.notes_prompt(due.row_id))
            if _at_graduation(self.rt.program(due.program_id), due):
                # After the graduation message: the program named by `next:`.
                next_offer.offer_at_graduation(self.rt, uow, due.enrolment_id)
        elif due.action == "remind":
            queued = flows.send_to_client(self.rt, uow, due.enrolment_id, key=key,
                                          build=lambda ctx: _reminder(ctx, due))
        else:
            queued = self._flag(uow, due)
        if queued and due.action in ("send", "remind"):
            log.info("touchpoint %s enrolment=%s touchpoint=%s",
                     "sent" if due.action == "send" else "reminded", due.enrolment_id,
                     due.touchpoint.id)
        return "sent" if queued else "not_sent"

    def _send(self, uow: UnitOfWork, due: DueTouchpoint, key: str) -> int:
        send = due.touchpoint.send
        lead = CATCHING_UP if due.catching_up else None
        if send.flow is not None:
            return flows.start_flow(self.rt, uow, due.enrolment_id, send.flow, key=key,
                                    lead=lead, open_now=due.conversation, items=due.items)
        text = send.message or ""

        def build(ctx: core.Context) -> list[Reply]:
            filled = fill(text, ctx.values)
            said = translator(ctx.language).gettext(lead) if lead else None
            return [Reply(f"{said}\n{filled}" if said else filled)]

        return flows.send_to_client(self.rt, uow, due.enrolment_id, key=key, build=build)

    def _flag(self, uow: UnitOfWork, due: DueTouchpoint) -> int:
        """Tell a human that a flow went unanswered, through an escalation (once)."""
        tp = due.touchpoint
        policy = tp.on_no_answer
        owner = "team" if policy is not None and policy.then == "escalate" else "coach"
        name = tp.title or tp.id
        opened = escalations.open_case(
            self.rt, uow, enrolment_id=due.enrolment_id, reason=f"No answer to {name}",
            owner_role=owner, sla=tp.sla or NO_ANSWER_SLA,
            evidence=(("touchpoint", name), ("due", f"{due.due_at:%Y-%m-%d %H:%M} UTC")))
        if opened is not None:
            log.info("no answer flagged enrolment=%s touchpoint=%s", due.enrolment_id, tp.id)
        return int(opened is not None)


def _at_graduation(program: Program, due: DueTouchpoint) -> bool:
    """Whether this touchpoint marks the start of the journey's last stage (alumni)."""
    last = [stage.id for stage in program.stages if stage.next is None]
    return bool(last) and due.touchpoint.when.stage_start == last[-1]


def _reminder(ctx: core.Context, due: DueTouchpoint) -> list[Reply]:
    """The open question again, with a short nudge in front of it."""
    state = ctx.flow_state
    if state is None or state.asked is None or state.flow != due.touchpoint.send.flow:
        return []
    flow = core.flow_of(ctx.program, state, ctx.language)
    question = flow.question(state.asked) if flow is not None else None
    if flow is None or question is None:
        return []  # a version without it: the client's next message carries on from there
    first = ctx.values.get("client.first_name", "")
    t = translator(ctx.language)
    lead = (t.gettext("A gentle reminder, {name}: your {flow} is still open.") if first
            else t.gettext("A gentle reminder: your {flow} is still open.")).format(
        name=first, flow=flow.title)
    # A channel without a command menu (Slack) shows these as buttons.
    commands = ("checkin",) if flow.id == ctx.program.checkin_flow else ()
    commands += ("skip",) if question.optional else ()
    return [Reply(text=f"{lead}\n{prompt(question, ctx.values, t)}",
                  buttons=buttons(question, t),
                  question=question.id, flow=flow.id, commands=commands,
                  language=ctx.language)]


class TouchpointRunner:
    """The tick: replan what changed, claim what is due, run each row once."""

    def __init__(self, rt: Runtime, deliver: Deliver | None = None, *,
                 worker: str | None = None, lease: timedelta = timedelta(minutes=2),
                 batch: int = 500, replan_batch: int = 200, max_batches: int = 100,
                 sweep_every: timedelta = timedelta(minutes=1),
                 drift_every: timedelta = timedelta(days=1)) -> None:
        self.rt = rt
        self.deliver: Deliver = deliver or TouchpointSender(rt)
        self.due = DueRows(rt.programs)
        self.worker = worker or f"{socket.gethostname()}:{id(self):x}"
        self.lease = lease
        self.batch = batch
        # A tick runs batches until the due rows are done (a Monday 09:00 of many clients
        # in one zone), up to this many; the next tick carries on.
        self.max_batches = max_batches
        self.replan_batch = replan_batch
        self.sweep_every = sweep_every
        self.drift_every = drift_every
        self._swept_at: datetime | None = None
        self._drift_checked_at: datetime | None = None

    def __call__(self) -> TickReport:
        """One tick at the runtime clock's now (the periodic job)."""
        report = self.tick(self.rt.clock.now())
        if report.claimed or report.replanned:
            # Each row that did something said so at INFO; the tick's sum is for debugging.
            log.debug("tick claimed=%d sent=%d skipped=%s missed=%d replanned=%d errors=%d",
                     report.claimed, report.sent, report.skipped, report.missed,
                     report.replanned, report.errors)
        return report

    def tick(self, now: datetime) -> TickReport:
        """Plan what changed or comes near, then run the rows due at `now`, batch by batch."""
        report = TickReport()
        if self._swept_at is None or now - self._swept_at >= self.sweep_every \
                or now < self._swept_at:
            # What changed or comes near is found through an index (its cost follows them,
            # not the number of clients); once a minute is soon enough, again at once
            # while a full batch suggests more.
            # A version applied by another process runs here from now on (`program apply`).
            program_versions.refresh(self.rt)
            with self.rt.transaction() as uow:
                report.replanned = replan_due(uow.session, self.rt.programs, now=now,
                                              limit=self.replan_batch)
            self._swept_at = None if report.replanned >= self.replan_batch else now
        if self._drift_checked_at is None or now - self._drift_checked_at >= self.drift_every \
                or now < self._drift_checked_at:
            # The backstop for a change made outside the ORM: compares every enrolment's
            # plan inputs, so once a day.
            with self.rt.transaction() as uow:
                drifted = replan_drifted(uow.session, self.rt.programs, now=now,
                                         limit=self.replan_batch)
            report.replanned += drifted
            self._drift_checked_at = None if drifted >= self.replan_batch else now
        for _ in range(self.max_batches):
            claimed = self._claim(now)
            report.claimed += len(claimed)
            if claimed:
                self._run_batch(claimed, now, report)
            if len(claimed) < self.batch:
                break
        return report

    def _claim(self, now: datetime) -> list[rows.Claimed]:
        """Take the lease on the next batch of due rows (committed: a worker killed later
        leaves them to the others once the lease runs out)."""
        with self.rt.transaction() as uow:
            return rows.claim(uow.session, worker=self.worker, now=now, lease=self.lease,
                              limit=self.batch)

    def _run_batch(self, claimed: list[rows.Claimed], now: datetime,
                   report: TickReport) -> None:
        """Decide, do and record a batch of rows in ONE transaction (their messages queued
        in it, the rows that ran recorded in one statement), so the cost of a commit and of
        loading their enrolments is shared. A row that fails rolls the batch back; it is
        then run row by row, so one bad row costs only itself."""
        done = TickReport()
        try:
            with self.rt.transaction() as uow:
                held = self._lock(uow, [r.enrolment_id for r in claimed])
                self.due.prefetch(uow.session, [r.enrolment_id for r in claimed])
                ran: list[tuple[int, str, str | None]] = []
                # An enrolment with one row in the batch has its follow-up (reminder or
                # no-answer step) planned after the batch, its open flow read with the
                # others'; one with several rows, at once, as the next row may change it.
                counts = Counter(r.enrolment_id for r in claimed)
                later: list[tuple[rows.Claimed, Touchpoint, datetime]] = []
                for row in claimed:
                    self._do(uow, row, now, done, ran,
                             later if counts[row.enrolment_id] == 1 else None)
                self.due.follow_up_many(uow.session, later)
                rows.finish_many(uow.session, ran, now=now)
                del held
        except Exception:
            log.warning("a touchpoint batch failed; running its %d rows one by one",
                        len(claimed))
        else:
            report.add(done)
            return
        finally:
            self.due.forget()
        for row in claimed:
            self._run_one(row, now, report)

    @staticmethod
    def _lock(uow: UnitOfWork, enrolment_ids: list[int]) -> tuple:
        """Lock the enrolments of rows about to run, and read their people's identities,
        each in one query; keep the answer while they run (the session holds them weakly)."""
        held = enrolments, _people = rows.lock_enrolments(uow.session, enrolment_ids)
        uow.locked.update(e.id for e in enrolments if e.id)
        uow.prefetch_people({e.person_id for e in enrolments})
        return held

    def _run_one(self, row: rows.Claimed, now: datetime, report: TickReport) -> None:
        """One row in a transaction of its own (after its batch failed)."""
        try:
            one = TickReport()
            with self.rt.transaction() as uow:
                held = self._lock(uow, [row.enrolment_id])
                ran: list[tuple[int, str, str | None]] = []
                self._do(uow, row, now, one, ran)
                rows.finish_many(uow.session, ran, now=now)
                del held
            report.add(one)
        except Exception:
            # One bad row must not stop the others; it is tried again after a backoff.
            log.exception("touchpoint failed row=%s kind=%s", row.id, row.kind)
            report.errors += 1
            with self.rt.transaction() as uow:
                rows.release(uow.session, row.id, retry_at=now + backoff(row.attempts),
                             attempts=row.attempts, now=now, reason="error")

    def _do(self, uow: UnitOfWork, row: rows.Claimed, now: datetime,
            report: TickReport, ran: list[tuple[int, str, str | None]],
            later: list[tuple[rows.Claimed, Touchpoint, datetime]] | None = None) -> None:
        """Decide and do one row inside the batch's transaction; a row that was sent is
        added to `ran`, recorded with the batch (a settled one at once), and its follow-up
        to `later` when given (else planned at once)."""
        decision = self.due.decide(uow.session, row, now, report)
        self.due.forget(row.enrolment_id)  # what it does next may change its conversations
        if isinstance(decision, Finish):
            if rows.finish(uow.session, row.id, status=decision.status, now=now,
                           reason=decision.reason) and decision.status == "skipped":
                report.skip(decision.reason or "skipped")
            return
        outcome = self.deliver(uow, decision)
        ran.append((row.id, "done", None if outcome == "sent" else outcome))
        if decision.action in ("send", "remind"):
            report.sent += outcome == "sent"
            if later is not None:
                later.append((row, decision.touchpoint, now))
            else:
                self.due.follow_up(uow.session, row, decision.touchpoint, now)
