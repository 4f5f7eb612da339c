"""`coachbot simulate --answers low`: the low-score and plateau rules fire at the right
check-ins and the low scores open escalations."""

from __future__ import annotations

import pytest
from sqlmodel import col, select
from typer.testing import CliRunner

from bot.cli import app
from bot.program_files import load_file
from services.simulation import Simulation
from storage.db import session
from storage.models import Answer, Conversation, Escalation, RuleFiring
from tests.conftest import SAMPLE

# An answer of a check-in: its conversation's flow.
CHECKIN_ANSWER = col(Answer.conversation_id).in_(select(Conversation.id).where(
        Conversation.flow_id == "weekly_checkin"))

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone


def test_low_scores_fire_the_low_confidence_and_plateau_rules_at_the_right_checkins(tmp_path):
    simulation = Simulation(load_file(SAMPLE).program, clients=3, weeks=8, answers="low", seed=3,
                            print_line=lambda _: None, folder=tmp_path)
    try:
        summary = simulation.run()
        with session(simulation.rt.db) as s:
            fired = list(s.exec(select(RuleFiring).order_by(col(RuleFiring.id))))
            for firing in fired:
                answers = [a for a in s.exec(
                    select(Answer).where(Answer.enrolment_id == firing.enrolment_id,
                                         CHECKIN_ANSWER,
                                         col(Answer.answered_at) <= firing.fired_at))]
                confidence = [a.number for a in answers if a.question_id == "confidence"]
                revenue = [a.number for a in answers if a.question_id == "revenue"]
                if firing.rule_id == "low_confidence":
                    # At the second low score in a row, with those two scores as evidence.
                    assert firing.values["values"] == confidence[-2:]
                    assert all(v < 5 for v in confidence[-2:])
                if firing.rule_id == "revenue_plateau":
                    # Four flat answers: the week-0 value and three weeks without a rise.
                    assert firing.values["values"] == revenue[-4:] == [0.0] * 4
                    assert len(revenue) == 4, "the first time it can hold"
            escalated = {e.rule_firing_id for e in s.exec(select(Escalation))}
    finally:
        simulation.close()
    low = [f for f in fired if f.rule_id == "low_confidence"]
    assert len(low) >= 3 and {f.id for f in low} <= escalated
    assert len([f for f in fired if f.rule_id == "revenue_plateau"]) == 3
    assert summary.rule_firings["low_confidence"] == len(low)


def test_the_simulate_summary_counts_rule_firings():
    result = CliRunner().invoke(app, ["simulate", str(SAMPLE), "--answers", "low",
                                      "--clients", "2", "--weeks", "6"],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    fired = next(line for line in result.output.splitlines() if line.startswith("rules fired"))
    assert "low_confidence" in fired and "revenue_plateau" in fired
