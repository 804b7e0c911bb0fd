"""Model files joined or unpacked from a package into the shared models folder, once.

Several processes may do it at once: each builds into its own temporary folder and renames it
into place; a loser of the race uses the winner's folder. A damaged folder (copied by hand, a
disk that filled up earlier) is moved aside first."""

from __future__ import annotations

import importlib.util
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path


@contextmanager
def building(models_dir: Path, folder: str, complete: Callable[[Path], bool]) -> Iterator[Path]:
    """Yield an empty temporary folder to build `folder` in; on success it becomes
    `models_dir/folder`. The caller checks the built folder (raising with its own message)
    before leaving the block."""
    target = models_dir / folder
    models_dir.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".tmp", dir=models_dir))
    try:
        yield tmp
        os.chmod(tmp, 0o755)  # mkdtemp makes it private; the models folder is shared
        if target.exists() and not complete(target):
            stale = Path(tempfile.mkdtemp(prefix=f".{folder}.", suffix=".stale", dir=models_dir))
            try:
                os.replace(target, stale / folder)
            except FileNotFoundError:
                pass  # another process moved it already
            shutil.rmtree(stale, ignore_errors=True)
        try:
            os.rename(tmp, target)
        except OSError:
            if not complete(target):  # else another process renamed its finished copy in first
                raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def package_data(package: str, filename: str, folder: str = "data") -> Path | None:
    """`<package>/<folder>/<filename>` of an installed package (whether that file exists is the
    caller's to check); None when the package is not installed. The package is found without
    importing it: some that ship model files load their own heavy code on import."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / folder / filename
