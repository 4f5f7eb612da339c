"""A coach's notes after a session: notes for the client, up to five action items with due
dates, the next checkpoint. Offered to the coach after each booked session (a "Notes"
button, also on the Home tab); sent to the client on their channel; stored, audited by id
only, erased with the client. The next check-in asks about each open item
(conversations/action_items.py).
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from conversations.action_items import MAX_ITEMS, MAX_TEXT
from conversations.formatting import format_day
from conversations.messages import Reply
from conversations.translations import DEFAULT_LANGUAGE, N_, translator
from services import coach_home, keys
from services.client_context import client_language, person_language, staff_language
from services.coach_relay import REFUSALS, refusal
from services.unit_of_work import Runtime, UnitOfWork
from storage import action_item_store, audit, dedupe, staff
from storage.models import Enrolment, Person

log = logging.getLogger("coachbot.session_notes")

MAX_NOTES = 3000
# The form's refusals, shown beside their field in the coach's language.
NOTHING = N_("Write notes for the client or at least one action item.")
PAST = N_("This date has passed.")
NO_TEXT = N_("Say what the action item is, or clear its date.")


@dataclass(frozen=True)
class NotesForm:
    """What the notes form needs: whose notes, and the client's today (dates before it are
    refused)."""

    enrolment_id: int
    client: str
    today: date
    language: str = DEFAULT_LANGUAGE  # the coach's (`staff add --language`)


@dataclass(frozen=True)
class Draft:
    """What the coach typed in the form; `items` are (text, due date) in the form's order."""

    notes: str = ""
    items: tuple[tuple[str, date | None], ...] = ()
    next_checkpoint: date | None = None


@dataclass(frozen=True)
class Saved:
    """What a submission did: `errors` by field ("notes", "item_1", "due_1",
    "next_checkpoint") when it was refused, else the note stored and sent."""

    errors: dict[str, str] = field(default_factory=dict)
    note_id: int | None = None
    items: int = 0


def form_for(rt: Runtime, slack_id: str, enrolment_id: int) -> NotesForm | None:
    """The notes form of one client, for their own coach only (None for anyone else)."""
    with rt.reading() as session:
        found = _coached(session, slack_id, enrolment_id)
        if found is None:
            return None
        coach, enrolment, client = found
        today = rt.clock.now().astimezone(ZoneInfo(client.timezone)).date()
        return NotesForm(enrolment_id=enrolment.id or 0, client=client.name, today=today,
                         language=person_language(coach))


def _coached(session, slack_id: str, enrolment_id: int
             ) -> tuple[Person, Enrolment, Person] | None:
    coach = staff.staff_at(session, slack_id)
    enrolment = session.get(Enrolment, enrolment_id)
    if coach is None or enrolment is None or enrolment.coach_id != coach.id:
        return None
    client = session.get(Person, enrolment.person_id)
    return (coach, enrolment, client) if client is not None else None


def problems(draft: Draft, today: date, language: str = DEFAULT_LANGUAGE) -> dict[str, str]:
    """What is wrong with a draft, by field, in the coach's `language`; empty when it may
    be sent."""
    t = translator(language)
    errors: dict[str, str] = {}
    if not draft.notes.strip() and not any(text.strip() for text, _ in draft.items):
        errors["notes"] = t.gettext(NOTHING)
    if len(draft.notes) > MAX_NOTES:
        errors["notes"] = t.gettext("Please keep the notes under {count} characters.").format(
            count=MAX_NOTES)
    for n, (text, due) in enumerate(draft.items[:MAX_ITEMS], start=1):
        if due is not None and not text.strip():
            errors[f"item_{n}"] = t.gettext(NO_TEXT)
        if len(text) > MAX_TEXT:
            errors[f"item_{n}"] = t.gettext(
                "Please keep an action item under {count} characters.").format(count=MAX_TEXT)
        if due is not None and due < today:
            errors[f"due_{n}"] = t.gettext(PAST)
    if draft.next_checkpoint is not None and draft.next_checkpoint < today:
        errors["next_checkpoint"] = t.gettext(PAST)
    return errors


def save(rt: Runtime, *, slack_id: str, enrolment_id: int, draft: Draft,
         submission: str) -> Saved:
    """Store a coach's notes and send them to the client, once per `submission`."""
    with rt.transaction() as uow:
        session = uow.session
        found = _coached(session, slack_id, enrolment_id)
        if found is None:
            # Someone who is not the coach: nobody whose language we know.
            return Saved(errors={"notes": translator(DEFAULT_LANGUAGE).gettext(
                "Only this client's coach can write their notes.")})
        coach, enrolment, client = found
        today = uow.now.astimezone(ZoneInfo(client.timezone)).date()
        t = translator(person_language(coach))
        errors = problems(draft, today, person_language(coach))
        refused = refusal(session, enrolment)
        if refused is not None:
            errors.setdefault("notes", t.gettext(REFUSALS[refused]))
        if errors:
            return Saved(errors=errors)
        if not dedupe.first_delivery(session, channel="slack", event_id=f"view:{submission}",
                                     now=uow.now):
            return Saved()  # the same form submitted twice: it was sent once
        items = [(text.strip(), due) for text, due in draft.items[:MAX_ITEMS] if text.strip()]
        note, rows = action_item_store.add_note(
            session, enrolment_id=enrolment_id, coach_id=coach.id, notes=draft.notes.strip(),
            items=items, next_checkpoint=draft.next_checkpoint,
            session_id=action_item_store.last_session(session, enrolment_id, uow.now),
            now=uow.now)
        program = rt.program(enrolment.program_id)
        text = client_text(coach.name, draft.notes.strip(), items, draft.next_checkpoint,
                           asks=program.action_items.enabled,
                           language=client_language(program, enrolment))
        uow.queue_to_person(client.id or 0, keys.session_notes(note.id or 0), [Reply(text)])
        audit.record(session, at=uow.now, actor=f"person:{coach.id}",
                     action="session_notes_sent", enrolment_id=enrolment_id,
                     note=note.id or 0, items=len(rows))
        coach_home.refresh(uow, coach.id, f"notes:{note.id}")
        log.info("session notes sent enrolment=%s note=%s items=%d", enrolment_id, note.id,
                 len(rows))
        return Saved(note_id=note.id, items=len(rows))


def client_text(coach: str, notes: str, items: list[tuple[str, date | None]],
                next_checkpoint: date | None, *, asks: bool,
                language: str = DEFAULT_LANGUAGE) -> str:
    """The message the client gets, in their `language`: the notes, the numbered items, the
    next checkpoint."""
    t = translator(language)
    parts = [t.gettext("Notes from your session with {coach}:").format(coach=coach)]
    if notes:
        parts.append(notes)
    if items:
        # TRANSLATORS: one numbered action item, e.g. "1. Call five clients (by Fri 06 Mar)".
        lines = [(t.gettext("{number}. {item} (by {due})") if due else
                  t.gettext("{number}. {item}")).format(
            number=n, item=text, due=format_day(due, language) if due else "")
                 for n, (text, due) in enumerate(items, start=1)]
        parts.append(t.gettext("Your action items:") + "\n" + "\n".join(lines))
    if next_checkpoint is not None:
        parts.append(t.gettext("Next checkpoint: {day}.").format(
            day=format_day(next_checkpoint, language)))
    if items and asks:
        parts.append(t.gettext("I'll ask how they went at your next check-in."))
    return "\n\n".join(parts)


def offer_to_coach(uow: UnitOfWork, enrolment_id: int, *, key: str) -> bool:
    """After a session: a message to the client's coach with a "Notes" button."""
    session = uow.session
    enrolment = session.get(Enrolment, enrolment_id)
    client = session.get(Person, enrolment.person_id) if enrolment else None
    address = staff.slack_id_of(session, enrolment.coach_id) if enrolment else None
    if enrolment is None or client is None or address is None:
        return False
    language = staff_language(session, enrolment.coach_id or 0)
    text = translator(language).gettext(
        "How did the session with {client} go? Send them your notes and action items; the "
        "next check-in asks about each.").format(client=client.name)
    # The client's id on the row: erasing them takes the offer too, sent or not.
    return uow.queue(key=key, channel="slack", address=address, person_id=client.id,
                     reply=Reply(text=text, notes_for=enrolment_id, language=language))
