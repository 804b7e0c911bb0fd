"""Alembic environment for the packaged migrations.

Normally run through `storage.db.migrate(url)`, which hands over a connection already in
a transaction (config.attributes["connection"]). To write a new revision by hand:

    from alembic import command
    from storage.db import alembic_config
    command.revision(alembic_config(url="sqlite:///dev.db"), "add x", autogenerate=True)

(the database must be at head first; keep migrations explicit and check both dialects).
"""

from __future__ import annotations

import asyncio
import os

from alembic import context
from sqlalchemy.engine import Connection

from storage.tables import metadata

config = context.config


def _configure_and_run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # ALTER on SQLite needs batch mode
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def _url() -> str:
    url = config.get_main_option("sqlalchemy.url") or os.environ.get("CLIPFACTORY_DATABASE_URL")
    if not url:
        raise RuntimeError("no database URL: set sqlalchemy.url or CLIPFACTORY_DATABASE_URL")
    return url


def run_offline() -> None:
    context.configure(url=_url(), target_metadata=metadata, literal_binds=True)
    with context.begin_transaction():
        context.run_migrations()


async def _run_online_async() -> None:
    from storage.db import make_engine

    engine = make_engine(_url())
    try:
        async with engine.begin() as conn:
            await conn.run_sync(_configure_and_run)
    finally:
        await engine.dispose()


def run_online() -> None:
    connection = config.attributes.get("connection")
    if connection is not None:
        _configure_and_run(connection)
    else:
        asyncio.run(_run_online_async())


if context.is_offline_mode():
    run_offline()
else:
    run_online()
