"""Stories of the HTTP API: a website form enrols a client with a token, Zapier books a
session; no token, no answer; every input error names its field."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from bot.cli import app as cli
from services import api_tokens
from storage.audit import entries
from storage.db import session

FORM = {"program": "business_12w", "name": "Ana Lima", "timezone": "Europe/Berlin",
        "email": "ana.lima@example.com"}


@pytest.fixture
def token(app) -> str:
    return api_tokens.create(app.rt, "website")


def _post(http, path: str, body: object, token: str | None, *, raw: bytes | None = None):
    headers = {"Content-Type": "application/json"}
    if token is not None:
        headers["Authorization"] = f"Bearer {token}"
    return http.post(path, raw if raw is not None else json.dumps(body).encode(), headers)


def test_a_website_form_enrols_a_client_who_then_reads_back_the_same(app, http, token,
                                                                     telegram_api):
    made = _post(http, "/api/enrolments", FORM, token)
    assert made.status == 201
    assert (made.body["status"], made.body["name"], made.body["email"]) == (
        "invited", "Ana Lima", "ana.lima@example.com")
    code = made.body["invite_code"]
    assert made.body["invite_link"] == f"https://t.me/coachbot_test_bot?start={code}"

    read = http.get(f"/api/enrolments/{made.body['id']}", {"Authorization": f"Bearer {token}"})
    assert (read.status, read.body["invite_code"]) == (200, code)
    with session(app.db) as s:
        actions = [(e.actor, e.action) for e in entries(s, enrolment_ids=[made.body["id"]])]
    assert actions == [("api:website", "api_enrolment_read"),
                       ("api:website", "api_enrolment_created")]


def test_zapier_books_a_session_once_however_often_it_retries(app, http, token):
    enrolment_id = _post(http, "/api/enrolments", FORM, token).body["id"]
    call = {"enrolment_id": enrolment_id, "starts_at": "2026-03-05T15:00:00",
            "external_id": "crm-778"}
    first = _post(http, "/api/sessions", call, token)
    again = _post(http, "/api/sessions", call, token)
    assert first.status == again.status == 201
    # No offset: the client's own local time (15:00 in Berlin is 14:00 UTC).
    assert first.body["starts_at"] == "2026-03-05T14:00:00Z"
    assert first.body["id"] == again.body["id"]
    read = http.get(f"/api/enrolments/{enrolment_id}", {"Authorization": f"Bearer {token}"})
    assert read.body["sessions"] == ["2026-03-05T14:00:00Z"]


@pytest.mark.parametrize("given", [None, "", "cbt_not-a-real-token", "Basic d2hvOmV2ZXI="])
def test_without_a_valid_token_the_api_says_nothing_about_what_exists(app, http, token, given):
    real = _post(http, "/api/enrolments", FORM, token).body["id"]
    headers = {"Authorization": given} if given and given.startswith("Basic") else (
        {"Authorization": f"Bearer {given}"} if given is not None else {})
    for path in (f"/api/enrolments/{real}", "/api/enrolments/999999"):
        answer = http.get(path, headers)
        assert (answer.status, answer.body) == (401, {"error": {
            "code": "unauthorized", "message": "a valid bearer token is required",
            "field": None}})
    refused = http.post("/api/enrolments", json.dumps(FORM).encode(), headers)
    assert refused.status == 401


def test_a_revoked_token_stops_working_at_once(app, http, token):
    api_tokens.revoke(app.rt, "website")
    assert _post(http, "/api/enrolments", FORM, token).status == 401


@pytest.mark.parametrize(("body", "raw", "field", "code"), [
    ({**FORM, "favourite_colour": "teal"}, None, "favourite_colour", "invalid"),
    ({k: v for k, v in FORM.items() if k != "timezone"}, None, "timezone", "invalid"),
    ({**FORM, "timezone": "Mars/Olympus"}, None, "timezone", "invalid"),
    ({**FORM, "email": "not an address"}, None, "email", "invalid"),
    ({**FORM, "program": "nope"}, None, "program", "unknown_program"),
    (None, b'{"program": "business_12w",', None, "malformed_json"),
    (None, b"[1, 2]", None, "invalid"),
])
def test_bad_input_is_refused_with_the_field_named(app, http, token, body, raw, field, code):
    answer = _post(http, "/api/enrolments", body, token, raw=raw)
    assert answer.status == 400
    assert (answer.error["code"], answer.error["field"]) == (code, field)


def test_a_session_in_the_past_or_for_no_enrolment_is_refused(app, http, token):
    enrolment_id = _post(http, "/api/enrolments", FORM, token).body["id"]
    past = _post(http, "/api/sessions", {"enrolment_id": enrolment_id,
                                         "starts_at": "2026-03-01T10:00:00Z"}, token)
    assert (past.status, past.error["field"]) == (400, "starts_at")
    missing = _post(http, "/api/sessions", {"enrolment_id": 4040,
                                            "starts_at": "2026-04-01T10:00:00Z"}, token)
    assert (missing.status, missing.error["code"]) == (404, "not_found")


def test_an_oversized_body_is_refused_before_it_is_read(http, token):
    answer = _post(http, "/api/enrolments", None, token, raw=b" " * 300_000)
    assert (answer.status, answer.error["code"]) == (413, "too_large")


def test_the_openapi_document_describes_the_routes_and_the_error_shape(http):
    document = http.get("/api/openapi.json").body
    assert document["openapi"].startswith("3.1")
    assert set(document["paths"]) == {"/api/enrolments", "/api/enrolments/{id}",
                                      "/api/sessions"}
    schemas = document["components"]["schemas"]
    assert schemas["EnrolmentIn"]["additionalProperties"] is False
    assert set(schemas["ErrorDetail"]["properties"]) == {"code", "message", "field"}


def test_coachbot_token_add_prints_a_token_once_and_list_never_shows_it(tmp_path):
    env = {"COACHBOT_DATABASE_URL": f"sqlite:///{tmp_path / 'cli.db'}", "COLUMNS": "200",
           "COACHBOT_TELEGRAM_TOKEN": "", "COACHBOT_SLACK_BOT_TOKEN": ""}
    runner = CliRunner()
    added = runner.invoke(cli, ["token", "add", "--name", "zapier"], env=env)
    assert added.exit_code == 0, added.output
    token = added.stdout.rsplit(": ", 1)[1].strip()
    assert token.startswith("cbt_")
    listed = runner.invoke(cli, ["token", "list"], env=env)
    assert "zapier" in listed.stdout and token not in listed.stdout
    again = runner.invoke(cli, ["token", "add", "--name", "zapier"], env=env)
    assert again.exit_code == 2
    assert runner.invoke(cli, ["token", "revoke", "zapier"], env=env).exit_code == 0
