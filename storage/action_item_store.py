"""Session notes and their action items: written by a coach, asked about at check-ins."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime

from sqlalchemy import bindparam, delete
from sqlmodel import Session, col, select

from conversations.action_items import AskedItem
from storage.models import ActionItem, CoachingSession, SessionNote


def add_note(session: Session, *, enrolment_id: int, coach_id: int | None, notes: str,
             items: Sequence[tuple[str, date | None]], next_checkpoint: date | None,
             session_id: int | None, now: datetime) -> tuple[SessionNote, list[ActionItem]]:
    """Store a session's notes and its action items (text, due date)."""
    note = SessionNote(enrolment_id=enrolment_id, coach_id=coach_id, notes=notes[:3000],
                       next_checkpoint=next_checkpoint, session_id=session_id, created_at=now)
    session.add(note)
    session.flush()
    rows = [ActionItem(enrolment_id=enrolment_id, note_id=note.id or 0, text=text[:300],
                       due=due, created_at=now) for text, due in items]
    session.add_all(rows)
    session.flush()
    return note, rows


def open_items(session: Session, enrolment_id: int) -> list[AskedItem]:
    """The enrolment's action items not done yet, oldest first (a statement built once, no
    objects: every check-in the tick opens asks it)."""
    return list(open_items_of_many(session, [enrolment_id])[enrolment_id])


def open_items_of_many(session: Session, enrolment_ids: list[int]
                       ) -> dict[int, tuple[AskedItem, ...]]:
    """`open_items` of many enrolments in one query (each listed, with none if none)."""
    session.flush()  # an item written in this transaction counts
    found: dict[int, list[AskedItem]] = {i: [] for i in enrolment_ids}
    if enrolment_ids:
        for row in session.connection().execute(_OPEN_ITEMS, {"e": enrolment_ids}):
            found[row.enrolment_id].append(AskedItem(id=row.id or 0, text=row.text,
                                                     due=row.due))
    return {i: tuple(items) for i, items in found.items()}


_ITEM = ActionItem.__table__  # type: ignore[attr-defined]
_OPEN_ITEMS = (select(_ITEM.c.enrolment_id, _ITEM.c.id, _ITEM.c.text, _ITEM.c.due)
               .where(_ITEM.c.enrolment_id.in_(bindparam("e", expanding=True)),
                      _ITEM.c.status == "open")
               .order_by(_ITEM.c.id))


def record_answer(session: Session, *, enrolment_id: int, item_id: int, answer: str,
                  now: datetime) -> bool:
    """The client's answer about one of their items; "done" closes it. False if not theirs."""
    item = session.get(ActionItem, item_id)
    if item is None or item.enrolment_id != enrolment_id:
        return False
    item.last_answer = answer
    item.answered_at = now
    item.status = "done" if answer == "done" else "open"
    session.add(item)
    return True


def texts(session: Session, item_ids: Sequence[int]) -> dict[int, str]:
    """The words of some action items, by id."""
    if not item_ids:
        return {}
    return {row.id or 0: row.text for row in session.exec(
        select(ActionItem).where(col(ActionItem.id).in_(list(item_ids))))}


def last_session(session: Session, enrolment_id: int, before: datetime) -> int | None:
    """The id of the enrolment's latest session (not cancelled) that began by `before`."""
    return session.exec(
        select(CoachingSession.id).where(CoachingSession.enrolment_id == enrolment_id,
                                         col(CoachingSession.cancelled_at).is_(None),
                                         col(CoachingSession.at) <= before)
        .order_by(col(CoachingSession.at).desc())).first()


def notes_of(session: Session, enrolment_id: int) -> list[tuple[SessionNote, list[ActionItem]]]:
    """Every note of an enrolment with its items, oldest first (the client's export)."""
    notes = list(session.exec(select(SessionNote).where(SessionNote.enrolment_id == enrolment_id)
                              .order_by(col(SessionNote.id))))
    items: dict[int, list[ActionItem]] = {}
    for item in session.exec(select(ActionItem).where(ActionItem.enrolment_id == enrolment_id)
                             .order_by(col(ActionItem.id))):
        items.setdefault(item.note_id, []).append(item)
    return [(note, items.get(note.id or 0, [])) for note in notes]


def erase(session: Session, enrolment_ids: list[int]) -> None:
    """Delete every note and action item of these enrolments (items first: they point at
    their note)."""
    session.execute(delete(ActionItem).where(col(ActionItem.enrolment_id).in_(enrolment_ids)))
    session.execute(delete(SessionNote).where(col(SessionNote.enrolment_id).in_(enrolment_ids)))
