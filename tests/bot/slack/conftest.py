"""A Slack world for tests: the Bolt app production builds, behind the production HTTP server
and route on 127.0.0.1, the fake Web API it calls (strict about tokens, channels, users and
limits), staff listed in the database, and helpers that send signed requests."""

from __future__ import annotations

import asyncio
import itertools
import json
import threading
import urllib.error
import urllib.request
from collections.abc import Coroutine, Iterator
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pytest
from slack_sdk import WebClient
from sqlmodel import select

from bot.composition import App
from bot.http_server import HttpServer
from bot.settings import Settings
from bot.slack.listeners import build_bolt_app
from bot.slack.slack_http import SlackRoute
from bot.slack.slack_sender import async_web_client, drain_slack
from services import escalations
from services.digest import digests_due
from storage.db import session
from storage.models import Answer
from storage.staff import add_staff, staff_at
from tests.conftest import INTAKE, SAMPLE
from tests.fakes.slack_api import (
    BOT_TOKEN,
    FakeSlackAPI,
    block_actions_payload,
    event_callback,
    home_block_actions_payload,
    message_event,
    reaction_added_event,
    sign_request,
    slash_command_body,
)

SECRET = "test-signing-secret"
TOKEN = BOT_TOKEN
TEAM_CHANNEL = "CTEAM"
COACH, TIA, BO, STRANGER, ANA = "UCOACH", "UTIA", "UBO", "USTRANGER", "UANA"
_commands = itertools.count(1)


@pytest.fixture
def settings(db_url: str) -> Settings:
    return Settings(database_url=db_url, program=SAMPLE, slack_team_channel=TEAM_CHANNEL,
                    slack_bot_token=TOKEN, slack_signing_secret=SECRET, _env_file=None)


@pytest.fixture
def api() -> Iterator[FakeSlackAPI]:
    with FakeSlackAPI(channels=(TEAM_CHANNEL,), users=(COACH, TIA, BO, ANA)) as fake:
        yield fake


class LoopThread:
    """An event loop in a background thread, as `coachbot run` has one: the tests' HTTP
    requests come from the test's own thread."""

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, name="test-loop",
                                        daemon=True)
        self._thread.start()

    def run(self, coroutine: Coroutine[Any, Any, Any]) -> Any:
        """Run `coroutine` on the loop and wait for its result."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(30)

    def spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Future:
        """Start `coroutine` on the loop (a task that runs until cancelled)."""
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop)

    def close(self) -> None:
        async def cancel_all() -> None:
            tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
        self.run(cancel_all())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()


def slack_server(app: App, loop: LoopThread) -> tuple[HttpServer, SlackRoute]:
    """The HTTP server with Slack's route, as the runner starts it, on a free port; it
    stops at once (nothing is in flight when a test ends)."""
    server = HttpServer(host="127.0.0.1", port=0, ready=lambda: True, shutdown_timeout=0.1)
    route = SlackRoute()
    server.add(route.register)
    loop.run(server.start())
    return server, route


def url_of(server: HttpServer, route: SlackRoute) -> str:
    return f"http://127.0.0.1:{server.port}{route.path}"


def post_signed(url: str, body: bytes, content_type: str, *, sign: bool = True,
                headers: dict[str, str] | None = None, timestamp: int | None = None,
                timeout: float = 10) -> tuple[int, str]:
    """POST as Slack does (signed unless `sign` is False); the status and the body."""
    sent = {"Content-Type": content_type, **(headers or {})}
    if sign:
        sent.update(sign_request(SECRET, body, timestamp=timestamp))
    request = urllib.request.Request(url, data=body, headers=sent, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=timeout) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@dataclass
class Slack:
    """The team's and clients' side of Slack, as signed HTTP requests to our app."""

    app: App
    api: FakeSlackAPI
    client: WebClient
    url: str

    def post(self, body: bytes, content_type: str, *, sign: bool = True,
             headers: dict[str, str] | None = None, timestamp: int | None = None
             ) -> tuple[int, str]:
        got = post_signed(self.url, body, content_type, sign=sign, headers=headers,
                          timestamp=timestamp)
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
        self.api.add_user(user)  # Slack sends events only from its workspace's members
        kind = "im" if channel.startswith("D") else "channel"
        return self.event(message_event(user, text, channel, thread_ts=thread_ts,
                                        channel_type=kind), event_id=event_id, retry=retry)

    def reacts(self, user: str, reaction: str, *, channel: str, ts: str) -> int:
        return self.event(reaction_added_event(user, reaction, channel, ts))

    def clicks(self, user: str, action_id: str, value: str, *, channel: str, ts: str,
               block_id: str = "actions") -> int:
        self.api.add_user(user)
        body = block_actions_payload(user, action_id, value, channel, ts, block_id)
        return self.post(body, "application/x-www-form-urlencoded")[0]

    def presses_on_home(self, user: str, action_id: str, value: str) -> int:
        """Press a button on one's App Home tab (no channel: the container is the view)."""
        self.api.add_user(user)
        body = home_block_actions_payload(user, action_id, value, view_id="VHOME")
        return self.post(body, "application/x-www-form-urlencoded")[0]

    def command(self, user: str, text: str) -> dict:
        """Type `/coachbot text`: acked at once, answered through the response_url."""
        self.api.add_user(user)
        name = f"command-{next(_commands)}"
        status, answer = self.post(
            slash_command_body(text=text, user_id=user, response_url=self.api.response_url(name)),
            "application/x-www-form-urlencoded")
        assert (status, answer) == (200, ""), answer
        [reply] = self.api.wait_for(lambda _: [c for c in self.api.calls_of("response_url")
                                               if c["response_url_name"] == name])
        self.deliver()  # what the command queued (an escalation's post) goes out now
        return reply

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

    def answers(self, enrolment_id: int) -> list[tuple[str, object]]:
        """(question, value) of every answer stored for the enrolment, in order."""
        with session(self.app.db) as s:
            return [(a.question_id, a.value["v"]) for a in s.exec(
                select(Answer).where(Answer.enrolment_id == enrolment_id)
                .order_by(Answer.id))]

    def team_posts(self) -> list[dict]:
        return [m for m in self.api.posted_messages(TEAM_CHANNEL) if not m.get("thread_ts")]

    def thread(self, ts: str) -> list[dict]:
        return [m for m in self.api.posted_messages(TEAM_CHANNEL) if m.get("thread_ts") == ts]


@pytest.fixture
def slack(app: App, api: FakeSlackAPI) -> Iterator[Slack]:
    client = WebClient(token=TOKEN, base_url=api.base_url)
    loop = LoopThread()
    server, route = slack_server(app, loop)
    route.attach(build_bolt_app(app, client), SECRET)
    with session(app.db) as s, s.begin():
        now = app.clock.now()
        add_staff(s, name="Bo Backup", slack_id=BO, role="team", timezone="Europe/Berlin",
                  now=now)
        add_staff(s, name="Tia Team", slack_id=TIA, role="team", timezone="Europe/Berlin",
                  now=now, backup="Bo Backup")
        add_staff(s, name="Casey Coach", slack_id=COACH, role="coach",
                  timezone="Europe/Berlin", now=now)
    yield Slack(app=app, api=api, client=client, url=url_of(server, route))
    loop.run(server.stop())
    loop.close()
    # A test that hits Slack's limits waits out Retry-After in real time: a slow test, and
    # not what it is about (tests of the limits use the fake directly).
    assert api.rate_limited() == 0


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
