"""Users, API keys and login sessions: who may call jobwerk and with which role.

Passwords are argon2 hashes; API keys and session tokens are random 256-bit values of which only
the SHA-256 is stored (a fast hash is enough for secrets that cannot be guessed).
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum
from typing import Literal

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, func, select
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core.login import HashGate
from jobwerk.errors import Conflict, InvalidInput, NotFound
from jobwerk.storage.auth_models import ApiKey, AuthSession, User
from jobwerk.storage.db import Database
from jobwerk.storage.models import utcnow

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.@-]{0,63}$")
KEY_PREFIX = "jwk_"
MIN_PASSWORD = 8
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a missing user costs as much as a wrong
# password (no user enumeration through timing).
_DUMMY_HASH = _hasher.hash(secrets.token_urlsafe(16))


class Role(StrEnum):
    """Roles in rising order of power: viewers read, operators run, admins configure."""

    VIEWER = "viewer"
    OPERATOR = "operator"
    ADMIN = "admin"

    @property
    def rank(self) -> int:
        return list(Role).index(self)

    def allows(self, needed: Role) -> bool:
        return self.rank >= needed.rank


@dataclass(frozen=True)
class Principal:
    """An authenticated caller."""

    kind: Literal["user", "key", "static"]
    name: str
    role: Role
    csrf_token: str | None = None
    """Set for session (cookie) logins: mutations must echo it in ``X-CSRF-Token``."""

    @property
    def actor(self) -> str:
        """Who started a run, as stored in ``run.started_by``: ``user:anna``, ``key:erp``."""
        return f"{self.kind}:{self.name}"


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _check_name(field: str, value: str) -> None:
    if not NAME.match(value):
        message = f"{field} must be 1-64 letters, digits or _.@- and start with a letter or digit"
        raise InvalidInput(message, [{"loc": ["body", field], "msg": message, "type": "pattern"}])


def _check_password(password: str) -> None:
    if len(password) < MIN_PASSWORD:
        message = f"password must have at least {MIN_PASSWORD} characters"
        raise InvalidInput(message, [{"loc": ["body", "password"], "msg": message, "type": "min"}])


async def create_user(session: AsyncSession, username: str, password: str, role: Role) -> User:
    """Add a dashboard user.

    Raises:
        InvalidInput: bad username or a password shorter than 8 characters.
        Conflict: the username is taken.
    """
    _check_name("username", username)
    _check_password(password)
    if await session.scalar(select(User.id).where(User.username == username)):
        raise Conflict(f"user '{username}' already exists")
    password_hash = await asyncio.to_thread(_hasher.hash, password)
    user = User(username=username, password_hash=password_hash, role=role.value)
    session.add(user)
    await session.flush()
    return user


async def list_users(session: AsyncSession) -> list[User]:
    return list(await session.scalars(select(User).order_by(User.username)))


async def delete_user(session: AsyncSession, username: str) -> None:
    """Remove a user and their sessions. Raises NotFound."""
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user '{username}' not found")
    await session.delete(user)


async def set_password(session: AsyncSession, username: str, password: str) -> None:
    """Replace a user's password and end their sessions, so that whoever knew the old one
    is logged out.

    Raises:
        NotFound: no such user.
        InvalidInput: a password shorter than 8 characters.
    """
    user = await session.scalar(select(User).where(User.username == username))
    if user is None:
        raise NotFound(f"user '{username}' not found")
    _check_password(password)
    user.password_hash = await asyncio.to_thread(_hasher.hash, password)
    await session.execute(delete(AuthSession).where(AuthSession.user_id == user.id))
    await session.flush()


async def has_admin(session: AsyncSession) -> bool:
    count = await session.scalar(
        select(func.count()).select_from(User).where(User.role == Role.ADMIN.value, User.enabled)
    )
    return bool(count)


async def create_first_admin(session: AsyncSession, username: str = "admin") -> str | None:
    """Create an admin with a generated password when no admin exists; returns the password
    (to show once) or None when there already is one."""
    if await has_admin(session):
        return None
    password = secrets.token_urlsafe(12)
    await create_user(session, username, password, Role.ADMIN)
    return password


async def login(
    db: Database, gate: HashGate, username: str, password: str, hours: float
) -> tuple[User, str, AuthSession] | None:
    """Check the password and open a session; None when the login is refused (it costs the
    same whether or not the user exists). No database connection is held while hashing.

    Raises:
        LoginBusy: too many password checks are waiting.
    """
    async with db.read() as session:
        user = await session.scalar(select(User).where(User.username == username))
    try:
        await gate.run(_hasher.verify, user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.enabled:
        return None
    rehashed = None
    if _hasher.check_needs_rehash(user.password_hash):
        rehashed = await gate.run(_hasher.hash, password)
    async with db.write() as session:
        user = await session.get(User, user.id)
        if user is None or not user.enabled:
            return None
        if rehashed:
            user.password_hash = rehashed
        user.last_login_at = utcnow()
        token, row = await start_session(session, user, hours)
    return user, token, row


async def start_session(session: AsyncSession, user: User, hours: float) -> tuple[str, AuthSession]:
    """A new login session; returns the cookie token (shown once) and the stored row."""
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        id=token_hash(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(hours=hours),
    )
    session.add(row)
    await session.execute(delete(AuthSession).where(AuthSession.expires_at < utcnow()))
    await session.flush()
    return token, row


async def end_session(session: AsyncSession, token: str) -> None:
    await session.execute(delete(AuthSession).where(AuthSession.id == token_hash(token)))


async def resolve_session(session: AsyncSession, token: str) -> Principal | None:
    """The user behind a session cookie, or None when unknown, expired or disabled."""
    row = await session.execute(
        select(User.username, User.role, AuthSession.csrf_token)
        .join(User, User.id == AuthSession.user_id)
        .where(
            AuthSession.id == token_hash(token),
            AuthSession.expires_at > utcnow(),
            User.enabled,
        )
    )
    found = row.first()
    if found is None:
        return None
    return Principal("user", found.username, Role(found.role), csrf_token=found.csrf_token)


async def create_api_key(session: AsyncSession, name: str, role: Role) -> tuple[ApiKey, str]:
    """A new API key; returns the row and the key itself, which is never stored or shown again.

    Raises:
        InvalidInput: bad name. Conflict: the name is taken.
    """
    _check_name("name", name)
    if await session.scalar(select(ApiKey.id).where(ApiKey.name == name)):
        raise Conflict(f"API key '{name}' already exists")
    key = KEY_PREFIX + secrets.token_urlsafe(32)
    row = ApiKey(name=name, prefix=key[:10], key_hash=token_hash(key), role=role.value)
    session.add(row)
    await session.flush()
    return row, key


async def list_api_keys(session: AsyncSession) -> list[ApiKey]:
    return list(await session.scalars(select(ApiKey).order_by(ApiKey.created_at)))


async def revoke_api_key(session: AsyncSession, name: str) -> ApiKey:
    """Revoke a key by name (idempotent). Raises NotFound."""
    row = await session.scalar(select(ApiKey).where(ApiKey.name == name))
    if row is None:
        raise NotFound(f"API key '{name}' not found")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        await session.flush()
    return row


async def resolve_api_key(
    session: AsyncSession, key: str, static_key: str | None = None
) -> Principal | None:
    """The caller behind an API key: the configured static admin key or a stored, live key."""
    if static_key and hmac.compare_digest(key.encode(), static_key.encode()):
        return Principal("static", "static-key", Role.ADMIN)
    row = await session.execute(
        select(ApiKey.name, ApiKey.role).where(
            ApiKey.key_hash == token_hash(key), ApiKey.revoked_at.is_(None)
        )
    )
    found = row.first()
    return Principal("key", found.name, Role(found.role)) if found else None
