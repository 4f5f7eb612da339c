"""`/coachbot digest | client NAME | escalate NAME reason` for coaches and team members."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from sqlmodel import Session, col, select

from conversations.journey import program_week
from services import escalations as cases
from services import keys
from services.digest import Digest, build_digest
from services.unit_of_work import Runtime, UnitOfWork
from storage import audit, dedupe, staff
from storage import escalation_store as escalations
from storage.models import Answer, Enrolment, Person

HELP = ("Usage: `/coachbot digest` (your daily digest now), `/coachbot client NAME` "
        "(one of your clients), `/coachbot escalate NAME reason` (open an escalation).")
ESCALATE_SLA = timedelta(hours=24)


@dataclass(frozen=True)
class CommandAnswer:
    """What the command answers (only to whoever typed it), and whether it opened a case."""

    text: str
    digest: Digest | None = None
    escalated: bool = False


def run(rt: Runtime, user_id: str, text: str, *, trigger_id: str) -> CommandAnswer | None:
    """Run one slash command for the Slack user `user_id`; None if `trigger_id` ran before."""
    # Slack gives each invocation its own trigger_id: the same one again is a replay.
    verb, _, rest = text.strip().partition(" ")
    verb, rest = verb.lower(), rest.strip()
    with rt.transaction() as uow:
        session, now = uow.session, uow.now
        # In the same commit as the command's effect: a failed run can be sent again.
        if not dedupe.first_delivery(session, channel=cases.TEAM_CHANNEL,
                                     event_id=keys.command(trigger_id), now=now):
            return None
        person = staff.staff_at(session, user_id)
        if person is None:
            return CommandAnswer("Only listed coaches and team members can use /coachbot.")
        if verb == "digest":
            if person.role != "coach":
                return CommandAnswer("The digest is for coaches: it covers your own clients.")
            digest = build_digest(session, person, rt.programs, now)
            return CommandAnswer(digest.text, digest=digest)
        if verb == "client" and rest:
            return _client(rt, uow, person, rest)
        if verb == "escalate" and rest:
            return _escalate(rt, uow, person, rest)
    return CommandAnswer(HELP)


def _find_client(session: Session, words: str) -> tuple[Enrolment, Person, str] | None:
    """The client whose name starts `words` (longest match), and the rest of the text."""
    tokens = words.split()
    for cut in range(len(tokens), 0, -1):
        name = " ".join(tokens[:cut])
        found = session.exec(
            select(Enrolment, Person).join(Person, col(Person.id) == col(Enrolment.person_id))
            .where(Person.role == "client", col(Person.name).ilike(name))
            .order_by(col(Enrolment.id).desc())).first()
        if found is not None:
            return found[0], found[1], " ".join(tokens[cut:])
    return None


def _client(rt: Runtime, uow: UnitOfWork, coach: Person, name: str) -> CommandAnswer:
    session, now = uow.session, uow.now
    found = _find_client(session, name)
    # The same answer for "no such client" and "not yours": a coach cannot probe names.
    if found is None or found[0].coach_id != coach.id:
        return CommandAnswer("You have no client by that name.")
    enrolment, client, _ = found
    # Every staff read of a client's data is on the record (ids only).
    audit.record(session, at=now, actor=f"slack:{coach.id}", action="client_viewed",
                 enrolment_id=enrolment.id)
    program = rt.programs.get(enrolment.program_id)
    week = program_week(enrolment.enrolled_at, now)
    answers = list(session.exec(select(Answer).where(
        Answer.enrolment_id == enrolment.id, col(Answer.number).is_not(None))
        .order_by(col(Answer.answered_at).desc()).limit(12)))
    scores = ", ".join(f"{a.question_id} {a.number:g} ({a.answered_at:%d %b})"
                       for a in reversed(answers)) or "no scores yet"
    cases = escalations.open_for(session, [enrolment.id or 0])
    lines = [f"{client.name}: {program.name if program else enrolment.program_id}, "
             f"week {week}, {enrolment.status}, stage {enrolment.stage}",
             f"Recent scores: {scores}",
             f"Open escalations: {len(cases)}" + "".join(f"\n- {c.reason}" for c in cases)]
    return CommandAnswer("\n".join(lines))


def _escalate(rt: Runtime, uow: UnitOfWork, person: Person, words: str) -> CommandAnswer:
    found = _find_client(uow.session, words)
    if found is None or (person.role == "coach" and found[0].coach_id != person.id):
        return CommandAnswer("You have no client by that name.")
    enrolment, client, reason = found
    if not reason:
        return CommandAnswer("Say why: `/coachbot escalate NAME reason`.")
    case = cases.open_case(rt, uow, enrolment_id=enrolment.id or 0, reason=reason,
                           owner_role="team", sla=ESCALATE_SLA, actor=f"person:{person.id}",
                           evidence=(("raised by", person.name),))
    if case is None:
        return CommandAnswer(f"{client.name} already has an open escalation for that reason.")
    text = f"Escalation #{case.id} opened for {client.name}; it is going to the team channel."
    return CommandAnswer(text, escalated=True)
