"""Planning one enrolment's touchpoints into rows, idempotently, from its current state.

A rolling horizon: rows are stored for what falls due before `now + HORIZON` (and what
fell due since the last plan: the runner's catch-up policy decides about it); the rest of
the journey is computed again when it comes near. The enrolment's `replan_at` says when:
REPLAN_LEAD before its first occurrence not stored. So a client holds a few rows ahead
(this week's check-in, a stage move, a milestone), not the whole journey.

Re-running it changes nothing. When the inputs changed (a new check-in slot, another
zone, a new stage, a booked session) future rows are moved to their new time, new
occurrences are added and occurrences that no longer exist are skipped as replanned.
Past rows are left to the runner and its catch-up policy.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from functools import lru_cache
from typing import Any

from sqlmodel import Session

from conversations.journey import is_planned
from conversations.program import Program, QuietHours, Weekly
from scheduler.occurrences import Occurrence, plan, stage_spans
from storage import plans
from storage import touchpoint_rows as rows
from storage.models import Enrolment, Person
from storage.plans import PlanEnrolment, PlanPerson

log = logging.getLogger("coachbot.scheduler")

# Which rows planning owns (reminders belong to the runner).
PLANNED_KINDS = ("send", "stage")
STAGE_PREFIX = "stage:"
# How far ahead rows are stored, and how long before its first occurrence not stored an
# enrolment is planned again. The lead covers what reads rows ahead (tomorrow's
# milestones in a coach's digest) and a sweep that runs late; the gap between the two
# makes each client planned again about once a week, not on every tick.
HORIZON = timedelta(days=8)
REPLAN_LEAD = timedelta(days=3)
UNKNOWN_PROGRAM_RETRY = timedelta(days=1)


@dataclass(frozen=True)
class Replanned:
    """What one replan changed."""

    added: int = 0
    moved: int = 0
    dropped: int = 0


def quiet_hours(program: Program, person: Person | PlanPerson) -> QuietHours:
    """The person's own quiet hours where set, else the program's."""
    return _quiet_hours(program.quiet_hours, person.quiet_start, person.quiet_end)


@lru_cache(maxsize=1024)
def _quiet_hours(default: QuietHours, start: str | None, end: str | None) -> QuietHours:
    # A validated model per client cost more than the rest of its plan: shared when equal.
    return QuietHours(start=time.fromisoformat(start) if start else default.start,
                      end=time.fromisoformat(end) if end else default.end)


def checkin_slot(enrolment: Enrolment | PlanEnrolment) -> Weekly:
    """The client's weekly check-in day and time."""
    return _slot(enrolment.checkin_day, enrolment.checkin_time)


@lru_cache(maxsize=4096)
def _slot(day: str, at: str) -> Weekly:
    return Weekly.model_validate({"day": day, "time": at})


def _chosen(program: Program, slot: Weekly) -> bool:
    default = program.checkin_schedule
    # Compared by its fields: a model's own comparison cost more than the rest of it.
    return default is None or (default.day, default.time) != (slot.day, slot.time)


def wanted(program: Program, enrolment: Enrolment | PlanEnrolment, person: Person | PlanPerson,
           sessions: tuple[datetime, ...], now: datetime, *, until: datetime | None = None,
           ) -> dict[tuple[str, str], Any]:
    """Every row the enrolment should have now: (touchpoint id, occurrence) -> (due, kind).
    `until`: whole up to it, and past it only what comes first (`plan`'s `until`)."""
    anchor = enrolment.joined_at or enrolment.enrolled_at
    slot = checkin_slot(enrolment)
    found: dict[tuple[str, str], Any] = {}
    spans = stage_spans(program, enrolment.stage, enrolment.stage_started_at,
                        wait_for_flows=True)
    occurrences: list[Occurrence] = plan(
        program, enrolled_at=anchor, zone=person.timezone, stage=enrolment.stage,
        stage_started=enrolment.stage_started_at, checkin=slot, sessions=sessions,
        quiet=quiet_hours(program, person), wait_for_flows=True,
        checkin_chosen=_chosen(program, slot), until=until, spans=spans)
    for occurrence in occurrences:
        due = occurrence.due
        offset = occurrence.touchpoint.when.before_session
        if offset is not None and due < now < due + offset:
            due = now  # booked at short notice: prepare now, while the session is ahead
        found[(occurrence.touchpoint.id, occurrence.occurrence)] = (due, "send")
    # Stage moves by time are rows too, so the runner moves clients on at the right moment.
    for span in spans[1:]:
        found[(STAGE_PREFIX + span.stage, "enter")] = (span.start, "stage")
    return found


def replan(session: Session, program: Program, enrolment_id: int, *,
           now: datetime) -> Replanned:
    """Bring an enrolment's planned rows in line with its current state (idempotent)."""
    done = replan_many(session, {program.id: program}, [enrolment_id], now=now,
                       program=program)
    return done.get(enrolment_id, Replanned())


def replan_many(session: Session, programs: Mapping[str, Program], enrolment_ids: list[int],
                *, now: datetime, program: Program | None = None) -> dict[int, Replanned]:
    """`replan` for many enrolments at once: one query loads them (locked) with their people
    and stored plan inputs, one their rows, one their sessions; the new rows of all of them
    go in one multi-row INSERT and their plan inputs in one more. Enrolments whose program
    is unknown are left alone (not in the answer). `program`: use it whatever the
    enrolment's program id (replanning one enrolment with a given program)."""
    loaded = [(e, p, s) for e, p, s in plans.planning_inputs(session, enrolment_ids)
              if program is not None or e.program_id in programs]
    ids = [e.id or 0 for e, _, _ in loaded]
    if not ids:
        return {}
    existing_of = rows.of_enrolments(session, ids)
    sessions_of = plans.sessions_of_many(session, [e.id or 0 for e, _, _ in loaded
                                                   if is_planned(e.status)])
    checksums = plans.program_checksums(session, {(program or programs[e.program_id]).id
                                                  for e, _, _ in loaded})
    changes: dict[int, tuple[int, int]] = {}
    new: list[tuple[int, str, str, datetime, str]] = []
    states: list[tuple[PlanEnrolment, PlanPerson, Any, str, datetime | None]] = []
    for enrolment, person, previous in loaded:
        enrolment_id = enrolment.id or 0
        own = (program or programs[enrolment.program_id]).with_variant(enrolment.variant)
        moved, dropped, replan_at = _plan_one(
            session, own, enrolment, person, previous, existing_of.get(enrolment_id, ()),
            tuple(sessions_of.get(enrolment_id, ())), now=now, new=new)
        changes[enrolment_id] = (moved, dropped)
        states.append((enrolment, person, previous, checksums[own.id], replan_at))
    added = rows.add_for_many(session, new)
    plans.save_plan_states(session, states, now=now)
    return _replanned(changes, added)


def _plan_one(session: Session, own: Program, enrolment: PlanEnrolment, person: PlanPerson,
              previous: Any, existing_rows: Iterable[Any], sessions: tuple[datetime, ...], *,
              now: datetime, new: list[tuple[int, str, str, datetime, str]],
              ) -> tuple[int, int, datetime | None]:
    """Reconcile one enrolment's rows with its plan (new rows go to `new`): how many were
    moved and dropped, and when it must be planned again (None: nothing is ahead)."""
    # First plan: everything since the client joined (the runner's catch-up policy
    # decides what is still worth sending). Later plans: only what lies ahead.
    since = previous.planned_at if previous else (enrolment.joined_at or enrolment.enrolled_at)
    existing = {(r.touchpoint_id, r.occurrence): r for r in existing_rows}
    # Every row still planned lies before the horizon, so none is mistaken for gone.
    until = max([now + HORIZON] + [r.due_at for r in existing.values()
                                   if r.status == "planned" and r.kind in PLANNED_KINDS])
    target: Mapping[tuple[str, str], Any] = {}
    if is_planned(enrolment.status):
        target = wanted(own, enrolment, person, sessions, now, until=until)
    moved, dropped, beyond = _reconcile(session, enrolment, target, existing,
                                        since=since, until=until, now=now, new=new)
    return moved, dropped, beyond - REPLAN_LEAD if beyond is not None else None


def _replanned(changes: Mapping[int, tuple[int, int]], added: Mapping[int, int]
               ) -> dict[int, Replanned]:
    done: dict[int, Replanned] = {}
    for enrolment_id, (moved, dropped) in changes.items():
        result = done[enrolment_id] = Replanned(added.get(enrolment_id, 0), moved, dropped)
        if result.added or moved or dropped:
            log.info("replanned enrolment=%s added=%d moved=%d dropped=%d", enrolment_id,
                     result.added, moved, dropped)
    return done


def _reconcile(session: Session, enrolment: PlanEnrolment, target: Mapping[tuple[str, str], Any],
               existing: Mapping[tuple[str, str], Any], *, since: datetime, until: datetime,
               now: datetime, new: list[tuple[int, str, str, datetime, str]],
               ) -> tuple[int, int, datetime | None]:
    """Move planned rows whose time changed, drop those no longer wanted, and add (to `new`)
    the missing ones due from `since` to `until`; returns how many were moved and dropped,
    and when the first occurrence left for later is due (None: nothing is)."""
    enrolment_id = enrolment.id or 0
    moved = dropped = 0
    beyond: datetime | None = None
    for key, (due, kind) in target.items():
        row = existing.get(key)
        if row is None:
            if due >= until:
                beyond = due if beyond is None else min(beyond, due)
            elif due >= since:
                new.append((enrolment_id, key[0], key[1], due, kind))
        elif row.status == "planned" and row.due_at != due and row.due_at > now:
            moved += rows.move(session, row.id or 0, due_at=max(due, now), now=now)
    reason = "replanned" if is_planned(enrolment.status) else "closed"
    for key, row in existing.items():
        if (key not in target and row.kind in PLANNED_KINDS and row.status == "planned"
                and row.due_at > now):
            dropped += rows.finish(session, row.id or 0, status="skipped", now=now,
                                   reason=reason)
    return moved, dropped, beyond


def replan_due(session: Session, programs: Mapping[str, Program], *, now: datetime,
               limit: int = 200) -> int:
    """Plan enrolments whose inputs changed or whose horizon runs short; how many were.
    They are planned together (`replan_many`): a few statements for the whole batch."""
    due = plans.due_for_planning(session, now=now, limit=limit)
    # A program this process does not run (another worker's, or one removed): looked at
    # again tomorrow, so it never holds up the others. A version loaded stamps them anew.
    plans.postpone(session, [i for i, program_id in due if program_id not in programs],
                   until=now + UNKNOWN_PROGRAM_RETRY)
    return len(replan_many(session, programs, [i for i, p in due if p in programs],
                           now=now))


def replan_drifted(session: Session, programs: Mapping[str, Program], *, now: datetime,
                   limit: int = 200) -> int:
    """Plan enrolments whose stored plan inputs differ from their current ones (a change
    the ORM did not see); how many were. Compares every enrolment: the daily backstop."""
    return len(replan_many(session, programs, plans.drifted_enrolments(session, limit=limit),
                           now=now))


def not_yet_stored(session: Session, programs: Mapping[str, Program], *, now: datetime,
                   ) -> dict[tuple[str, str], int]:
    """How many occurrences beyond the horizon each (touchpoint, kind) still has, over
    every planned enrolment: what the whole plan would hold as rows (a simulation's
    summary counts them as planned, as when the whole journey was stored)."""
    found: dict[tuple[str, str], int] = {}
    loaded = [(e, p, s) for e, p, s in plans.planning_inputs(session, plans.planned_ids(session))
              if e.program_id in programs and is_planned(e.status)]
    ids = [e.id or 0 for e, _, _ in loaded]
    existing_of = rows.of_enrolments(session, ids)
    sessions_of = plans.sessions_of_many(session, ids)
    for enrolment, person, state in loaded:
        own = programs[enrolment.program_id].with_variant(enrolment.variant)
        stored = {(r.touchpoint_id, r.occurrence) for r in existing_of.get(enrolment.id or 0, ())}
        since = state.planned_at if state else now
        target = wanted(own, enrolment, person, tuple(sessions_of.get(enrolment.id or 0, ())),
                        now)
        for key, (due, kind) in target.items():
            if key not in stored and due >= since:
                found[(key[0], kind)] = found.get((key[0], kind), 0) + 1
    return found
