"""Storage: SQLAlchemy models, database sessions and Alembic migrations."""
