"""The module manager's tables: catalog repositories and persisted operations."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Index, Integer, String, Text, text
from sqlalchemy.orm import Mapped, mapped_column

from jobwerk.storage.models import Base, utcnow

ACTIVE_OPERATION = text("status IN ('queued', 'running')")


def new_operation_id() -> str:
    return str(uuid.uuid4())


class ModuleRepository(Base):
    """A catalog of installable module versions: a local folder or an HTTPS server."""

    __tablename__ = "module_repository"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    url: Mapped[str] = mapped_column(String(2000))
    ca_file: Mapped[str | None] = mapped_column(String(2000))
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ModuleOperation(Base):
    """One install, update, uninstall, rollback, instance or primary change, with its steps."""

    __tablename__ = "module_operation"
    __table_args__ = (
        Index(
            "uq_module_operation_active",
            "module",
            unique=True,
            sqlite_where=ACTIVE_OPERATION,
            postgresql_where=ACTIVE_OPERATION,
        ),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_operation_id)
    type: Mapped[str] = mapped_column(String(32))
    module: Mapped[str] = mapped_column(String(64), index=True)
    instance_id: Mapped[str | None] = mapped_column(String(32))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    rolled_back: Mapped[bool] = mapped_column(Boolean, default=False)
    restart_required: Mapped[bool] = mapped_column(Boolean, default=False)
    progress: Mapped[int] = mapped_column(Integer, default=0)
    message: Mapped[str] = mapped_column(Text, default="")
    steps: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    request: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    requested_by: Mapped[str | None] = mapped_column(String(200))
    idempotency_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    started_at: Mapped[datetime | None]
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
