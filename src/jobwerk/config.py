"""The one settings tree of jobwerk; nothing else reads ``os.environ``.

Variables use the ``JOBWERK_`` prefix with ``__`` nesting (``JOBWERK_API__PORT``), a ``.env``
file is read, and the seed's plain names (``API_HOST``, ``API_PORT``, ``API_CORS_ORIGINS``,
``API_KEY``, ``LOG_LEVEL``, ``DATABASE_POOL_SIZE``) are honoured below the prefixed ones.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, SecretStr, field_validator, model_validator
from pydantic.fields import FieldInfo
from pydantic_settings import (
    BaseSettings,
    EnvSettingsSource,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
)

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]

# The seed's variable names and where they land in the tree.
SEED_VARIABLES: dict[str, tuple[str, str]] = {
    "API_HOST": ("api", "host"),
    "API_PORT": ("api", "port"),
    "API_CORS_ORIGINS": ("api", "cors_origins"),
    "API_KEY": ("api", "key"),
    "LOG_LEVEL": ("log", "level"),
    "DATABASE_POOL_SIZE": ("database", "pool_size"),
}


class ApiSettings(BaseModel):
    host: str = "127.0.0.1"
    port: int = Field(8000, ge=1, le=65535)
    cors_origins: list[str] = Field(default_factory=list)
    key: SecretStr | None = Field(
        None, description="A static admin API key (seed 000); prefer keys made by `jobwerk keys`"
    )
    rate_limit_per_minute: int = Field(60, ge=1, description="Mutating requests per client")
    max_body_bytes: int = Field(10 * 1024 * 1024, ge=1024)
    tls_cert: Path | None = None
    tls_key: Path | None = None
    tls_port: int = Field(8443, ge=1, le=65535)
    session_hours: float = Field(12, gt=0)
    ws_heartbeat_seconds: float = Field(5.0, gt=0, description="Idle /ws/logs heartbeat period")
    ws_client_queue: int = Field(256, ge=1, description="Messages buffered per WebSocket client")
    list_cache_seconds: float = Field(
        1.0,
        ge=0,
        description="How long a run-list page is served from memory (0: not at all), and for "
        "as long again while it is re-read; a run change in this process drops it at once",
    )

    @field_validator("cors_origins", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip().startswith("["):
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value


class DatabaseSettings(BaseModel):
    url: str | None = Field(
        None, description="SQLAlchemy URL; default is SQLite in the data folder"
    )
    pool_size: int = Field(5, ge=1, le=200)
    echo: bool = False


class LogSettings(BaseModel):
    level: LogLevel = "INFO"
    format: Literal["console", "json"] = "console"

    @field_validator("level", mode="before")
    @classmethod
    def _upper(cls, value: Any) -> Any:
        return value.upper() if isinstance(value, str) else value


class EngineSettings(BaseModel):
    executor: Literal["local", "procrastinate"] = Field(
        "local",
        description="local: runs execute in the processes that poll the database; "
        "procrastinate (PostgreSQL only): runs go through Procrastinate's queue, with one "
        "running run per instance across all workers",
    )
    concurrency: int = Field(8, ge=1, le=1000, description="Runs executed at once per process")
    poll_seconds: float = Field(1.0, gt=0, description="How often queued runs are looked for")
    heartbeat_seconds: float = Field(5.0, gt=0)
    stale_after_seconds: float = Field(60.0, gt=0, description="Heartbeat age that means dead")
    execute: bool = Field(
        True,
        description="Execute runs in this process; false leaves them to `jobwerk worker` "
        "processes (an API-only `jobwerk serve`)",
    )
    scheduler: bool = Field(True, description="Fire scheduled jobs from this process")
    share_events: bool = Field(
        True,
        description="Exchange live events with the other jobwerk processes on this database "
        "(workers, nodes, the CLI), so every dashboard sees every run",
    )


class Settings(BaseSettings):
    """All of jobwerk's configuration."""

    model_config = SettingsConfigDict(
        env_prefix="JOBWERK_",
        env_nested_delimiter="__",
        env_file=".env",
        env_file_encoding="utf-8",
        extra="ignore",
    )

    data_dir: Path = Path("./data")
    secret_key: SecretStr | None = Field(
        None, description="Fernet key for secrets at rest; generated into the data folder if unset"
    )
    modules: list[str] | None = Field(
        None, description="Only load these modules (default: every installed module)"
    )
    api: ApiSettings = Field(default_factory=ApiSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    log: LogSettings = Field(default_factory=LogSettings)
    engine: EngineSettings = Field(default_factory=EngineSettings)

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        return (
            init_settings,
            env_settings,
            dotenv_settings,
            SeedVariablesSource(settings_cls),
            file_secret_settings,
        )

    @model_validator(mode="after")
    def _queue_needs_postgresql(self) -> Settings:
        if self.engine.executor == "procrastinate" and self.is_sqlite:
            raise ValueError(
                "JOBWERK_ENGINE__EXECUTOR=procrastinate needs PostgreSQL: set "
                "JOBWERK_DATABASE__URL to a postgresql+psycopg:// URL, or use the local executor"
            )
        return self

    @property
    def database_url(self) -> str:
        """The configured database URL, or the SQLite file in the data folder."""
        if self.database.url:
            return self.database.url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'jobwerk.db').resolve()}"

    @property
    def is_sqlite(self) -> bool:
        return self.database_url.startswith("sqlite")


class SeedVariablesSource(EnvSettingsSource):
    """The seed's unprefixed variables, applied below the ``JOBWERK_`` ones."""

    def __init__(self, settings_cls: type[BaseSettings]) -> None:
        super().__init__(settings_cls, env_prefix="", case_sensitive=True)

    def get_field_value(self, field: FieldInfo, field_name: str) -> tuple[Any, str, bool]:
        return None, field_name, False

    def __call__(self) -> dict[str, Any]:
        nested: dict[str, dict[str, Any]] = {}
        for variable, (section, key) in SEED_VARIABLES.items():
            value = os.environ.get(variable)
            if value is not None:
                nested.setdefault(section, {})[key] = value
        return nested


def load_settings(**overrides: Any) -> Settings:
    """Read the settings from the environment and ``.env``, with ``overrides`` on top.

    Raises:
        pydantic.ValidationError: when a value is invalid; the CLI prints it and exits.
    """
    return Settings(**overrides)
