"""Bulk loaders: SQLite through executemany in one transaction per table with bulk-load
PRAGMAs, PostgreSQL through COPY (asyncpg `copy_records_to_table`)."""

from __future__ import annotations

import json
import sqlite3
from datetime import datetime
from typing import Any, Protocol

from bench.seed.derive import SEQUENCED
from bench.seed.rows import Codec, Table

SQLITE_FORMAT = "%Y-%m-%d %H:%M:%S.%f"  # how SQLAlchemy stores a DateTime in SQLite


def _sqlite_dt(value: datetime | None) -> str | None:
    """SQLITE_FORMAT, through isoformat (several times faster than strftime)."""
    if value is None:
        return None
    text = value.isoformat(" ")
    return text if value.microsecond else text + ".000000"


def _pg_dt(value: datetime | None) -> datetime | None:
    return value


SQLITE_CODEC = Codec(dt=_sqlite_dt, num=float, json=json.dumps, flag=int)
PG_CODEC = Codec(dt=_pg_dt, num=lambda d: d, json=json.dumps, flag=bool)


class Loader(Protocol):
    codec: Codec
    dialect: str  # which spellings of bench.seed.derive.SPELLINGS its statements take

    async def load(self, table: Table) -> int: ...

    async def run(self, sql: str) -> None: ...

    async def finish(self) -> None: ...


class SqliteLoader:
    """Writes straight through the stdlib driver; no fsync until the end."""

    codec = SQLITE_CODEC
    dialect = "sqlite"

    def __init__(self, path: str) -> None:
        self.db = sqlite3.connect(path, isolation_level=None)
        for pragma in (
            "PRAGMA synchronous=OFF",
            "PRAGMA cache_size=-400000",
            "PRAGMA temp_store=MEMORY",
            "PRAGMA foreign_keys=OFF",
        ):
            self.db.execute(pragma)

    async def load(self, table: Table) -> int:
        marks = ", ".join("?" for _ in table.columns)
        sql = f"INSERT INTO {table.name} ({', '.join(table.columns)}) VALUES ({marks})"
        self.db.execute("BEGIN")
        cursor = self.db.executemany(sql, table.rows)
        self.db.execute("COMMIT")
        return cursor.rowcount

    async def run(self, sql: str) -> None:
        self.db.execute("BEGIN")
        self.db.execute(sql)
        self.db.execute("COMMIT")

    async def finish(self) -> None:
        self.db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self.db.close()


class PostgresLoader:
    """COPY in binary; derived statements and sequence moves afterwards, then ANALYZE (as
    autovacuum would soon do on a database that grew to this size)."""

    codec = PG_CODEC
    dialect = "postgresql"

    def __init__(self, connection: Any) -> None:
        self.db = connection

    @classmethod
    async def connect(cls, dsn: str) -> PostgresLoader:
        import asyncpg

        return cls(await asyncpg.connect(dsn))

    async def load(self, table: Table) -> int:
        status = await self.db.copy_records_to_table(
            table.name, records=table.rows, columns=list(table.columns)
        )
        return int(str(status).rsplit(" ", 1)[-1])

    async def run(self, sql: str) -> None:
        await self.db.execute(sql)

    async def finish(self) -> None:
        for table in SEQUENCED:
            await self.db.execute(
                f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)"
            )
        await self.db.execute("ANALYZE")
        await self.db.close()
