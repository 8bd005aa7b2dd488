"""Function files hold the current definition of a function in one place: each file defines exactly its
function, and no numbered migration copies a definition any more."""

import re
from collections import defaultdict
from pathlib import Path

import pytest

from pulse.db.migrate import MigrationError, available_function_files, available_migrations

_CREATE = re.compile(r"\bCREATE\s+(?:OR\s+REPLACE\s+)?FUNCTION\s+(\w+)\s*\(", re.IGNORECASE)

# The migrations that defined each file's function before it moved to its file. Applied migrations
# never change, so these sets never grow: a new migration that redefines one of these functions would
# win on an already-migrated database but lose to the file on a fresh one. Edit the file instead.
_DEFINED_BEFORE_THEIR_FILE = {
    "alert_events_update": {"041_alert_events", "052_notify_channels_rules"},
    "pulse_reserve_token": {"054_notify_rate_reservations"},
}


def _definers() -> dict[str, set[str]]:
    found: defaultdict[str, set[str]] = defaultdict(set)
    for migration in available_migrations():
        for name in _CREATE.findall(migration.sql):
            found[name.lower()].add(migration.version)
    return found


def test_no_migration_redefines_a_function_that_has_a_file() -> None:
    definers = _definers()
    files = {f.name for f in available_function_files()}
    assert files == set(_DEFINED_BEFORE_THEIR_FILE)
    assert {name: definers[name] for name in files} == _DEFINED_BEFORE_THEIR_FILE


def test_every_function_defined_more_than_once_has_a_file() -> None:
    files = {f.name for f in available_function_files()}
    redefined = {name for name, versions in _definers().items() if len(versions) > 1}
    assert redefined <= files, f"current definitions to move to pulse/db/functions/: {redefined - files}"


@pytest.mark.parametrize(
    ("file_name", "sql"),
    [
        ("f.sql", "CREATE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"),
        ("g.sql", "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"),
        (
            "f.sql",
            "CREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';\n"
            "CREATE OR REPLACE FUNCTION h() RETURNS int LANGUAGE sql AS 'SELECT 2';",
        ),
        ("f.sql", "SELECT 1;"),
    ],
    ids=["not-or-replace", "named-after-another-function", "two-functions", "no-function"],
)
def test_a_function_file_defines_exactly_its_function(tmp_path: Path, file_name: str, sql: str) -> None:
    (tmp_path / file_name).write_text(sql)
    with pytest.raises(MigrationError, match="exactly one CREATE OR REPLACE FUNCTION"):
        available_function_files(tmp_path)


def test_a_well_formed_function_file_is_accepted(tmp_path: Path) -> None:
    (tmp_path / "f.sql").write_text(
        "-- why\nCREATE OR REPLACE FUNCTION f() RETURNS int LANGUAGE sql AS 'SELECT 1';"
    )
    assert [f.name for f in available_function_files(tmp_path)] == ["f"]
