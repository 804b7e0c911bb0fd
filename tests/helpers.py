from __future__ import annotations

import asyncio
import importlib.util
import json
import os
import shutil
import subprocess
import sys
import threading
import traceback
from pathlib import Path
from types import ModuleType
from typing import Any

ROOT = Path(__file__).resolve().parents[1]


def load_script(path: Path) -> ModuleType:
    """A Python file outside the packages (bench/, docker/) as a module named by its stem,
    registered in sys.modules so that the scripts beside it import it by that name."""
    name = Path(path).stem
    if name in sys.modules:
        return sys.modules[name]
    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None, path
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def cli_cmd(*args: str) -> list[str]:
    return [sys.executable, "-m", "pipeline.cli", *args]


def run_cli(*args: str, env: dict[str, str] | None = None, cwd: Path = ROOT,
            timeout: float = 600) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONUNBUFFERED": "1", "COLUMNS": "200", "PYTHONPATH": str(ROOT),
                **(env or {})}
    return subprocess.run(cli_cmd(*args), cwd=cwd, capture_output=True, text=True,
                          env=full_env, timeout=timeout)


def only_report(out: Path) -> dict:
    reports = list(Path(out).glob("*/report.json"))
    assert len(reports) == 1, reports
    return json.loads(reports[0].read_text(encoding="utf-8"))


def ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True)


# --- workers on a real queue (tests/test_worker.py, tests/test_faults.py) -----------------

LEASE_S = 6


def env_for(data: Path, db_url: str = "") -> dict[str, str]:
    env = {"CLIPFACTORY_DATA_DIR": str(data), "CLIPFACTORY_WORKER__LEASE_S": str(LEASE_S),
           "CLIPFACTORY_WORKER__HEARTBEAT_S": "1", "CLIPFACTORY_WORKER__POLL_S": "0.2",
           "CLIPFACTORY_WORKER__PER_USER_LIMIT": "8", "CLIPFACTORY_SCORING__TOP_K": "2"}
    if db_url:
        env["CLIPFACTORY_WORKER__DATABASE_URL"] = db_url
    return env


def submit_copies(media: Path, folder: Path, n: int, env: dict[str, str], *extra: str) -> list[str]:
    ids = []
    for i in range(n):
        copy = folder / f"vod_{i}.mp4"
        shutil.copy(media, copy)
        proc = run_cli("submit", str(copy), *extra, env=env)
        assert proc.returncode == 0, proc.stderr
        ids.append(proc.stdout.strip())
    return ids


def start_worker(env: dict[str, str], *args: str) -> subprocess.Popen:
    return subprocess.Popen(cli_cmd("worker", *args), cwd=ROOT, env={**os.environ, **env},
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)


def jobs(env: dict[str, str]) -> dict[str, dict]:
    proc = run_cli("jobs", "--json", env=env)
    assert proc.returncode == 0, proc.stderr
    return {j["id"]: j for j in json.loads(proc.stdout)}


class ThreadedApp:
    """`bot.app.run_app` (the bot, with or without its in-process worker) in its own event loop
    in a thread of the test process, so a test can reach into it (break a storage call)."""

    def __init__(self, settings: Any, bot_settings: Any, with_worker: bool = True) -> None:
        from bot.app import run_app

        self.loop = asyncio.new_event_loop()
        self.stop: asyncio.Event | None = None
        self.error: BaseException | None = None
        ready = threading.Event()

        async def main() -> None:
            self.stop = asyncio.Event()
            ready.set()
            await run_app(settings, bot_settings, with_worker=with_worker, stop=self.stop)

        def target() -> None:
            try:
                self.loop.run_until_complete(main())
            except BaseException as exc:  # surfaced by the tests
                self.error = exc
                traceback.print_exc()

        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()
        ready.wait(30)

    def close(self) -> None:
        if self.stop is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(120)
