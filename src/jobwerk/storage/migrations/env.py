"""Alembic environment: runs migrations on the URL jobwerk hands over."""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

from jobwerk.manager import models as manager_models  # noqa: F401  (module manager tables)
from jobwerk.modules.docs import models as docs_models  # noqa: F401  (docs_credential)
from jobwerk.modules.temu import models as temu_models  # noqa: F401  (registers the TEMU tables)
from jobwerk.storage import auth_models  # noqa: F401  (registers the auth tables)
from jobwerk.storage.models import Base

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=Base.metadata,
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
