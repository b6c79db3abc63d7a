"""Base model for TEMU payloads: camelCase aliases, unknown fields tolerated and kept."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict
from pydantic.alias_generators import to_camel

__all__ = ["LabelValue", "Money", "TemuModel"]


class TemuModel(BaseModel):
    """A TEMU response object; fields are snake_case, the wire names camelCase."""

    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="allow", frozen=True
    )


class Money(TemuModel):
    """An amount in minor units (cents) with its currency."""

    currency: str | None = None
    amount: int | None = None


class LabelValue(TemuModel):
    """A named flag such as ``{"name": "soon_to_be_overdue", "value": 1}``."""

    name: str
    value: int | None = None
