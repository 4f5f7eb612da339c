"""The next step: when a client finishes a program (graduation, or a good final-review
score) they are offered the program named by `next:`, with a button. A yes enrols them in
it at once, or, when it has a price, sends them its payment link (the payment then
enrols them); either way their coach is told. Offered once per enrolment.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

from conversations.journey import may_receive
from conversations.messages import Button, Reply
from conversations.program import Program
from conversations.render import fill
from conversations.translations import DEFAULT_LANGUAGE, N_, Translator, translator
from services import keys, notices
from services.client_context import client_language
from services.new_clients import enrol_new
from services.payments import NEXT_REFERENCE
from services.unit_of_work import Runtime, UnitOfWork
from storage import enrolments, next_offers
from storage.models import Enrolment, NextOffer, Person

log = logging.getLogger("coachbot.services.next_offer")

# The offer's buttons name this question, so a press is told apart from a flow's answer.
QUESTION = "next_offer"
YES, NO = "yes", "no"
BUTTONS = ((N_("Yes, I'm in"), YES), (N_("No, thanks"), NO))


def _buttons(language: str) -> tuple[Button, ...]:
    t = translator(language)
    return tuple(Button(t.gettext(label), value) for label, value in BUTTONS)


@dataclass(frozen=True)
class Answered:
    """What a press on the offer did: replies, and an enrolment whose intake starts now."""

    replies: list[Reply]
    started: Enrolment | None = None


def offer(runtime: Runtime, uow: UnitOfWork, enrolment: Enrolment) -> bool:
    """Queue the next-step offer to the client, once; False when there is none to make."""
    program = runtime.programs.get(enrolment.program_id)
    step = program.next if program else None
    following = runtime.programs.get(step.program) if step else None
    person = uow.session.get(Person, enrolment.person_id)
    if program is None or step is None or following is None or person is None:
        return False
    if not next_offers.offer(uow.session, enrolment_id=enrolment.id or 0,
                             program_id=following.id, now=uow.now):
        return False
    first = person.name.split()[0] if person.name.split() else person.name
    text = fill(step.message, {"client.first_name": first, "client.name": person.name,
                               "program.name": program.name})
    text = text.replace("{next.name}", following.name)
    uow.queue_to_person(person.id or 0, keys.next_offer(enrolment.id or 0),
                        [Reply(text, buttons=_buttons(client_language(program, enrolment)),
                               question=QUESTION)])
    log.info("next step offered enrolment=%s program=%s", enrolment.id, following.id)
    return True


def offer_at_graduation(runtime: Runtime, uow: UnitOfWork, enrolment_id: int) -> bool:
    """The offer after the graduation message, in the touchpoint's transaction.

    Not gated on the status being "graduated": the move to the last stage may run just
    after the graduation row in the same tick (both are due at the stage's start)."""
    enrolment = uow.session.get(Enrolment, enrolment_id)
    if enrolment is None or not may_receive(enrolment.status):
        return False
    return offer(runtime, uow, enrolment)


def good_review(program: Program, flow_id: str, answers: Mapping[str, object]) -> bool:
    """Whether a finished flow is the final review with a score worth an offer now."""
    review = program.next.after_review if program.next else None
    if review is None:
        return False
    flow, question = review.question.split(".", 1)
    value = answers.get(question)
    return (flow == flow_id and isinstance(value, int | float) and not isinstance(value, bool)
            and value >= review.at_least)


def answer(runtime: Runtime, uow: UnitOfWork, person: Person, said: str) -> Answered:
    """The client pressed yes or no on their offer."""
    made = next_offers.open_offer_of(uow.session, person.id or 0)
    previous = uow.session.get(Enrolment, made.enrolment_id) if made else None
    following = runtime.programs.get(made.program_id) if made else None
    t = translator(client_language(runtime.programs[previous.program_id], previous)
                   if previous is not None and previous.program_id in runtime.programs
                   else DEFAULT_LANGUAGE)
    if made is None or previous is None or following is None:
        return Answered([Reply(t.gettext("That offer is no longer open. Ask your coach about "
                                         "what comes next."))])
    key = keys.next_offer_answer(previous.id or 0, said)
    if said != YES:
        next_offers.answer(uow.session, made, said=NO, now=uow.now)
        notices.tell_coach(runtime, uow, previous, key=key,
                           text=f"{person.name} said no, thanks to {following.name}.")
        return Answered([Reply(t.gettext("No problem. If you change your mind, tell your "
                                         "coach."))])
    if following.offer is not None and following.offer.stripe_price is not None:
        return _pay_first(runtime, uow, person, previous, made, following, key, t)
    new = enrol_new(runtime, uow, program=following, person=person, name=person.name,
                    email=person.email, zone=person.timezone, coach=None)
    new.coach_id = previous.coach_id  # the coach they know goes on with them
    enrolments.redeem_invite(uow.session, new.invite_code or "", now=uow.now)
    next_offers.answer(uow.session, made, said=YES, now=uow.now, next_enrolment_id=new.id)
    notices.tell_coach(runtime, uow, previous, key=key,
                       text=f"{person.name} said yes to {following.name} and is enrolled.")
    log.info("next step taken enrolment=%s next=%s", previous.id, new.id)
    return Answered([Reply(t.gettext("Wonderful, you're in {program}!").format(
        program=following.name))], started=new)


def _pay_first(runtime: Runtime, uow: UnitOfWork, person: Person, previous: Enrolment,
               made: NextOffer, following: Program, key: str, t: Translator) -> Answered:
    """A priced program: its payment link, marked so the payment enrols this client."""
    assert following.offer is not None
    next_offers.answer(uow.session, made, said=YES, now=uow.now)
    link = following.offer.payment_link
    if link is None:
        notices.tell_coach(runtime, uow, previous, key=key, text=(
            f"{person.name} said yes to {following.name}; its offer has no payment_link, "
            "so please send them a way to pay."))
        return Answered([Reply(t.gettext("Wonderful! Your coach will send you the details of "
                                         "{program}.").format(program=following.name))])
    query = {"client_reference_id": f"{NEXT_REFERENCE}{previous.id}"}
    if person.email:
        query["prefilled_email"] = person.email
    url = f"{link}{'&' if '?' in link else '?'}{urlencode(query)}"
    notices.tell_coach(runtime, uow, previous, key=key, text=(
        f"{person.name} said yes to {following.name}; they have its payment link and are "
        "enrolled as soon as they pay."))
    return Answered([Reply(t.gettext("Wonderful! Join {program} here: {link}").format(
        program=following.name, link=url))])
