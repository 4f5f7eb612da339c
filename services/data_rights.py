"""A client's data rights, for chat and the CLI alike: a copy of their data, and erasure."""

from __future__ import annotations

import json
from datetime import datetime

from sqlmodel import Session

from conversations.messages import Attachment, Reply
from conversations.translations import DEFAULT_LANGUAGE, translator
from services import keys
from services.client_context import staff_language
from services.escalations import TEAM_CHANNEL
from services.unit_of_work import Runtime, UnitOfWork
from storage import audit, erasure, export, outbox
from storage.db import checkpoint
from storage.enrolments import current_enrolment
from storage.models import Person

EXPORT_FILENAME = "coachbot-my-data.json"
# What the team channel's posts about an erased client say instead.
ERASED_POST = "Escalation #{id}: erased at the client's request."
ERASED_RELAY = "A check-in: erased at the client's request."
ERASED_NOTES_OFFER = "A session's notes: erased at the client's request."


def export_json(session: Session, person: Person, *, now: datetime) -> tuple[dict, bytes]:
    """The client's data and the same as a UTF-8 JSON file."""
    data = export.export_person(session, person, now=now)
    return data, json.dumps(data, ensure_ascii=False, indent=2).encode()


def export_reply(session: Session, person: Person, *, actor: str, now: datetime,
                 language: str = DEFAULT_LANGUAGE) -> Reply:
    """The summary message (in `language`) with the JSON file attached; the read goes in the
    audit log."""
    data, blob = export_json(session, person, now=now)
    audit_read(session, person, action="data_exported", actor=actor, now=now)
    return Reply(text=export.summary(data, language),
                 attachment=Attachment(EXPORT_FILENAME, "application/json", blob))


def audit_read(session: Session, person: Person, *, action: str, actor: str,
               now: datetime) -> None:
    """Record that someone read a client's data (ids only)."""
    enrolment = current_enrolment(session, person.id or 0)
    audit.record(session, at=now, actor=actor, action=action,
                 enrolment_id=enrolment.id if enrolment else None)


def erase_client(uow: UnitOfWork, person: Person, *, actor: str) -> erasure.Erased:
    """Erase a client and tell each of their coaches, without naming the client."""
    now = uow.now
    team_posts = _team_posts_about(uow.session, person)
    cards = _coach_posts_about(uow.session, person)
    erased = erasure.erase_person(uow.session, person, actor=actor, now=now)
    for address, platform_id, case_id in team_posts:
        uow.queue(key=keys.erased_post(address, platform_id), channel=TEAM_CHANNEL,
                  address=address, person_id=None,
                  reply=Reply(ERASED_POST.format(id=case_id), edit=True, anchor=platform_id))
    # The check-in cards and the client's words relayed into their threads, in the coach's
    # Slack: edited like the team's posts.
    for address, platform_id, offer in cards:
        uow.queue(key=keys.erased_post(address, platform_id), channel=TEAM_CHANNEL,
                  address=address, person_id=None,
                  reply=Reply(ERASED_NOTES_OFFER if offer else ERASED_RELAY, edit=True,
                              anchor=platform_id))
    # A coach's digest or note already in their Slack DM is edited to its scrubbed text.
    # Slack lets the bot edit its messages at any age; other channels keep theirs.
    for channel, address, platform_id, text in erased.rewritten:
        if channel == TEAM_CHANNEL and text:
            uow.queue(key=keys.erased_post(address, platform_id), channel=channel,
                      address=address, person_id=None,
                      reply=Reply(text, edit=True, anchor=platform_id))
    # The deleted rows' bytes must leave SQLite's -wal file too, not only the database.
    engine = uow.session.get_bind()
    uow.after_commit.append(lambda: checkpoint(engine))
    for coach_id in erased.coach_ids:
        programs = ", ".join(erased.program_ids)
        t = translator(staff_language(uow.session, coach_id))
        uow.queue_to_person(coach_id, keys.erased_notice(erased.enrolment_ids, coach_id), [
            Reply(t.gettext("A client of yours in {programs} asked for their data to be "
                            "erased, and it was, on {date}. Their check-ins and reminders have "
                            "stopped; the audit log keeps only that it happened.").format(
                programs=programs, date=f"{now:%Y-%m-%d}"))])
    return erased


def _coach_posts_about(session: Session, person: Person) -> list[tuple[str, str, bool]]:
    """The client's check-in cards, relayed words and offers of session notes as sent to
    their coach's Slack, as (address, platform id, an offer?); their outbox rows go with
    the client's."""
    rows = outbox.posts_keyed(session, [], keys.relayed())
    return [(row.address, row.platform_message_id, bool(row.payload.get("notes_for")))
            for row in rows
            if row.person_id == person.id and row.channel == TEAM_CHANNEL
            and row.status == "sent" and row.platform_message_id]


def _team_posts_about(session: Session, person: Person) -> list[tuple[str, str, int]]:
    """The team channel's messages about the client's escalations that were sent, as
    (address, platform id, escalation id); their outbox rows are deleted."""
    posts: dict[tuple[str, str], int] = {}
    rows = []
    for case_id in erasure.escalation_ids(session, erasure.enrolment_ids(session, person.id or 0)):
        post, later = keys.about_escalation(case_id)
        for row in outbox.posts_keyed(session, [post], [later]):
            rows.append(row.id or 0)
            # An edit's platform id is the post's own: each message is edited once.
            if row.channel == TEAM_CHANNEL and row.status == "sent" and row.platform_message_id:
                posts.setdefault((row.address, row.platform_message_id), case_id)
    outbox.delete_messages(session, rows)
    return [(address, ts, case_id) for (address, ts), case_id in posts.items()]


def erase_by_staff(rt: Runtime, person_id: int, *, actor: str) -> erasure.Erased | None:
    """Erase a client on a staff member's request (the CLI); their coach is told."""
    with rt.transaction() as uow:
        person = uow.session.get(Person, person_id)
        if person is None or person.role != "client":
            return None
        return erase_client(uow, person, actor=actor)


def export_for_staff(rt: Runtime, person_id: int, *, actor: str) -> bytes | None:
    """A client's data as JSON for a staff member (the CLI); the read is audited."""
    with rt.transaction() as uow:
        person = uow.session.get(Person, person_id)
        if person is None or person.role != "client":
            return None
        _, blob = export_json(uow.session, person, now=uow.now)
        audit_read(uow.session, person, action="data_exported", actor=actor, now=uow.now)
        return blob
