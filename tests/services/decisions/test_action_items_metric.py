"""Action-item completion is an implementation metric like any other: stored per check-in,
read by a rule written on it, shown by /progress."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import Settings
from services import session_notes
from storage import metric_store
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


def test_a_rule_on_action_items_fires_when_they_stall_and_progress_shows_them(app, enrol):
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

    ana.says("/checkin")
    ana.presses("partly")
    ana.says("not yet")
    said = [text for typed in ["8", "2500", "yes", "1", "/skip"] for text in ana.says(typed)]
    assert STALLED in said  # a quarter done, under the rule's half
    [fired] = firings(app, "items_stalled")
    assert fired.values == {"metric": "action_items", "values": [0.25]}
    with session(app.db) as s:
        stored = [v.value for v in metric_store.stored_series(
            s, ana.enrolled.enrolment_id, "action_items")]
    assert stored == [0.25]
    assert "Action items done: 25% at your last check-in." in ana.says("/progress")[0]
