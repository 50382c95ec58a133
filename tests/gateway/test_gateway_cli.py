"""The command line as a user runs it: exit codes and one-line errors."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def run_cli(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    full_env = {**os.environ, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "gateway", *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=ROOT,
        timeout=60,
        check=False,
    )


def test_unknown_option_exits_nonzero_with_one_line() -> None:
    result = run_cli("serve", "--bogus")
    assert result.returncode == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1
    assert "--bogus" in lines[0]


def test_unknown_command_exits_nonzero() -> None:
    result = run_cli("frobnicate")
    assert result.returncode == 2
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("JGW_PORT", "eighty"),
        ("JGW_DATABASE_URL", "mysql://root@localhost/x"),
        ("JGW_LOG_LEVEL", "LOUD"),
        ("JGW_SITES", "not a url"),
        ("JGW_PROFILE", "staging"),
    ],
)
def test_invalid_setting_names_the_variable(name: str, value: str) -> None:
    result = run_cli("migrate", env={name: value})
    assert result.returncode == 1
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert name in lines[0]


def test_invalid_database_url_never_echoes_password() -> None:
    result = run_cli("migrate", env={"JGW_DATABASE_URL": "mysql://root:hunter2@localhost/x"})
    assert result.returncode == 1
    assert "hunter2" not in result.stderr


def test_schema_check_passes_for_committed_sdl() -> None:
    result = run_cli("schema", "--check")
    assert result.returncode == 0, result.stderr


def test_schema_prints_sdl() -> None:
    result = run_cli("schema")
    assert result.returncode == 0
    assert "type Query" in result.stdout
    assert result.stdout == (ROOT / "schema" / "schema.graphql").read_text(encoding="utf-8")


def test_migrate_creates_sqlite_database(tmp_path: Path) -> None:
    database = tmp_path / "nested" / "gw.sqlite3"
    result = run_cli("migrate", env={"JGW_DATABASE_URL": f"sqlite:///{database}"})
    assert result.returncode == 0, result.stderr
    assert database.exists()
