"""Coaches and team members: adding them, and telling them apart from clients."""

from __future__ import annotations

from services.client_context import person_language
from services.unit_of_work import Runtime
from storage import staff
from storage.staff import StaffError

__all__ = ["StaffError", "add", "is_staff"]


def is_staff(rt: Runtime, slack_id: str) -> bool:
    """Whether a Slack user is a listed coach or team member."""
    with rt.reading() as session:
        return staff.staff_at(session, slack_id) is not None


def language_of(rt: Runtime, slack_id: str) -> str:
    """The language a Slack user is written to in: a listed staff member's own (`staff add
    --language`), else English."""
    with rt.reading() as session:
        person = staff.staff_at(session, slack_id)
        return person_language(person)


def add(rt: Runtime, *, name: str, slack_id: str, role: str, timezone: str,
        backup: str | None = None, digest_time: str | None = None,
        checkin_channel: str | None = None, language: str | None = None) -> None:
    """Add a coach or team member reachable in Slack (again to update them)."""
    with rt.transaction() as uow:
        staff.add_staff(uow.session, name=" ".join(name.split()), slack_id=slack_id.strip(),
                        role=role, timezone=timezone, backup=backup, now=uow.now,
                        digest_time=digest_time, checkin_channel=checkin_channel,
                        language=language)
