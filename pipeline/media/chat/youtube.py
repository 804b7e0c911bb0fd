"""YouTube live chat replay through yt-dlp: the `live_chat` subtitle of a past live stream,
written into the job folder as `chat_replay.live_chat.json`, then parsed."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yt_dlp

from pipeline.media.chat.models import ChatMessage
from pipeline.media.chat.parse import read_chat_file
from pipeline.media.config import Settings
from pipeline.media.errors import ChatUnavailableError
from pipeline.media.fetch import output_template, quiet_options

STEM = "chat_replay"


def ydl_options(job_dir: Path, settings: Settings) -> dict[str, Any]:
    return {
        **quiet_options(),
        "skip_download": True,
        "writesubtitles": True,
        "writeautomaticsub": False,
        "subtitleslangs": ["live_chat"],
        "outtmpl": {"default": output_template(job_dir, STEM)},
        "socket_timeout": settings.chat.timeout_s,
        "retries": settings.fetch.retries,
        "color": "no_color",
    }


def youtube_chat(source: str | dict[str, Any], job_dir: Path, settings: Settings) -> list[ChatMessage] | None:
    """The chat replay of a YouTube VOD link, or of an info dict yt-dlp already extracted;
    None when the video has no chat replay (not a past live stream)."""
    try:
        with yt_dlp.YoutubeDL(ydl_options(Path(job_dir), settings)) as ydl:
            if isinstance(source, dict):
                info = ydl.process_ie_result(source, download=True)
            else:
                info = ydl.extract_info(source, download=True)
    except yt_dlp.utils.YoutubeDLError as exc:
        raise ChatUnavailableError(detail=f"yt-dlp: {exc}") from exc
    chat = ((info or {}).get("requested_subtitles") or {}).get("live_chat") or {}
    path = chat.get("filepath")
    if not path or not Path(path).exists():
        return None
    return read_chat_file(path, settings.chat.max_file_mb)
