"""TEMU Open API router URLs per shop region."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["ROUTER_URLS", "Region", "router_url"]


class Region(StrEnum):
    """The region of a seller shop; each region has its own gateway."""

    EU = "eu"
    US = "us"
    GLOBAL = "global"


ROUTER_URLS: dict[Region, str] = {
    Region.EU: "https://openapi-b-eu.temu.com/openapi/router",
    Region.US: "https://openapi-b-us.temu.com/openapi/router",
    Region.GLOBAL: "https://openapi-b-global.temu.com/openapi/router",
}


def router_url(region: Region | str) -> str:
    """Return the router URL for a region name (``eu``, ``us``, ``global``).

    Raises:
        ValueError: the region is unknown.
    """
    return ROUTER_URLS[Region(str(region).lower())]
