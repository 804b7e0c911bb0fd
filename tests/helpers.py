from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

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
