"""Module discovery: a broken module is reported as failed and the others still load."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from jobwerk.config import Settings
from jobwerk.core.runtime import Runtime
from jobwerk.core.workflow import Workflow
from jobwerk.modules.base import CONTRACT_VERSION, Module
from jobwerk.modules.demo import DemoModule
from jobwerk.modules.registry import ModuleRegistry


def _broken() -> Module:
    raise ImportError("No module named 'left_pad'")


class FutureModule(Module):
    name = "future"
    contract_version = CONTRACT_VERSION + 1


class StrayModule(Module):
    name = "stray"

    def workflows(self) -> Sequence[Workflow[Any]]:
        return DemoModule().workflows()  # named demo.*, not stray.*


def test_a_module_that_fails_to_load_is_reported_and_the_others_load() -> None:
    registry = ModuleRegistry()
    registry.add_entry("demo", DemoModule)
    registry.add_entry("broken", _broken, source="broken_pkg:module")
    registry.add_entry("future", FutureModule)
    registry.add_entry("notamodule", lambda: object())
    states = {name: entry.status for name, entry in registry.modules.items()}
    assert states == {
        "demo": "loaded",
        "broken": "failed",
        "future": "failed",
        "notamodule": "failed",
    }
    assert "left_pad" in (registry.modules["broken"].error or "")
    assert "contract" in (registry.modules["future"].error or "")
    assert [module.name for module in registry.loaded()] == ["demo"]


def test_installed_modules_are_discovered_through_entry_points() -> None:
    registry = ModuleRegistry()
    registry.discover()
    assert registry.modules["demo"].status == "loaded"
    assert registry.modules["demo"].describe()["workflows"] == ["demo.example"]


def test_workflows_outside_the_module_namespace_fail_that_module_only(settings: Settings) -> None:
    runtime = Runtime(settings)
    registry = ModuleRegistry()
    registry.add_entry("stray", StrayModule)
    registry.attach(runtime)
    assert registry.modules["stray"].status == "failed"
    assert "outside 'stray.'" in (registry.modules["stray"].error or "")
    assert list(runtime.workflows) == []
