"""`coachbot simulate`: a program's whole journey on a virtual clock, at full speed.

A throwaway SQLite database, the real services, planner and runner, and clients who answer
by themselves (or not). Time jumps from one due row or answer to the next, so twelve
weeks take seconds. Prints what each client saw and when, then a summary.
"""

from __future__ import annotations

import heapq
import random
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo

from sqlmodel import select

from conversations.messages import Inbound, Reply
from conversations.program import (
    ChoiceQuestion,
    DateQuestion,
    NumberQuestion,
    Program,
    Question,
    ScaleQuestion,
    YesNoQuestion,
)
from scheduler.clock import ManualClock
from scheduler.replanning import not_yet_stored
from services.database import open_database
from services.delivery import drain
from services.enrolment import enrol_client
from services.inbound import InboundService
from services.program_versions import record_running
from services.report import Row, build
from services.touchpoints import TouchpointRunner
from services.unit_of_work import Runtime
from storage import plans
from storage import touchpoint_rows as touchpoints
from storage.models import (
    Conversation,
    Enrolment,
    Escalation,
    Person,
    PlannedTouchpoint,
    RuleFiring,
)

CHANNEL = "sim"
ZONES = ("Europe/Berlin", "America/New_York", "Asia/Kolkata", "Europe/London",
         "America/Los_Angeles", "Australia/Sydney")
NAMES = ("Ana", "Ben", "Chloe", "Dev", "Emma", "Farid", "Grace", "Hugo", "Ines", "Jon",
         "Kira", "Liam", "Maya", "Noah", "Olga", "Pedro", "Quinn", "Rosa", "Sami", "Tara")
START = datetime(2026, 3, 2, 7, 0, tzinfo=UTC)
Answers = Literal["random", "low"]


@dataclass
class SimClient:
    """One simulated client and how they behave."""

    name: str
    zone: str
    address: str
    ignoring: bool = False
    seen: int = 0
    answered: int = 0


@dataclass
class Summary:
    """What happened over the whole run."""

    clients: int
    messages: int
    answers: int
    rows: Counter[tuple[str, str, str, str | None]] = field(default_factory=Counter)
    completed: Counter[str] = field(default_factory=Counter)
    missed: Counter[str] = field(default_factory=Counter)
    escalations: int = 0
    checkins_off_hour: int = 0
    rule_firings: Counter[str] = field(default_factory=Counter)
    # The report's rows of each variant, side by side (none when the program has none).
    variants: list[Row] = field(default_factory=list)


class Simulation:
    """Runs the journey; `print_line` receives each line of the transcript."""

    def __init__(self, program: Program, *, clients: int, weeks: int, answers: Answers,
                 seed: int, print_line: Callable[[str], None], folder: Path,
                 database_url: str | None = None) -> None:
        self.rng = random.Random(seed)
        self.answers = answers
        self.weeks = weeks
        self.print_line = print_line
        self.clock = ManualClock(START)
        db = open_database(database_url or f"sqlite:///{folder / 'simulation.db'}",
                           migrate=True)
        self.rt = Runtime(db=db, clock=self.clock, programs={program.id: program})
        record_running(self.rt)
        self.program = program
        self.inbound = InboundService(self.rt)
        self.runner = TouchpointRunner(self.rt, worker="simulation")
        self.clients: dict[str, SimClient] = {}
        self.queue: list[tuple[datetime, int, str, Inbound]] = []
        self.events = 0
        for n in range(clients):
            name = f"{NAMES[n % len(NAMES)]} {n + 1:02d}"
            self.clients[f"sim-{n}"] = SimClient(name, ZONES[n % len(ZONES)], f"sim-{n}")

    def run(self) -> Summary:
        """Enrol everyone, then let time run to the end of the program."""
        for client in self.clients.values():
            enrolled = enrol_client(self.rt, program_id=self.program.id, name=client.name,
                                    zone=client.zone, coach="Casey Coach")
            self._later(timedelta(minutes=self.rng.randint(1, 120)), client.address,
                        text=f"/start {enrolled.code}")
        end = START + timedelta(weeks=self.weeks)
        while self.clock.now() < end:
            self.runner.tick(self.clock.now())
            self._deliver()
            while self.queue and self.queue[0][0] <= self.clock.now():
                _, _, _, inbound = heapq.heappop(self.queue)
                self.inbound.handle(inbound)
                self.clients[inbound.sender].answered += 1
                self._deliver()
            # An answer can change the plan (a stage ends with intake): replan before jumping.
            self.runner.tick(self.clock.now())
            self._deliver()
            self.clock.set(max(self._next(end), self.clock.now() + timedelta(seconds=30)))
        return self._summary()

    def close(self) -> None:
        self.rt.db.dispose()

    # --- the clients' side ------------------------------------------------------------------

    def _next(self, end: datetime) -> datetime:
        with self.rt.reading() as s:
            due = touchpoints.next_due(s)
            # The rest of a journey is planned when it comes near: that is a moment too.
            planning = plans.next_planning(s)
        candidates = ([end] + [d for d in (due, planning) if d is not None]
                      + ([self.queue[0][0]] if self.queue else []))
        return min(candidates)

    def _deliver(self) -> None:
        while drain(self.rt, CHANNEL, self._receive):
            pass

    def _receive(self, address: str, reply: Reply) -> str:
        client = self.clients[address]
        client.seen += 1
        local = self.clock.now().astimezone(ZoneInfo(client.zone))
        first = reply.text.strip().splitlines()[0] if reply.text.strip() else ""
        self.print_line(f"{local:%a %Y-%m-%d %H:%M} {client.zone:<19} {client.name:<9} "
                        f"<- {first[:90]}")
        if reply.question and reply.flow:
            self._react(client, reply)
        return f"sim-{client.seen}"

    def _react(self, client: SimClient, reply: Reply) -> None:
        flow = self.program.flow(reply.flow or "")
        question = flow.question(reply.question or "")
        if question is None:
            return
        reminder = reply.text.startswith("A gentle reminder")
        if flow.questions[0].id == question.id and not reminder:
            skip_rate = 0.3 if self.answers == "low" else 0.12
            client.ignoring = self.rng.random() < skip_rate
        if client.ignoring:
            if not reminder or self.rng.random() < 0.5:
                return
            client.ignoring = False
        first = flow.questions[0].id == question.id and not reminder
        delay = (timedelta(minutes=self.rng.randint(5, 300)) if first
                 else timedelta(minutes=self.rng.randint(1, 4)))
        text, button = self._answer(question)
        self._later(delay, client.address, text=text or "", button=button,
                    question=question.id if button else None)

    def _answer(self, question: Question) -> tuple[str | None, str | None]:
        low = self.answers == "low"
        rng = self.rng
        match question:
            case YesNoQuestion():
                yes = question.consent or (not low and rng.random() < 0.7)
                return None, "yes" if yes else "no"
            case ScaleQuestion():
                top = question.min + (question.max - question.min) // 3 if low else question.max
                return None, str(rng.randint(question.min, top))
            case ChoiceQuestion():
                return None, rng.choice(question.options).id
            case NumberQuestion():
                lo = int(question.min or 0)
                hi = min(int(question.max) if question.max is not None else lo + 5000,
                         lo + 5000)
                return str(lo if low else rng.randint(lo, hi)), None
            case DateQuestion():
                return "tomorrow", None
        if question.optional and rng.random() < 0.5:
            return "/skip", None
        return rng.choice(["Going well", "Busy week", "Found two new leads",
                           "Need help with pricing"]), None

    def _later(self, delay: timedelta, address: str, *, text: str = "",
               button: str | None = None, question: str | None = None) -> None:
        self.events += 1
        inbound = Inbound(channel=CHANNEL, sender=address, event_id=f"sim-{self.events}",
                          text=text, button=button, button_question=question)
        heapq.heappush(self.queue, (self.clock.now() + delay, self.events, address, inbound))

    # --- the summary --------------------------------------------------------------------------

    def _summary(self) -> Summary:
        summary = Summary(clients=len(self.clients),
                          messages=sum(c.seen for c in self.clients.values()),
                          answers=sum(c.answered for c in self.clients.values()))
        with self.rt.reading() as s:
            summary.rows.update(touchpoints.counts(s))
            # The rest of each journey is planned as it comes near: counted as planned, as
            # the rows it will be.
            summary.rows.update({(tp, kind, "planned", None): count for (tp, kind), count
                                 in not_yet_stored(s, self.rt.programs,
                                                   now=self.clock.now()).items()})
            for flow_id, outcome in s.exec(select(Conversation.flow_id, Conversation.outcome)):
                if outcome == "completed":
                    summary.completed[flow_id] += 1
                elif outcome in ("missed", "expired"):
                    summary.missed[flow_id] += 1
            summary.escalations = len(list(s.exec(select(Escalation.id))))
            summary.rule_firings.update(s.exec(select(RuleFiring.rule_id)))
            summary.checkins_off_hour = self._off_hour(s)
        if self.program.variants:
            summary.variants = [r for r in build(self.rt) if r.variant]
        return summary

    def _off_hour(self, s) -> int:
        """Check-ins sent at another local time than the client's slot (should be none)."""
        checkin_tp = next((t.id for t in self.program.touchpoints
                           if t.send.flow == self.program.checkin_flow and t.when.weekly), None)
        rows = s.exec(select(PlannedTouchpoint, Enrolment, Person)
                      .join(Enrolment, Enrolment.id == PlannedTouchpoint.enrolment_id)
                      .join(Person, Person.id == Enrolment.person_id)
                      .where(PlannedTouchpoint.touchpoint_id == checkin_tp,
                             PlannedTouchpoint.kind == "send",
                             PlannedTouchpoint.status.in_(("done", "missed"))))  # type: ignore[attr-defined]
        off = 0
        for row, enrolment, person in rows:
            local = row.due_at.astimezone(ZoneInfo(person.timezone))
            if f"{local:%H:%M}" != enrolment.checkin_time:
                off += 1
        return off


def simulate(program: Program, *, clients: int, weeks: int, answers: Answers, seed: int,
             print_line: Callable[[str], None]) -> Summary:
    """Run a simulation in a throwaway folder and return its summary."""
    with tempfile.TemporaryDirectory(prefix="coachbot-sim-") as folder:
        simulation = Simulation(program, clients=clients, weeks=weeks, answers=answers,
                                seed=seed, print_line=print_line, folder=Path(folder))
        try:
            return simulation.run()
        finally:
            simulation.close()
