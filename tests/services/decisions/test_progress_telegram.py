"""`/progress` on Telegram, over the real Bot API wire format: the trend arrives as a photo
(sendPhoto) with the progress text as its caption."""

from __future__ import annotations

from datetime import timedelta

from tests.bot.telegram.conftest import (  # noqa: F401 (fixtures)
    run_bot,
    settings,
    telegram_api,
    telegram_user,
)
from tests.services.decisions.test_progress import png_size


def test_progress_on_telegram_is_a_png_chart_with_the_text_as_caption(
        app, clock, enrol, run_bot, telegram_user, telegram_api):  # noqa: F811
    run_bot()
    code = enrol("Ana Lima", join=False).enrolled.code
    ana = telegram_user(4242)
    for text in (f"/start {code}", "yes", "Double my revenue", "12000", "6", "10", "/skip"):
        ana.sends(text)
    for revenue in ("1000", "2400"):
        clock.advance(timedelta(days=7))
        for text in ("/checkin", "7", revenue, "yes", "sales", "/skip"):
            ana.sends(text)

    telegram_api.inject_message(4242, "/progress", first_name="Ana")
    [photo] = telegram_api.wait_for_call("sendPhoto")
    assert photo["caption"].startswith("Weekly revenue: ▁█  (latest 2,400)")
    assert png_size(photo["photo"].data) == (640, 320)
