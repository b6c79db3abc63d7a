"""Schemas shared by several routers: pagination (error answers are in ``jobwerk.sdk.schemas``)."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Pagination(BaseModel):
    total: int = Field(description="How many rows match the filters")
    limit: int
    offset: int
    has_more: bool


def page(total: int, limit: int, offset: int, shown: int) -> Pagination:
    return Pagination(total=total, limit=limit, offset=offset, has_more=offset + shown < total)
