"""Table definitions (SQLAlchemy Core), portable between SQLite and PostgreSQL.

The schema here describes the *head* revision; migrations in ``storage/migrations``
create it step by step, and a test checks that both agree. Portable choices: BigInteger
for Discord snowflakes and MT5 tickets, Double for prices and money (MT5 reports floats),
JSON for settings and free-form data, and :class:`UTCDateTime` for every time.
"""

from __future__ import annotations

import sqlalchemy as sa

from storage.types import ID, UTCDateTime

__all__ = [
    "ID",
    "UTCDateTime",
    "accounts",
    "bars",
    "coach_consents",
    "deals",
    "guild_settings",
    "journal_entries",
    "lockouts",
    "metadata",
    "nudge_outbox",
    "overrides",
    "risk_state",
    "traders",
    "trades",
    "verdicts",
    "violations",
]


metadata = sa.MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

traders = sa.Table(
    "traders",
    metadata,
    sa.Column(
        "id", sa.BigInteger, primary_key=True, autoincrement=False, comment="Discord user id"
    ),
    sa.Column("name", sa.String(100), nullable=False, server_default=""),
    sa.Column("timezone", sa.String(64), nullable=False, server_default="UTC"),
    sa.Column("settings", sa.JSON, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    # 0002: when the trader chose ``timezone``; NULL = not chosen (a stored UTC is ambiguous)
    sa.Column("timezone_set_at", UTCDateTime),
)

accounts = sa.Table(
    "accounts",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("login", sa.BigInteger, nullable=False),
    sa.Column("server", sa.String(100), nullable=False, server_default=""),
    sa.Column("trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="SET NULL")),
    sa.Column("currency", sa.String(10), nullable=False, server_default="USD"),
    sa.Column("initial_balance", sa.Double, nullable=False, server_default="0"),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.UniqueConstraint("login", "server"),
)

deals = sa.Table(
    "deals",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("ticket", sa.BigInteger, nullable=False),
    sa.Column("order", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("time", UTCDateTime, nullable=False),
    sa.Column("time_msc", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("type", sa.SmallInteger, nullable=False),
    sa.Column("entry", sa.SmallInteger, nullable=False),
    sa.Column("magic", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("position_id", sa.BigInteger, nullable=False, server_default="0"),
    sa.Column("reason", sa.Integer, nullable=False, server_default="0"),
    sa.Column("volume", sa.Double, nullable=False),
    sa.Column("price", sa.Double, nullable=False),
    sa.Column("commission", sa.Double, nullable=False, server_default="0"),
    sa.Column("swap", sa.Double, nullable=False, server_default="0"),
    sa.Column("profit", sa.Double, nullable=False, server_default="0"),
    sa.Column("fee", sa.Double, nullable=False, server_default="0"),
    sa.Column("symbol", sa.String(64), nullable=False, server_default=""),
    sa.Column("comment", sa.String(255), nullable=False, server_default=""),
    sa.Column("external_id", sa.String(64), nullable=False, server_default=""),
    sa.UniqueConstraint("account_id", "ticket"),
    sa.Index(None, "account_id", "time"),
    sa.Index(None, "account_id", "position_id"),
)

trades = sa.Table(
    "trades",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("trade_id", sa.String(40), nullable=False),
    sa.Column("position_id", sa.BigInteger, nullable=False),
    sa.Column("symbol", sa.String(64), nullable=False),
    sa.Column("side", sa.String(4), nullable=False),
    sa.Column("open_time", UTCDateTime, nullable=False),
    sa.Column("close_time", UTCDateTime),
    sa.Column("entry_volume", sa.Double, nullable=False),
    sa.Column("volume", sa.Double, nullable=False),
    sa.Column("closed_volume", sa.Double, nullable=False),
    sa.Column("entry_price", sa.Double, nullable=False),
    sa.Column("exit_price", sa.Double),
    sa.Column("profit", sa.Double, nullable=False),
    sa.Column("commission", sa.Double, nullable=False),
    sa.Column("swap", sa.Double, nullable=False),
    sa.Column("fee", sa.Double, nullable=False),
    sa.Column("deal_tickets", sa.JSON, nullable=False),
    sa.Column("stop_loss", sa.Double),
    # 0002: MAE/MFE measured from bars (price units, and in R when the stop is known)
    sa.Column("mae", sa.Double),
    sa.Column("mfe", sa.Double),
    sa.Column("mae_r", sa.Double),
    sa.Column("mfe_r", sa.Double),
    sa.Column("excursion_bars", sa.Integer),
    sa.UniqueConstraint("account_id", "trade_id"),
    sa.Index(None, "account_id", "open_time"),
    sa.Index(None, "account_id", "close_time"),
)

verdicts = sa.Table(
    "verdicts",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="CASCADE")),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE")),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("allowed", sa.Boolean, nullable=False),
    sa.Column("action", sa.String(16), nullable=False),
    sa.Column("rules", sa.JSON, nullable=False),
    sa.Column("request", sa.JSON),
    sa.Column("risk_percent", sa.Double),
    sa.Index(None, "trader_id", "at"),
)

journal_entries = sa.Table(
    "journal_entries",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("text", sa.Text, nullable=False, server_default=""),
    sa.Column("confidence", sa.SmallInteger),
    sa.Column("driver", sa.String(16)),
    sa.Column("calendar_checked", sa.Boolean),
    sa.Column("setup_tag", sa.String(64)),
    sa.Column("symbol", sa.String(64)),
    sa.Column("side", sa.String(4)),
    sa.Column("what_worked", sa.Text),
    sa.Column("emotional_factors", sa.Text),
    sa.Column("would_take_again", sa.Boolean),
    sa.Column("trade_id", sa.String(40)),
    sa.Column("verdict_id", ID, sa.ForeignKey("verdicts.id", ondelete="SET NULL")),
    sa.Column("rule", sa.String(32)),
    sa.Index(None, "trader_id", "at"),
    sa.Index(None, "trader_id", "trade_id"),
)

nudge_outbox = sa.Table(
    "nudge_outbox",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="CASCADE")),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("severity", sa.String(16), nullable=False),
    sa.Column("text", sa.Text, nullable=False),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("dedupe_key", sa.String(200), nullable=False, unique=True),
    sa.Column("status", sa.String(16), nullable=False, server_default="pending"),
    sa.Column("attempts", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("sent_at", UTCDateTime),
    sa.Column("last_error", sa.Text),
    sa.CheckConstraint("status IN ('pending', 'sent', 'failed', 'suppressed')", name="status"),
    sa.Index(None, "status", "next_attempt_at"),
)

lockouts = sa.Table(
    "lockouts",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("kind", sa.String(16), nullable=False),
    sa.Column("started_at", UTCDateTime, nullable=False),
    sa.Column("until", UTCDateTime, nullable=False),
    sa.Column("reason", sa.Text, nullable=False, server_default=""),
    sa.Column("cleared_at", UTCDateTime),
    sa.CheckConstraint("kind IN ('cooling', 'break', 'daily_block')", name="kind"),
    sa.UniqueConstraint("account_id", "kind", "started_at"),
    sa.Index(None, "account_id", "until"),
)

risk_state = sa.Table(
    "risk_state",
    metadata,
    sa.Column(
        "account_id",
        ID,
        sa.ForeignKey("accounts.id", ondelete="CASCADE"),
        primary_key=True,
        autoincrement=False,
    ),
    sa.Column("data", sa.JSON, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)

overrides = sa.Table(
    "overrides",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE")),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("reason", sa.Text, nullable=False),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("verdict_id", ID, sa.ForeignKey("verdicts.id", ondelete="SET NULL")),
    sa.Index(None, "trader_id", "at"),
)

violations = sa.Table(
    "violations",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column("account_id", ID, sa.ForeignKey("accounts.id", ondelete="CASCADE"), nullable=False),
    sa.Column("rule", sa.String(32), nullable=False),
    sa.Column("ticket", sa.BigInteger, nullable=False, comment="the offending deal"),
    sa.Column("at", UTCDateTime, nullable=False),
    sa.Column("message", sa.Text, nullable=False, server_default=""),
    sa.UniqueConstraint("account_id", "rule", "ticket"),
    sa.Index(None, "account_id", "at"),
)

coach_consents = sa.Table(
    "coach_consents",
    metadata,
    sa.Column("id", ID, primary_key=True, autoincrement=True),
    sa.Column(
        "trader_id", sa.BigInteger, sa.ForeignKey("traders.id", ondelete="CASCADE"), nullable=False
    ),
    sa.Column("coach_user_id", sa.BigInteger, nullable=False),
    sa.Column("channel_id", sa.BigInteger),
    sa.Column("granted_at", UTCDateTime, nullable=False),
    sa.Column("revoked_at", UTCDateTime),
    sa.Index(None, "trader_id", "revoked_at"),
)

bars = sa.Table(
    "bars",
    metadata,
    sa.Column("symbol", sa.String(64), primary_key=True),
    sa.Column("timeframe", sa.String(8), primary_key=True),
    sa.Column("time", UTCDateTime, primary_key=True),
    sa.Column("open", sa.Double, nullable=False),
    sa.Column("high", sa.Double, nullable=False),
    sa.Column("low", sa.Double, nullable=False),
    sa.Column("close", sa.Double, nullable=False),
    sa.Column("tick_volume", sa.Double, nullable=False, server_default="0"),
    sa.Column("spread", sa.Integer, nullable=False, server_default="0"),
    sa.Column("real_volume", sa.Double, nullable=False, server_default="0"),
)

# 0002: per Discord server settings (the coach channel chosen with ``/coach channel``)
guild_settings = sa.Table(
    "guild_settings",
    metadata,
    sa.Column(
        "guild_id", sa.BigInteger, primary_key=True, autoincrement=False,
        comment="Discord server id",
    ),
    sa.Column("coach_channel_id", sa.BigInteger),
    sa.Column("set_by", sa.BigInteger),
    sa.Column("updated_at", UTCDateTime, nullable=False),
)
