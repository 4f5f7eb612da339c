"""A fake of the one Stripe API call coachbot makes: a checkout session's line items.

Tests say which prices a checkout session sold (`sells`); the fake answers
GET /v1/checkout/sessions/{id}/line_items in Stripe's list shape, checks the secret key
is sent as a bearer token, and records each call.
"""

from __future__ import annotations

import time
from typing import ClassVar

from aiohttp import web

from tests.fakes.server import FakeServer, RecordedCallBase

SECRET_KEY = "rk_test_coachbot_reads_checkouts"


class FakeStripeAPI(FakeServer[RecordedCallBase]):
    """Serves line items of the checkout sessions a test has set up."""

    server_name: ClassVar[str] = "FakeStripeAPI"
    thread_name: ClassVar[str] = "fake-stripe-api"

    def __init__(self) -> None:
        super().__init__()
        self.line_items: dict[str, list[str]] = {}

    def sells(self, checkout_session_id: str, *price_ids: str) -> None:
        """The checkout session `checkout_session_id` sold these prices."""
        self.line_items[checkout_session_id] = list(price_ids)

    def _add_routes(self, app: web.Application) -> None:
        app.router.add_get("/v1/checkout/sessions/{id}/line_items", self._line_items)

    async def _line_items(self, request: web.Request) -> web.Response:
        session_id = request.match_info["id"]
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        status = 200
        if token != SECRET_KEY:
            status, body = 401, {"error": {"type": "invalid_request_error",
                                           "message": "Invalid API Key provided"}}
        elif session_id not in self.line_items:
            status, body = 404, {"error": {"type": "invalid_request_error",
                                           "message": f"No such checkout.session: {session_id}"}}
        else:
            body = {"object": "list", "has_more": False,
                    "url": f"/v1/checkout/sessions/{session_id}/line_items",
                    "data": [{"id": f"li_{n}", "object": "item", "quantity": 1,
                              "price": {"id": price, "object": "price"}}
                             for n, price in enumerate(self.line_items[session_id])]}
        self._add_call(RecordedCallBase("line_items", {"id": session_id}, time.monotonic(),
                                        token or None, "GET", status))
        return web.json_response(body, status=status)
