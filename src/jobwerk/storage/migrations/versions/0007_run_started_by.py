"""runs: who or what started them; room for the completed_with_warnings state

Revision ID: 0007
Revises: 0006
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("run", sa.Column("started_by", sa.String(length=200), nullable=True))
    # SQLite ignores VARCHAR lengths; rebuilding its table would lose the partial indexes.
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "run", "status", type_=sa.String(length=32), existing_type=sa.String(length=16)
        )


def downgrade() -> None:
    op.execute("UPDATE run SET status = 'completed' WHERE status = 'completed_with_warnings'")
    if op.get_bind().dialect.name != "sqlite":
        op.alter_column(
            "run", "status", type_=sa.String(length=16), existing_type=sa.String(length=32)
        )
    op.drop_column("run", "started_by")
