"""The Slack runner as `coachbot run` wires it, against the fake Web API: a slash command is
acked before a slow Slack has its answer, events are acked only after their commit, and a
replayed command does its work once."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from dataclasses import dataclass

import pytest
from sqlmodel import func, select

from bot.composition import App, build_app
from bot.http_server import HttpServer
from bot.settings import Settings
from bot.slack.slack_channel import run_slack
from bot.slack.slack_http import SlackRoute
from services.enrolment import enrol_client
from storage.db import session
from storage.models import Escalation, InboundEvent
from storage.staff import add_staff
from tests.bot.slack.conftest import (
    ANA,
    SECRET,
    STRANGER,
    TEAM_CHANNEL,
    TIA,
    TOKEN,
    LoopThread,
    open_case,
    post_signed,
    url_of,
)
from tests.conftest import SAMPLE
from tests.fakes.slack_api import FakeSlackAPI, event_callback, message_event, slash_command_body

FORM, JSON = "application/x-www-form-urlencoded", "application/json"
# Slack shows "operation_timeout" when the ack takes longer; a passing test takes a fraction.
SLACK_ACK_DEADLINE = 3.0


@dataclass
class Running:
    app: App
    api: FakeSlackAPI
    url: str

    def command(self, user: str, text: str, name: str, **options: str) -> bytes:
        return slash_command_body(text=text, user_id=user,
                                  response_url=self.api.response_url(name), **options)

    def answers(self, name: str) -> list[dict]:
        return [c for c in self.api.calls_of("response_url") if c["response_url_name"] == name]


def _settings(db_url: str, api: FakeSlackAPI, **more: object) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET,
                    slack_api_url=api.base_url, _env_file=None, **more)


def _with_staff(app: App) -> App:
    with session(app.db) as s, s.begin():
        add_staff(s, name="Tia Team", slack_id=TIA, role="team", timezone="Europe/Berlin",
                  now=app.clock.now())
    return app


@pytest.fixture
def running(db_url: str, api: FakeSlackAPI, clock) -> Iterator[Running]:
    """`run_slack` on the HTTP server, as `serve()` wires them (integrations on)."""
    app = _with_staff(build_app(_settings(db_url, api), clock=clock, migrate=False))
    loop = LoopThread()
    server = HttpServer(host="127.0.0.1", port=0, ready=lambda: True, shutdown_timeout=0.1)
    route = SlackRoute()
    server.add(route.register)
    loop.run(server.start())
    loop.spawn(run_slack(app, route=route))
    api.wait_for_call("auth.test")  # Bolt is built: the runner attaches it next
    yield Running(app=app, api=api, url=url_of(server, route))
    loop.run(server.stop())
    loop.close()
    app.db.dispose()


def _wait_attached(running: Running) -> None:
    """Until the runner has attached Bolt to the route (503 before that)."""
    body = b"{}"
    while post_signed(running.url, body, JSON)[0] == 503:
        pass


def _escalations(app: App) -> int:
    with session(app.db) as s:
        return s.exec(select(func.count()).select_from(Escalation)).one()


def test_a_slash_command_is_acked_before_a_slow_slack_takes_its_answer(running: Running):
    _wait_attached(running)
    enrol_client(running.app.rt, program_id="business_12w", name="Ana Lima",
                 zone="Europe/Berlin", coach="Casey Coach")
    body = running.command(TIA, "escalate Ana Lima asked for a refund", "slow")
    with running.api.hold("response_url") as slack_answers:
        status, text = post_signed(running.url, body, FORM, timeout=SLACK_ACK_DEADLINE)
        # Acked while the answer is still on its way: Slack shows no error.
        assert (status, text) == (200, "")
        assert running.answers("slow") == []
        slack_answers.set()
        [answer] = running.api.wait_for(lambda _: running.answers("slow"))
    assert "Escalation #1 opened for Ana Lima" in answer["text"]
    assert answer["response_type"] == "ephemeral"
    # The runner's own outbox drain posts it to the team channel.
    [post] = running.api.wait_for_posted(1, channel=TEAM_CHANNEL)
    assert "asked for a refund" in post["text"]
    assert _escalations(running.app) == 1


def test_a_replayed_slash_command_does_its_work_once(running: Running):
    _wait_attached(running)
    enrol_client(running.app.rt, program_id="business_12w", name="Ana Lima",
                 zone="Europe/Berlin", coach="Casey Coach")
    body = running.command(TIA, "escalate Ana Lima wants to pause", "once",
                           trigger_id="1700000000.42.fake")
    assert post_signed(running.url, body, FORM)[0] == 200
    running.api.wait_for(lambda _: running.answers("once"))
    # The same request again (a replay, or a retry Slack marks): acked, and nothing else.
    retried = {"X-Slack-Retry-Num": "1", "X-Slack-Retry-Reason": "http_timeout"}
    assert post_signed(running.url, body, FORM, headers=retried)[0] == 200
    assert post_signed(running.url, body, FORM)[0] == 200
    # A later command's answer arrives after the replays were taken up (each was queued
    # to Bolt's workers before it).
    later = running.command(TIA, "client Nobody", "later")
    assert post_signed(running.url, later, FORM)[0] == 200
    running.api.wait_for(lambda _: running.answers("later"))
    assert len(running.answers("once")) == 1  # not even "already has an open escalation"
    running.api.wait_for_posted(1, channel=TEAM_CHANNEL)
    assert _escalations(running.app) == 1


def test_an_event_is_acked_only_after_what_it_says_is_stored(running: Running):
    _wait_attached(running)
    running.api.add_user(ANA)
    body = json.dumps(event_callback(message_event(ANA, "hello", f"D{ANA}"),
                                     event_id="EvFIRST")).encode()
    assert post_signed(running.url, body, JSON, timeout=SLACK_ACK_DEADLINE)[0] == 200
    with session(running.app.db) as s:  # at the moment of the ack, it is committed
        assert s.exec(select(InboundEvent).where(InboundEvent.event_id == "EvFIRST")).one()


def _post_recorded(app: App) -> bool:
    with session(app.db) as s:
        return s.exec(select(Escalation).where(Escalation.slack_ts.is_not(None))).first() \
            is not None


def test_a_refusal_to_someone_not_listed_waits_for_no_slow_slack(running: Running):
    _wait_attached(running)
    enrolled = enrol_client(running.app.rt, program_id="business_12w", name="Ana Lima",
                            zone="Europe/Berlin", coach="Casey Coach")
    open_case(running.app, enrolled.enrolment_id)
    [post] = running.api.wait_for_posted(1, channel=TEAM_CHANNEL)
    running.api.wait_for(lambda _: _post_recorded(running.app))  # the drain stores its ts
    running.api.add_user(STRANGER)
    body = json.dumps(event_callback(message_event(
        STRANGER, "ack", TEAM_CHANNEL, thread_ts=post["ts"], channel_type="channel"))).encode()
    with running.api.hold("chat.postEphemeral") as slack_answers:
        assert post_signed(running.url, body, JSON, timeout=SLACK_ACK_DEADLINE)[0] == 200
        assert running.api.calls_of("chat.postEphemeral") == []
        slack_answers.set()
        [told] = running.api.wait_for_call("chat.postEphemeral")
    assert told["user"] == STRANGER and "Only listed" in told["text"]


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_without_integrations_the_runner_listens_on_coachbot_http_host(
        db_url: str, api: FakeSlackAPI, clock):
    assert Settings(_env_file=None).http_host == "127.0.0.1"  # loopback unless told
    port = _free_port()
    app = _with_staff(build_app(_settings(db_url, api, http_port=port), clock=clock,
                                migrate=False))
    loop = LoopThread()
    loop.spawn(run_slack(app))
    try:
        url = f"http://127.0.0.1:{port}/slack/events"
        while True:  # until it listens: a refused connection answers at once
            try:
                status = post_signed(url, b"{}", JSON, sign=False)[0]
                break
            except OSError:
                continue
        assert status == 401  # the runner's own server, with Slack's route on it
    finally:
        loop.close()
        app.db.dispose()
