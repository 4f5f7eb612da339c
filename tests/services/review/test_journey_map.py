"""The journey map (`coachbot preview --format html`) and the terminal preview and report
in an 80-column terminal: fewer columns or short records, never a cut cell."""

from __future__ import annotations

import re
from pathlib import Path

from tests.conftest import SAMPLE
from tests.services.review.chromium import WIDTHS, open_page
from tests.services.review.conftest import coachbot
from tests.services.review.test_review_html import needs_chromium

PREVIEW = ("preview", str(SAMPLE), "--start", "2026-01-05", "--tz", "Europe/Berlin")


def fits_80_columns(output: str) -> None:
    assert "…" not in output
    assert max(len(line) for line in output.splitlines()) <= 80


def test_the_preview_in_80_columns_lists_occurrences_then_describes_each_touchpoint(
        sqlite_url):
    result = coachbot(sqlite_url, *PREVIEW)
    assert result.exit_code == 0, result.output
    fits_80_columns(result.output)
    lines = [line.rstrip() for line in result.output.splitlines()]
    rows = [line.split(None, 3) for line in lines
            if re.match(r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun) \d{4}-", line)]
    assert rows[0] == ["Mon", "2026-01-05", "09:10", "intake       Welcome and intake"]
    assert len(rows) == 19 and rows[-1][3].split() == ["alumni", "Graduation"]
    for line in ("Welcome and intake · coach · SLA 48h",
                 "  sends flow intake · unanswered: remind every 24h, at most 2x, then flag "
                 "coach",
                 "Session prep · coach · SLA 20h",
                 "Graduation · program_owner · no SLA",
                 "  sends a message · nothing to answer"):
        assert line in lines


def test_the_preview_refuses_an_unknown_format(sqlite_url):
    result = coachbot(sqlite_url, *PREVIEW, "--format", "pdf", columns=200)
    assert (result.exit_code, result.output) == (2, "error: --format is table or html, not "
                                                    "'pdf'\n")


def test_the_report_in_80_columns_is_one_record_per_cohort(seeded_sqlite):
    result = coachbot(seeded_sqlite, "report")
    assert result.exit_code == 0, result.output
    fits_80_columns(result.output)
    lines = [line.rstrip() for line in result.output.splitlines()]
    at = lines.index("business_12w · 2026-07")
    assert lines[at + 1:at + 5] == [
        "  enrolled 10 · active 10 · paused 0 · graduated 0 · dropped 0",
        "  check-in response 73.0% · flows completed 75.4% · milestones 2",
        "  confidence change since intake: median +1, q1 +1, q3 +1",
        "  escalations 4 · acknowledged in 5.0 h (median) · 50.0% within SLA"]


def journey_map(sqlite_url: str, tmp_path: Path) -> str:
    target = tmp_path / "journey.html"
    result = coachbot(sqlite_url, *PREVIEW, "--format", "html", "--out", str(target))
    assert result.output == f"Journey map written to {target}\n"
    return target.read_text()


def test_the_journey_map_draws_stages_as_bands_and_touchpoints_as_marks(sqlite_url, tmp_path):
    page = journey_map(sqlite_url, tmp_path)
    [svg] = re.findall(r"<svg.*?</svg>", page, re.S)
    assert "<title id=\"journey-title\">Grow: 12-week business coaching: stages and " \
           "touchpoints over time</title>" in svg
    assert re.findall(r"<title>stage ([^<]+)</title>", svg) == [
        "Intake", "Onboarding", "Active weeks", "Final review", "Alumni"]
    # Six one-off moments as large marks, thirteen weekly check-ins as ticks; the two that
    # flag the coach when unanswered (welcome, final review) outlined.
    assert svg.count("<circle") == 6 and svg.count('width="4" height="14"') == 13
    assert svg.count('stroke="#dc2626"') == 2
    assert "coach · SLA 48h" in svg and "no answer: 2x every 24h, then flag coach" in svg
    assert ">weeks since enrolment</text>" in svg
    assert "24h before each session" in page and "<script" not in page


@needs_chromium
def test_the_journey_map_renders_in_chromium_and_fits_a_laptop_and_a_phone(
        sqlite_url, tmp_path: Path):
    opened = open_page(journey_map(sqlite_url, tmp_path), tmp_path)
    assert opened.console == []
    for width in WIDTHS:
        seen = opened.measured[width]
        assert seen["title"] == "Grow: 12-week business coaching: journey map"
        assert seen["svgs"] == 1 and seen["brokenImages"] == 0
        assert seen["scrollWidth"] <= seen["clientWidth"], f"scrolls sideways at {width} px"
