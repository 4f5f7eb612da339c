"""Finding a client by name for staff tools, and the audit log of what was done to data."""

from __future__ import annotations

from dataclasses import dataclass

from sqlmodel import select

from services.unit_of_work import Runtime
from storage import people
from storage.audit import entries
from storage.models import AuditEntry, Enrolment


@dataclass(frozen=True)
class ClientRef:
    """A client as staff tools name them."""

    id: int
    name: str


def client_named(rt: Runtime, name: str) -> ClientRef | None:
    """The client with exactly this name (spaces folded, case ignored), if any."""
    with rt.reading() as session:
        person = people.person_named(session, " ".join(name.split()), role="client")
        return ClientRef(person.id or 0, person.name) if person is not None else None


def audit_entries(rt: Runtime, *, person_id: int | None, limit: int) -> list[AuditEntry]:
    """Audit entries, newest first; only those about one client's enrolments if given."""
    with rt.reading() as session:
        ids = None
        if person_id is not None:
            ids = [e or 0 for e in session.exec(
                select(Enrolment.id).where(Enrolment.person_id == person_id))]
        return entries(session, enrolment_ids=ids, limit=limit)
