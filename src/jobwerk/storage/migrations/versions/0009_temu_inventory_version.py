"""temu: a version per inventory row, bumped when an order sync forgets its TEMU stock, so a stock
edit computed before is not claimed or stored

Revision ID: 0009
Revises: 0008
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("temu_inventory") as batch:
        batch.add_column(
            sa.Column("temu_version", sa.Integer(), server_default="0", nullable=False)
        )


def downgrade() -> None:
    with op.batch_alter_table("temu_inventory") as batch:
        batch.drop_column("temu_version")
