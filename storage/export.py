"""Everything stored about one client, as plain JSON-ready data (the right of access)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlmodel import Session, col, select

from conversations.translations import DEFAULT_LANGUAGE, translator
from storage.models import (
    ActionItem,
    Answer,
    Booking,
    CoachingSession,
    Consent,
    Conversation,
    Enrolment,
    Escalation,
    Identity,
    MetricValue,
    Payment,
    Person,
    RuleFiring,
    SessionNote,
)

FORMAT = "coachbot-export/1"


def _iso(value: datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _day(value: date | None) -> str | None:
    return value.isoformat() if value is not None else None


def _rows(session: Session, model: Any, enrolment_id: int) -> list[Any]:
    """An enrolment's rows of one table in the order they were stored (metric values, which
    have no id, in time order)."""
    order = col(model.at) if model is MetricValue else col(model.id)
    return list(session.exec(select(model).where(model.enrolment_id == enrolment_id)
                             .order_by(order)))


def export_person(session: Session, person: Person, *, now: datetime) -> dict[str, Any]:
    """A client's data: who they are, how they're reached, and each enrolment's records."""
    identities = session.exec(select(Identity).where(Identity.person_id == person.id))
    enrolments = session.exec(select(Enrolment).where(Enrolment.person_id == person.id)
                              .order_by(col(Enrolment.id)))
    return {
        "format": FORMAT,
        "exported_at": _iso(now),
        "person": {"name": person.name, "email": person.email, "timezone": person.timezone,
                   "quiet_hours": [person.quiet_start, person.quiet_end],
                   "created_at": _iso(person.created_at)},
        "reached_on": [{"channel": i.channel, "address": i.address} for i in identities],
        "enrolments": [_enrolment(session, e) for e in enrolments],
    }


def _enrolment(session: Session, e: Enrolment) -> dict[str, Any]:
    eid = e.id or 0
    coach = session.get(Person, e.coach_id) if e.coach_id else None
    conversations = _rows(session, Conversation, eid)
    flow_of = {c.id: c.flow_id for c in conversations}  # an answer's flow is its conversation's
    return {
        "program": e.program_id, "status": e.status, "stage": e.stage,
        "coach": coach.name if coach else None,
        "enrolled_at": _iso(e.enrolled_at), "joined_at": _iso(e.joined_at),
        "checkin": {"day": e.checkin_day, "time": e.checkin_time},
        "consents": [{"given": c.given, "at": _iso(c.at),
                      "statement_checksum": c.statement_checksum}
                     for c in _rows(session, Consent, eid)],
        "conversations": [{"flow": c.flow_id, "started_at": _iso(c.started_at),
                           "closed_at": _iso(c.closed_at), "outcome": c.outcome}
                          for c in conversations],
        "answers": [{"flow": flow_of.get(a.conversation_id), "question": a.question_id,
                     "value": a.value.get("v"), "text": a.text,
                     "answered_at": _iso(a.answered_at), "edited_at": _iso(a.edited_at)}
                    for a in _rows(session, Answer, eid)],
        "metrics": [{"metric": m.metric_id, "value": m.value, "at": _iso(m.at)}
                    for m in _rows(session, MetricValue, eid)],
        "rules_fired": [{"rule": r.rule_id, "values": r.values, "fired_at": _iso(r.fired_at),
                         "cleared_at": _iso(r.cleared_at)}
                        for r in _rows(session, RuleFiring, eid)],
        "escalations": [{"reason": x.reason, "opened_at": _iso(x.opened_at),
                         "resolved_at": _iso(x.resolved_at), "note": x.resolution_note}
                        for x in _rows(session, Escalation, eid)],
        "session_notes": [{"notes": n.notes, "next_checkpoint": _day(n.next_checkpoint),
                           "at": _iso(n.created_at)} for n in _rows(session, SessionNote, eid)],
        "action_items": [{"text": i.text, "due": _day(i.due), "status": i.status,
                          "last_answer": i.last_answer}
                         for i in _rows(session, ActionItem, eid)],
        "coaching_sessions": [{"at": _iso(s.at), "cancelled_at": _iso(s.cancelled_at)}
                              for s in _rows(session, CoachingSession, eid)],
        "payments": [{"checkout_session": p.checkout_session_id, "price": p.price_id,
                      "status": p.status, "at": _iso(p.created_at)}
                     for p in _rows(session, Payment, eid)],
        "bookings": [{"source": b.source, "starts_at": _iso(b.starts_at), "status": b.status}
                     for b in _rows(session, Booking, eid)],
    }


def summary(data: dict[str, Any], language: str = DEFAULT_LANGUAGE) -> str:
    """A short, readable account of an export in `language`, for the message that carries
    the file."""
    t = translator(language)
    enrolments = data["enrolments"]
    answers = sum(len(e["answers"]) for e in enrolments)
    conversations = sum(len(e["conversations"]) for e in enrolments)
    metrics = sum(len(e["metrics"]) for e in enrolments)
    consent = next((c for e in enrolments for c in reversed(e["consents"])), None)
    if consent is None:
        consent_line = t.gettext("You haven't answered the consent question yet.")
    elif consent["given"]:
        consent_line = t.gettext("You agreed on {date}.").format(date=consent["at"][:10])
    else:
        consent_line = t.gettext("You declined on {date}.").format(date=consent["at"][:10])
    channels = ", ".join(sorted({r["channel"] for r in data["reached_on"]})) or "-"
    counts = [t.ngettext("{count} answer", "{count} answers", answers).format(count=answers),
              t.ngettext("{count} conversation", "{count} conversations",
                         conversations).format(count=conversations),
              t.ngettext("{count} progress value", "{count} progress values",
                         metrics).format(count=metrics)]
    return t.gettext("Here is everything I keep about you (attached as JSON): {counts}, how "
                     "to reach you ({channels}), your name and time zone. {consent} Send "
                     "/delete to erase it.").format(counts=", ".join(counts),
                                                    channels=channels, consent=consent_line)
