"""Scraper credentials: basic auth, bearer tokens or header/cookie sets scoped to one host.

The secret parts are sealed with the runtime's ``SecretBox`` before they reach the database and
are only opened to build the ``Credentials`` of a scrape whose start URL is on that host.
"""

from __future__ import annotations

import base64
import re
from datetime import datetime
from typing import Literal
from urllib.parse import urlsplit

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core.secrets import SecretBox
from jobwerk.errors import Conflict, InvalidInput, NotFound
from jobwerk.storage.models import utcnow

from .models import DocsCredential
from .scraper import Credentials

AuthType = Literal["basic", "bearer", "headers"]
_HOST = re.compile(r"^[a-z0-9.-]{1,253}(:[0-9]{1,5})?$|^\[[0-9a-f:.]+\](:[0-9]{1,5})?$")
_TOKEN = re.compile(r"^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$")  # RFC 9110 field-name / cookie-name
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e]*")  # what an HTTP header carries without encoding


class CredentialCreate(BaseModel):
    """A credential to store; which fields are needed depends on ``auth_type``."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=100, examples=["intranet-docs"])
    host: str = Field(
        min_length=1,
        max_length=260,
        description="the host (optionally host:port) the credential is sent to, nothing else",
        examples=["docs.example.com"],
    )
    auth_type: AuthType
    username: str | None = Field(None, max_length=200, description="basic auth")
    password: SecretStr | None = Field(None, max_length=1000, description="basic auth")
    token: SecretStr | None = Field(None, max_length=4000, description="bearer token")
    headers: dict[str, SecretStr] = Field(default_factory=dict, description="auth_type headers")
    cookies: dict[str, SecretStr] = Field(default_factory=dict, description="auth_type headers")

    @field_validator("host")
    @classmethod
    def _plain_host(cls, host: str) -> str:
        host = host.strip().lower()
        if not _HOST.match(host):
            raise ValueError("a host name or host:port, without scheme or path")
        return host

    @field_validator("headers", "cookies")
    @classmethod
    def _names(cls, values: dict[str, SecretStr]) -> dict[str, SecretStr]:
        if len(values) > 20 or not all(_TOKEN.match(name) for name in values):
            raise ValueError("at most 20 entries with token names (letters, digits, -_.)")
        if not all(_HEADER_VALUE.fullmatch(value.get_secret_value()) for value in values.values()):
            raise ValueError("values must be printable ASCII, without line breaks")
        return values

    @field_validator("token")
    @classmethod
    def _header_safe(cls, token: SecretStr | None) -> SecretStr | None:
        if token is not None and not _HEADER_VALUE.fullmatch(token.get_secret_value()):
            raise ValueError("a bearer token is printable ASCII, without line breaks")
        return token

    @model_validator(mode="after")
    def _complete(self) -> CredentialCreate:
        if self.auth_type == "basic" and not (self.username and self.password):
            raise ValueError("basic auth needs username and password")
        if self.auth_type == "bearer" and not self.token:
            raise ValueError("a bearer credential needs token")
        if self.auth_type == "headers" and not (self.headers or self.cookies):
            raise ValueError("a headers credential needs headers or cookies")
        return self

    def to_credentials(self) -> Credentials:
        """The headers and cookies this credential sends."""
        headers = {name: value.get_secret_value() for name, value in self.headers.items()}
        cookies = {name: value.get_secret_value() for name, value in self.cookies.items()}
        if self.auth_type == "basic" and self.username and self.password:
            pair = f"{self.username}:{self.password.get_secret_value()}".encode()
            headers = {"Authorization": f"Basic {base64.b64encode(pair).decode()}"}
        elif self.auth_type == "bearer" and self.token:
            headers = {"Authorization": f"Bearer {self.token.get_secret_value()}"}
        return Credentials(headers=headers, cookies=cookies)


def parse_credential(raw: bytes) -> CredentialCreate:
    """Validate a credential body; unlike FastAPI's 422, errors never echo submitted values.

    Raises:
        InvalidInput: with ``loc``/``msg``/``type`` per problem.
    """
    try:
        return CredentialCreate.model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation("invalid credential", exc, "body") from None


class CredentialRead(BaseModel):
    """A stored credential without its secrets (names of headers and cookies only)."""

    id: str
    name: str
    host: str
    auth_type: AuthType
    header_names: list[str]
    cookie_names: list[str]
    created_at: datetime
    last_used_at: datetime | None


def credential_read(row: DocsCredential, box: SecretBox) -> CredentialRead:
    sealed = box.open(row.secrets)
    return CredentialRead(
        id=row.id,
        name=row.name,
        host=row.host,
        auth_type=row.auth_type,
        header_names=sorted(sealed.get("headers", {})),
        cookie_names=sorted(sealed.get("cookies", {})),
        created_at=row.created_at,
        last_used_at=row.last_used_at,
    )


async def create_credential(
    session: AsyncSession, box: SecretBox, data: CredentialCreate
) -> DocsCredential:
    """Store a credential with its secrets sealed.

    Raises:
        Conflict: the name is taken.
    """
    credentials = data.to_credentials()
    row = DocsCredential(
        name=data.name,
        host=data.host,
        auth_type=data.auth_type,
        secrets=box.seal({"headers": credentials.headers, "cookies": credentials.cookies}),
        created_at=utcnow(),
    )
    try:
        async with session.begin_nested():
            session.add(row)
    except IntegrityError:
        raise Conflict(f"a credential named '{data.name}' exists") from None
    return row


async def list_credentials(session: AsyncSession) -> list[DocsCredential]:
    return list(await session.scalars(select(DocsCredential).order_by(DocsCredential.name)))


async def get_credential(session: AsyncSession, credential_id: str) -> DocsCredential:
    row = await session.get(DocsCredential, credential_id)
    if row is None:
        raise NotFound(f"Credential '{credential_id}' not found")
    return row


async def delete_credential(session: AsyncSession, credential_id: str) -> None:
    """Raises NotFound."""
    await session.delete(await get_credential(session, credential_id))


def _host_matches(credential_host: str, url: str) -> bool:
    parts = urlsplit(url)
    host = (parts.hostname or "").lower()
    if ":" in host:
        host = f"[{host}]"
    with_port = f"{host}:{parts.port}" if parts.port else host
    return credential_host in (host, with_port)


async def resolve_credentials(
    session: AsyncSession, box: SecretBox, credential_id: str, url: str
) -> Credentials:
    """The ``Credentials`` of a scrape starting at ``url``.

    Raises:
        NotFound: no such credential. InvalidInput: it belongs to another host.
    """
    row = await get_credential(session, credential_id)
    if not _host_matches(row.host, url):
        raise InvalidInput(
            f"credential '{row.name}' is for host {row.host}, not for this URL",
            [{"loc": ["body", "credential_id"], "msg": "host mismatch", "type": "value_error"}],
        )
    sealed = box.open(row.secrets)
    row.last_used_at = utcnow()
    return Credentials(headers=dict(sealed["headers"]), cookies=dict(sealed["cookies"]))
