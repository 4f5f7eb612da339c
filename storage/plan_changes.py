"""Which enrolments must be planned again: stamped where a plan input changes.

A plan is made from the enrolment (program, variant, stage, status, check-in slot, when it
joined), its person (zone, quiet hours) and its program's running version. Whatever
changes one of them through the ORM, in any service, stamps the enrolment's `replan_at`
with PLAN_NOW in the same flush (a session event, so no caller can forget it); the
statements that change many rows at once (a program version, a slot moved for everyone)
stamp them with `stamp_program`. The sweep then reads the index on `replan_at`: its cost
follows what changed, not how many clients there are.
"""

from __future__ import annotations

from sqlalchemy import event, inspect, update
from sqlalchemy.orm import Session
from sqlmodel import col

from conversations.journey import PLANNED
from storage.models import PLAN_NOW, Enrolment, Person

ENROLMENT_INPUTS = ("program_id", "variant", "stage", "stage_started_at", "status",
                    "checkin_day", "checkin_time", "enrolled_at", "joined_at")
PERSON_INPUTS = ("timezone", "quiet_start", "quiet_end")


def _changed(instance: object, names: tuple[str, ...]) -> bool:
    attrs = inspect(instance).attrs
    return any(attrs[name].history.has_changes() for name in names)


@event.listens_for(Session, "before_flush")
def _stamp_changed(session: Session, _context, _instances) -> None:
    for instance in list(session.dirty):
        if isinstance(instance, Enrolment) and _changed(instance, ENROLMENT_INPUTS):
            instance.replan_at = PLAN_NOW
        elif (isinstance(instance, Person) and instance.id is not None
              and _changed(instance, PERSON_INPUTS)):
            session.execute(update(Enrolment.__table__)  # type: ignore[attr-defined]
                            .where(Enrolment.__table__.c.person_id == instance.id)  # type: ignore[attr-defined]
                            .values(replan_at=PLAN_NOW))


def stamp_program(session: Session, program_id: str) -> None:
    """Every planned enrolment of a program must be planned again (its version changed)."""
    session.execute(update(Enrolment)
                    .where(col(Enrolment.program_id) == program_id,
                           col(Enrolment.status).in_(PLANNED))
                    .values(replan_at=PLAN_NOW)
                    .execution_options(synchronize_session=False))
