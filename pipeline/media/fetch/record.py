"""`fetch.json`, written beside a finished download (atomically), so that a job run again
reuses the file instead of downloading it twice."""

from __future__ import annotations

import json
from pathlib import Path

from pipeline.media import artifacts
from pipeline.media.cache import read_json, write_json
from pipeline.media.fetch.links import normalise_url
from pipeline.media.models import Source

RECORD_NAME = artifacts.FETCH_RECORD
SOURCE_STEM = "source"
_RECORD_VERSION = 1


def record_path(job_dir: Path) -> Path:
    return job_dir / RECORD_NAME


def load_record(job_dir: Path, original: str) -> Source | None:
    try:
        data = read_json(record_path(job_dir))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    try:
        if data.get("version") != _RECORD_VERSION or data["identity"] != normalise_url(original):
            return None
        path = job_dir / data["file"]
        if path.parent != job_dir or not path.is_file() or path.stat().st_size != data["size"]:
            return None
        return Source(original=original, path=path.resolve(), title=data["title"], is_remote=True,
                      webpage_url=data.get("webpage_url"), extractor=data.get("extractor"),
                      is_proxy=bool(data.get("is_proxy")), render_url=data.get("render_url"),
                      render_format=data.get("render_format"))
    except (AttributeError, KeyError, TypeError, OSError):
        return None


def save_record(job_dir: Path, src: Source) -> None:
    write_json(record_path(job_dir), {
        "version": _RECORD_VERSION,
        "identity": normalise_url(src.original),
        "original": src.original,
        "file": src.path.name,
        "size": src.path.stat().st_size,
        "title": src.title,
        "webpage_url": src.webpage_url,
        "extractor": src.extractor,
        "is_proxy": src.is_proxy,
        "render_url": src.render_url,
        "render_format": src.render_format,
    })


def clear_source_files(job_dir: Path) -> None:
    """Remove every file of an earlier download attempt, and its record."""
    if not job_dir.is_dir():
        return
    for path in job_dir.glob(f"{SOURCE_STEM}.*"):
        if path.is_file():
            path.unlink(missing_ok=True)
    record_path(job_dir).unlink(missing_ok=True)
