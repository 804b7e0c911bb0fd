"""The wheel `pip wheel .` builds carries everything the installed package reads at run time,
and the installed copy works on its own: no source tree, no configs/ folder."""

from __future__ import annotations

import json
import os
import re
import shutil
import sqlite3
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("pipeline", "storage", "bot")
MIGRATIONS = ROOT / "storage" / "migrations"

# Runs pipeline.cli from the installed copy only: the venv's editable install of this
# repository (a meta path finder) is taken out, and every project module loaded must come
# from the install folder.
RUN_INSTALLED = textwrap.dedent("""
    import runpy, sys
    from pathlib import Path

    target = Path(sys.argv[1]).resolve()
    sys.meta_path[:] = [f for f in sys.meta_path
                        if not getattr(f, "__module__", "").startswith("__editable__")]
    sys.argv = ["clipfactory", *sys.argv[2:]]
    try:
        runpy.run_module("pipeline.cli", run_name="__main__", alter_sys=True)
        code = 0
    except SystemExit as exc:
        code = exc.code
    outside = sorted(name for name, mod in list(sys.modules.items())
                     if name.split(".")[0] in ("pipeline", "storage", "bot")
                     and getattr(mod, "__file__", None)
                     and not Path(mod.__file__).resolve().is_relative_to(target))
    if outside:
        sys.exit(f"loaded from outside {target}: {outside}")
    sys.exit(code)
""")


def _copy_sources(dest: Path) -> Path:
    """The files a build reads, copied so that the build writes nothing into the repository."""
    dest.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy2(ROOT / name, dest / name)
    for package in PACKAGES:
        shutil.copytree(ROOT / package, dest / package,
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    return dest


def _expected_files() -> set[str]:
    migrations = [MIGRATIONS / "env.py", MIGRATIONS / "script.py.mako",
                  *sorted((MIGRATIONS / "versions").glob("*.py"))]
    return {"pipeline/media/default.yaml", "pipeline/py.typed",
            *(p.relative_to(ROOT).as_posix() for p in migrations)}


def _head_revision() -> str:
    """The newest migration: the revision no other one names as its down_revision."""
    found = [re.search(r'^revision[^=]*= "([^"]+)".*^down_revision[^=]*= "?([^"\n]*)"?$',
                       p.read_text(encoding="utf-8"), re.M | re.S)
             for p in (MIGRATIONS / "versions").glob("*.py")]
    pairs = [(m.group(1), m.group(2)) for m in found if m]
    (head,) = {rev for rev, _ in pairs} - {down for _, down in pairs}
    return head


def _installed_env(target: Path, data_dir: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CLIPFACTORY_") and k not in ("PYTHONPATH", "PYTHONHOME")}
    return {**env, "PYTHONPATH": str(target), "PYTHONSAFEPATH": "1", "PYTHONUNBUFFERED": "1",
            "COLUMNS": "200", "CLIPFACTORY_DATA_DIR": str(data_dir)}


def _run_installed(target: Path, cwd: Path, env: dict[str, str], *args: str,
                   timeout: float) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-P", "-c", RUN_INSTALLED, str(target), *args],
                          cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.mark.slow
def test_the_wheel_installs_and_runs_without_the_source_tree(tmp_path: Path) -> None:
    # --no-build-isolation: build with the venv's setuptools, no package index needed.
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", ".", "--no-deps", "--no-build-isolation",
                    "-q", "-w", str(wheels)], cwd=_copy_sources(tmp_path / "src"), check=True,
                   capture_output=True, timeout=300)
    (wheel,) = wheels.glob("*.whl")
    with zipfile.ZipFile(wheel) as zf:
        names = set(zf.namelist())
        shipped_defaults = zf.read("pipeline/media/default.yaml")
    missing = _expected_files() - names
    assert not missing, f"not in {wheel.name}: {sorted(missing)}"
    assert shipped_defaults == (ROOT / "configs" / "default.yaml").read_bytes()
    assert not any(n.startswith(("configs/", "tests/")) for n in names)

    target = tmp_path / "installed"
    subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", "--no-compile", "-q",
                    "--target", str(target), str(wheel)], check=True, capture_output=True,
                   timeout=300)
    assert (target / "pipeline" / "media" / "default.yaml").is_file()
    assert not (target / "pipeline" / "media" / "fetch.py").exists()

    work = tmp_path / "elsewhere"
    work.mkdir()
    data = tmp_path / "data"
    env = _installed_env(target, data)

    jobs = _run_installed(target, work, env, "jobs", "--json", timeout=300)
    assert jobs.returncode == 0, jobs.stdout + jobs.stderr
    assert json.loads(jobs.stdout) == []
    with sqlite3.connect(data / "clipfactory.db") as db:
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        (version,) = db.execute("SELECT version_num FROM alembic_version").fetchone()
    assert {"jobs", "clips", "users"} <= tables
    assert version == _head_revision()

    out = tmp_path / "out"
    proc = _run_installed(target, work, env, "process", "--sample", "--no-render",
                          "--out", str(out), timeout=900)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    (report,) = out.glob("*/report.json")
    assert json.loads(report.read_text(encoding="utf-8"))["clips"]
    assert not list(out.glob("*/clip_*.mp4"))
