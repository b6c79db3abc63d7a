"""Instances: configured uses of a module, with validated settings and encrypted secrets."""

from __future__ import annotations

import re
from typing import Any

from pydantic import BaseModel, SecretStr, ValidationError
from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from jobwerk.core.context import InstanceConfig
from jobwerk.core.secrets import SecretBox
from jobwerk.errors import AppError, InvalidInput, NotFound
from jobwerk.storage.models import Instance

INSTANCE_ID = re.compile(r"^[0-9a-f]{32}$")


def secret_fields(model: type[BaseModel]) -> set[str]:
    """Fields typed ``SecretStr`` (or ``SecretStr | None``) are stored encrypted."""
    names = set()
    for name, field in model.model_fields.items():
        annotation = field.annotation
        args = getattr(annotation, "__args__", ())
        if annotation is SecretStr or SecretStr in args:
            names.add(name)
    return names


def validate_settings(model: type[BaseModel], raw: dict[str, Any]) -> BaseModel:
    try:
        return model.model_validate(raw)
    except ValidationError as exc:
        raise InvalidInput.from_validation(
            "invalid instance settings", exc, "body", "settings"
        ) from None


def split_settings(
    model: type[BaseModel], settings: BaseModel
) -> tuple[dict[str, Any], dict[str, Any]]:
    """Plain settings and secrets (in clear, to be sealed) of a validated settings object."""
    secrets = secret_fields(model)
    plain = settings.model_dump(mode="json", exclude=secrets)
    hidden = {
        name: value.get_secret_value()
        for name in secrets
        if isinstance(value := getattr(settings, name), SecretStr)
    }
    return plain, hidden


def check_instance_id(instance_id: str) -> None:
    if not INSTANCE_ID.match(instance_id):
        raise AppError(f"instance id {instance_id!r} must be 32 hexadecimal characters")


async def get_instance(session: AsyncSession, instance_id: str) -> Instance:
    instance = await session.get(Instance, instance_id)
    if instance is None:
        raise NotFound(f"Instance '{instance_id}' not found")
    return instance


async def create_instance(
    session: AsyncSession,
    box: SecretBox,
    module: str,
    model: type[BaseModel] | None,
    name: str,
    settings: dict[str, Any],
    *,
    primary: bool | None = None,
) -> Instance:
    """Create an instance; the first one of a module becomes primary unless told otherwise.

    Raises:
        InvalidInput: settings that do not fit the module's model.
    """
    plain, hidden = settings, dict[str, Any]()
    if model is not None:
        plain, hidden = split_settings(model, validate_settings(model, settings))
    has_primary = await session.scalar(
        select(Instance.id).where(Instance.module == module, Instance.is_primary.is_(True))
    )
    make_primary = primary if primary is not None else has_primary is None
    if make_primary and has_primary:
        await _clear_primary(session, module)
    instance = Instance(
        module=module,
        name=name,
        settings=plain,
        secrets=box.seal(hidden) if hidden else None,
        is_primary=make_primary,
    )
    session.add(instance)
    await session.flush()
    return instance


async def update_settings(
    session: AsyncSession,
    box: SecretBox,
    instance: Instance,
    model: type[BaseModel] | None,
    changes: dict[str, Any],
) -> Instance:
    """Merge ``changes`` into an instance's settings; omitted secrets keep their value."""
    current = {**instance.settings, **box.open(instance.secrets)}
    merged = {**current, **{key: value for key, value in changes.items() if value is not None}}
    if model is None:
        instance.settings = merged
        return instance
    plain, hidden = split_settings(model, validate_settings(model, merged))
    instance.settings, instance.secrets = plain, box.seal(hidden) if hidden else None
    await session.flush()
    return instance


async def _clear_primary(session: AsyncSession, module: str) -> None:
    await session.execute(
        update(Instance).where(Instance.module == module).values(is_primary=False)
    )
    await session.flush()


async def set_primary(session: AsyncSession, instance_id: str) -> Instance:
    """Make an instance its module's primary, in one transaction (never zero or two)."""
    instance = await get_instance(session, instance_id)
    await _clear_primary(session, instance.module)
    await session.execute(
        update(Instance).where(Instance.id == instance_id).values(is_primary=True)
    )
    await session.refresh(instance)
    return instance


async def primary_instance(session: AsyncSession, module: str) -> Instance:
    instance = await session.scalar(
        select(Instance).where(Instance.module == module, Instance.is_primary.is_(True))
    )
    if instance is None:
        raise NotFound(f"module '{module}' has no primary instance; create one first")
    return instance


async def list_instances(session: AsyncSession, module: str | None = None) -> list[Instance]:
    statement = select(Instance).order_by(Instance.module, Instance.created_at)
    if module:
        statement = statement.where(Instance.module == module)
    return list(await session.scalars(statement))


def instance_config(box: SecretBox, instance: Instance) -> InstanceConfig:
    """The instance as a step sees it, secrets decrypted."""
    return InstanceConfig(
        id=instance.id,
        module=instance.module,
        name=instance.name,
        settings={**instance.settings, **box.open(instance.secrets)},
        is_primary=instance.is_primary,
    )
