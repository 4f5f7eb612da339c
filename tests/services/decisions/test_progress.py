"""`/progress` from stored metric values: the trend with its baseline, the streak, the
milestones; on Telegram and Slack also a PNG chart of the trend."""

from __future__ import annotations

import struct

from services.enrolment import enrol_client
from tests.conftest import INTAKE, Client
from tests.services.decisions.conftest import checkin, week


def png_size(data: bytes) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk (which must come first)."""
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def test_progress_shows_the_trend_baseline_streak_and_milestones(app, client, clock):
    for confidence, revenue in ((6, 1000), (8, 1500), (9, 2500)):
        checkin(client, confidence=confidence, revenue=revenue)
        week(clock)
    [text] = client.says("/progress")
    assert text.splitlines() == [
        "Weekly revenue: ▁▃█  (latest 2,500)",
        "Check-ins completed: 3. Current streak: 3 in a row.",
        "Milestones: Confidence up 3 points.",
    ]
    assert client.last.attachment is None, "the test channel shows text only"


def test_on_telegram_progress_comes_with_a_png_chart_of_the_right_size(app, clock):
    enrolled = enrol_client(app.rt, program_id="business_12w", name="Tom Berg",
                            zone="Europe/Berlin", coach="Casey Coach")
    tom = Client(app=app, address="424242", channel="telegram", enrolled=enrolled)
    tom.says(f"/start {enrolled.code}")
    for text in INTAKE:
        tom.says(text)
    for revenue in (1000, 1800):
        week(clock)
        checkin(tom, confidence=7, revenue=revenue)
    tom.says("/progress")
    chart = tom.last.attachment
    assert chart is not None and chart.content_type == "image/png"
    assert png_size(chart.data) == (640, 320)
    assert tom.last.text.startswith("Weekly revenue: ▁█")
