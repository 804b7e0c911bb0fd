"""Engines and migrations.

SQLite (through aiosqlite) is the default: one file, WAL journal, a busy timeout and
foreign keys, set on every new connection. SQLAlchemy emits BEGIN itself (the sqlite3
driver's own transaction handling is switched off), so a write transaction can start with
``BEGIN IMMEDIATE`` and hold the single writer lock from its first statement: see
``write_tx`` (which also queues one process's writers in FIFO order before they reach
SQLite). PostgreSQL goes through asyncpg (READ COMMITTED, the server's default).
"""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.engine import Connection, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, async_sessionmaker, create_async_engine

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"

# Connection execution option read by the SQLite "begin" hook: "IMMEDIATE" or "DEFERRED".
_BEGIN_OPTION = "clipfactory_sqlite_begin"
# Any constant: serialises concurrent `migrate` calls on one PostgreSQL database.
_PG_MIGRATE_LOCK = 7_426_301_117


def sqlite_url(path: str | Path) -> str:
    """The async URL of a SQLite database file (made absolute; folders are created)."""
    p = Path(path).expanduser().resolve()
    p.parent.mkdir(parents=True, exist_ok=True)
    return f"sqlite+aiosqlite:///{p}"


def normalise_url(url: str) -> str:
    """Accept the plain driver names too: ``sqlite:///x.db``, ``postgresql://...``."""
    u = make_url(url)
    if u.drivername in ("sqlite", "sqlite+pysqlite"):
        u = u.set(drivername="sqlite+aiosqlite")
    elif u.drivername in ("postgresql", "postgres", "postgresql+psycopg2", "postgresql+psycopg"):
        u = u.set(drivername="postgresql+asyncpg")
    if u.drivername not in ("sqlite+aiosqlite", "postgresql+asyncpg"):
        raise ValueError(
            f"Unsupported database URL {u.render_as_string(hide_password=True)!r}: "
            "use sqlite+aiosqlite:///path or postgresql+asyncpg://user@host/db"
        )
    return u.render_as_string(hide_password=False)


def make_engine(url: str, *, busy_timeout_ms: int = 30_000, echo: bool = False,
                **kwargs: Any) -> AsyncEngine:
    """An AsyncEngine for a SQLite or PostgreSQL URL, with this project's connection setup."""
    url = normalise_url(url)
    if url.startswith("sqlite"):
        if make_url(url).database in (None, "", ":memory:"):
            raise ValueError("An in-memory SQLite database cannot be shared: give a file path")
        connect_args = dict(kwargs.pop("connect_args", {}))
        connect_args.setdefault("timeout", busy_timeout_ms / 1000)
        engine = create_async_engine(url, echo=echo, connect_args=connect_args, **kwargs)
        _setup_sqlite(engine, busy_timeout_ms)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, echo=echo, **kwargs)


def _setup_sqlite(engine: AsyncEngine, busy_timeout_ms: int) -> None:
    @event.listens_for(engine.sync_engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        # Take transaction control away from the sqlite3 driver; "begin" below emits BEGIN.
        dbapi_connection.isolation_level = None
        cur = dbapi_connection.cursor()
        try:
            cur.execute(f"PRAGMA busy_timeout = {int(busy_timeout_ms)}")
            cur.execute("PRAGMA journal_mode = WAL")
            cur.execute("PRAGMA synchronous = NORMAL")
            cur.execute("PRAGMA foreign_keys = ON")
        finally:
            cur.close()

    @event.listens_for(engine.sync_engine, "begin")
    def _on_begin(conn: Connection) -> None:
        mode = conn.get_execution_options().get(_BEGIN_OPTION, "DEFERRED")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if mode == "IMMEDIATE" else "BEGIN")


def utcnow(now: datetime | None = None) -> datetime:
    """`now` checked and in UTC, or the current time."""
    if now is None:
        return datetime.now(UTC)
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("`now` must be timezone-aware")
    return now.astimezone(UTC)


def as_engine(db: AsyncEngine | async_sessionmaker) -> AsyncEngine:
    """The engine behind what the storage functions accept: an AsyncEngine or a sessionmaker."""
    if isinstance(db, AsyncEngine):
        return db
    if isinstance(db, async_sessionmaker):
        bind = db.kw.get("bind")
        if isinstance(bind, AsyncEngine):
            return bind
        raise TypeError("the async_sessionmaker must be bound to an AsyncEngine")
    raise TypeError(f"expected an AsyncEngine or an async_sessionmaker, got {type(db).__name__}")


def is_sqlite(engine: AsyncEngine) -> bool:
    return engine.dialect.name == "sqlite"


_sqlite_writer_locks: weakref.WeakKeyDictionary[
    asyncio.AbstractEventLoop, dict[str, asyncio.Lock]] = weakref.WeakKeyDictionary()


def _sqlite_writer_lock(engine: AsyncEngine) -> asyncio.Lock:
    """One FIFO lock per database file and event loop. SQLite admits one writer at a time
    anyway; queueing this process's writers here, instead of in SQLite's busy handler
    (which polls with sleeps up to 100 ms and lets newcomers overtake), keeps the tail
    latency of concurrent writers low. Other processes still meet at the busy timeout."""
    per_loop = _sqlite_writer_locks.setdefault(asyncio.get_running_loop(), {})
    key = str(engine.url.database)
    if key not in per_loop:
        per_loop[key] = asyncio.Lock()
    return per_loop[key]


@asynccontextmanager
async def write_tx(db: AsyncEngine | async_sessionmaker) -> AsyncIterator[AsyncConnection]:
    """A read-write transaction; on SQLite it holds the writer lock from its start
    (BEGIN IMMEDIATE), so its reads and writes cannot interleave with another writer's."""
    engine = as_engine(db)
    if not is_sqlite(engine):
        async with engine.connect() as conn, conn.begin():
            yield conn
        return
    async with _sqlite_writer_lock(engine), engine.connect() as conn:
        await conn.execution_options(**{_BEGIN_OPTION: "IMMEDIATE"})
        async with conn.begin():
            yield conn


@asynccontextmanager
async def read_tx(db: AsyncEngine | async_sessionmaker) -> AsyncIterator[AsyncConnection]:
    """A read-only transaction (a consistent snapshot; never blocks writers in WAL mode)."""
    engine = as_engine(db)
    async with engine.connect() as conn:
        async with conn.begin():
            yield conn


def alembic_config(connection: Connection | None = None, url: str | None = None):
    """An Alembic Config for the packaged migrations (no alembic.ini needed)."""
    from alembic.config import Config

    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url:
        cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


def head_revision() -> str:
    from alembic.script import ScriptDirectory

    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    assert head is not None
    return head


async def migrate(url: str) -> None:
    """Bring the database at `url` to the newest schema (from empty or from any older
    revision). Idempotent; safe when several processes start at once (SQLite: the writer
    lock; PostgreSQL: an advisory lock held for the transaction)."""
    from alembic import command

    engine = make_engine(url)
    try:
        async with write_tx(engine) as conn:
            if engine.dialect.name == "postgresql":
                await conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_MIGRATE_LOCK})

            def _upgrade(sync_conn: Connection) -> None:
                command.upgrade(alembic_config(sync_conn), "head")

            await conn.run_sync(_upgrade)
    finally:
        await engine.dispose()
