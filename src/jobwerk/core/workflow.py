"""Workflows: named, ordered steps with a typed parameter model, and their registry."""

from __future__ import annotations

import difflib
import re
from collections.abc import Awaitable, Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel, ValidationError

from jobwerk.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from jobwerk.core.context import StepContext

P = TypeVar("P", bound=BaseModel)
StepFunc = Callable[["StepContext[Any]"], Awaitable[Mapping[str, Any] | None]]

WORKFLOW_NAME = re.compile(r"^[a-z][a-z0-9_]*\.[a-z][a-z0-9_]*$")
STEP_NAME = re.compile(r"^[a-z][a-z0-9_]{0,63}$")


class Retry(Exception):
    """Raised by a step for a failure that is worth another attempt.

    Args:
        reason: what went wrong, logged with the attempt.
        defer: seconds to wait before the next attempt; default is the step's backoff.
    """

    def __init__(self, reason: str, *, defer: float | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.defer = defer


@dataclass(frozen=True)
class Step:
    """One unit of a workflow."""

    name: str
    func: StepFunc
    title: str
    timeout: float | None = None
    retries: int = 0
    backoff: float = 1.0
    resumable: bool = True
    """A retry run may skip this step when it completed in the run being retried."""

    def backoff_for(self, attempt: int) -> float:
        """Exponential backoff before attempt ``attempt + 1`` (1-based attempts)."""
        return float(self.backoff * 2 ** (attempt - 1))


@dataclass
class Workflow(Generic[P]):
    """A named, ordered list of steps with a typed parameter model.

    Args:
        name: ``<module>.<name>``, e.g. ``temu.sync_orders``.
        params: the pydantic model the run parameters are validated with.
        title: a human title for the dashboard.
        description: one or two sentences on what it does.
        instance_lock: runs of one instance never overlap with other runs of it that take the
            lock (Procrastinate's per-instance lock). A long-lived run that coordinates with the
            others by itself, such as a watcher, sets it to False so it blocks nobody.
    """

    name: str
    params: type[P]
    title: str = ""
    description: str = ""
    steps: list[Step] = field(default_factory=list)
    instance_lock: bool = True

    def __post_init__(self) -> None:
        if not WORKFLOW_NAME.match(self.name):
            raise ValueError(f"workflow name {self.name!r} must look like 'module.name'")
        self.title = self.title or self.name

    @property
    def module(self) -> str:
        return self.name.split(".", 1)[0]

    def step(
        self,
        name: str,
        *,
        title: str | None = None,
        timeout: float | None = None,
        retries: int = 0,
        backoff: float = 1.0,
        resumable: bool = True,
    ) -> Callable[[StepFunc], StepFunc]:
        """Append a step; use as a decorator on ``async def step(ctx) -> dict | None``."""
        if not STEP_NAME.match(name):
            raise ValueError(f"step name {name!r} must be lower snake case")
        if any(existing.name == name for existing in self.steps):
            raise ValueError(f"workflow {self.name} already has a step {name!r}")

        def register(func: StepFunc) -> StepFunc:
            self.steps.append(
                Step(
                    name,
                    func,
                    title or name.replace("_", " "),
                    timeout,
                    retries,
                    backoff,
                    resumable,
                )
            )
            return func

        return register

    def validate_params(self, raw: Mapping[str, Any] | None) -> P:
        """Validate run parameters; a name the model does not know is an error, not ignored.

        Raises:
            InvalidInput: with pydantic-style errors, each ``loc`` starting with ``params``, and
            a message that names the problem (and, for an unknown name, the valid ones).
        """
        raw = dict(raw or {})
        self._reject_unknown(raw)
        try:
            return self.params.model_validate(raw)
        except ValidationError as exc:
            raise InvalidInput.from_validation(
                f"invalid parameters for {self.name}", exc, "params"
            ) from None

    def _reject_unknown(self, raw: Mapping[str, Any]) -> None:
        if self.params.model_config.get("extra") == "allow":
            return
        known = {
            name
            for key, field_info in self.params.model_fields.items()
            for name in (key, field_info.alias)
            if name
        }
        unknown = [name for name in raw if name not in known]
        if not unknown:
            return
        valid = sorted(self.params.model_fields)
        hints = [
            f"'{name}'" + (f" (did you mean '{close[0]}'?)" if close else "")
            for name in unknown
            for close in [difflib.get_close_matches(name, valid, n=1)]
        ]
        raise InvalidInput(
            f"unknown parameter {', '.join(hints)} for {self.name}; "
            + (f"valid: {', '.join(valid)}" if valid else "it takes no parameters"),
            [
                {"loc": ["params", name], "msg": "unknown parameter", "type": "extra_forbidden"}
                for name in unknown
            ],
        )

    def describe(self) -> dict[str, Any]:
        """Name, title, steps and the JSON schema of the parameters."""
        return {
            "name": self.name,
            "title": self.title,
            "description": self.description,
            "steps": [{"name": step.name, "title": step.title} for step in self.steps],
            "params_schema": self.params.model_json_schema(),
        }


class WorkflowRegistry:
    """Workflows by name."""

    def __init__(self) -> None:
        self._workflows: dict[str, Workflow[Any]] = {}

    def register(self, workflow: Workflow[Any]) -> None:
        if not workflow.steps:
            raise ValueError(f"workflow {workflow.name} has no steps")
        self._workflows[workflow.name] = workflow

    def unregister_module(self, module: str) -> None:
        for name in [name for name in self._workflows if name.startswith(f"{module}.")]:
            del self._workflows[name]

    def get(self, name: str) -> Workflow[Any]:
        try:
            return self._workflows[name]
        except KeyError:
            raise NotFound(f"workflow '{name}' is not registered") from None

    def __contains__(self, name: object) -> bool:
        return name in self._workflows

    def __iter__(self) -> Iterator[Workflow[Any]]:
        return iter(sorted(self._workflows.values(), key=lambda workflow: workflow.name))
