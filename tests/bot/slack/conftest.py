"""A Slack world for tests: the real Bolt app behind a real HTTP server on 127.0.0.1, the
fake Web API it calls, staff listed in the database, and helpers that send signed requests."""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta

import pytest
from slack_sdk import WebClient

from bot.composition import App
from bot.settings import Settings
from bot.slack.listeners import build_bolt_app
from bot.slack.slack_http import SlackHTTPServer
from bot.slack.slack_sender import async_web_client, drain_slack
from services import escalations
from services.digest import digests_due
from storage.db import session
from storage.staff import add_staff, staff_at
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.slack_api import (
    FakeSlackAPI,
    block_actions_payload,
    event_callback,
    message_event,
    reaction_added_event,
    sign_request,
    slash_command_body,
)

SECRET = "test-signing-secret"
TOKEN = "xoxb-test"
TEAM_CHANNEL = "CTEAM"
COACH, TIA, BO, STRANGER, ANA = "UCOACH", "UTIA", "UBO", "USTRANGER", "UANA"


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET, _env_file=None)


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI() as fake:
        yield fake


@dataclass
class Slack:
    """The team's and clients' side of Slack, as signed HTTP requests to our app."""

    app: App
    api: FakeSlackAPI
    client: WebClient
    server: SlackHTTPServer

    def post(self, body: bytes, content_type: str, *, sign: bool = True,
             headers: dict[str, str] | None = None, timestamp: int | None = None
             ) -> tuple[int, str]:
        sent = {"Content-Type": content_type, **(headers or {})}
        if sign:
            sent.update(sign_request(SECRET, body, timestamp=timestamp))
        request = urllib.request.Request(self.server.url, data=body, headers=sent,
                                         method="POST")
        try:
            with urllib.request.urlopen(request, timeout=10) as answer:
                got = answer.status, answer.read().decode()
        except urllib.error.HTTPError as error:
            got = error.code, error.read().decode()
        # The running bot's outbox drain wakes on every commit: what the request queued
        # (a post update, a reply) goes out now.
        self.deliver()
        return got

    def event(self, event: dict, *, event_id: str | None = None, retry: int | None = None,
              **kwargs) -> int:
        body = json.dumps(event_callback(event, event_id=event_id)).encode()
        headers = {"X-Slack-Retry-Num": str(retry), "X-Slack-Retry-Reason": "http_timeout"
                   } if retry else None
        return self.post(body, "application/json", headers=headers, **kwargs)[0]

    def says(self, user: str, text: str, *, channel: str, thread_ts: str | None = None,
             event_id: str | None = None, retry: int | None = None) -> int:
        kind = "im" if channel.startswith("D") else "channel"
        return self.event(message_event(user, text, channel, thread_ts=thread_ts,
                                        channel_type=kind), event_id=event_id, retry=retry)

    def reacts(self, user: str, reaction: str, *, channel: str, ts: str) -> int:
        return self.event(reaction_added_event(user, reaction, channel, ts))

    def clicks(self, user: str, action_id: str, value: str, *, channel: str, ts: str,
               block_id: str = "actions") -> int:
        body = block_actions_payload(user, action_id, value, channel, ts, block_id)
        return self.post(body, "application/x-www-form-urlencoded")[0]

    def command(self, user: str, text: str) -> dict:
        status, answer = self.post(slash_command_body(text=text, user_id=user),
                                   "application/x-www-form-urlencoded")
        assert status == 200, answer
        return json.loads(answer)

    def deliver(self) -> int:
        """Send the outbox's Slack messages through the Web API, as the runner does."""
        async def run() -> int:
            client = async_web_client(TOKEN, self.api.base_url)
            total = 0
            while sent := await drain_slack(self.app.rt, client):
                total += sent
            return total
        return asyncio.run(run())

    def tick(self) -> None:
        """The periodic jobs' minute (re-escalations, digests), then the outbox drained."""
        escalations.reescalate_due(self.app.rt)
        digests_due(self.app.rt, self.app.settings.digest_time)
        self.deliver()

    def team_posts(self) -> list[dict]:
        return [m for m in self.api.posted_messages(TEAM_CHANNEL) if not m.get("thread_ts")]

    def thread(self, ts: str) -> list[dict]:
        return [m for m in self.api.posted_messages(TEAM_CHANNEL) if m.get("thread_ts") == ts]


@pytest.fixture
def slack(app: App, api: FakeSlackAPI) -> Iterator[Slack]:
    client = WebClient(token=TOKEN, base_url=api.base_url)
    bolt = build_bolt_app(app, client, signing_secret=SECRET, process_before_response=True)
    server = SlackHTTPServer(bolt, host="127.0.0.1", port=0).start()
    with session(app.db) as s, s.begin():
        now = app.clock.now()
        add_staff(s, name="Bo Backup", slack_id=BO, role="team", timezone="Europe/Berlin",
                  now=now)
        add_staff(s, name="Tia Team", slack_id=TIA, role="team", timezone="Europe/Berlin",
                  now=now, backup="Bo Backup")
        add_staff(s, name="Casey Coach", slack_id=COACH, role="coach",
                  timezone="Europe/Berlin", now=now)
    yield Slack(app=app, api=api, client=client, server=server)
    server.stop()


def open_case(app: App, enrolment_id: int, reason: str = "Confidence below 5 two weeks "
              "in a row", sla: timedelta = timedelta(hours=24),
              evidence: tuple[tuple[str, str], ...] = ()) -> int:
    """Open an escalation the way a fired rule does, with the evidence it carries."""
    with session(app.db) as s:
        tia = staff_at(s, TIA)
        assert tia is not None
    with app.rt.transaction() as uow:
        case = escalations.open_case(app.rt, uow, enrolment_id=enrolment_id, reason=reason,
                                     owner_role="team", sla=sla, actor="rule:low_confidence",
                                     owner_id=tia.id, evidence=evidence)
        assert case is not None
        return case.id or 0


def two_clients_after_intake(enrol):
    """Ana and Ben of the same coach, both through consent and intake."""
    clients = []
    for name in ("Ana Lima", "Ben Okafor"):
        client = enrol(name)
        for answer in INTAKE:
            client.says(answer)
        clients.append(client)
    return clients
