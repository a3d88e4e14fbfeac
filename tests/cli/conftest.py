"""Fixtures of the command-line tests: `dondoc ARGS…` on a fresh SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from cli.main import app
from tests.conftest import ACTORS, SEED, UNITS

runner = CliRunner()


@pytest.fixture
def dondoc(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    """Run `dondoc ARGS…` against a fresh database; returns the click Result."""
    monkeypatch.setenv("DONDOC_DATABASE_URL", f"sqlite:///{tmp_path / 'cli.db'}")
    monkeypatch.delenv("DONDOC_ACTOR", raising=False)

    def run(*args: str, ok: bool = True) -> Result:
        result = runner.invoke(app, list(args))
        if ok:
            assert result.exit_code == 0, result.output + result.stderr
        return result

    run("db", "upgrade")
    return run


@pytest.fixture
def published(dondoc: Any) -> Any:
    dondoc("units", "import", str(UNITS))
    dondoc("actors", "import", str(ACTORS))
    dondoc("directive", "publish", str(SEED), "--actor", "admin.cx", "--as-of", "2024-12-31")
    return dondoc
