"""Container health check for the bot and worker images: `python healthcheck.py bot|worker`.

Both: the settings load (the defaults shipped in the package, CLIPFACTORY_CONFIG,
CLIPFACTORY_* variables), the data folder is writable and the database answers (SQLite: the
file opens; PostgreSQL: a connection runs `SELECT 1`).
worker: ffmpeg and ffprobe are on PATH.
bot: the Bot API server (TELEGRAM_API_SERVER, else api.telegram.org) accepts a TCP connection.

Exit status 0 is healthy, 1 unhealthy (Docker's convention); the reason goes to stdout,
where `docker inspect --format '{{json .State.Health}}'` shows it. Cheap on purpose: it
runs every 30 s and imports only pydantic and, for PostgreSQL, asyncpg.
"""

from __future__ import annotations

import asyncio
import os
import re
import shutil
import socket
import sqlite3
import sys
from pathlib import Path
from urllib.parse import urlsplit

TIMEOUT_S = 5.0
CLOUD_API = "https://api.telegram.org"


class Unhealthy(Exception):
    pass


def _settings():
    from pipeline.media.config import load_settings

    try:
        return load_settings()
    except Exception as exc:  # ConfigError names the key
        raise Unhealthy(f"settings: {exc}") from exc


def check_data_dir(data_dir: Path) -> None:
    data_dir.mkdir(parents=True, exist_ok=True)
    if not os.access(data_dir, os.W_OK | os.X_OK):
        raise Unhealthy(f"data folder {data_dir} is not writable by uid {os.getuid()}")


def _sqlite_path(url: str, data_dir: Path) -> Path:
    if not url:
        return data_dir / "clipfactory.db"
    return Path(re.sub(r"^sqlite(\+\w+)?:///", "", url)).expanduser()


def check_sqlite(path: Path) -> None:
    if not path.exists():
        # The first `clipfactory` process creates it (with its migrations) on start.
        if not os.access(path.parent, os.W_OK):
            raise Unhealthy(f"cannot create the SQLite database in {path.parent}")
        return
    try:
        con = sqlite3.connect(path, timeout=TIMEOUT_S)
        try:
            con.execute("SELECT count(*) FROM sqlite_master").fetchone()
        finally:
            con.close()
    except sqlite3.Error as exc:
        raise Unhealthy(f"SQLite database {path}: {exc}") from exc


def check_postgres(url: str) -> None:
    import asyncpg

    dsn = re.sub(r"^postgres(?:ql)?(?:\+\w+)?://", "postgresql://", url)

    async def ping() -> None:
        con = await asyncpg.connect(dsn, timeout=TIMEOUT_S)
        try:
            await con.fetchval("SELECT 1")
        finally:
            await con.close()

    try:
        asyncio.run(asyncio.wait_for(ping(), TIMEOUT_S * 2))
    except Exception as exc:
        host = urlsplit(dsn).hostname
        raise Unhealthy(f"PostgreSQL at {host}: {type(exc).__name__}: {exc}") from exc


def check_database(url: str, data_dir: Path) -> None:
    if url.startswith("postgres"):
        check_postgres(url)
    else:
        check_sqlite(_sqlite_path(url, data_dir))


def check_tcp(url: str) -> None:
    parts = urlsplit(url)
    if not parts.hostname:
        raise Unhealthy(f"not a URL: {url!r}")
    port = parts.port or (443 if parts.scheme == "https" else 80)
    try:
        with socket.create_connection((parts.hostname, port), timeout=TIMEOUT_S):
            pass
    except OSError as exc:
        raise Unhealthy(f"Bot API server {parts.hostname}:{port} unreachable: {exc}") from exc


def check_tools(*names: str) -> None:
    missing = [n for n in names if shutil.which(n) is None]
    if missing:
        raise Unhealthy(f"not on PATH: {', '.join(missing)}")


def main(argv: list[str]) -> int:
    role = argv[1] if len(argv) > 1 else ""
    if role not in ("bot", "worker"):
        print("usage: healthcheck.py bot|worker", file=sys.stderr)
        return 2
    try:
        settings = _settings()
        check_data_dir(settings.data_dir)
        check_database(settings.worker.database_url, settings.data_dir)
        if role == "worker":
            check_tools("ffmpeg", "ffprobe")
        else:
            check_tcp(os.environ.get("TELEGRAM_API_SERVER") or CLOUD_API)
    except Unhealthy as exc:
        print(f"unhealthy: {exc}")
        return 1
    print("ok")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
