"""Bearer tokens of the HTTP API: made by `coachbot token add`, kept as SHA-256 digests.

A token is shown once, when it is made; the database holds only its digest, so a copy of
the database gives nobody access. Revoking keeps the row (the audit log names it).
"""

from __future__ import annotations

import hashlib
import re
import secrets
from dataclasses import dataclass
from datetime import datetime

from services.unit_of_work import Runtime
from storage import audit
from storage import token_store as api_tokens

PREFIX = "cbt_"  # recognisable in a leaked-secret scan
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")


class TokenError(ValueError):
    """A clear reason a token cannot be made or revoked."""


@dataclass(frozen=True)
class TokenInfo:
    """A token as `coachbot token list` shows it: never the token itself."""

    name: str
    created_at: datetime
    last_used_at: datetime | None
    revoked_at: datetime | None


def digest(token: str) -> str:
    """The stored form of a token. A plain hash suffices: tokens are 256 random bits."""
    return hashlib.sha256(token.encode()).hexdigest()


def create(runtime: Runtime, name: str) -> str:
    """Make a token named `name`; the token itself, to be shown once."""
    if not _NAME.match(name):
        raise TokenError("a token name is letters, digits, '.', '_' or '-' (up to 64)")
    token = PREFIX + secrets.token_urlsafe(32)
    with runtime.transaction() as uow:
        if api_tokens.token_named(uow.session, name) is not None:
            raise TokenError(f"a token named '{name}' exists; revoke it or pick another name")
        api_tokens.add_token(uow.session, name=name, token_hash=digest(token), now=uow.now)
        audit.record(uow.session, at=uow.now, actor="cli", action="api_token_added",
                     enrolment_id=None, token=name)
    return token


def revoke(runtime: Runtime, name: str) -> None:
    """Stop a token from working, at once."""
    with runtime.transaction() as uow:
        token = api_tokens.token_named(uow.session, name)
        if token is None or token.revoked_at is not None:
            raise TokenError(f"no live token named '{name}'")
        api_tokens.revoke(uow.session, token, now=uow.now)
        audit.record(uow.session, at=uow.now, actor="cli", action="api_token_revoked",
                     enrolment_id=None, token=name)


def tokens(runtime: Runtime) -> list[TokenInfo]:
    """Every token made, oldest first."""
    with runtime.reading() as session:
        return [TokenInfo(t.name, t.created_at, t.last_used_at, t.revoked_at)
                for t in api_tokens.all_tokens(session)]


def caller(runtime: Runtime, bearer: str | None) -> str | None:
    """The name of the live token `bearer` is, or None; notes when it was last used."""
    if not bearer or not bearer.startswith(PREFIX) or len(bearer) > 200:
        return None
    with runtime.transaction() as uow:
        token = api_tokens.live_token(uow.session, digest(bearer))
        if token is None:
            return None
        api_tokens.touch(uow.session, token, now=uow.now)
        return token.name


def refused(runtime: Runtime, name: str, *, route: str, status: int) -> None:
    """Audit a call by a valid token that was refused (bad input, nothing found)."""
    with runtime.transaction() as uow:
        audit.record(uow.session, at=uow.now, actor=f"api:{name}", action="api_refused",
                     enrolment_id=None, route=route, status=status)
