"""temu: per-attempt stock edit keys, per-order refusals, transliterated originals

Revision ID: 0006
Revises: 0005
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("temu_inventory") as table:
        table.add_column(sa.Column("push_key", sa.String(length=40), nullable=True))
        table.add_column(sa.Column("push_target", sa.Integer(), nullable=True))
    with op.batch_alter_table("temu_order") as table:
        table.add_column(sa.Column("error_code", sa.BigInteger(), nullable=True))
        table.add_column(sa.Column("error", sa.Text(), nullable=True))
        table.add_column(sa.Column("originals", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("temu_order") as table:
        table.drop_column("originals")
        table.drop_column("error")
        table.drop_column("error_code")
    with op.batch_alter_table("temu_inventory") as table:
        table.drop_column("push_target")
        table.drop_column("push_key")
