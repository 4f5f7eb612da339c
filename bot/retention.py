"""Retention: a client's answers are erased a program-set number of days after the end.

The end is the program's planned end (enrolment + the program's weeks). The daily job is
idempotent: an enrolment whose answers are gone has nothing left to erase.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime, timedelta

from apscheduler.schedulers.base import BaseScheduler
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import Engine
from sqlmodel import col, select

from conversations.program import Program
from scheduler.clock import Clock
from storage.db import session as new_session
from storage.erasure import erase_answers
from storage.models import Answer, Enrolment

log = logging.getLogger("coachbot.retention")

RETENTION_JOB = "retention"


def erase_due(program: Program, enrolled_at: datetime) -> datetime | None:
    """When this enrolment's answers are to be erased, or None if the program keeps them."""
    days = program.privacy.retention_days_after_end
    if days is None:
        return None
    return enrolled_at + timedelta(weeks=program.weeks) + timedelta(days=days)


def apply_retention(db: Engine, programs: Mapping[str, Program], now: datetime) -> int:
    """Erase the answers of every enrolment past its retention date; how many were erased."""
    erased = 0
    for program_id, program in programs.items():
        days = program.privacy.retention_days_after_end
        if days is None:
            continue
        # Enrolled before this moment means ended, plus `days`, before now.
        cutoff = now - timedelta(weeks=program.weeks) - timedelta(days=days)
        with new_session(db) as session, session.begin():
            due = session.exec(
                select(Enrolment.id).where(Enrolment.program_id == program_id,
                                           col(Enrolment.enrolled_at) <= cutoff)
                .where(col(Enrolment.id).in_(select(Answer.enrolment_id)))).all()
            for enrolment_id in due:
                erase_answers(session, enrolment_id or 0, actor="retention", now=now,
                              reason=f"{days} days after the end")
                erased += 1
    if erased:
        log.info("retention erased_enrolments=%d", erased)
    return erased


def add_retention_job(scheduler: BaseScheduler, db: Engine, programs: Mapping[str, Program],
                      clock: Clock) -> None:
    """Run the retention pass once a day (and once soon after start)."""
    scheduler.add_job(lambda: apply_retention(db, programs, clock.now()),
                      IntervalTrigger(days=1), id=RETENTION_JOB, replace_existing=True,
                      max_instances=1, coalesce=True, misfire_grace_time=3600,
                      next_run_time=clock.now() + timedelta(minutes=5))
