"""The layers of the code: the import contract in pyproject.toml, and the bot and storage
loading no model code when imported."""

from __future__ import annotations

import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "faster_whisper", "ctranslate2", "sentence_transformers", "transformers", "librosa",
         "cv2", "onnxruntime", "sklearn", "whisper")


def _lint_imports(cwd: Path, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    exe = Path(sys.executable).with_name("lint-imports")
    return subprocess.run([str(exe), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300,
                          env=env)


def test_import_contract_is_kept() -> None:
    proc = _lint_imports(ROOT)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 broken" in proc.stdout


def test_import_contract_catches_the_media_library_importing_storage(tmp_path: Path) -> None:
    """The same contract on a copy of the tree where one media module imports the queue."""
    for name in ("pipeline", "bot", "storage"):
        shutil.copytree(ROOT / name, tmp_path / name, ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    probe = tmp_path / "pipeline" / "media" / "probe.py"
    probe.write_text(probe.read_text(encoding="utf-8") + "\nimport storage.queue  # noqa\n", encoding="utf-8")
    proc = _lint_imports(tmp_path, env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"})
    assert proc.returncode != 0
    assert "pipeline.media.probe -> storage.queue" in proc.stdout


def test_bot_and_storage_load_no_model_code() -> None:
    code = textwrap.dedent(f"""
        import importlib, pkgutil, sys
        import bot, storage
        for pkg in (bot, storage):
            for m in pkgutil.walk_packages(pkg.__path__, pkg.__name__ + "."):
                if ".migrations" not in m.name:
                    importlib.import_module(m.name)
        print(",".join(sorted(m for m in {HEAVY!r} if m in sys.modules)))
    """)
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == ""
