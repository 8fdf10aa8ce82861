"""``pulse config check [PATH]``: validate a config file and summarise it."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from pulse.config import PulseConfig, load_config


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser("config", help="inspect the configuration")
    csub = p.add_subparsers(dest="config_command", metavar="ACTION")
    csub.required = True
    check = csub.add_parser("check", help="validate a config.yaml (exit 0 valid, 2 invalid)")
    check.add_argument("path", nargs="?", default="config.yaml", type=Path)
    check.set_defaults(func=run_check)


def run_check(args: argparse.Namespace) -> int:
    cfg = load_config(args.path)
    r = cfg.risk_limits
    limit = f"{r.daily_loss_percent:g}% of {r.daily_loss_base.replace('_', '-')} balance"
    if r.daily_loss_limit is not None:
        limit += f" or {r.daily_loss_limit:g} (smaller wins)"
    dd = (
        f"{r.max_drawdown_percent:g}% {r.max_drawdown_mode}"
        if r.max_drawdown_percent is not None
        else "off"
    )
    w = cfg.confluence_weights.for_symbol(None)
    print(f"{args.path}: OK")
    print(f"  day resets at {r.day_reset} {r.day_reset_timezone}; daily loss limit {limit}")
    print(
        f"  max {r.max_trades_per_day} trades/day, cooling {r.cooling_period_minutes} min after "
        f"a {r.cooling_trigger_loss_percent:g}% loss, break {r.consecutive_loss_break_minutes} min "
        f"after {r.max_consecutive_losses} losses, max risk {r.max_position_size:g}%/trade, "
        f"max drawdown {dd}"
    )
    print(f"  confluence weights smc {w[0]:.2f} / wyckoff {w[1]:.2f} / technical {w[2]:.2f}")
    print(
        f"  storage {cfg.storage.url.split('://')[0]}, {len(cfg.traders)} trader(s), "
        f"watchlist {', '.join(cfg.feeds.watchlist.symbols)}"
    )
    return 0


def config_path_of(args: argparse.Namespace) -> Path | None:
    """Which config file a CLI command uses: ``--config``, else ``$PULSE_CONFIG``, else
    ``./config.yaml`` when present, else None (the built-in defaults)."""
    path: Path | None = args.config
    if path is None:
        env = os.environ.get("PULSE_CONFIG")
        if env:
            path = Path(env)
        elif Path("config.yaml").is_file():
            path = Path("config.yaml")
    return path


def config_of(args: argparse.Namespace) -> PulseConfig:
    """The config every CLI command uses (see :func:`config_path_of`)."""
    return load_config(config_path_of(args))
