"""ffprobe: what streams a file has and how long it is."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from pipeline.media.config import Settings
from pipeline.media.errors import CorruptMediaError, NoAudioError, NoVideoError, TooLongError, TooShortError
from pipeline.media.models import MediaInfo


def _fps(rate: str | None) -> float:
    try:
        num, _, den = (rate or "0/1").partition("/")
        return float(num) / float(den or 1)
    except (ValueError, ZeroDivisionError):
        return 0.0


def probe(path: Path) -> MediaInfo:
    proc = subprocess.run(
        ["ffprobe", "-v", "error", "-print_format", "json", "-show_format", "-show_streams", str(path)],
        capture_output=True, text=True, timeout=120,
    )
    if proc.returncode != 0:
        raise CorruptMediaError(detail=proc.stderr.strip()[-300:])
    data = json.loads(proc.stdout or "{}")
    streams = data.get("streams", [])
    video = next((s for s in streams if s.get("codec_type") == "video"
                  and not s.get("disposition", {}).get("attached_pic")), None)
    audio = next((s for s in streams if s.get("codec_type") == "audio"), None)
    durations = [data.get("format", {}).get("duration")] + [s.get("duration") for s in streams]
    duration = max((float(d) for d in durations if d not in (None, "N/A")), default=0.0)
    if not streams or duration <= 0:
        raise CorruptMediaError(detail="no readable streams or zero duration")
    return MediaInfo(
        duration=duration,
        has_audio=audio is not None,
        has_video=video is not None,
        width=int(video.get("width", 0)) if video else 0,
        height=int(video.get("height", 0)) if video else 0,
        fps=_fps(video.get("avg_frame_rate")) if video else 0.0,
        video_codec=video.get("codec_name") if video else None,
        audio_codec=audio.get("codec_name") if audio else None,
        size_bytes=int(data.get("format", {}).get("size", 0) or 0),
    )


def check_usable(info: MediaInfo, settings: Settings) -> None:
    """Refuse early, with a clear reason, media the pipeline cannot make clips from."""
    if not info.has_video:
        raise NoVideoError()
    if not info.has_audio:
        raise NoAudioError()
    if info.duration > settings.limits.max_duration_s:
        raise TooLongError(
            f"This video is {format_hms(info.duration)} long; the limit is "
            f"{format_hms(settings.limits.max_duration_s)}."
        )
    if info.duration < max(settings.limits.min_duration_s, settings.scoring.min_clip_s):
        raise TooShortError(
            f"This video is only {info.duration:.0f} s long, shorter than the shortest clip "
            f"({settings.scoring.min_clip_s:.0f} s)."
        )


def format_hms(seconds: float) -> str:
    s = int(round(seconds))
    return f"{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}"
