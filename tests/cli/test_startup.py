"""What starting the command line loads: `dondoc --help` and a mistyped option wait for no
database, no document library and no validation models, a command that writes no document
loads none of the document libraries, and a command refused on a database set up loads
neither the migrations, the holidays nor Prefect. A flow's module, which a Prefect worker
imports to start each run, loads neither the migrations nor the documents. Once the holidays
package's answers are in the cache, the calendar and the listing load no holidays package, and
the listing no YAML reader. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import os
import pkgutil
import subprocess
import sys
from pathlib import Path

from cli.main import app
from tests.cli.conftest import runner
from tests.conftest import ROOT

# The storage, validation, calendar and collation libraries the commands run on: what
# `import cli.main` spent over a second on before any command ran.
STORAGE = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_settings", "holidays", "icu")
# The documents' libraries, and Prefect, which only the flows need.
DOCUMENTS = ("docx", "docxtpl", "openpyxl", "jinja2", "prefect")


def _loaded(code: str, **env: str) -> set[str]:
    """The top-level packages loaded once `code` has run in a fresh interpreter, with `env`
    added to its environment."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        check=True,
    )
    return {name.split(".")[0] for name in json.loads(done.stdout.splitlines()[-1])}


def test_importing_the_command_line_loads_no_storage_and_no_documents() -> None:
    loaded = _loaded("import cli.main")
    assert loaded.isdisjoint(STORAGE + DOCUMENTS), loaded & set(STORAGE + DOCUMENTS)


def test_the_help_loads_no_storage() -> None:
    loaded = _loaded(
        "import sys\nfrom cli.main import app\n"
        "try:\n    app(['obligations', '--help'])\nexcept SystemExit:\n    pass"
    )
    # typer itself loads pydantic, to see whether a parameter's type is one of its models
    assert "models" in loaded and "typer" in loaded
    assert loaded.isdisjoint(set(STORAGE + DOCUMENTS) - {"pydantic"}), loaded & set(STORAGE)


def test_the_use_cases_load_the_documents_only_to_write_one() -> None:
    topics = [m.name for m in pkgutil.iter_modules([str(ROOT / "services")])]
    assert "reports" in topics  # the one that writes documents, when asked to
    loaded = _loaded("\n".join(f"import services.{name}" for name in topics))
    assert loaded.isdisjoint(DOCUMENTS), loaded & set(DOCUMENTS)
    assert "sqlalchemy" in loaded  # the storage itself, which every use case needs


def test_a_refused_command_loads_no_migrations_no_calendar_no_documents_and_no_prefect(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    assert runner.invoke(app, ["db", "upgrade"], env={"DONDOC_DATABASE_URL": url}).exit_code == 0
    loaded = _loaded(
        "from cli.main import app\n"
        "try:\n"
        "    app(['submit', '1', '--actor', 'nobody', '-f', 'leaflets=1'])\n"
        "except SystemExit as refused:\n"
        "    assert refused.code == 2, refused.code",
        DONDOC_DATABASE_URL=url,
    )
    assert "sqlalchemy" in loaded  # it did open the database
    # the database's migration is read with SQLAlchemy, Alembic is for migrating; and the
    # holidays are loaded by the first command that reckons a working day
    unneeded = {"alembic", "holidays", *DOCUMENTS}
    assert loaded.isdisjoint(unneeded), loaded & unneeded


def test_a_flow_run_starts_without_the_migrations_and_the_documents() -> None:
    flows = [m.name for m in pkgutil.iter_modules([str(ROOT / "flows")])]
    assert "consolidate" in flows  # the one that writes documents, once it has drafted
    loaded = _loaded("\n".join(f"import flows.{name}" for name in flows))
    assert "prefect" in loaded
    unneeded = {"alembic", *DOCUMENTS} - {"prefect"}
    assert loaded.isdisjoint(unneeded), loaded & unneeded


def test_a_calendar_from_a_warm_cache_loads_no_holidays_package(tmp_path: Path) -> None:
    build = (
        "from datetime import date\n"
        "from services.settings import load_settings\n"
        "calendar = load_settings().calendar()\n"
        "assert not calendar.is_working_day(date(2024, 2, 8))  # Tết\n"
        "assert calendar.is_working_day(date(2024, 5, 4))  # a make-up Saturday"
    )
    cache = str(tmp_path / "cache")
    assert "holidays" in _loaded(build, DONDOC_CACHE_DIR=cache)  # the first works it out
    assert "holidays" not in _loaded(build, DONDOC_CACHE_DIR=cache)


def test_the_listing_on_a_warm_cache_loads_no_holidays_package_and_no_yaml(
    tmp_path: Path,
) -> None:
    url = f"sqlite:///{tmp_path / 'empty.db'}"
    env = {"DONDOC_DATABASE_URL": url, "DONDOC_CACHE_DIR": str(tmp_path / "cache")}
    assert runner.invoke(app, ["db", "upgrade"], env=env).exit_code == 0
    listing = (
        "from cli.main import app\n"
        "try:\n"
        "    app(['obligations', '--as-of', '2024-03-01'])\n"
        "except SystemExit as done:\n"
        "    assert not done.code, done.code"
    )
    assert "holidays" in _loaded(listing, **env)
    # nor the directive files' reader, nor the calendar override file's: none is read
    assert _loaded(listing, **env).isdisjoint({"holidays", "yaml"})
