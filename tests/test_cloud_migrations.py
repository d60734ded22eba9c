"""Schema migrations: shipped scripts never change, and every path builds the same schema."""

from __future__ import annotations

import hashlib
import sqlite3

from cloud.store.migrations import MIGRATIONS, migrate

# sha256 (first 16 hex digits) of each shipped migration's SQL, taken before the module split.
SHIPPED = {
    1: "58593a2cecde3936",
    2: "9c4252472d6cd289",
    3: "83d16a3c045f866b",
    4: "f4fcf7eeab57c5d1",
    5: "d59795aced3e0d25",
    6: "4679143e61d2c101",
}
# sha256 of `schema()` at version 6 as built by the single-module migrations.py before the split.
SCHEMA_V6 = "e4961dfa4ff0109ef9f79ee4772f6301b573fad43e9ebd0b6576747d842bf579"


def schema(conn: sqlite3.Connection) -> str:
    """The database's schema as text, in a fixed order."""
    rows = conn.execute(
        "SELECT type, name, tbl_name, sql FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' "
        "ORDER BY type, name"
    ).fetchall()
    return "\n".join(f"-- {t} {n} on {tb}\n{sql};" for t, n, tb, sql in rows) + "\n"


def fresh(upto: int | None = None) -> sqlite3.Connection:
    conn = sqlite3.connect(":memory:", isolation_level=None)
    migrate(conn, upto)
    return conn


def test_the_registry_is_one_ordered_list_and_shipped_sql_is_unchanged() -> None:
    versions = [v for v, _name, _sql in MIGRATIONS]
    assert versions == list(range(1, len(MIGRATIONS) + 1))
    for version, _name, sql in MIGRATIONS:
        if version in SHIPPED:
            assert hashlib.sha256(sql.encode()).hexdigest()[:16] == SHIPPED[version], version


def test_the_split_modules_build_the_schema_the_single_module_built() -> None:
    built = schema(fresh(6))
    assert hashlib.sha256(built.encode()).hexdigest() == SCHEMA_V6, built


def test_a_database_migrated_in_steps_equals_one_built_at_once() -> None:
    stepwise = sqlite3.connect(":memory:", isolation_level=None)
    for version, _name, _sql in MIGRATIONS:
        assert migrate(stepwise, version) == [version]
    assert migrate(stepwise) == []
    assert schema(stepwise) == schema(fresh())
