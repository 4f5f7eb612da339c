"""Bearer tokens of the HTTP API: stored as SHA-256 digests, revoked rather than deleted."""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session, col, select

from storage.models import ApiToken


def add_token(session: Session, *, name: str, token_hash: str, now: datetime) -> ApiToken:
    """Store a new token's digest under a unique name."""
    token = ApiToken(name=name, token_hash=token_hash, created_at=now)
    session.add(token)
    session.flush()
    return token


def token_named(session: Session, name: str) -> ApiToken | None:
    """The token with this name (revoked or not)."""
    return session.exec(select(ApiToken).where(ApiToken.name == name)).first()


def live_token(session: Session, token_hash: str) -> ApiToken | None:
    """The unrevoked token with this digest, if any."""
    return session.exec(select(ApiToken).where(ApiToken.token_hash == token_hash,
                                               col(ApiToken.revoked_at).is_(None))).first()


def all_tokens(session: Session) -> list[ApiToken]:
    """Every token, oldest first."""
    return list(session.exec(select(ApiToken).order_by(col(ApiToken.id))))


def touch(session: Session, token: ApiToken, *, now: datetime) -> None:
    """Note the token's latest use."""
    token.last_used_at = now
    session.add(token)
    session.flush()


def revoke(session: Session, token: ApiToken, *, now: datetime) -> None:
    """The token works no more."""
    token.revoked_at = now
    session.add(token)
    session.flush()
