"""The small JSON API for websites, Zapier and CRMs: enrol a client, read an enrolment,
book a session. Bearer tokens from `coachbot token add`; OpenAPI at /api/openapi.json.

Order of checks, so a caller without a valid token learns nothing: the token first (401
for anything else), then the body (JSON, then its fields, by pydantic: unknown fields are
refused by name), then the use case.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import Any, TypeVar

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from pydantic.json_schema import models_json_schema

from bot.http_server import MAX_BODY, error
from services import api_tokens
from services.api import (
    ApiError,
    EnrolmentView,
    SessionView,
    add_session,
    create_enrolment,
    read_enrolment,
)
from services.unit_of_work import Runtime

log = logging.getLogger("coachbot.integrations.api")

M = TypeVar("M", bound=BaseModel)
InviteLink = Callable[[str], Awaitable[str | None]]


class Strict(BaseModel):
    """Request bodies: a field we do not know is an error, never silently dropped."""

    model_config = ConfigDict(extra="forbid")


class EnrolmentIn(Strict):
    """Enrol a new client."""

    program: str = Field(min_length=1, max_length=64, description="a loaded program's id")
    name: str = Field(min_length=1, max_length=200, description="the client's full name")
    timezone: str = Field(min_length=1, max_length=64,
                          description="IANA time zone, e.g. Europe/Berlin")
    email: str | None = Field(default=None, max_length=254,
                              description="matches bookings and payments to the client")
    coach: str | None = Field(default=None, max_length=200,
                              description="a coach's name as given to `coachbot staff add`")


class SessionIn(Strict):
    """Book a coaching session."""

    enrolment_id: int = Field(ge=1)
    starts_at: datetime = Field(description="ISO 8601; without an offset, the client's "
                                "own local time")
    external_id: str | None = Field(default=None, min_length=1, max_length=200,
                                    description="your id for it: the same id twice books once")


class EnrolmentOut(BaseModel):
    """An enrolment."""

    id: int
    program: str
    status: str
    stage: str
    name: str
    email: str | None
    timezone: str
    invite_code: str | None = Field(description="while the client has not joined")
    invite_link: str | None = Field(description="the Telegram deep link, when Telegram is on")
    enrolled_at: datetime
    sessions: list[datetime] = Field(description="booked sessions, in UTC")
    took_next_step: bool


class SessionOut(BaseModel):
    """A booked session."""

    id: int
    enrolment_id: int
    starts_at: datetime


class ErrorDetail(BaseModel):
    code: str
    message: str
    field: str | None


class ErrorOut(BaseModel):
    """Every error of every route has this shape."""

    error: ErrorDetail


class Api:
    """The /api routes."""

    def __init__(self, runtime: Runtime, *, invite_link: InviteLink | None = None) -> None:
        self.runtime = runtime
        self.invite_link = invite_link

    def register(self, app: web.Application) -> None:
        """Add the routes to the HTTP server."""
        app.router.add_get("/api/openapi.json", self.openapi)
        app.router.add_post("/api/enrolments", self.post_enrolment)
        app.router.add_get(r"/api/enrolments/{id:\d{1,18}}", self.get_enrolment)
        app.router.add_post("/api/sessions", self.post_session)

    async def openapi(self, _: web.Request) -> web.Response:
        return web.json_response(openapi_document())

    async def post_enrolment(self, request: web.Request) -> web.Response:
        return await self._call(request, EnrolmentIn, lambda caller, body: self._enrol(
            caller, body), status=201)

    async def get_enrolment(self, request: web.Request) -> web.Response:
        enrolment_id = int(request.match_info["id"])
        return await self._call(request, None, lambda caller, _: self._read(
            caller, enrolment_id))

    async def post_session(self, request: web.Request) -> web.Response:
        return await self._call(request, SessionIn, lambda caller, body: self._book(
            caller, body), status=201)

    async def _enrol(self, caller: str, body: EnrolmentIn) -> dict[str, Any]:
        view = await asyncio.to_thread(create_enrolment, self.runtime, caller,
                                       **body.model_dump())
        return await self._enrolment_out(view)

    async def _read(self, caller: str, enrolment_id: int) -> dict[str, Any]:
        view = await asyncio.to_thread(read_enrolment, self.runtime, caller, enrolment_id)
        return await self._enrolment_out(view)

    async def _book(self, caller: str, body: SessionIn) -> dict[str, Any]:
        view: SessionView = await asyncio.to_thread(add_session, self.runtime, caller,
                                                    **body.model_dump())
        return SessionOut(id=view.id, enrolment_id=view.enrolment_id,
                          starts_at=view.starts_at).model_dump(mode="json")

    async def _enrolment_out(self, view: EnrolmentView) -> dict[str, Any]:
        link = (await self.invite_link(view.invite_code)
                if view.invite_code and self.invite_link else None)
        return EnrolmentOut(
            id=view.id, program=view.program, status=view.status, stage=view.stage,
            name=view.name, email=view.email, timezone=view.timezone,
            invite_code=view.invite_code, invite_link=link, enrolled_at=view.enrolled_at,
            sessions=list(view.sessions), took_next_step=view.took_next_step,
        ).model_dump(mode="json")

    async def _call(self, request: web.Request, model: type[M] | None,
                    use: Callable[[str, Any], Awaitable[dict[str, Any]]], *,
                    status: int = 200) -> web.Response:
        bearer = request.headers.get("Authorization", "")
        token = bearer[7:].strip() if bearer[:7].lower() == "bearer " else None
        caller = await asyncio.to_thread(api_tokens.caller, self.runtime, token)
        if caller is None:
            # The same answer whatever exists: no hint of which ids or tokens are real.
            return error(401, "unauthorized", "a valid bearer token is required",
                         headers={"WWW-Authenticate": "Bearer"})
        route = f"{request.method} {request.path}"
        body = None
        if model is not None:
            body, refusal = await _parse(request, model)
            if refusal is not None:
                await asyncio.to_thread(api_tokens.refused, self.runtime, caller,
                                        route=route, status=refusal.status)
                return refusal
        try:
            answer = await use(caller, body)
        except ApiError as exc:
            await asyncio.to_thread(api_tokens.refused, self.runtime, caller, route=route,
                                    status=exc.status)
            return error(exc.status, exc.code, exc.message, exc.field)
        log.info("api call route=%s token=%s", route, caller)
        return web.json_response(answer, status=status)


async def _parse(request: web.Request, model: type[M]) -> tuple[M | None, web.Response | None]:
    """The body as `model`, or the 400 that names what is wrong with it."""
    raw = await request.read()
    try:
        data = json.loads(raw)
    except (json.JSONDecodeError, UnicodeDecodeError):
        return None, error(400, "malformed_json", "the body is not valid JSON")
    if not isinstance(data, dict):
        return None, error(400, "invalid", "the body must be a JSON object")
    try:
        return model.model_validate(data), None
    except ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = ("unknown field" if first["type"] == "extra_forbidden"
                   else str(first["msg"]).removeprefix("Value error, "))
        return None, error(400, "invalid", message, field)


def openapi_document() -> dict[str, Any]:
    """The API described as OpenAPI 3.1, from the same pydantic models that check it."""
    _, schemas = models_json_schema(
        [(m, "validation") for m in (EnrolmentIn, SessionIn)]
        + [(m, "serialization") for m in (EnrolmentOut, SessionOut, ErrorOut)],
        ref_template="#/components/schemas/{model}")

    def ref(name: str) -> dict[str, Any]:
        return {"$ref": f"#/components/schemas/{name}"}

    def answers(ok: str, code: str, *errors: str) -> dict[str, Any]:
        found = {code: {"description": ok, "content": {"application/json": {
            "schema": ref(ok)}}}}
        for status in ("401", *errors):
            found[status] = {"description": "an error", "content": {"application/json": {
                "schema": ref("ErrorOut")}}}
        return found

    def body(name: str) -> dict[str, Any]:
        return {"required": True, "content": {"application/json": {"schema": ref(name)}}}

    return {
        "openapi": "3.1.0",
        "info": {"title": "coachbot API", "version": "1",
                 "description": f"Bearer tokens from `coachbot token add`. Bodies up to "
                                f"{MAX_BODY} bytes."},
        "components": {"schemas": schemas["$defs"], "securitySchemes": {
            "bearer": {"type": "http", "scheme": "bearer"}}},
        "security": [{"bearer": []}],
        "paths": {
            "/api/enrolments": {"post": {
                "summary": "Enrol a client", "requestBody": body("EnrolmentIn"),
                "responses": answers("EnrolmentOut", "201", "400", "413")}},
            "/api/enrolments/{id}": {"get": {
                "summary": "Read an enrolment",
                "parameters": [{"name": "id", "in": "path", "required": True,
                                "schema": {"type": "integer"}}],
                "responses": answers("EnrolmentOut", "200", "404")}},
            "/api/sessions": {"post": {
                "summary": "Book a coaching session", "requestBody": body("SessionIn"),
                "responses": answers("SessionOut", "201", "400", "404", "409", "413")}},
        },
    }
