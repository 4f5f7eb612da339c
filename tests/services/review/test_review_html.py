"""The HTML review in a real headless Chromium: one self-contained file that renders without
console errors and never scrolls sideways, on a laptop (1280 px) or a phone (390 px)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.services.review.chromium import CHROMIUM, WIDTHS, open_page
from tests.services.review.conftest import coachbot

needs_chromium = pytest.mark.skipif(
    not CHROMIUM.exists(),
    reason=f"{CHROMIUM} is absent: install Debian's chromium package to check the HTML "
           "review in a real browser (apt-get install -y chromium)")


@pytest.fixture
def page(seeded_sqlite: str, tmp_path: Path) -> str:
    target = tmp_path / "review.html"
    result = coachbot(seeded_sqlite, "review", "--quarter", "2026Q3", "--format", "html",
                      "--by", "intake.hours_per_week", "--bands", "5,10", "--out", str(target))
    assert result.exit_code == 0, result.output
    return target.read_text()


def test_the_page_is_one_file_with_charts_that_say_what_they_show(page: str):
    assert page.startswith("<!doctype html>")
    assert "<meta name='viewport' content='width=device-width, initial-scale=1'>" in page
    # Nothing to fetch: no scripts, images, style sheets or fonts from elsewhere.
    assert not re.search(r"<script|\bsrc=|<link|url\(|@import|https?://(?!www\.w3\.org/2000/svg)",
                         page)
    charts = re.findall(r"<svg.*?</svg>", page, re.S)
    assert len(charts) == 4  # touchpoints, response and revenue by week, segments
    for chart in charts:
        assert re.search(r"<title id=\"[^\"]+\">[^<]+</title>", chart)
    assert "Check-in response by program week" in page
    assert ">program week</text>" in page and ">check-ins answered (%)</text>" in page
    assert "Session prep: answered within SLA 50%, owner coach" in page
    assert "response falls from 100% to 40% between weeks 5 and 7" in page


@needs_chromium
def test_it_renders_in_chromium_without_errors_and_fits_a_laptop_and_a_phone(
        page: str, tmp_path: Path):
    opened = open_page(page, tmp_path)
    assert opened.console == []
    for width in WIDTHS:
        seen = opened.measured[width]
        assert seen["title"] == "coachbot review 2026Q3"
        assert seen["headings"] == 6 and seen["svgs"] == 4 and seen["brokenImages"] == 0
        assert seen["scrollWidth"] <= seen["clientWidth"], f"scrolls sideways at {width} px"
        assert 0 < seen["widestSvg"] <= seen["clientWidth"]


@needs_chromium
def test_the_check_itself_catches_errors_and_a_page_too_wide(tmp_path: Path):
    broken = ("<!doctype html><html><head><title>broken</title></head><body>"
              "<script>console.error('boom'); missing();</script>"
              "<div style='width:2000px'>wide</div></body></html>")
    opened = open_page(broken, tmp_path)
    assert any('"boom"' in line for line in opened.console)
    assert any("missing is not defined" in line for line in opened.console)
    assert all(opened.measured[w]["scrollWidth"] > opened.measured[w]["clientWidth"]
               for w in WIDTHS)
