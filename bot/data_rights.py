"""A client's data rights, for chat and the CLI alike: a copy of their data, and erasure."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime

from sqlmodel import Session

from conversations.messages import Attachment, Reply
from storage import audit, erasure, export
from storage.enrolments import current_enrolment
from storage.models import Person

EXPORT_FILENAME = "coachbot-my-data.json"

# (person id, idempotency key, replies) -> messages queued; the handler's own queueing.
Notify = Callable[[int, str, list[Reply]], int]


def export_json(session: Session, person: Person, *, now: datetime) -> tuple[dict, bytes]:
    """The client's data and the same as a UTF-8 JSON file."""
    data = export.export_person(session, person, now=now)
    return data, json.dumps(data, ensure_ascii=False, indent=2).encode()


def export_reply(session: Session, person: Person, *, actor: str, now: datetime) -> Reply:
    """The summary message with the JSON file attached; the read goes in the audit log."""
    data, blob = export_json(session, person, now=now)
    audit_read(session, person, action="data_exported", actor=actor, now=now)
    return Reply(text=export.summary(data),
                 attachment=Attachment(EXPORT_FILENAME, "application/json", blob))


def audit_read(session: Session, person: Person, *, action: str, actor: str,
               now: datetime) -> None:
    """Record that someone read a client's data (ids only)."""
    enrolment = current_enrolment(session, person.id or 0)
    audit.record(session, at=now, actor=actor, action=action,
                 enrolment_id=enrolment.id if enrolment else None)


def erase_client(session: Session, person: Person, *, actor: str, now: datetime,
                 notify: Notify) -> erasure.Erased:
    """Erase a client and tell each of their coaches, without naming the client."""
    erased = erasure.erase_person(session, person, actor=actor, now=now)
    for coach_id in erased.coach_ids:
        programs = ", ".join(erased.program_ids)
        notify(coach_id, f"erased:{'-'.join(map(str, erased.enrolment_ids))}:{coach_id}",
               [Reply(f"A client of yours in {programs} asked for their data to be erased, "
                      f"and it was, on {now:%Y-%m-%d}. Their check-ins and reminders have "
                      f"stopped; the audit log keeps only that it happened.")])
    return erased
