"""Retention: a client's answers are erased a program-set number of days after the end, and
the text of every sent message a week after it was sent (the row itself, for a message
nothing edits or guards any more: `keys.one_shot_prefixes`).

The end is the program's planned end (enrolment + the program's weeks). The daily job is
idempotent: an enrolment whose answers are gone has nothing left to erase.
"""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from sqlmodel import col, select

from conversations.program import Program
from services import keys
from services.unit_of_work import Runtime
from storage import outbox
from storage.db import checkpoint
from storage.dedupe import forget_before
from storage.erasure import erase_answers
from storage.models import Answer, Enrolment

log = logging.getLogger("coachbot.retention")

# A sent message's text is kept this long (for an operator looking into a complaint), then
# blanked: it may echo an answer or name a client, and the recipient has it anyway.
SENT_TEXT_KEPT = timedelta(days=7)


def erase_due(program: Program, enrolled_at: datetime) -> datetime | None:
    """When this enrolment's answers are to be erased, or None if the program keeps them."""
    days = program.privacy.retention_days_after_end
    if days is None:
        return None
    return enrolled_at + timedelta(weeks=program.weeks) + timedelta(days=days)


def apply_retention(rt: Runtime) -> int:
    """Erase the answers of every enrolment past its retention date; how many were erased."""
    erased = 0
    now = rt.clock.now()
    for program_id, program in rt.programs.items():
        days = program.privacy.retention_days_after_end
        if days is None:
            continue
        # Enrolled before this moment means ended, plus `days`, before now.
        cutoff = now - timedelta(weeks=program.weeks) - timedelta(days=days)
        with rt.transaction() as uow:
            session = uow.session
            due = session.exec(
                select(Enrolment.id).where(Enrolment.program_id == program_id,
                                           col(Enrolment.enrolled_at) <= cutoff)
                .where(col(Enrolment.id).in_(select(Answer.enrolment_id)))).all()
            for enrolment_id in due:
                erase_answers(session, enrolment_id or 0, actor="retention", now=now,
                              reason=f"{days} days after the end")
                erased += 1
    with rt.transaction() as uow:
        # Past the window, a one-shot message's row goes; the others keep a blank payload.
        dropped = outbox.drop_sent(uow.session, sent_before=now - SENT_TEXT_KEPT,
                                   prefixes=keys.one_shot_prefixes())
        forgotten = outbox.forget_sent(uow.session, sent_before=now - SENT_TEXT_KEPT)
    if erased or forgotten or dropped:
        # The old versions of the changed pages must leave SQLite's files too.
        checkpoint(rt.db)
        log.info("retention erased_enrolments=%d sent_texts_blanked=%d sent_rows_dropped=%d",
                 erased, forgotten, dropped)
    return erased



def forget_old_events(rt: Runtime, days: int) -> int:
    """Drop the record of platform events older than `days`; how many were dropped."""
    # A platform redelivers within hours (Telegram keeps an update 24 h, Stripe retries for
    # 3 days), so a week's window still catches every redelivery while the table stays small.
    with rt.transaction() as uow:
        dropped = forget_before(uow.session, uow.now - timedelta(days=days))
    if dropped:
        log.info("dedupe window events_dropped=%d", dropped)
    return dropped
