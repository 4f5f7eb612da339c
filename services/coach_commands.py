"""`/coachbot digest | client NAME | escalate NAME reason` for coaches and team members."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func
from sqlmodel import Session, col, select

from conversations.action_items import QUESTION_PREFIX
from conversations.formatting import format_day, format_number
from conversations.journey import program_week
from conversations.translations import DEFAULT_LANGUAGE, N_, Translator, translator
from services import escalations as cases
from services import keys
from services.client_context import person_language, shared_language
from services.digest import Digest, build_digest
from services.unit_of_work import Runtime, UnitOfWork
from storage import action_item_store, audit, dedupe, staff
from storage import escalation_store as escalations
from storage.models import Answer, Enrolment, Person

HELP = N_("Usage: `/coachbot digest` (your daily digest now), `/coachbot client NAME` "
          "(one of your clients), `/coachbot escalate NAME reason` (open an escalation).")
ESCALATE_SLA = timedelta(hours=24)


@dataclass(frozen=True)
class CommandAnswer:
    """What the command answers (only to whoever typed it), and whether it opened a case."""

    text: str
    digest: Digest | None = None
    escalated: bool = False
    language: str = DEFAULT_LANGUAGE  # the asker's, for the words around the answer


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
            # A stranger: nobody whose language we know.
            return CommandAnswer(translator(DEFAULT_LANGUAGE).gettext(
                "Only listed coaches and team members can use /coachbot."))
        language = person_language(person)
        t = translator(language)
        if verb == "digest":
            if person.role != "coach":
                return CommandAnswer(t.gettext(
                    "The digest is for coaches: it covers your own clients."), language=language)
            digest = build_digest(session, person, rt.programs, now)
            return CommandAnswer(digest.text, digest=digest, language=language)
        if verb == "client" and rest:
            return _client(rt, uow, person, rest)
        if verb == "escalate" and rest:
            return _escalate(rt, uow, person, rest)
        return CommandAnswer(t.gettext(HELP), language=language)
    return CommandAnswer(HELP)  # not reached (every branch above answers): for the type checker


NO_SUCH_CLIENT = N_("You have no client by that name.")
_PICKED = re.compile(r"#(\d+)")


def _find_clients(session: Session, words: str, coach_id: int | None
                  ) -> tuple[list[tuple[Enrolment, Person]], str]:
    """The clients (of `coach_id`, if given) named by the start of `words`, and the rest."""
    # Longest name first, each client with their latest enrolment. Names are compared
    # literally, ignoring case: `%` or `_` typed are just characters (no LIKE). A choice
    # offered earlier is answered with `#ENROLMENT_ID`.
    tokens = words.split()
    base = select(Enrolment, Person).join(Person, col(Person.id) == col(Enrolment.person_id)
                                          ).where(Person.role == "client")
    if coach_id is not None:
        base = base.where(Enrolment.coach_id == coach_id)
    picked = _PICKED.fullmatch(tokens[0]) if tokens else None
    if picked:
        found = session.exec(base.where(Enrolment.id == int(picked.group(1)))).first()
        return ([found] if found else []), " ".join(tokens[1:])
    for cut in range(len(tokens), 0, -1):
        name = " ".join(tokens[:cut]).lower()
        rows = session.exec(base.where(func.lower(Person.name) == name)
                            .order_by(col(Enrolment.id).desc()))
        latest: dict[int | None, tuple[Enrolment, Person]] = {}
        for enrolment, person in rows:
            latest.setdefault(person.id, (enrolment, person))
        if latest:
            return list(latest.values()), " ".join(tokens[cut:])
    return [], words


def _answer(person: Person, message: str, **values: object) -> CommandAnswer:
    """One of the catalog's answers, in the asker's language."""
    language = person_language(person)
    return CommandAnswer(translator(language).gettext(message).format(**values),
                         language=language)


def _choice(asker: Person, found: list[tuple[Enrolment, Person]], command: str
            ) -> CommandAnswer:
    """Two clients of one name: say how to pick each, in the asker's language."""
    language = person_language(asker)
    t = translator(language)
    options = [t.gettext("`{command}` for the one in {program}, enrolled {day} ({status})"
                         ).format(command=f"/coachbot {command} #{e.id}", program=e.program_id,
                                  day=format_day(e.enrolled_at, language, weekday=False,
                                                 year=True), status=e.status)
               for e, _ in found]
    head = t.ngettext("{count} client is called {name}. Which one?",
                      "{count} clients are called {name}. Which one?", len(found)
                      ).format(count=len(found), name=found[0][1].name)
    return CommandAnswer(head + "\n" + "\n".join(options), language=language)


def _client(rt: Runtime, uow: UnitOfWork, coach: Person, name: str) -> CommandAnswer:
    session = uow.session
    # Only the coach's own clients are searched, so "no such client" and "not yours" read
    # the same: a coach cannot probe for names.
    found, _ = _find_clients(session, name, coach.id)
    if not found:
        return _answer(coach, NO_SUCH_CLIENT)
    if len(found) > 1:
        return _choice(coach, found, "client")
    [(enrolment, client)] = found
    return CommandAnswer(_summary(rt, uow, coach, enrolment, client),
                         language=person_language(coach))


def client_summary(rt: Runtime, slack_id: str, enrolment_id: int) -> CommandAnswer | None:
    """What `/coachbot client NAME` shows, for one of the asking coach's own clients (the
    Home tab's "Summary"), in the coach's language; None for anyone else."""
    with rt.transaction() as uow:
        coach = staff.staff_at(uow.session, slack_id)
        enrolment = uow.session.get(Enrolment, enrolment_id)
        client = uow.session.get(Person, enrolment.person_id) if enrolment else None
        if coach is None or enrolment is None or client is None \
                or enrolment.coach_id != coach.id:
            return None
        return CommandAnswer(_summary(rt, uow, coach, enrolment, client),
                             language=person_language(coach))


def _summary(rt: Runtime, uow: UnitOfWork, coach: Person, enrolment: Enrolment,
             client: Person) -> str:
    session, now = uow.session, uow.now
    # Every staff read of a client's data is on the record (ids only).
    audit.record(session, at=now, actor=f"slack:{coach.id}", action="client_viewed",
                 enrolment_id=enrolment.id)
    program = rt.programs.get(enrolment.program_id)
    week = program_week(enrolment.enrolled_at, now)
    answers = list(session.exec(select(Answer).where(
        Answer.enrolment_id == enrolment.id, col(Answer.number).is_not(None),
        # Action items have a line of their own, below.
        col(Answer.question_id).not_like(f"{QUESTION_PREFIX}%"))
        .order_by(col(Answer.answered_at).desc()).limit(12)))
    items = action_item_store.open_items(session, enrolment.id or 0)
    language = person_language(coach)  # words, numbers and days the coach's way
    t = translator(language)
    scores = ", ".join(f"{a.question_id} {format_number(a.number or 0, language, grouping=False)} "
                       f"({format_day(a.answered_at, language, weekday=False)})"
                       for a in reversed(answers)) or t.gettext("no scores yet")
    cases = escalations.open_for(session, [enrolment.id or 0])
    lines = [t.gettext("{client}: {program}, week {week}, {status}, stage {stage}").format(
                 client=client.name, program=program.name if program else enrolment.program_id,
                 week=week, status=enrolment.status, stage=enrolment.stage),
             t.gettext("Recent scores: {scores}").format(scores=scores),
             t.gettext("Open action items: {count}").format(count=len(items))
             + "".join(f"\n- {i.text}" for i in items),
             t.gettext("Open escalations: {count}").format(count=len(cases))
             + "".join(f"\n- {c.reason}" for c in cases)]
    return "\n".join(lines)


def _team_words(rt: Runtime) -> Translator:
    """The team channel's catalog: its post is read there, not by the asker."""
    return translator(shared_language(rt.programs.values()))


def _escalate(rt: Runtime, uow: UnitOfWork, person: Person, words: str) -> CommandAnswer:
    found, reason = _find_clients(uow.session, words,
                                  person.id if person.role == "coach" else None)
    if not found:
        return _answer(person, NO_SUCH_CLIENT)
    if len(found) > 1:
        return _choice(person, found, "escalate")
    [(enrolment, client)] = found
    if not reason:
        return _answer(person, N_("Say why: `/coachbot escalate NAME reason`."))
    case = cases.open_case(rt, uow, enrolment_id=enrolment.id or 0, reason=reason,
                           owner_role="team", sla=ESCALATE_SLA, actor=f"person:{person.id}",
                           evidence=((_team_words(rt).gettext("raised by"), person.name),))
    if case is None:
        return _answer(person, N_("{client} already has an open escalation for that reason."),
                       client=client.name)
    answer = _answer(person, N_("Escalation #{id} opened for {client}; it is going to the "
                                "team channel."), id=case.id, client=client.name)
    return CommandAnswer(answer.text, escalated=True, language=answer.language)
