"""What starting the command line loads: `dondoc --help` and a mistyped option wait for no
database, no document library and no validation models, and a command that writes no document
loads none of the document libraries. Each check runs in a fresh interpreter."""

from __future__ import annotations

import json
import subprocess
import sys

from tests.conftest import ROOT

# The storage, validation, calendar and collation libraries the commands run on: what
# `import cli.main` spent over a second on before any command ran.
STORAGE = ("sqlalchemy", "sqlmodel", "alembic", "pydantic", "pydantic_settings", "holidays", "icu")
# The documents' libraries, and Prefect, which only the flows need.
DOCUMENTS = ("docx", "docxtpl", "openpyxl", "jinja2", "prefect")


def _loaded(code: str) -> set[str]:
    """The top-level packages loaded once `code` has run in a fresh interpreter."""
    done = subprocess.run(
        [sys.executable, "-c", f"{code}\nimport json, sys; print(json.dumps(sorted(sys.modules)))"],
        cwd=ROOT,
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
    loaded = _loaded("from models import services\nservices.Issued")
    assert loaded.isdisjoint(DOCUMENTS), loaded & set(DOCUMENTS)
    assert "sqlalchemy" in loaded  # the storage itself, which every use case needs
