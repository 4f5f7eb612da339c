"""A program revised while clients are in it: `program diff` says what changes for them, the
version is applied without a restart, conversations finish on the version they began and
the next ones use the new version."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from sqlmodel import Session, col, select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from bot.composition import build_app
from bot.settings import Settings
from services.touchpoints import TouchpointRunner
from storage.models import (
    Answer,
    Conversation,
    Enrolment,
    MetricValue,
    ProgramVersion,
    RuleFiring,
)
from tests.conftest import INTAKE, SAMPLE, Client
from tests.conversations.chat import revised_sample_text

# An answer of a check-in: its conversation's flow.
CHECKIN_ANSWER = col(Answer.conversation_id).in_(select(Conversation.id).where(
    Conversation.flow_id == "weekly_checkin"))

# A week of check-ins where the blocker talks of quitting: the churn_words rule fires.
CHURN_CHECKIN = ["3", "I might quit", "2500", "yes", "sales", "/skip"]


def write_revision(tmp_path: Path) -> Path:
    path = tmp_path / "revised.yaml"
    path.write_text(revised_sample_text(), "utf-8")
    return path


def coachbot(db_url: str, *args: str):
    """`coachbot ARGS` on the test's database, the sample as the configured program."""
    env = {"COACHBOT_DATABASE_URL": db_url, "COACHBOT_PROGRAM": str(SAMPLE), "COLUMNS": "200",
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": ""}
    return CliRunner().invoke(cli_app, list(args), env=env, catch_exceptions=False)


def answers_of(db, enrolment_id: int) -> list[tuple[int, str]]:
    with Session(db) as session:
        return [(a.conversation_id, a.question_id) for a in session.exec(
            select(Answer).where(Answer.enrolment_id == enrolment_id,
                                 CHECKIN_ANSWER).order_by(Answer.id))]


def test_a_client_mid_checkin_finishes_after_a_restart_on_a_revised_program(
        app, enrol, clock, db_url, tmp_path):
    client = enrol("Ana Lima")
    for typed in INTAKE:
        client.says(typed)
    client.says("/checkin")
    assert any("What got in the way" in t for t in client.says("3"))
    restarted = build_app(Settings(database_url=db_url, program=write_revision(tmp_path),
                                   _env_file=None), clock=clock, migrate=False)
    try:
        again = Client(app=restarted, address=client.address, _ids=client._ids)
        assert any("What revenue" in t for t in again.says("clients went quiet"))
        assert any("Did you do the outreach" in t for t in again.says("2500"))
        again.says("yes")
        again.says("1")
        assert any("Thanks, Ana" in t for t in again.says("/skip"))
        with Session(restarted.db) as session:
            kept = {a.question_id for a in session.exec(
                select(Answer).where(CHECKIN_ANSWER))}
        assert kept == {"confidence", "blocker", "revenue", "did_outreach", "focus"}
    finally:
        restarted.db.dispose()


def test_the_owner_revises_the_program_while_a_client_is_mid_checkin(
        app, enrol, clock, db_url, tmp_path):
    ana, ben = enrol("Ana Lima"), enrol("Ben Okafor")
    for client in (ana, ben):
        for typed in INTAKE:
            client.says(typed)
    for typed in ["/checkin", *CHURN_CHECKIN]:
        ana.says(typed)
    clock.advance(timedelta(days=7))
    ana.says("/checkin")
    assert any("What got in the way" in t for t in ana.says("3"))
    revised = write_revision(tmp_path)

    diff = coachbot(db_url, "program", "diff", str(SAMPLE), str(revised))
    assert diff.exit_code == 1, diff.stdout
    lines = diff.stdout.splitlines()
    assert lines[0] == "business_12w: version 1 -> version 2"
    assert lines[1:] == [
        "  ! 1 client is mid weekly check-in on a question this version removes "
        "(weekly_checkin.blocker): they finish on version 1",
        "  - question weekly_checkin.revenue is now weekly_checkin.revenue_eur: answers given "
        "under weekly_checkin.revenue join its history (renamed_from)",
        "  ! the weekly check-in moves from Monday 09:00 to Tuesday 18:00 for 2 clients from "
        "their next one",
        "  - metric revenue now reads weekly_checkin.revenue_eur: its history under "
        "weekly_checkin.revenue stays joined (renamed_from)",
        "  ! rule churn_words removed: 1 open firing is cleared",
        "  - 1 client mid weekly check-in finishes it on version 1; their next one uses "
        "version 2",
        "needs attention: the lines marked ! reach enrolled clients",
    ]

    applied = coachbot(db_url, "program", "apply", str(revised))
    assert applied.exit_code == 0, applied.stdout
    assert "business_12w version 2 is running" in applied.stdout
    # The running bot picks the applied version up on its next tick: no restart.
    TouchpointRunner(app.rt).tick(clock.now())
    assert "revenue_eur" in {q.id for q in app.rt.program("business_12w")
                             .flow("weekly_checkin").questions}

    assert any("What revenue" in t for t in ana.says("clients went quiet"))
    assert ana.last.question == "revenue"
    ana.says("2500")
    ana.says("yes")
    ana.says("1")
    assert any("Thanks, Ana" in t for t in ana.says("/skip"))
    enrolment_id = ana.enrolled.enrolment_id
    second = [q for _, q in answers_of(app.db, enrolment_id)][5:]
    assert second == ["confidence", "blocker", "revenue", "did_outreach", "focus"]

    clock.advance(timedelta(days=7))
    ana.says("/checkin")
    assert any("What revenue" in t for t in ana.says("3"))  # no blocker in version 2
    assert ana.last.question == "revenue_eur"
    for typed in ["3000", "yes", "1", "/skip"]:
        ana.says(typed)
    with Session(app.db) as session:
        conversations = session.exec(select(Conversation).where(
            Conversation.enrolment_id == enrolment_id,
            Conversation.flow_id == "weekly_checkin").order_by(Conversation.id)).all()
        assert len({c.program_version_id for c in conversations}) == 2
        firing = session.exec(select(RuleFiring).where(
            RuleFiring.rule_id == "churn_words")).one()
        assert firing.cleared_at is not None
        slots = {(e.checkin_day, e.checkin_time) for e in session.exec(select(Enrolment))}
        revenue = session.exec(select(MetricValue).where(
            MetricValue.enrolment_id == enrolment_id, MetricValue.metric_id == "revenue")
            .order_by(MetricValue.at)).all()
    assert slots == {("tue", "18:00")}
    # The trend runs on across the rename: answers under revenue and revenue_eur, each
    # value stored with the version that computed it.
    assert [v.value for v in revenue] == [2500, 2500, 3000]
    assert [v.program_version_id for v in revenue] == [
        conversations[0].program_version_id, conversations[-1].program_version_id,
        conversations[-1].program_version_id]


def test_a_renamed_metric_keeps_its_history(app, enrol, clock, db_url, tmp_path):
    ana = enrol("Ana Lima")
    for typed in [*INTAKE, "/checkin", "8", "2500", "yes", "sales", "/skip"]:
        ana.says(typed)
    renamed = tmp_path / "renamed.yaml"
    renamed.write_text(SAMPLE.read_text("utf-8").replace(
        "  - id: confidence\n    title: Confidence\n",
        "  - id: self_belief\n    renamed_from: confidence\n    title: Confidence\n").replace(
        "{metric: confidence,", "{metric: self_belief,"), "utf-8")
    diff = coachbot(db_url, "program", "diff", str(SAMPLE), str(renamed))
    assert ("  - metric confidence is now self_belief: its stored values join under "
            "self_belief (renamed_from)") in diff.stdout.splitlines()
    assert coachbot(db_url, "program", "apply", str(renamed)).exit_code == 0
    with Session(app.db) as session:
        ids = {v.metric_id for v in session.exec(select(MetricValue))}
    assert {"self_belief", "self_belief.baseline"} <= ids
    assert not ids & {"confidence", "confidence.baseline"}


def test_program_diff_refuses_a_version_that_strands_clients_in_a_stage(
        app, enrol, db_url, tmp_path):
    enrol("Ana Lima")  # in the intake stage
    stranding = tmp_path / "no-intake.yaml"
    text = SAMPLE.read_text("utf-8")
    stranding.write_text(text.replace(
        "  - id: intake\n    title: Intake\n    until_flow_done: intake\n    next: onboarding\n",
        ""), "utf-8")
    diff = coachbot(db_url, "program", "diff", str(SAMPLE), str(stranding))
    assert diff.exit_code == 1
    assert ("  x stage intake removed: 1 client is in it and would be stranded; refused "
            "(keep the stage until they have moved on)") in diff.stdout.splitlines()
    applied = coachbot(db_url, "program", "apply", str(stranding))
    assert applied.exit_code == 1
    assert app.rt.program("business_12w").stages[0].id == "intake"


def test_program_diff_of_an_unchanged_file_needs_no_attention_and_a_broken_one_is_an_error(
        app, db_url, tmp_path):
    same = coachbot(db_url, "program", "diff", str(SAMPLE), str(SAMPLE))
    assert same.exit_code == 0
    assert same.stdout.splitlines()[1:] == [
        "  - nothing in this version reaches enrolled clients", "nothing needs attention"]
    broken = tmp_path / "broken.yaml"
    broken.write_text(SAMPLE.read_text("utf-8").replace("sla: 72h", "sla: soon"), "utf-8")
    result = coachbot(db_url, "program", "diff", str(SAMPLE), str(broken))
    assert result.exit_code == 2
    assert f"{broken}:" in result.stdout and "sla" in result.stdout


def test_a_restart_on_the_older_file_keeps_the_version_applied_since(app, clock, db_url,
                                                                     tmp_path):
    assert coachbot(db_url, "program", "apply", str(write_revision(tmp_path))).exit_code == 0
    restarted = build_app(Settings(database_url=db_url, program=SAMPLE, _env_file=None),
                          clock=clock, migrate=False)
    try:
        checkin = restarted.rt.program("business_12w").flow("weekly_checkin")
        assert checkin.question("revenue_eur") is not None
        assert checkin.question("blocker") is None
    finally:
        restarted.db.dispose()


def test_program_apply_refuses_an_invalid_file_and_a_next_step_to_no_program(
        app, db_url, tmp_path):
    broken = tmp_path / "broken.yaml"
    broken.write_text(revised_sample_text().replace("sla: 72h", "sla: soon"), "utf-8")
    refused = coachbot(db_url, "program", "apply", str(broken))
    assert refused.exit_code == 2
    assert refused.stdout.startswith(f"{broken}:") and "sla" in refused.stdout
    lonely = tmp_path / "lonely.yaml"
    lonely.write_text(revised_sample_text() + "\nnext:\n  program: grow_alumni\n", "utf-8")
    refused = coachbot(db_url, "program", "apply", str(lonely))
    assert refused.exit_code == 2
    assert f"{lonely}:" in refused.stdout and "no program with id 'grow_alumni'" in \
        refused.stdout
    with Session(app.db) as session:
        assert len(session.exec(select(ProgramVersion)).all()) == 1
