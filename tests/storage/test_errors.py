"""Bad database URLs and unusable databases give one clear line, never a traceback."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from bot.cli import main
from storage import StorageURLError, check_url, open_database, upgrade


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("not a url", "cannot parse"),
        ("mysql://u@h/db", "driver 'mysql' is not supported"),
        ("postgresql://u@h/db", "driver 'postgresql' is not supported"),
        ("sqlite:///x.db", "driver 'sqlite' is not supported"),
        ("sqlite+aiosqlite:////no/such/dir/p.db", "directory /no/such/dir"),
    ],
)
def test_bad_url_is_named(url: str, says: str) -> None:
    with pytest.raises(StorageURLError, match=says) as e:
        check_url(url)
    assert str(e.value).startswith("storage.url: ")


def test_password_is_not_echoed() -> None:
    with pytest.raises(StorageURLError) as e:
        check_url("mysql://user:s3cret@host/db")
    assert "s3cret" not in str(e.value)


async def test_directory_instead_of_file(tmp_path: Path) -> None:
    with pytest.raises(StorageURLError, match="is a directory"):
        await upgrade(f"sqlite+aiosqlite:///{tmp_path}")
    with pytest.raises(StorageURLError):
        await open_database("sqlite+pysqlite:///x.db")


async def test_not_a_database_file(tmp_path: Path) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(StorageURLError, match="not a SQLite database"):
        await upgrade(f"sqlite+aiosqlite:///{bad}")
    assert bad.read_bytes() == b"this is not sqlite" * 100  # never touched


def test_cli_bad_url_exits_2(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    assert main(["db", "upgrade", "--url", "mysql://u@h/db"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "storage.url" in err[0] and "sqlite+aiosqlite" in err[0]
    assert main(["db", "downgrade", "nope", "--url", f"sqlite+aiosqlite:///{tmp_path}/a.db"]) == 2
    assert "nope" in capsys.readouterr().err


def test_cli_config_with_bad_url_exits_2(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    cfg = tmp_path / "c.yaml"
    cfg.write_text("storage:\n  url: mysql://u@h/db\n", encoding="utf-8")
    assert main(["db", "upgrade", "--config", str(cfg)]) == 2
    assert "storage.url" in capsys.readouterr().err
    assert sys.exc_info() == (None, None, None)


def test_cli_not_a_database_and_unknown_revision_exit_2_with_the_fix(
    capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    bad = tmp_path / "junk.db"
    bad.write_bytes(b"this is not sqlite" * 100)
    assert main(["db", "upgrade", "--url", f"sqlite+aiosqlite:///{bad}"]) == 2
    err = capsys.readouterr().err
    assert "storage.url" in err and "not a SQLite database" in err
    assert bad.read_bytes() == b"this is not sqlite" * 100
    url = f"sqlite+aiosqlite:///{tmp_path}/a.db"
    assert main(["db", "upgrade", "--revision", "nope", "--url", url]) == 2
    err = capsys.readouterr().err
    assert "'nope'" in err and "known revisions: head, base, 0001" in err
