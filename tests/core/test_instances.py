"""Instances: validated settings, encrypted secrets, one primary; logs never show secrets."""

from __future__ import annotations

import stat

import pytest
from pydantic import BaseModel, SecretStr
from sqlalchemy import text

from jobwerk.core import instances
from jobwerk.core.runtime import Runtime
from jobwerk.errors import InvalidInput


class ShopSettings(BaseModel):
    region: str = "EU"
    app_key: str
    app_secret: SecretStr


async def test_secrets_are_encrypted_at_rest_and_decrypted_for_steps(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        shop = await instances.create_instance(
            session,
            runtime.box,
            "temu",
            ShopSettings,
            "DE",
            {"app_key": "key-1", "app_secret": "s3cr3t-value"},
        )
    async with runtime.db.session() as session:
        raw = (await session.execute(text("SELECT settings, secrets FROM instance"))).one()
    assert "s3cr3t-value" not in str(raw)
    assert "app_secret" not in str(raw[0])
    config = await runtime.load_instance(shop.id)
    assert config is not None and config.settings["app_secret"] == "s3cr3t-value"
    key_file = runtime.settings.data_dir / "secret.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600


async def test_exactly_one_primary_per_module(runtime: Runtime) -> None:
    values = {"app_key": "k", "app_secret": "s"}
    async with runtime.transaction() as session:
        first = await instances.create_instance(
            session, runtime.box, "temu", ShopSettings, "DE", values
        )
        second = await instances.create_instance(
            session, runtime.box, "temu", ShopSettings, "FR", values
        )
    assert (first.is_primary, second.is_primary) == (True, False)
    async with runtime.transaction() as session:
        await instances.set_primary(session, second.id)
    async with runtime.db.session() as session:
        primaries = [
            i.name for i in await instances.list_instances(session, "temu") if i.is_primary
        ]
    assert primaries == ["FR"]


async def test_invalid_settings_name_the_field(runtime: Runtime) -> None:
    async with runtime.transaction() as session:
        with pytest.raises(InvalidInput) as error:
            await instances.create_instance(
                session, runtime.box, "temu", ShopSettings, "DE", {"app_key": "k"}
            )
    assert error.value.errors[0]["loc"] == ["body", "settings", "app_secret"]
