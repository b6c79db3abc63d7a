"""The docs module's table: stored scraper credentials, encrypted at rest."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
from sqlalchemy.orm import Mapped, mapped_column

from jobwerk.storage.models import Base, new_id, utcnow


class DocsCredential(Base):
    """Auth for one documentation host; ``secrets`` is a ``SecretBox`` token of the headers
    and cookies to send, never returned by the API."""

    __tablename__ = "docs_credential"

    id: Mapped[str] = mapped_column(String(32), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(100), unique=True)
    host: Mapped[str] = mapped_column(String(260))
    auth_type: Mapped[str] = mapped_column(String(16))
    secrets: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]
