"""Two variants of a program tried on new enrolments, split 50/50, and compared side by side
in the report, `simulate` and `preview`."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from sqlmodel import Session, select
from typer.testing import CliRunner

from bot.cli import app as cli_app
from conversations.loader import parse_program
from services.report import build
from services.simulation import Simulation
from storage.models import Enrolment
from tests.conftest import SAMPLE

pytestmark = pytest.mark.slow  # started first, so it does not end the run alone

VARIANTS = """
variants:
  - id: monday_morning
    title: The program as it was
    share: 50
  - id: tuesday_evening
    title: Evening check-ins, a quicker escalation, a week-two nudge
    share: 50
    checkin: {day: tue, time: "18:00"}
    rules:
      - id: low_confidence
        title: Confidence low once
        when:
          threshold: {metric: confidence, below: 5, for_checkins: 1}
        then:
          escalate: {owner: team, sla: 24h, reason: "Confidence below 5"}
    touchpoints:
      - id: week_two_nudge
        title: Week-two nudge
        when: {stage_week: 1, stage: active, time: "12:00"}
        send: {message: "Two weeks in, {client.first_name}: how is it going?"}
"""


def with_variants(tmp_path: Path) -> Path:
    path = tmp_path / "variants.yaml"
    path.write_text(SAMPLE.read_text("utf-8") + VARIANTS, "utf-8")
    return path


def test_two_variants_split_40_clients_and_the_report_compares_them(db_url, tmp_path):
    program = parse_program(with_variants(tmp_path).read_text("utf-8"), "variants.yaml")
    simulation = Simulation(program, clients=40, weeks=2, answers="random", seed=7,
                            print_line=lambda _: None, folder=tmp_path, database_url=db_url)
    try:
        summary = simulation.run()
        with Session(simulation.rt.db) as session:
            enrolments = session.exec(select(Enrolment)).all()
        rows = build(simulation.rt)
    finally:
        simulation.close()
    split = Counter(e.variant for e in enrolments)
    assert set(split) == {"monday_morning", "tuesday_evening"}
    assert sum(split.values()) == 40 and all(14 <= n <= 26 for n in split.values())
    assert {(e.variant, e.checkin_day, e.checkin_time) for e in enrolments} == {
        ("monday_morning", "mon", "09:00"), ("tuesday_evening", "tue", "18:00")}
    # The variant's extra touchpoint reaches its clients only.
    assert summary.rows and any(tp == "week_two_nudge" for tp, *_ in summary.rows)
    side_by_side = [r for r in rows if r.variant]
    assert [r.cohort for r in side_by_side] == ["variant monday_morning",
                                                "variant tuesday_evening"]
    assert [r.enrolled for r in side_by_side] == [split["monday_morning"],
                                                  split["tuesday_evening"]]
    assert all(r.response_rate is not None for r in side_by_side)
    assert summary.variants == side_by_side
    assert rows.index(side_by_side[0]) == rows.index(side_by_side[1]) - 1


def test_preview_and_simulate_show_the_variants(tmp_path):
    path = with_variants(tmp_path)
    runner = CliRunner()
    env = {"COLUMNS": "200"}
    shown = runner.invoke(cli_app, ["preview", str(path), "--start", "2026-03-02",
                                    "--variant", "tuesday_evening"], env=env)
    assert shown.exit_code == 0, shown.stdout
    assert "  tuesday_evening: 50%, check-in tue 18:00, rule low_confidence, touchpoint " \
           "week_two_nudge" in shown.stdout
    assert "Shown: variant tuesday_evening" in shown.stdout
    assert "Tue 2026-03-10" in shown.stdout and "Week-two nudge" in shown.stdout
    checkins = [line for line in shown.stdout.splitlines() if "Weekly check-in" in line]
    assert checkins and all(line.startswith("│ Tue") for line in checkins)
    unknown = runner.invoke(cli_app, ["preview", str(path), "--start", "2026-03-02",
                                      "--variant", "nope"], env=env)
    assert unknown.exit_code == 2
    simulated = runner.invoke(cli_app, ["simulate", str(path), "--clients", "6", "--weeks",
                                        "1"], env=env)
    assert simulated.exit_code == 0, simulated.stdout
    assert "variants side by side" in simulated.stdout
    header = next(line for line in simulated.stdout.splitlines()
                  if "monday_morning" in line)
    assert header.index("monday_morning") < header.index("tuesday_evening")
    assert any(line.lstrip("│ ").startswith("check-in response")
               for line in simulated.stdout.splitlines())
