"""Rules that could never fire are refused by `coachbot validate` with file, line and field
(missing metrics, wrong types and owners are covered in tests/conversations)."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from bot.cli import app
from tests.conftest import SAMPLE


def validate(tmp_path: Path, old: str, new: str) -> tuple[int, str, str]:
    text = SAMPLE.read_text()
    assert text.count(old) == 1
    text = text.replace(old, new)
    path = tmp_path / "broken.yaml"
    path.write_text(text)
    result = CliRunner().invoke(app, ["validate", str(path)], env={"COLUMNS": "320"})
    line = text[: text.index(new)].count("\n") + 1
    return result.exit_code, result.output, f"{path}:{line}"


def test_a_threshold_on_days_since_reply_over_several_checkins(tmp_path):
    code, output, where = validate(tmp_path, "threshold: {metric: confidence, below: 5, "
                                   "for_checkins: 2}", "threshold: {metric: days_since_reply, "
                                   "above: 5, for_checkins: 2}")
    assert code == 2
    assert output.strip() == (f"{where}: rules[0].when.threshold.metric: 'days_since_reply' "
                              "has one value now, not one per check-in; use no_reply_days")


def test_a_plateau_longer_than_the_program(tmp_path):
    code, output, where = validate(tmp_path, "plateau: {metric: revenue, weeks: 3}",
                                   "plateau: {metric: revenue, weeks: 20}")
    assert code == 2
    assert output.strip() == (f"{where}: rules[3].when.plateau.weeks: 20 check-ins can never "
                              "happen in a 12-week program")
