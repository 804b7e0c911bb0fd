"""Stage cache in a job folder: each stage writes its artifacts atomically and a small
marker `<stage>.done.json` holding the key of its inputs. A stage whose marker matches
its current key is never run again."""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

CACHE_VERSION = 1


def stable_hash(*parts: Any, length: int = 16) -> str:
    blob = json.dumps(parts, sort_keys=True, default=str, ensure_ascii=False)
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:length]


@contextlib.contextmanager
def atomic_path(target: Path) -> Iterator[Path]:
    """Yield a temporary path beside `target`; rename it over `target` on success."""
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", suffix=target.suffix or ".tmp",
                               dir=target.parent)
    os.close(fd)
    os.chmod(tmp, 0o644)  # mkstemp makes 0600; outputs are meant to be shared
    tmp_path = Path(tmp)
    try:
        yield tmp_path
        os.replace(tmp_path, target)
    finally:
        tmp_path.unlink(missing_ok=True)


def write_json(target: Path, data: Any) -> None:
    with atomic_path(target) as tmp:
        tmp.write_text(json.dumps(data, ensure_ascii=False, indent=1, default=str), encoding="utf-8")


def save_npz(arrays: dict[str, NDArray[Any]], target: Path) -> None:
    """Per-second curves of a stage, written atomically (numbers only: no pickles)."""
    with atomic_path(target) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, allow_pickle=False, **arrays)


def read_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def _marker(job_dir: Path, stage: str) -> Path:
    return job_dir / f"{stage}.done.json"


def load_stage(job_dir: Path, stage: str, key: str) -> dict[str, Any] | None:
    """The stage's recorded result if it finished with this key and its files still exist."""
    marker = _marker(job_dir, stage)
    try:
        meta = read_json(marker)
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    if meta.get("key") != key or meta.get("version") != CACHE_VERSION:
        return None
    if not all((job_dir / name).exists() for name in meta.get("files", [])):
        return None
    result: dict[str, Any] = meta.get("result", {})
    return result


def save_stage(job_dir: Path, stage: str, key: str, result: dict[str, Any],
               files: list[str] | None = None) -> None:
    write_json(_marker(job_dir, stage), {
        "version": CACHE_VERSION, "key": key, "files": files or [], "result": result,
    })


def stage_result(job_dir: Path, stage: str) -> dict[str, Any] | None:
    """What a finished stage recorded, whatever its key."""
    try:
        result: dict[str, Any] = read_json(_marker(job_dir, stage)).get("result", {})
    except (FileNotFoundError, json.JSONDecodeError):
        return None
    return result
