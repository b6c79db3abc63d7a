"""temu module: raw responses, orders, order lines, shipments, products, inventory, cursors

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "temu_inventory",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("goods_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_sn", sa.String(length=100), nullable=False),
        sa.Column("jtl_stock", sa.Integer(), nullable=True),
        sa.Column("temu_stock", sa.Integer(), nullable=True),
        sa.Column("needs_sync", sa.Boolean(), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("checked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("synced_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "sku_id", name="uq_temu_inventory_sku"),
    )
    op.create_index(
        "ix_temu_inventory_needs_sync",
        "temu_inventory",
        ["instance_id", "needs_sync"],
        unique=False,
    )
    op.create_table(
        "temu_order",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("parent_order_sn", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("region_id", sa.Integer(), nullable=True),
        sa.Column("ordered_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("temu_updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("order", sa.JSON(), nullable=False),
        sa.Column("shipping_info", sa.JSON(), nullable=True),
        sa.Column("amounts", sa.JSON(), nullable=True),
        sa.Column("xml_state", sa.String(length=16), nullable=False),
        sa.Column("xml_queued_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("jtl_import_id", sa.BigInteger(), nullable=True),
        sa.Column("tracking_state", sa.String(length=16), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "parent_order_sn", name="uq_temu_order_sn"),
    )
    op.create_index(
        "ix_temu_order_xml_state", "temu_order", ["instance_id", "xml_state"], unique=False
    )
    op.create_table(
        "temu_product",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("goods_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_sn", sa.String(length=100), nullable=True),
        sa.Column("goods_name", sa.Text(), nullable=True),
        sa.Column("spec_name", sa.Text(), nullable=True),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("price", sa.String(length=32), nullable=True),
        sa.Column("temu_stock", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "sku_id", name="uq_temu_product_sku"),
    )
    op.create_table(
        "temu_raw_response",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("run_id", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("payload", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_temu_raw_response_run",
        "temu_raw_response",
        ["instance_id", "run_id", "kind"],
        unique=False,
    )
    op.create_table(
        "temu_shipment",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("parent_order_sn", sa.String(length=64), nullable=False),
        sa.Column("tracking_number", sa.String(length=100), nullable=False),
        sa.Column("jtl_carrier", sa.String(length=255), nullable=True),
        sa.Column("jtl_package_id", sa.BigInteger(), nullable=True),
        sa.Column("carrier_id", sa.BigInteger(), nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("shipped_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("instance_id", "tracking_number", name="uq_temu_shipment_tracking"),
    )
    op.create_index(
        "ix_temu_shipment_state", "temu_shipment", ["instance_id", "state"], unique=False
    )
    op.create_table(
        "temu_sync_cursor",
        sa.Column("instance_id", sa.String(length=32), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("value", sa.JSON(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["instance_id"], ["instance.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("instance_id", "name"),
    )
    op.create_table(
        "temu_order_line",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("order_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False),
        sa.Column("order_sn", sa.String(length=64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=False),
        sa.Column("goods_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_id", sa.BigInteger(), nullable=False),
        sa.Column("sku_sn", sa.String(length=100), nullable=True),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["order_id"], ["temu_order.id"], ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("order_id", "order_sn", name="uq_temu_order_line_sn"),
    )


def downgrade() -> None:
    op.drop_table("temu_sync_cursor")
    op.drop_table("temu_shipment")
    op.drop_table("temu_raw_response")
    op.drop_table("temu_product")
    op.drop_table("temu_order_line")
    op.drop_table("temu_order")
    op.drop_table("temu_inventory")
