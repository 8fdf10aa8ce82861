"""feeds.bars_every_polls: the bar-fetch cadence comes from config.yaml (the constructor
argument only overrides it, for tests and the demo)."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.service import PulseService
from pulse.config import ConfigError, load_config, parse_config

TRADERS = [{"discord_user_id": 9, "feed": "replay"}]


def _service(feeds: dict[str, object], **kw: int) -> PulseService:
    cfg = parse_config({"feeds": feeds, "traders": TRADERS}, env={})
    return PulseService(cfg, feeds={}, **kw)  # type: ignore[arg-type]


def test_the_service_reads_bars_every_polls_from_config() -> None:
    assert _service({"bars_every_polls": 7}).bars_every == 7
    assert _service({"bars_every_polls": 0}).bars_every == 0  # never fetch bars
    # unset: about once a minute at the poll interval
    assert _service({"poll_interval_seconds": 2.0}).bars_every == 30
    assert _service({"bars_every_polls": 7}, bars_every=3).bars_every == 3


def test_config_yaml_documents_the_field() -> None:
    root = Path(__file__).resolve().parents[2]
    cfg = load_config(root / "config.yaml")
    assert cfg.feeds.bars_every_polls is None
    assert "bars_every_polls:" in (root / "config.yaml").read_text()
    with pytest.raises(ConfigError) as exc:
        parse_config({"feeds": {"bars_every_polls": -1}})
    assert any("bars_every_polls" in p for p in exc.value.problems)
