"""A throwaway PostgreSQL server for tests and benchmarks.

`postgres_cluster()` runs initdb into a temporary folder, starts the server on a free
port on 127.0.0.1 (trust authentication, fsync off), creates a database, yields its
asyncpg URL, and stops and deletes everything afterwards. The `pg_url` fixture in
tests/conftest.py wraps it for a pytest session. Debian's `postgresql` package provides the
binaries; without them that fixture skips. TEST_POSTGRES_URL (an asyncpg URL) uses an
existing server instead (the tests empty its tables and create databases on it).

    from tests.pg import postgres_cluster, create_database
"""

from __future__ import annotations

import contextlib
import glob
import os
import re
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path

DB_NAME = "clipfactory_test"


def find_bindir() -> Path | None:
    """The newest PostgreSQL server bin folder that has initdb and pg_ctl."""
    candidates = []
    for initdb in glob.glob("/usr/lib/postgresql/*/bin/initdb"):
        m = re.search(r"/postgresql/(\d+)(?:\.\d+)?/bin/", initdb)
        candidates.append((int(m.group(1)) if m else 0, Path(initdb).parent))
    on_path = shutil.which("initdb")
    if on_path:
        candidates.append((-1, Path(on_path).resolve().parent))
    for _, bindir in sorted(candidates, reverse=True):
        if (bindir / "pg_ctl").exists() and (bindir / "postgres").exists():
            return bindir
    return None


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _as_postgres(cmd: list[str]) -> list[str]:
    """initdb and postgres refuse to run as root: run them as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *cmd]
    return cmd


def _run(cmd: list[str], **kw) -> subprocess.CompletedProcess:
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=120, **kw)
    if proc.returncode != 0:
        raise RuntimeError(f"{' '.join(cmd)} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return proc


@contextlib.contextmanager
def postgres_cluster(bindir: Path | None = None, db_name: str = DB_NAME) -> Iterator[str]:
    """Start a temporary PostgreSQL server; yields a postgresql+asyncpg URL."""
    bindir = bindir or find_bindir()
    if bindir is None:
        raise FileNotFoundError("PostgreSQL server binaries (initdb, pg_ctl) not found")
    root = Path(tempfile.mkdtemp(prefix="clipfactory-pg-"))
    data, sock, log = root / "data", root / "sock", root / "server.log"
    sock.mkdir()
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
        shutil.chown(sock, "postgres", "postgres")
    port = _free_port()
    started = False
    try:
        _run(_as_postgres([str(bindir / "initdb"), "-D", str(data), "-U", "postgres",
                           "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"]))
        opts = (f"-p {port} -k {sock} -c listen_addresses=127.0.0.1 -c fsync=off "
                "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200")
        _run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-l", str(log), "-w",
                           "-t", "60", "-o", opts, "start"]))
        started = True
        _run(_as_postgres([str(bindir / "createdb"), "-h", "127.0.0.1", "-p", str(port),
                           "-U", "postgres", db_name]))
        yield f"postgresql+asyncpg://postgres@127.0.0.1:{port}/{db_name}"
    finally:
        if started:
            subprocess.run(_as_postgres([str(bindir / "pg_ctl"), "-D", str(data), "-m",
                                         "immediate", "-w", "stop"]),
                           capture_output=True, timeout=60)
        shutil.rmtree(root, ignore_errors=True)


async def create_database(url: str, name: str | None = None) -> str:
    """A new empty database on the server of `url`; returns its URL."""
    import asyncpg
    from sqlalchemy.engine import make_url

    u = make_url(url)
    name = name or f"t_{uuid.uuid4().hex[:12]}"
    conn = await asyncpg.connect(host=u.host, port=u.port, user=u.username,
                                 password=u.password, database=u.database)
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return u.set(database=name).render_as_string(hide_password=False)

