"""Full-quality sections of a remote VOD that was analysed through its proxy.

The analysis reads a small rendition (pipeline.media.fetch, `fetch.analysis_proxy`); the clips are
rendered from the full-quality rendition, of which only the chosen windows are downloaded, one
at a time and in order, so rendering the first can start while the next one downloads.

yt-dlp hands a time range to ffmpeg (`-ss` before the input, stream copy), which starts the
file at the keyframe before the range and writes an mp4 edit list that hides the frames before
it. Read back, the file's t = 0 is the first frame at or after the requested start rather than
the start itself; `offset_s` is measured from the file, so that stream time T is file time
T - offset_s. Sections are kept in `<job>/sections/` and reused by a later call.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pipeline.media.cache import read_json, stable_hash, write_json
from pipeline.media.config import Settings
from pipeline.media.errors import CorruptMediaError, ProcessingError, TooLargeError
from pipeline.media.fetch import download_section, section_info, section_size_estimate
from pipeline.media.models import Source
from pipeline.media.probe import probe

SECTIONS_DIR = "sections"
_RECORD_VERSION = 1


@dataclass(frozen=True)
class SectionFile:
    """A media file holding stream time [start_s, end_s] of the source.

    The frame at stream time T is the file's frame at T - offset_s (to within one frame).
    For a source that is no proxy, `path` is the source file itself and offset_s is 0.
    """

    path: Path
    offset_s: float
    width: int
    height: int
    start_s: float
    end_s: float

    def file_time(self, stream_time: float) -> float:
        return stream_time - self.offset_s


def iter_sections(source: Source, windows: Sequence[tuple[float, float]], job_dir: Path,
                  settings: Settings) -> Iterator[tuple[int, SectionFile]]:
    """(index into `windows`, SectionFile) for each window in order, each yielded as soon as its
    file is there; the next is downloaded only when the caller asks for it.

    Each window is padded by `fetch.section_pad_s` on both sides and clamped to the video. All
    sections of one call together may not pass `limits.max_filesize_mb`.
    """
    media = probe(source.path)
    spans = [_span(window, media.duration, settings.fetch.section_pad_s) for window in windows]
    if not source.is_proxy:
        for index, (start, end) in enumerate(spans):
            yield index, SectionFile(source.path, 0.0, media.width, media.height, start, end)
        return
    folder = Path(job_dir) / SECTIONS_DIR
    budget = int(settings.limits.max_filesize_mb * 1024 * 1024)
    info: dict[str, Any] | None = None
    for index, (start, end) in enumerate(spans):
        key = _key(source, settings, start, end)
        section = _load(folder, key)
        if section is None:
            if info is None:
                info = section_info(source, settings)
                _check_estimate(info, spans[index:], budget)
            if budget <= 0:
                raise TooLargeError(_too_large(settings))
            section = _download(source, info, start, end, folder, key, settings, budget)
        budget -= section.path.stat().st_size
        if budget < 0:
            raise TooLargeError(_too_large(settings))
        yield index, section


def _span(window: tuple[float, float], duration: float, pad_s: float) -> tuple[float, float]:
    start, end = (float(t) for t in window)
    if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
        raise ValueError(f"a window runs forward in time, not {start}..{end}")
    padded = max(0.0, start - pad_s), min(duration, end + pad_s)
    if padded[1] - padded[0] <= 0:
        raise ValueError(f"window {start:.2f}..{end:.2f} lies outside the video (0..{duration:.2f})")
    return round(padded[0], 3), round(padded[1], 3)


def _key(source: Source, settings: Settings, start: float, end: float) -> str:
    return stable_hash(source.render_url, source.render_format, settings.fetch.render_format,
                       settings.fetch.render_max_height, start, end)


def _check_estimate(info: dict[str, Any], spans: list[tuple[float, float]], budget: int) -> None:
    estimate = section_size_estimate(info, sum(end - start for start, end in spans))
    if estimate is not None and estimate > budget:
        raise TooLargeError(
            f"The chosen moments in full quality would take about {estimate / 2**20:.0f} MB, "
            f"more than the size limit of {budget / 2**20:.0f} MB.")


def _too_large(settings: Settings) -> str:
    return (f"The chosen moments in full quality are larger than the size limit of "
            f"{settings.limits.max_filesize_mb:.0f} MB.")


def _download(source: Source, info: dict[str, Any], start: float, end: float, folder: Path,
              key: str, settings: Settings, budget: int) -> SectionFile:
    folder.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix=".section-", dir=folder))
    target = folder / f"{key}.mp4"
    try:
        path = download_section(source, info, start, end, work, settings, budget)
        offset = _measured_offset(path, start)
        media = probe(path)
        if not media.has_video:
            raise CorruptMediaError("The full-quality video of this link came without a picture.",
                                    detail=f"section {start}-{end}")
        os.replace(path, target)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    section = SectionFile(target, offset, media.width, media.height, start, end)
    write_json(folder / f"{key}.json", {
        "version": _RECORD_VERSION, "key": key, "file": target.name,
        "size": target.stat().st_size, "offset_s": offset, "width": media.width,
        "height": media.height, "start_s": start, "end_s": end,
    })
    return section


def _load(folder: Path, key: str) -> SectionFile | None:
    try:
        data = read_json(folder / f"{key}.json")
        path = folder / data["file"]
        if (data.get("version") != _RECORD_VERSION or data.get("key") != key
                or path.parent != folder or path.stat().st_size != data["size"]):
            return None
        return SectionFile(path, float(data["offset_s"]), int(data["width"]),
                           int(data["height"]), float(data["start_s"]), float(data["end_s"]))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def _measured_offset(path: Path, start: float) -> float:
    """Stream time of the file's t = 0.

    ffmpeg writes the packets at (stream time - start); the edit list then moves t = 0 to the
    first frame shown. Reading the file with and without the edit list applied tells how far.
    """
    raw = _last_video_pts(path, apply_edit_list=False)
    shown = _last_video_pts(path, apply_edit_list=True)
    return round(start + raw - shown, 6)


def _last_video_pts(path: Path, apply_edit_list: bool) -> float:
    cmd = ["ffprobe", "-v", "error"]
    if not apply_edit_list:
        cmd += ["-advanced_editlist", "0"]
    cmd += ["-select_streams", "v:0", "-show_entries", "packet=pts_time", "-of", "csv=p=0",
            str(path)]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=120, check=True).stdout
    except (OSError, subprocess.SubprocessError) as exc:
        raise ProcessingError(detail=f"ffprobe of {path.name}: {exc}") from exc
    times = [float(v) for v in (line.strip().strip(",") for line in out.splitlines())
             if v and v != "N/A"]
    if not times:
        raise CorruptMediaError("The full-quality video of this link came without a picture.",
                                detail=f"no video packets in {path.name}")
    return max(times)
