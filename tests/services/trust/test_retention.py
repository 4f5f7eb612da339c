"""Answers are erased the program-set number of days after the end, by a daily pass."""

from __future__ import annotations

import json
from datetime import timedelta

import sqlalchemy as sa
from sqlmodel import select

from bot.composition import build_app
from bot.settings import Settings
from conversations.messages import Reply
from services import escalations, keys
from services.enrolment import enrol_client
from services.flows import open_flow_now
from services.retention import apply_retention
from storage.db import session
from storage.models import Conversation, Escalation, OutboxMessage
from storage.outbox import FORGOTTEN
from tests.bot.test_cli import cli  # noqa: F401  (fixture)
from tests.conftest import INTAKE, SAMPLE, Client


def answers(app) -> int:
    with app.db.connect() as connection:
        return connection.execute(sa.text("SELECT count(*) FROM answer")).scalar_one()


def test_answers_are_kept_until_365_days_after_the_12_weeks_then_erased(enrol, app, clock):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    clock.advance(timedelta(weeks=12, days=364))
    assert apply_retention(app.rt) == 0
    assert answers(app) == 5
    clock.advance(timedelta(days=1))
    assert apply_retention(app.rt) == 1
    assert answers(app) == 0
    # The next day's pass finds nothing more; the audit log says what happened, not what was.
    clock.advance(timedelta(days=1))
    assert apply_retention(app.rt) == 0
    with app.db.connect() as connection:
        detail = connection.execute(sa.text(
            "SELECT action, actor, detail FROM audit_log WHERE action = 'answers_erased'")).all()
    assert [tuple(row[:2]) for row in detail] == [("answers_erased", "retention")]
    stored = detail[0][2]  # JSON: text on SQLite, already a dict on PostgreSQL
    reason = (json.loads(stored) if isinstance(stored, str) else stored)["reason"]
    assert reason == "365 days after the end"
    assert "There's nothing to answer right now" in client.says("hello")[-1]


def test_two_clients_past_their_date_are_both_erased_in_one_pass(enrol, app, clock):
    for name in ("Ana Lima", "Ben Ode"):
        client = enrol(name)
        for typed in INTAKE:
            client.says(typed)
    clock.advance(timedelta(weeks=12, days=365))
    assert apply_retention(app.rt) == 2
    assert answers(app) == 0


def test_preview_lists_the_retention_date(cli):  # noqa: F811
    from tests.conftest import SAMPLE

    result = cli("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Berlin")
    assert result.exit_code == 0
    assert "Retention: answers erased 365 days after the program ends, on Tue 2027-03-30" \
        in result.stdout


def sent_keys(app) -> dict[str, str]:
    """Every outbox row's idempotency key and its payload as stored."""
    with app.db.connect() as connection:
        return {key: str(payload) for key, payload in connection.execute(sa.text(
            "SELECT idempotency_key, payload FROM outbox WHERE status = 'sent'"))}


def test_a_week_after_sending_the_replies_go_and_an_escalation_post_stays_blank(
        enrol, app, clock):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    # A post about an escalation stays: erasing the client edits it later.
    with app.rt.transaction() as uow:
        uow.queue(key=keys.escalation_post(1), channel=client.channel, address=client.address,
                  person_id=None, reply=Reply("Ana Lima has gone quiet"))
    client.flush()
    before = sent_keys(app)
    assert {k for k in before if not k.startswith("in:")} == {keys.escalation_post(1)}
    clock.advance(timedelta(days=6))
    apply_retention(app.rt)
    assert sent_keys(app) == before  # within the week, kept as sent
    clock.advance(timedelta(days=2))
    apply_retention(app.rt)
    after = sent_keys(app)
    assert list(after) == [keys.escalation_post(1)]
    assert "Ana" not in after[keys.escalation_post(1)]


def _audit_details(app, action: str) -> list[dict]:
    with app.db.connect() as connection:
        stored = connection.execute(sa.text(
            "SELECT detail FROM audit_log WHERE action = :action"), {"action": action}).scalars()
        return [json.loads(d) if isinstance(d, str) else d for d in stored]


def test_a_client_who_declined_has_their_one_answer_erased_on_the_date_and_counted(
        enrol, app, clock):
    client = enrol("Ana Lima")
    client.says("no")  # consent declined: the one answer she ever gave
    assert answers(app) == 1
    clock.advance(timedelta(weeks=12, days=365))
    assert apply_retention(app.rt) == 1
    assert answers(app) == 0
    # The audit line says how many answers went, not what they were.
    [detail] = _audit_details(app, "answers_erased")
    assert detail["answers"] == 1 and "no" not in detail.values()


def test_retention_closes_the_cases_opened_on_a_clients_answers_and_no_one_elses(
        enrol, app, clock):
    """A case (an escalation) was opened on Ana's answers: it goes with them. Ben enrolled a
    month later; his case stays until his own date."""
    ana = enrol("Ana Lima")
    for typed in INTAKE:
        ana.says(typed)
    clock.advance(timedelta(days=30))
    ben = enrol("Ben Ode")
    for typed in INTAKE:
        ben.says(typed)
    for client in (ana, ben):
        with app.rt.transaction() as uow:
            assert escalations.open_case(app.rt, uow, enrolment_id=client.enrolled.enrolment_id,
                                         reason="Confidence below 5 two weeks in a row",
                                         owner_role="team", sla=timedelta(hours=24))
    clock.advance(timedelta(weeks=12, days=365) - timedelta(days=30))
    assert apply_retention(app.rt) == 1
    with session(app.db) as s:
        left = [e.enrolment_id for e in s.exec(select(Escalation))]
    assert left == [ben.enrolled.enrolment_id]


def test_a_message_sent_on_the_day_retention_runs_is_blanked_with_the_answers(
        enrol, app, clock):
    """Ana asks for her progress the morning her answers are due: the reply quotes them, so
    its text goes now, not a week later with the other sent texts."""
    ana = enrol("Ana Lima")
    for typed in INTAKE:
        ana.says(typed)
    clock.advance(timedelta(weeks=12, days=365) - timedelta(hours=1))
    assert ana.says("/progress")
    clock.advance(timedelta(hours=1))
    assert apply_retention(app.rt) == 1
    with session(app.db) as s:
        kept = [m.payload for m in s.exec(select(OutboxMessage).where(
            OutboxMessage.person_id == ana.enrolled.person_id,
            OutboxMessage.status == "sent"))]
    assert kept and all(payload == FORGOTTEN for payload in kept)


def test_a_program_that_keeps_answers_does_not_hold_back_another_programs_retention(
        tmp_path, db_url, clock):
    """Two programs in one bot: "a_keeps" sets no retention (its answers stay until erased),
    Grow erases them 365 days after its end. The pass looks at "a_keeps" first and must go on
    to Grow."""
    folder = tmp_path / "programs"
    folder.mkdir()
    keeps = SAMPLE.read_text().replace("id: business_12w", "id: a_keeps").replace(
        "  retention_days_after_end: 365\n", "")
    (folder / "a-keeps.yaml").write_text(keeps)
    (folder / "grow.yaml").write_text(SAMPLE.read_text())
    app = build_app(Settings(database_url=db_url, program=folder, _env_file=None),
                    clock=clock, migrate=False)
    try:
        for program_id, name in (("a_keeps", "Kim Keep"), ("business_12w", "Ana Lima")):
            enrolled = enrol_client(app.rt, program_id=program_id, name=name,
                                    zone="Europe/Berlin")
            client = Client(app=app, address=name.lower().replace(" ", "-"),
                            enrolled=enrolled)
            client.says(f"/start {enrolled.code}")
            client.says("yes")
        assert answers(app) == 2
        clock.advance(timedelta(weeks=12, days=365))
        assert apply_retention(app.rt) == 1
        with app.db.connect() as connection:
            left = connection.execute(sa.text(
                "SELECT e.program_id FROM answer a JOIN enrolment e ON e.id = a.enrolment_id"
            )).scalars().all()
        assert left == ["a_keeps"]
    finally:
        app.db.dispose()


def test_a_check_in_left_half_answered_loses_its_answers_with_the_rest_and_no_one_elses(
        enrol, app, clock):
    """Ana stopped halfway through a check-in: its working state holds her answers and goes
    on her date. Ben, enrolled a month later and halfway through his, keeps his place."""
    clients = []
    for n, name in enumerate(("Ana Lima", "Ben Ode")):
        if n:
            clock.advance(timedelta(days=30))
        client = enrol(name)
        for typed in INTAKE:
            client.says(typed)
        open_flow_now(app.rt, client.enrolled.enrolment_id, "weekly_checkin", key="w1")
        client.flush()
        client.says("8")
        clients.append(client)
    clock.advance(timedelta(weeks=12, days=365) - timedelta(days=30))
    assert apply_retention(app.rt) == 1
    with session(app.db) as s:
        states = {c.enrolment_id: c.state for c in s.exec(
            select(Conversation).where(Conversation.flow_id == "weekly_checkin"))}
    ana, ben = (c.enrolled.enrolment_id for c in clients)
    assert states[ana] == {}
    assert states[ben] != {}
