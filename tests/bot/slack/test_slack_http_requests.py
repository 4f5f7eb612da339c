"""Hostile and broken requests to Slack's HTTP route, over real sockets: each is answered
4xx before it costs memory or reaches Bolt, stores nothing and logs one short line."""

from __future__ import annotations

import json
import logging
import socket
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import quote

import pytest
from sqlmodel import func, select

from bot.composition import App
from bot.http_server import MAX_BODY, HttpServer
from bot.slack.listeners import build_bolt_app
from bot.slack.slack_http import SlackRoute
from storage.db import session
from storage.models import InboundEvent, OutboxMessage
from tests.bot.slack.conftest import SECRET, LoopThread, Slack, post_signed, url_of
from tests.fakes.slack_api import (
    event_callback,
    message_event,
    sign_request,
    url_verification,
)

JSON, FORM = "application/json", "application/x-www-form-urlencoded"


def _port(slack: Slack) -> int:
    return int(slack.url.rsplit(":", 1)[1].split("/", 1)[0])


def _exchange(port: int, head: str, body: bytes = b"") -> int:
    """Send raw bytes on one connection; the status of the answer (read as it comes)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(head.replace("\n", "\r\n").encode() + b"\r\n" + body)
        answer = b""
        while b"\r\n" not in answer and (chunk := sock.recv(4096)):
            answer += chunk
    return int(answer.split()[1])


def _stored(app: App) -> int:
    with session(app.db) as s:
        return (s.exec(select(func.count()).select_from(InboundEvent)).one()
                + s.exec(select(func.count()).select_from(OutboxMessage)).one())


def _head(length: str | None = None, *, extra: str = "") -> str:
    lines = ["POST /slack/events HTTP/1.1", "Host: 127.0.0.1", f"Content-Type: {JSON}"]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    return "\n".join(lines) + "\n" + extra


def test_a_post_without_a_length_is_refused_411_unread(slack: Slack):
    assert _exchange(_port(slack), _head()) == 411
    assert _stored(slack.app) == 0


def test_a_negative_length_gets_400_and_an_oversized_one_413_before_a_byte_is_sent(
        slack: Slack, caplog: pytest.LogCaptureFixture):
    with caplog.at_level(logging.DEBUG):
        assert _exchange(_port(slack), _head("-1")) == 400
        assert _exchange(_port(slack), _head("12abc")) == 400
        # Only the headers go out: the answer comes without the server waiting for 48 MiB.
        assert _exchange(_port(slack), _head(str(48 * 1024 * 1024))) == 413
    assert _stored(slack.app) == 0
    assert "Traceback" not in caplog.text


def test_a_chunked_body_past_the_cap_is_cut_off_with_413(slack: Slack):
    chunk = b"x" * 65536
    body = (f"{len(chunk):x}\r\n".encode() + chunk + b"\r\n") * (MAX_BODY // len(chunk) + 2)
    head = _head(extra="Transfer-Encoding: chunked\n")
    assert _exchange(_port(slack), head, body + b"0\r\n\r\n") == 413
    assert _stored(slack.app) == 0


@contextmanager
def _own_server(slack: Slack, secret: str | None = SECRET, **options: float) -> Iterator[str]:
    """Another production server and route (and Bolt app, built now), for `options`; with
    `secret` None the runner has not attached its Bolt app yet."""
    loop = LoopThread()
    server = HttpServer(host="127.0.0.1", port=0, ready=lambda: True, shutdown_timeout=0.1,
                        **options)
    route = SlackRoute()
    server.add(route.register)
    if secret is not None:
        route.attach(build_bolt_app(slack.app, slack.client), secret)
    loop.run(server.start())
    try:
        yield url_of(server, route)
    finally:
        loop.run(server.stop())
        loop.close()


def test_a_body_that_stops_arriving_is_answered_408(slack: Slack):
    with _own_server(slack, read_timeout=0.2) as url:
        # Promises 100 bytes, sends 10, then nothing: the server stops waiting by itself.
        port = int(url.rsplit(":", 1)[1].split("/", 1)[0])
        assert _exchange(port, _head("100"), b"0123456789") == 408


def test_the_signature_is_checked_on_the_raw_bytes_before_any_parsing(slack: Slack):
    junk = b'{"type": "event_callback", '  # not even JSON: no signature, so 401, not 400
    status, answer = post_signed(slack.url, junk, JSON, sign=False)
    assert status == 401 and json.loads(answer)["error"]["code"] == "bad_signature"
    body = json.dumps(event_callback(message_event("UNEW", "hi", "DUNEW"))).encode()
    other = sign_request(SECRET, body + b" ")  # signed, but for other bytes
    assert post_signed(slack.url, body, JSON, sign=False, headers=other)[0] == 401
    weird = {"X-Slack-Request-Timestamp": "9" * 5000, "X-Slack-Signature": "v0=\u00e9"}
    assert post_signed(slack.url, body, JSON, sign=False, headers=weird)[0] == 401
    assert _stored(slack.app) == 0


def test_signed_bodies_slack_never_sends_are_answered_400_and_store_nothing(
        slack: Slack, caplog: pytest.LogCaptureFixture):
    event = json.dumps(event_callback(message_event("UNEW", "hi", "DUNEW")))
    broken = [
        (b'{"type": "event_callback"', JSON),  # cut-off JSON
        (b"[1, 2, 3]", JSON),  # JSON, not an object
        (event.encode()[:-1] + b"\xff}", JSON),  # not UTF-8
        (b"payload=" + quote('{"type": "block_actions"').encode(), FORM),  # payload not JSON
        (b"payload=%5B%5D", FORM),  # payload a list
        (b"payload=%FF%FE", FORM),  # payload not UTF-8
        (event.encode(), "text/plain"),  # not a type Slack posts
    ]
    with caplog.at_level(logging.DEBUG):
        for body, content_type in broken:
            status, answer = post_signed(slack.url, body, content_type)
            assert status == 400 and json.loads(answer)["error"]["code"] == "bad_body", body
    assert _stored(slack.app) == 0
    assert "Traceback" not in caplog.text
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_mebibyte_of_junk_leaves_no_long_line_in_a_debug_log(
        slack: Slack, caplog: pytest.LogCaptureFixture):
    junk = b"A" * (1024 * 1024)
    long_dm = json.dumps(event_callback(message_event("UNEW", "B" * 100_000, "DUNEW")))
    unhandled = json.dumps(event_callback({"type": "app_mention", "text": "C" * 100_000,
                                           "user": "UNEW", "channel": "C1"}))
    # At DEBUG before Bolt is built: its loggers take the level they find then.
    with caplog.at_level(logging.DEBUG), _own_server(slack) as url:
        assert post_signed(url, junk, JSON, sign=False)[0] == 413
        assert post_signed(url, junk[:200_000], JSON, sign=False)[0] == 401
        assert post_signed(url, junk[:200_000], JSON)[0] == 400
        # Signed and well formed, but no listener of ours takes it: Bolt logs those.
        assert post_signed(url, unhandled.encode(), JSON)[0] == 404
        assert post_signed(url, long_dm.encode(), JSON)[0] == 200
    longest = max(len(r.getMessage()) for r in caplog.records)
    assert longest < 300
    assert "AAAAAAAAAA" not in caplog.text and "BBBBBBBBBB" not in caplog.text


def test_slacks_url_verification_is_still_answered_with_its_challenge(slack: Slack):
    body = json.dumps(url_verification("abc123")).encode()
    status, answer = post_signed(slack.url, body, JSON)
    assert status == 200 and "abc123" in answer


def test_a_request_before_the_runner_is_ready_is_answered_503_for_slack_to_retry(slack: Slack):
    """Slack retries a 503: an event that arrives while the runner is starting (no Bolt app
    yet, or no signing secret to check it with) is refused that way and stores nothing."""
    event = json.dumps(event_callback(message_event("UNEW", "hi", "DUNEW"))).encode()
    for secret in (None, ""):
        with _own_server(slack, secret=secret) as url:
            status, answer = post_signed(url, event, JSON)
            assert status == 503 and json.loads(answer)["error"]["code"] == "starting"
    assert _stored(slack.app) == 0


def test_bolts_answer_goes_back_as_bolt_made_it_an_event_acked_empty(slack: Slack):
    """The challenge comes back as the JSON Bolt wrote; an event's ack is an empty 200."""
    body = json.dumps(url_verification("abc123")).encode()
    sent = {"Content-Type": JSON, **sign_request(SECRET, body)}
    request = urllib.request.Request(slack.url, data=body, headers=sent, method="POST")
    with urllib.request.urlopen(request, timeout=10) as answer:
        assert answer.headers["Content-Type"].startswith(JSON)
        assert json.loads(answer.read()) == {"challenge": "abc123"}
    event = json.dumps(event_callback(message_event("UNEW", "hi", "DUNEW"))).encode()
    assert post_signed(slack.url, event, JSON) == (200, "")
