"""The two entry points over a link or a file: `fetch` (the local media) and `describe`
(title and duration, checked, without downloading)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from urllib.parse import urlsplit

import yt_dlp

from pipeline.media.config import Settings
from pipeline.media.errors import UnsupportedLinkError
from pipeline.media.fetch.checks import check_before_download
from pipeline.media.fetch.download import download
from pipeline.media.fetch.links import check_public, local_file, web_url
from pipeline.media.fetch.messages import map_error
from pipeline.media.fetch.record import clear_source_files, load_record, record_path
from pipeline.media.fetch.ytdlp import ProgressTracker, title_of, ydl_options
from pipeline.media.models import ProgressFn, Source, no_progress


def fetch(source: str, job_dir: Path, settings: Settings,
          progress: ProgressFn = no_progress) -> Source:
    """The local media for `source`: a checked local file, or a VOD downloaded into job_dir."""
    url = web_url(source)
    if url is None:
        path = local_file(source)
        progress(1.0, "Using the local file")
        return Source(original=source, path=path, title=path.stem, is_remote=False)
    job_dir = Path(job_dir)
    cached = load_record(job_dir, source)
    if cached is not None:
        progress(1.0, "Already downloaded")
        return cached
    if record_path(job_dir).exists():
        clear_source_files(job_dir)
    check_public(url, settings)
    return download(source, url, job_dir, settings, progress)


def describe(source: str, settings: Settings) -> tuple[str, float | None]:
    """Title and duration of a link, checked against the limits, without downloading it:
    what the bot shows before the person picks a layout."""
    url = web_url(source)
    if url is None:
        raise UnsupportedLinkError()
    check_public(url, settings)
    tracker = ProgressTracker(no_progress, int(settings.limits.max_filesize_mb * 1024 * 1024))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with yt_dlp.YoutubeDL(ydl_options(Path(tmp), settings, tracker)) as ydl:
                info = ydl.extract_info(url, download=False)
                duration = check_before_download(info, settings)
        except yt_dlp.utils.YoutubeDLError as exc:
            raise map_error(exc) from exc
    return title_of(info, Path(urlsplit(url).path or "video")), duration
