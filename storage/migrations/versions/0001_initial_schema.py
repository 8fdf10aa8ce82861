"""Initial schema: traders, accounts, deals, trades, journal, verdicts, outbox, risk state.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import storage.types

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "bars",
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("timeframe", sa.String(length=8), nullable=False),
        sa.Column("time", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("open", sa.Double(), nullable=False),
        sa.Column("high", sa.Double(), nullable=False),
        sa.Column("low", sa.Double(), nullable=False),
        sa.Column("close", sa.Double(), nullable=False),
        sa.Column("tick_volume", sa.Double(), server_default="0", nullable=False),
        sa.Column("spread", sa.Integer(), server_default="0", nullable=False),
        sa.Column("real_volume", sa.Double(), server_default="0", nullable=False),
        sa.PrimaryKeyConstraint("symbol", "timeframe", "time", name=op.f("pk_bars")),
    )
    op.create_table(
        "traders",
        sa.Column(
            "id", sa.BigInteger(), autoincrement=False, nullable=False, comment="Discord user id"
        ),
        sa.Column("name", sa.String(length=100), server_default="", nullable=False),
        sa.Column("timezone", sa.String(length=64), server_default="UTC", nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_traders")),
    )
    op.create_table(
        "accounts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("login", sa.BigInteger(), nullable=False),
        sa.Column("server", sa.String(length=100), server_default="", nullable=False),
        sa.Column("trader_id", sa.BigInteger(), nullable=True),
        sa.Column("currency", sa.String(length=10), server_default="USD", nullable=False),
        sa.Column("initial_balance", sa.Double(), server_default="0", nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_accounts_trader_id_traders"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_accounts")),
        sa.UniqueConstraint("login", "server", name=op.f("uq_accounts_login_server")),
    )
    op.create_table(
        "coach_consents",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trader_id", sa.BigInteger(), nullable=False),
        sa.Column("coach_user_id", sa.BigInteger(), nullable=False),
        sa.Column("channel_id", sa.BigInteger(), nullable=True),
        sa.Column("granted_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("revoked_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_coach_consents_trader_id_traders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_coach_consents")),
    )
    with op.batch_alter_table("coach_consents", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_coach_consents_trader_id_revoked_at"),
            ["trader_id", "revoked_at"],
            unique=False,
        )

    op.create_table(
        "nudge_outbox",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trader_id", sa.BigInteger(), nullable=True),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("dedupe_key", sa.String(length=200), nullable=False),
        sa.Column("status", sa.String(length=16), server_default="pending", nullable=False),
        sa.Column("attempts", sa.Integer(), server_default="0", nullable=False),
        sa.Column("next_attempt_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("sent_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending', 'sent', 'failed', 'suppressed')",
            name=op.f("ck_nudge_outbox_status"),
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_nudge_outbox_trader_id_traders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_nudge_outbox")),
        sa.UniqueConstraint("dedupe_key", name=op.f("uq_nudge_outbox_dedupe_key")),
    )
    with op.batch_alter_table("nudge_outbox", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_nudge_outbox_status_next_attempt_at"),
            ["status", "next_attempt_at"],
            unique=False,
        )

    op.create_table(
        "deals",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("ticket", sa.BigInteger(), nullable=False),
        sa.Column("order", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("time", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("time_msc", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("type", sa.SmallInteger(), nullable=False),
        sa.Column("entry", sa.SmallInteger(), nullable=False),
        sa.Column("magic", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("position_id", sa.BigInteger(), server_default="0", nullable=False),
        sa.Column("reason", sa.Integer(), server_default="0", nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.Column("price", sa.Double(), nullable=False),
        sa.Column("commission", sa.Double(), server_default="0", nullable=False),
        sa.Column("swap", sa.Double(), server_default="0", nullable=False),
        sa.Column("profit", sa.Double(), server_default="0", nullable=False),
        sa.Column("fee", sa.Double(), server_default="0", nullable=False),
        sa.Column("symbol", sa.String(length=64), server_default="", nullable=False),
        sa.Column("comment", sa.String(length=255), server_default="", nullable=False),
        sa.Column("external_id", sa.String(length=64), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_deals_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deals")),
        sa.UniqueConstraint("account_id", "ticket", name=op.f("uq_deals_account_id_ticket")),
    )
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_deals_account_id_position_id"),
            ["account_id", "position_id"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_deals_account_id_time"), ["account_id", "time"], unique=False
        )

    op.create_table(
        "lockouts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("started_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("until", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), server_default="", nullable=False),
        sa.Column("cleared_at", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('cooling', 'break', 'daily_block')", name=op.f("ck_lockouts_kind")
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_lockouts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_lockouts")),
        sa.UniqueConstraint(
            "account_id", "kind", "started_at", name=op.f("uq_lockouts_account_id_kind_started_at")
        ),
    )
    with op.batch_alter_table("lockouts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_lockouts_account_id_until"), ["account_id", "until"], unique=False
        )

    op.create_table(
        "risk_state",
        sa.Column(
            "account_id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=False,
            nullable=False,
        ),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("updated_at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_risk_state_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("account_id", name=op.f("pk_risk_state")),
    )
    op.create_table(
        "trades",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("trade_id", sa.String(length=40), nullable=False),
        sa.Column("position_id", sa.BigInteger(), nullable=False),
        sa.Column("symbol", sa.String(length=64), nullable=False),
        sa.Column("side", sa.String(length=4), nullable=False),
        sa.Column("open_time", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("close_time", storage.types.UTCDateTime(timezone=True), nullable=True),
        sa.Column("entry_volume", sa.Double(), nullable=False),
        sa.Column("volume", sa.Double(), nullable=False),
        sa.Column("closed_volume", sa.Double(), nullable=False),
        sa.Column("entry_price", sa.Double(), nullable=False),
        sa.Column("exit_price", sa.Double(), nullable=True),
        sa.Column("profit", sa.Double(), nullable=False),
        sa.Column("commission", sa.Double(), nullable=False),
        sa.Column("swap", sa.Double(), nullable=False),
        sa.Column("fee", sa.Double(), nullable=False),
        sa.Column("deal_tickets", sa.JSON(), nullable=False),
        sa.Column("stop_loss", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_trades_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_trades")),
        sa.UniqueConstraint("account_id", "trade_id", name=op.f("uq_trades_account_id_trade_id")),
    )
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_trades_account_id_close_time"),
            ["account_id", "close_time"],
            unique=False,
        )
        batch_op.create_index(
            batch_op.f("ix_trades_account_id_open_time"), ["account_id", "open_time"], unique=False
        )

    op.create_table(
        "verdicts",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trader_id", sa.BigInteger(), nullable=True),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("allowed", sa.Boolean(), nullable=False),
        sa.Column("action", sa.String(length=16), nullable=False),
        sa.Column("rules", sa.JSON(), nullable=False),
        sa.Column("request", sa.JSON(), nullable=True),
        sa.Column("risk_percent", sa.Double(), nullable=True),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_verdicts_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_verdicts_trader_id_traders"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verdicts")),
    )
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_verdicts_trader_id_at"), ["trader_id", "at"], unique=False
        )

    op.create_table(
        "violations",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=False
        ),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("ticket", sa.BigInteger(), nullable=False, comment="the offending deal"),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("message", sa.Text(), server_default="", nullable=False),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_violations_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_violations")),
        sa.UniqueConstraint(
            "account_id", "rule", "ticket", name=op.f("uq_violations_account_id_rule_ticket")
        ),
    )
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_violations_account_id_at"), ["account_id", "at"], unique=False
        )

    op.create_table(
        "journal_entries",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trader_id", sa.BigInteger(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("text", sa.Text(), server_default="", nullable=False),
        sa.Column("confidence", sa.SmallInteger(), nullable=True),
        sa.Column("driver", sa.String(length=16), nullable=True),
        sa.Column("calendar_checked", sa.Boolean(), nullable=True),
        sa.Column("setup_tag", sa.String(length=64), nullable=True),
        sa.Column("symbol", sa.String(length=64), nullable=True),
        sa.Column("side", sa.String(length=4), nullable=True),
        sa.Column("what_worked", sa.Text(), nullable=True),
        sa.Column("emotional_factors", sa.Text(), nullable=True),
        sa.Column("would_take_again", sa.Boolean(), nullable=True),
        sa.Column("trade_id", sa.String(length=40), nullable=True),
        sa.Column(
            "verdict_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("rule", sa.String(length=32), nullable=True),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_journal_entries_trader_id_traders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verdict_id"],
            ["verdicts.id"],
            name=op.f("fk_journal_entries_verdict_id_verdicts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_journal_entries")),
    )
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_journal_entries_trader_id_at"), ["trader_id", "at"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_journal_entries_trader_id_trade_id"),
            ["trader_id", "trade_id"],
            unique=False,
        )

    op.create_table(
        "overrides",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("trader_id", sa.BigInteger(), nullable=False),
        sa.Column(
            "account_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.Column("rule", sa.String(length=32), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", storage.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column(
            "verdict_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True
        ),
        sa.ForeignKeyConstraint(
            ["account_id"],
            ["accounts.id"],
            name=op.f("fk_overrides_account_id_accounts"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["trader_id"],
            ["traders.id"],
            name=op.f("fk_overrides_trader_id_traders"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["verdict_id"],
            ["verdicts.id"],
            name=op.f("fk_overrides_verdict_id_verdicts"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_overrides")),
    )
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_overrides_trader_id_at"), ["trader_id", "at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("overrides", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_overrides_trader_id_at"))

    op.drop_table("overrides")
    with op.batch_alter_table("journal_entries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_journal_entries_trader_id_trade_id"))
        batch_op.drop_index(batch_op.f("ix_journal_entries_trader_id_at"))

    op.drop_table("journal_entries")
    with op.batch_alter_table("violations", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_violations_account_id_at"))

    op.drop_table("violations")
    with op.batch_alter_table("verdicts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_verdicts_trader_id_at"))

    op.drop_table("verdicts")
    with op.batch_alter_table("trades", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_trades_account_id_open_time"))
        batch_op.drop_index(batch_op.f("ix_trades_account_id_close_time"))

    op.drop_table("trades")
    op.drop_table("risk_state")
    with op.batch_alter_table("lockouts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_lockouts_account_id_until"))

    op.drop_table("lockouts")
    with op.batch_alter_table("deals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_deals_account_id_time"))
        batch_op.drop_index(batch_op.f("ix_deals_account_id_position_id"))

    op.drop_table("deals")
    with op.batch_alter_table("nudge_outbox", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_nudge_outbox_status_next_attempt_at"))

    op.drop_table("nudge_outbox")
    with op.batch_alter_table("coach_consents", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_coach_consents_trader_id_revoked_at"))

    op.drop_table("coach_consents")
    op.drop_table("accounts")
    op.drop_table("traders")
    op.drop_table("bars")
