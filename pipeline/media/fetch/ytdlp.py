"""How yt-dlp is driven: its options, its logger, and its progress hooks mapped to one fraction."""

from __future__ import annotations

import logging
import math
import threading
from pathlib import Path
from typing import Any

from pipeline.media.config import Settings
from pipeline.media.fetch.messages import mb
from pipeline.media.fetch.record import SOURCE_STEM
from pipeline.media.models import ProgressFn

log = logging.getLogger(__name__)


class YdlLogger:
    """Keeps yt-dlp's chatter out of stdout/stderr; errors are raised and mapped instead."""

    def debug(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def info(self, msg: str) -> None:
        log.debug("yt-dlp: %s", msg)

    def warning(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)

    def error(self, msg: str) -> None:
        log.info("yt-dlp: %s", msg)


def quiet_options() -> dict[str, Any]:
    """The options every yt-dlp run of ours shares: silent, logged through YdlLogger, one
    video, no local files by URL, no side files."""
    return {"quiet": True, "no_warnings": True, "noprogress": True, "logger": YdlLogger(),
            "noplaylist": True, "enable_file_urls": False, "writeinfojson": False, "writethumbnail": False}


def proxy_format(min_height: int) -> str:
    """yt-dlp format selector of the analysis proxy: the smallest video at least `min_height`
    high plus the best audio (or the smallest such combined file), else the best there is."""
    return f"wv*[height>={min_height}]+ba/w[height>={min_height}]/bv*+ba/b"


def output_template(folder: Path, stem: str) -> str:
    """yt-dlp's output template for `folder/stem.<ext>` (a % in the folder is not a field)."""
    return str(folder / stem).replace("%", "%%") + ".%(ext)s"


def ydl_options(job_dir: Path, settings: Settings, tracker: ProgressTracker) -> dict[str, Any]:
    fetch_cfg = settings.fetch
    return {
        **quiet_options(),
        "extract_flat": "in_playlist",
        "socket_timeout": fetch_cfg.socket_timeout_s,
        "retries": fetch_cfg.retries,
        "fragment_retries": fetch_cfg.retries,
        "extractor_retries": fetch_cfg.retries,
        "skip_unavailable_fragments": False,
        "concurrent_fragment_downloads": 4,
        "format": (proxy_format(fetch_cfg.proxy_min_height) if fetch_cfg.analysis_proxy
                   else fetch_cfg.format),
        "merge_output_format": "mp4",
        "outtmpl": {"default": output_template(job_dir, SOURCE_STEM)},
        "restrictfilenames": True,
        "max_filesize": tracker.max_bytes,
        "progress_hooks": [tracker.hook],
        "postprocessor_hooks": [tracker.postprocessor_hook],
        "updatetime": False,
        "cookiefile": None,
        "cookiesfrombrowser": None,
        "writesubtitles": False,
        "color": "no_color",
    }


def render_selection(settings: Settings, chosen: str | None = None) -> dict[str, Any]:
    fetch_cfg = settings.fetch
    return {
        "format": f"{chosen}/{fetch_cfg.render_format}" if chosen else fetch_cfg.render_format,
        "format_sort": [f"res:{fetch_cfg.render_max_height}"],
    }


class SizeLimitReached(Exception):
    """Raised from the progress hook to stop a download that grew past the size limit."""


class ProgressTracker:
    """Maps yt-dlp hook calls over one or more parts (video, audio) to one 0..1 fraction."""

    def __init__(self, progress: ProgressFn, max_bytes: int):
        self.progress = progress
        self.max_bytes = max_bytes
        self.parts = 1
        self.finished: dict[str, int] = {}
        self.downloaded = 0
        self.last = 0.0
        self._lock = threading.Lock()

    def hook(self, d: dict[str, Any]) -> None:
        with self._lock:
            self._update(d)

    def postprocessor_hook(self, d: dict[str, Any]) -> None:
        if d.get("status") == "started":
            merging = d.get("postprocessor") == "Merger"
            self.progress(self.last,
                          "Joining video and audio" if merging else "Finishing the file")

    def _update(self, d: dict[str, Any]) -> None:
        status = d.get("status")
        if status not in ("downloading", "finished"):
            return
        done_bytes = int(as_number(d.get("downloaded_bytes")) or 0)
        if status == "finished":
            name = str(d.get("filename") or d.get("tmpfilename") or len(self.finished))
            self.finished[name] = int(as_number(d.get("total_bytes")) or done_bytes)
            done_bytes, part_fraction = 0, 0.0
        else:
            part_fraction = _part_fraction(d)
        self.downloaded = sum(self.finished.values()) + done_bytes
        if self.downloaded > self.max_bytes:
            raise SizeLimitReached()
        fraction = 0.99 * min((len(self.finished) + part_fraction) / self.parts, 1.0)
        if fraction >= self.last + 0.01 or (status == "finished" and fraction > self.last):
            self.last = fraction
            self.progress(fraction, f"Downloading ({mb(self.downloaded)})")


def _part_fraction(d: dict[str, Any]) -> float:
    done = as_number(d.get("downloaded_bytes")) or 0
    total = as_number(d.get("total_bytes"))
    if total:
        return min(done / total, 1.0)
    index, count = as_number(d.get("fragment_index")), as_number(d.get("fragment_count"))
    estimate = as_number(d.get("total_bytes_estimate"))
    if estimate:
        by_bytes = min(done / estimate, 1.0)
        return min(by_bytes, (index + 1) / count) if index is not None and count else by_bytes
    return min(index / count, 1.0) if index is not None and count else 0.0


def as_number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def title_of(info: dict[str, Any], path: Path) -> str:
    title = info.get("title") or info.get("fulltitle")
    return str(title).strip() if title and str(title).strip() else path.stem
