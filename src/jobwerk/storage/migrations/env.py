"""Alembic environment: runs migrations on the URL jobwerk hands over.

Autogenerate compares the database with the metadata the caller hands over as well
(``config.attributes["target_metadata"]``): the module and manager tables are defined in layers
above storage, which storage does not import. ``jobwerk db revision`` hands every table over.
"""

from __future__ import annotations

from alembic import context
from sqlalchemy import create_engine, pool

config = context.config


def run_migrations() -> None:
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None
    engine = create_engine(url, poolclass=pool.NullPool)
    with engine.connect() as connection:
        context.configure(
            connection=connection,
            target_metadata=config.attributes.get("target_metadata"),
            render_as_batch=connection.dialect.name == "sqlite",
        )
        with context.begin_transaction():
            context.run_migrations()
    engine.dispose()


run_migrations()
