"""Schemas of ``/api/v1/auth``: login sessions, users and API keys."""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from jobwerk.core.auth import NAME, Role

NAME_PATTERN = NAME.pattern


class LoginBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class SessionRead(BaseModel):
    kind: str = Field(description="user, key or static")
    name: str
    role: Role
    csrf_token: str | None = Field(
        None, description="Dashboard sessions: send it as X-CSRF-Token with every mutation"
    )


class LoginRead(SessionRead):
    expires_at: datetime


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    username: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    password: str = Field(min_length=8, max_length=1024)
    role: Role = Role.VIEWER


class UserRead(BaseModel):
    username: str
    role: Role
    enabled: bool
    created_at: datetime
    last_login_at: datetime | None


class KeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=64, pattern=NAME_PATTERN)
    role: Role = Role.VIEWER


class KeyRead(BaseModel):
    name: str
    role: Role
    prefix: str
    created_at: datetime
    revoked_at: datetime | None


class KeyCreated(KeyRead):
    key: str = Field(description="The key itself; shown only now")
