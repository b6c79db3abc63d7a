"""Registers the test workflows on the ``runtime`` fixture."""

from __future__ import annotations

import pytest

from jobwerk.core.runtime import Runtime
from tests.core._workflows import TEST_WORKFLOWS


@pytest.fixture(autouse=True)
def _register(request: pytest.FixtureRequest) -> None:
    if "runtime" in request.fixturenames:
        runtime: Runtime = request.getfixturevalue("runtime")
        for workflow in TEST_WORKFLOWS:
            runtime.workflows.register(workflow)
