"""Chosen moments of a proxy's full-quality rendition, downloaded one section at a time."""

from __future__ import annotations

import copy
import tempfile
from pathlib import Path
from typing import Any

import yt_dlp
from yt_dlp.utils import download_range_func

from pipeline.media.config import Settings
from pipeline.media.errors import ProcessingError, TooLargeError
from pipeline.media.fetch.checks import check_media
from pipeline.media.fetch.links import check_public
from pipeline.media.fetch.messages import map_error, size_message
from pipeline.media.fetch.ytdlp import (
    ProgressTracker,
    as_number,
    output_template,
    render_selection,
    ydl_options,
)
from pipeline.media.models import Source, no_progress

_SECTION_STEM = "section"


def section_info(source: Source, settings: Settings) -> dict[str, Any]:
    """yt-dlp's info for the full-quality rendition of a proxy `source`, looked up and checked
    (public media hosts, not live) without downloading; `download_section` reuses it."""
    url = source.render_url
    if not source.is_proxy or not url:
        raise ValueError(f"{source.original} is not an analysis proxy: it has no sections to fetch")
    check_public(url, settings)
    tracker = ProgressTracker(no_progress, int(settings.limits.max_filesize_mb * 1024 * 1024))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with yt_dlp.YoutubeDL(_section_options(source, settings, Path(tmp), tracker)) as ydl:
                info: dict[str, Any] = ydl.extract_info(url, download=False)
        except yt_dlp.utils.YoutubeDLError as exc:
            raise map_error(exc) from exc
    check_media(info, settings)
    return info


def download_section(source: Source, info: dict[str, Any], start_s: float, end_s: float,
                     out_dir: Path, settings: Settings, max_bytes: int) -> Path:
    """Download stream time [start_s, end_s] of `source`'s full-quality rendition into `out_dir`
    (an mp4, written by ffmpeg from the nearest keyframe with an edit list that starts at the
    first frame at or after start_s); the file's path.

    ffmpeg stops writing past `max_bytes`; a file larger than that raises TooLargeError.
    """
    tracker = ProgressTracker(no_progress, max_bytes)
    options = {
        **_section_options(source, settings, out_dir, tracker),
        "download_ranges": download_range_func(None, [(start_s, end_s)]),
        # -f mp4 after yt-dlp's own -f: the edit list is what keeps the exact start.
        "external_downloader_args": {"ffmpeg_o": ["-f", "mp4", "-fs", str(max_bytes + 1)]},
    }
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            result = ydl.process_ie_result(copy.deepcopy(info), download=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        raise map_error(exc) from exc
    paths = [Path(d["filepath"]) for d in result.get("requested_downloads") or ()
             if d.get("filepath")]
    path = next((p for p in paths if p.is_file() and p.stat().st_size > 0), None)
    if path is None:
        raise ProcessingError(detail=f"yt-dlp left no section file for {start_s:.2f}-{end_s:.2f}")
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLargeError(size_message(None, max_bytes),
                            detail=f"section {start_s:.2f}-{end_s:.2f} passed {max_bytes} bytes")
    return path


def section_size_estimate(info: dict[str, Any], seconds: float) -> int | None:
    """Bytes that `seconds` of the rendition `info` describes will take, when the site says
    (its size and duration, or its bitrate); None when it does not."""
    total = 0.0
    duration = as_number(info.get("duration"))
    for fmt in info.get("requested_formats") or [info]:
        size = as_number(fmt.get("filesize") or fmt.get("filesize_approx"))
        tbr = as_number(fmt.get("tbr"))
        if size and duration:
            total += size / duration * seconds
        elif tbr:
            total += tbr * 125 * seconds   # kbit/s to bytes/s
        else:
            return None
    return int(total)


def _section_options(source: Source, settings: Settings, out_dir: Path,
                     tracker: ProgressTracker) -> dict[str, Any]:
    return {
        **ydl_options(out_dir, settings, tracker),
        **render_selection(settings, source.render_format),
        "outtmpl": {"default": output_template(out_dir, _SECTION_STEM)},
        "overwrites": True,
        "fixup": "never",
    }
