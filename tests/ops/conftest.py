"""Fixtures for operating jobwerk: a second empty PostgreSQL database to restore into."""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import psycopg
import pytest

PG_ADMIN = os.environ.get("JOBWERK_TEST_PG", "postgresql://postgres@127.0.0.1:5432/postgres")


@pytest.fixture
def restore_pg_url(pg_available: bool) -> Iterator[str]:
    """Another fresh, empty PostgreSQL database (a restore's target)."""
    if not pg_available:
        pytest.skip("PostgreSQL does not answer at 127.0.0.1:5432 (set CI=true to require it)")
    name = f"jobwerk_restore_{uuid.uuid4().hex[:12]}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'CREATE DATABASE "{name}"')
    yield f"{PG_ADMIN.rsplit('/', 1)[0]}/{name}"
    with psycopg.connect(PG_ADMIN, autocommit=True) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
