"""A remote VOD downloaded into the job folder as `source.<ext>` (or its analysis proxy)."""

from __future__ import annotations

import copy
import logging
from pathlib import Path
from typing import Any

import yt_dlp

from pipeline.media.config import Settings
from pipeline.media.errors import BadInputError, TooLargeError
from pipeline.media.fetch.checks import check_before_download
from pipeline.media.fetch.messages import map_error, size_message
from pipeline.media.fetch.record import clear_source_files, save_record
from pipeline.media.fetch.ytdlp import (
    ProgressTracker,
    SizeLimitReached,
    render_selection,
    title_of,
    ydl_options,
)
from pipeline.media.models import ProgressFn, Source

log = logging.getLogger(__name__)


def download(original: str, url: str, job_dir: Path, settings: Settings,
              progress: ProgressFn) -> Source:
    job_dir.mkdir(parents=True, exist_ok=True)
    max_bytes = int(settings.limits.max_filesize_mb * 1024 * 1024)
    progress(0.0, "Looking up the video")
    try:
        info, result, render = _run_ytdlp(url, job_dir, settings,
                                          ProgressTracker(progress, max_bytes))
        path = _downloaded_file(result, max_bytes)
    except BadInputError:
        clear_source_files(job_dir)
        raise
    is_proxy = render is not None and render != info.get("format_id")
    src = Source(original=original, path=path.resolve(), title=title_of(info, path),
                 is_remote=True, webpage_url=info.get("webpage_url") or url,
                 extractor=info.get("extractor_key") or info.get("extractor"),
                 is_proxy=is_proxy, render_url=url if is_proxy else None,
                 render_format=render if is_proxy else None)
    save_record(job_dir, src)
    progress(1.0, "Downloaded")
    return src


def _run_ytdlp(url: str, job_dir: Path, settings: Settings, tracker: ProgressTracker,
               ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """Look the link up, refuse what breaks the limits, then download; (info, result, the
    format id of the full-quality rendition when analysis proxies are on)."""
    try:
        with yt_dlp.YoutubeDL(ydl_options(job_dir, settings, tracker)) as ydl:
            info = ydl.extract_info(url, download=False)
            check_before_download(info, settings)
            render = (_render_choice(info, job_dir, settings, tracker)
                      if settings.fetch.analysis_proxy else None)
            tracker.parts = len(info.get("requested_formats") or ()) or 1
            return info, ydl.process_ie_result(info, download=True), render
    except SizeLimitReached:
        raise TooLargeError(size_message(None, tracker.max_bytes),
                            detail=f"download stopped after {tracker.downloaded} bytes") from None
    except yt_dlp.utils.YoutubeDLError as exc:
        raise map_error(exc) from exc


def _downloaded_file(result: dict[str, Any], max_bytes: int) -> Path:
    """The finished file; yt-dlp skips a direct file over `max_filesize` without an error."""
    downloads = result.get("requested_downloads") or ()
    paths = [Path(d["filepath"]) for d in downloads if d.get("filepath")]
    path = next((p for p in paths if p.is_file() and p.stat().st_size > 0), None)
    if path is None:
        raise TooLargeError(size_message(None, max_bytes),
                            detail="yt-dlp left no file (over max_filesize)")
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLargeError(size_message(size, max_bytes))
    return path


def _render_choice(info: dict[str, Any], job_dir: Path, settings: Settings,
                   tracker: ProgressTracker) -> str | None:
    """The format id (e.g. "137+140") `fetch.render_format` picks among the formats of `info`;
    None when it picks none. Nothing is downloaded."""
    options = {**ydl_options(job_dir, settings, tracker), **render_selection(settings)}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            chosen = ydl.process_ie_result(copy.deepcopy(info), download=False)
    except yt_dlp.utils.YoutubeDLError as exc:
        log.info("no full-quality rendition for %s: %s", info.get("webpage_url"), exc)
        return None
    format_id: str | None = chosen.get("format_id")
    return format_id
