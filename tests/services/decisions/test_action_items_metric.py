"""Action-item completion is an implementation metric like any other: stored per check-in,
read by a rule written on it, shown by /progress; an evaluation in the middle of a check-in
(the sweep) stores its completion so far, and the rest of its answers correct that row."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from bot.settings import Settings
from services import session_notes
from services.decisions import Sweep, reevaluate
from storage import aggregate_store, metric_store
from storage.db import session
from storage.staff import add_staff
from tests.conftest import INTAKE, SAMPLE
from tests.services.decisions.conftest import firings

STALLED = "Your action items have stalled. What's in the way? Tell your coach."
RULE = f"""
  - id: items_stalled
    title: Action items stalled
    when:
      threshold: {{metric: action_items, below: 0.5}}
    then:
      message: "{STALLED}"
"""


@pytest.fixture
def settings(sqlite_url: str, tmp_path: Path) -> Settings:
    """The sample with a rule on action items; SQLite (the rule is not about storage)."""
    program = tmp_path / "program.yaml"
    program.write_text(SAMPLE.read_text(encoding="utf-8") + RULE, encoding="utf-8")
    return Settings(database_url=sqlite_url, program=program, _env_file=None)


def ana_with_two_action_items(app, enrol):
    """Ana after intake, her coach's notes with two action items sent to her."""
    with session(app.db) as s, s.begin():
        add_staff(s, name="Casey Coach", slack_id="UCASEY", role="coach",
                  timezone="Europe/Berlin", now=app.clock.now())
    ana = enrol("Ana Lima")
    for typed in INTAKE:
        ana.says(typed)
    draft = session_notes.Draft(items=(("Call five past clients", None),
                                       ("Raise prices", None)))
    saved = session_notes.save(app.rt, slack_id="UCASEY", draft=draft, submission="V1",
                               enrolment_id=ana.enrolled.enrolment_id)
    assert saved.items == 2
    assert "1. Call five past clients\n2. Raise prices" in ana.flush()[0].text
    return ana


def stored_completions(app, ana) -> list[float]:
    with session(app.db) as s:
        return [v.value for v in metric_store.stored_series(
            s, ana.enrolled.enrolment_id, "action_items")]


def test_a_rule_on_action_items_fires_when_they_stall_and_progress_shows_them(app, enrol):
    ana = ana_with_two_action_items(app, enrol)
    ana.says("/checkin")
    ana.presses("partly")
    ana.says("not yet")
    said = [text for typed in ["8", "2500", "yes", "1", "/skip"] for text in ana.says(typed)]
    assert STALLED in said  # a quarter done, under the rule's half
    [fired] = firings(app, "items_stalled")
    assert fired.values == {"metric": "action_items", "values": [0.25]}
    assert stored_completions(app, ana) == [0.25]
    assert "Action items done: 25% at your last check-in." in ana.says("/progress")[0]


def test_a_check_in_evaluated_between_two_action_items_is_one_completion(app, enrol, clock):
    ana = ana_with_two_action_items(app, enrol)
    ana.says("/checkin")
    ana.presses("partly")
    clock.advance(timedelta(minutes=5))
    Sweep(app.rt).run(clock.now())  # the day's pass: it folds the first answer in
    assert stored_completions(app, ana) == [0.5]

    clock.advance(timedelta(minutes=5))
    ana.says("not yet")
    said = [text for typed in ["8", "2500", "yes", "1", "/skip"] for text in ana.says(typed)]
    assert STALLED in said
    assert stored_completions(app, ana) == [0.25]  # the same check-in's row, corrected
    # From the whole history again, nothing differs.
    with app.rt.transaction() as uow:
        aggregate_store.forget(uow.session, [ana.enrolled.enrolment_id])
    outcome = reevaluate(app.rt, ana.enrolled.enrolment_id)
    assert outcome is not None and outcome.stored == 0
