"""`coachbot run` with integrations on: one process, one port for health, Telegram's webhook
and Stripe's events (a real process, talking real HTTP on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.bot.integrations.senders import STRIPE_SECRET, post_stripe, request, stripe_event
from tests.bot.telegram.conftest import TOKEN
from tests.conftest import SAMPLE
from tests.fakes.telegram_api import FakeTelegramAPI

WEBHOOK_SECRET = "s3cret-Token_for-tests"

COACHBOT = Path(sys.executable).parent / "coachbot"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def running(tmp_path: Path) -> Iterator[tuple[str, FakeTelegramAPI]]:
    """`coachbot run` with Telegram (webhook mode) and Stripe; its base URL."""
    port = _free_port()
    # Flood limits off: the process paces a chat at one message a second in real time,
    # and a join's intake is several messages; these tests are about the HTTP server.
    with FakeTelegramAPI(max_poll_wait=0.3, flood_limits=False) as telegram:
        env = {**os.environ, "COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'run.db'}",
               "COACHBOT_PROGRAM": str(SAMPLE), "COACHBOT_TELEGRAM_TOKEN": TOKEN,
               "COACHBOT_TELEGRAM_API_URL": telegram.url,
               "COACHBOT_TELEGRAM_WEBHOOK_URL": "https://bot.example.com/telegram/hook",
               "COACHBOT_TELEGRAM_WEBHOOK_SECRET": WEBHOOK_SECRET,
               "COACHBOT_STRIPE_WEBHOOK_SECRET": STRIPE_SECRET,
               "COACHBOT_HTTP_PORT": str(port), "COACHBOT_LOG_LEVEL": "INFO",
               "COACHBOT_SLACK_BOT_TOKEN": ""}
        process = subprocess.Popen([str(COACHBOT), "run"], env=env, cwd=tmp_path,
                                   stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        try:
            assert process.stderr is not None
            # Its own words say when it listens: no polling, no sleeping.
            for line in process.stderr:
                if "http server listening" in line:
                    break
            else:
                pytest.fail(f"coachbot run exited with {process.wait()}")
            # Keep reading its log so a full pipe never blocks it.
            threading.Thread(target=process.stderr.read, daemon=True).start()
            telegram.wait_for(lambda _: telegram.webhook is not None)
            yield f"http://127.0.0.1:{port}", telegram
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)


def test_health_telegram_and_stripe_share_the_one_port(running):
    base, telegram = running
    assert request(f"{base}/healthz").body == {"ok": True}
    assert request(f"{base}/readyz").status == 200

    update = telegram.inject_message(4242, "hello")
    hook = request(f"{base}/telegram/hook", "POST", json.dumps(update).encode(),
                   {"Content-Type": "application/json",
                    "X-Telegram-Bot-Api-Secret-Token": WEBHOOK_SECRET})
    assert hook.status == 200
    [reply] = telegram.wait_for_sent(1, chat_id=4242)
    assert "ask your coach" in reply["text"]

    # The sample program sells nothing: the payment is kept as unmatched, answered 200.
    paid = post_stripe(base, stripe_event("checkout.session.completed", {
        "id": "cs_test_run", "object": "checkout.session", "payment_status": "paid",
        "customer_details": {"email": "ana@example.com"},
        "line_items": {"object": "list", "data": [{"price": {"id": "price_x"}}]}}))
    assert (paid.status, paid.body["outcome"]) == (200, "unmatched")
