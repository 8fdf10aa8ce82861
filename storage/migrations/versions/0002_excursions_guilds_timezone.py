"""MAE/MFE on trades, per-server guild settings, an explicit "timezone chosen" mark.

- ``trades.mae``/``mfe``/``mae_r``/``mfe_r``/``excursion_bars``: the service measured a
  closed trade's excursions from the watchlist bars but kept them in memory only, so a
  restart lost them (the bars may no longer reach back to the trade).
- ``guild_settings``: a Discord server's coach channel, kept until now in a JSON file
  beside the database (``pulse-coach-channels.json``); the bot imports that file once.
- ``traders.timezone_set_at``: when the trader chose ``traders.timezone`` (``/settings``).
  NULL means "not chosen": the column ``timezone`` is NOT NULL with a server default of
  ``UTC``, so a stored ``UTC`` could not tell a choice from the default. Existing rows
  with a timezone other than UTC were chosen (or seeded from config.yaml) and are marked
  with their ``updated_at``; a stored UTC stays "not chosen", as it was read before.

Additive only: no existing column or row changes meaning, so code at 0001 keeps working
on a 0002 database. Downgrade drops what this adds (SQLite >= 3.35 drops a column in
place; the tables are not rebuilt, so no ON DELETE CASCADE can fire).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

EXCURSION_COLUMNS = ("mae", "mfe", "mae_r", "mfe_r")


def upgrade() -> None:
    for name in EXCURSION_COLUMNS:
        op.add_column("trades", sa.Column(name, sa.Double(), nullable=True))
    op.add_column("trades", sa.Column("excursion_bars", sa.Integer(), nullable=True))
    op.add_column(
        "traders",
        sa.Column("timezone_set_at", storage.types.UTCDateTime(timezone=True), nullable=True),
    )
    traders = sa.table(
        "traders",
        sa.column("timezone", sa.String),
        sa.column("updated_at", sa.String),
        sa.column("timezone_set_at", sa.String),
    )
    op.execute(
        traders.update()
        .where(traders.c.timezone != "UTC")
        .values(timezone_set_at=traders.c.updated_at)
    )
    op.create_table(
        "guild_settings",
        sa.Column("guild_id", sa.BigInteger(), autoincrement=False, nullable=False,
                  comment="Discord server id"),
        sa.Column("coach_channel_id", sa.BigInteger(), nullable=True),
        sa.Column("set_by", sa.BigInteger(), nullable=True),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("guild_id", name=op.f("pk_guild_settings")),
    )


def downgrade() -> None:
    op.drop_table("guild_settings")
    op.drop_column("traders", "timezone_set_at")
    op.drop_column("trades", "excursion_bars")
    for name in reversed(EXCURSION_COLUMNS):
        op.drop_column("trades", name)
