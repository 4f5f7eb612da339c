"""What the bot does when the scheduler says a touchpoint is due: the scheduler's callable.

A flow touchpoint opens its flow (the handler queues the first question on every identity);
a message touchpoint is filled and queued; a reminder repeats the open question; a flow
left unanswered under a flag_coach or escalate policy opens an escalation. Everything
queued carries a key made from the row id, so a retried row never sends twice.
"""

from __future__ import annotations

import logging
from datetime import timedelta

from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlmodel import col, select

from bot.app import App
from bot.decisions import add_sweep_job
from bot.retention import add_retention_job
from conversations import engine as core
from conversations.messages import Reply
from conversations.program import Program
from conversations.render import buttons, fill, prompt
from scheduler.jobs import add_tick_job
from scheduler.runner import DueTouchpoint, Outcome, Runner
from services import next_offer
from storage import escalations
from storage.db import session as new_session
from storage.models import Escalation

log = logging.getLogger("coachbot.touchpoints")

CATCHING_UP = "Catching up: this should have reached you a little earlier, sorry for the delay."
NO_ANSWER_SLA = timedelta(hours=24)


class TouchpointSender:
    """The callable handed to the scheduler's runner; it never talks to a platform itself."""

    def __init__(self, app: App) -> None:
        self.app = app

    def __call__(self, due: DueTouchpoint) -> Outcome:
        if due.action == "send":
            queued = self._send(due)
            if _at_graduation(self.app.programs[due.program_id].program, due):
                # After the graduation message: the program named by `next:`.
                next_offer.offer_at_graduation(self.app.handler.runtime, due.enrolment_id)
        elif due.action == "remind":
            queued = self.app.handler.send_to_client(
                due.enrolment_id, key=due.key, build=lambda ctx: _reminder(ctx, due))
        else:
            queued = self._flag(due)
        return "sent" if queued else "not_sent"

    def _send(self, due: DueTouchpoint) -> int:
        send = due.touchpoint.send
        lead = CATCHING_UP if due.catching_up else None
        if send.flow is not None:
            return self.app.handler.start_flow(due.enrolment_id, send.flow, key=due.key,
                                               lead=lead)
        text = send.message or ""

        def build(ctx: core.Context) -> list[Reply]:
            filled = fill(text, ctx.values)
            return [Reply(f"{lead}\n{filled}" if lead else filled)]

        return self.app.handler.send_to_client(due.enrolment_id, key=due.key, build=build)

    def _flag(self, due: DueTouchpoint) -> int:
        """Tell a human that a flow went unanswered, through an escalation (once)."""
        tp = due.touchpoint
        policy = tp.on_no_answer
        owner = "team" if policy is not None and policy.then == "escalate" else "coach"
        reason = f"No answer to {tp.title or tp.id}"
        now = self.app.clock.now()
        with new_session(self.app.db) as session, session.begin():
            already = session.exec(select(Escalation.id).where(
                Escalation.enrolment_id == due.enrolment_id, Escalation.reason == reason,
                col(Escalation.resolved_at).is_(None))).first()
            if already is not None:
                return 0
            escalations.open_escalation(session, enrolment_id=due.enrolment_id, reason=reason,
                                        owner_role=owner, sla=tp.sla or NO_ANSWER_SLA, now=now)
        log.info("no answer flagged enrolment=%s touchpoint=%s", due.enrolment_id, tp.id)
        return 1


def _at_graduation(program: Program, due: DueTouchpoint) -> bool:
    """Whether this touchpoint marks the start of the journey's last stage (alumni)."""
    last = [stage.id for stage in program.stages if stage.next is None]
    return bool(last) and due.touchpoint.when.stage_start == last[-1]


def _reminder(ctx: core.Context, due: DueTouchpoint) -> list[Reply]:
    """The open question again, with a short nudge in front of it."""
    state = ctx.flow_state
    if state is None or state.asked is None or state.flow != due.touchpoint.send.flow:
        return []
    flow = ctx.program.flow(state.flow)
    question = flow.question(state.asked)
    if question is None:
        return []
    first = ctx.values.get("client.first_name", "")
    lead = f"A gentle reminder, {first}: your {flow.title} is still open." if first else \
        f"A gentle reminder: your {flow.title} is still open."
    return [Reply(text=f"{lead}\n{prompt(question, ctx.values)}", buttons=buttons(question),
                  question=question.id, flow=flow.id)]


def runner_for(app: App, *, worker: str | None = None) -> Runner:
    """The scheduler's runner wired to this app's programs and the bot's callable."""
    programs = {program_id: loaded.program for program_id, loaded in app.programs.items()}
    return Runner(app.db, programs, TouchpointSender(app), worker=worker)


def start_clock(app: App) -> AsyncIOScheduler:
    """Start the in-process scheduler that ticks the touchpoint runner (inside an event loop)."""
    scheduler = AsyncIOScheduler(timezone="UTC")
    add_tick_job(scheduler, runner_for(app), app.clock)
    # Missed check-ins and days without a reply change metrics with no answer arriving.
    add_sweep_job(scheduler, app.handler, app.clock)
    # Answers past the program's retention period are erased once a day.
    add_retention_job(scheduler, app.db, app.handler.programs, app.clock)
    scheduler.start()
    return scheduler
