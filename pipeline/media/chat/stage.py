"""The `chat` stage of a job: where its chat comes from, reading it, and the curves it
leaves in the job folder (`artifacts.CHAT_CURVES`) for scoring.

A chat log the person gave that cannot be read fails the job with a clear message, checked
before the long stages start; chat that cannot be fetched (Twitch or YouTube refusing, a link
that does not answer) raises ChatUnavailableError, which the runner turns into a warning."""

from __future__ import annotations

import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urlsplit

import numpy as np

from pipeline.media import artifacts
from pipeline.media.cache import atomic_path, save_npz
from pipeline.media.chat.models import ChatMessage
from pipeline.media.chat.parse import read_chat_file
from pipeline.media.chat.signal import chat_signal
from pipeline.media.chat.twitch import twitch_chat, twitch_video_id
from pipeline.media.chat.youtube import youtube_chat
from pipeline.media.config import Settings
from pipeline.media.errors import ChatLogError, ChatUnavailableError
from pipeline.media.fetch import check_public, is_url, source_identity

DOWNLOADED = "chat_log"


@dataclass(frozen=True)
class ChatOrigin:
    kind: Literal["file", "url", "youtube", "twitch"]
    ref: str        # a path, a link, or a Twitch video id
    given: bool     # the person gave it: a log that cannot be read is their error
    identity: str   # what the stage cache keys on


def _is_youtube(url: str) -> bool:
    host = (urlsplit(url).hostname or "").lower()
    return host == "youtu.be" or host == "youtube.com" or host.endswith(".youtube.com")


def _from_link(url: str, given: bool) -> ChatOrigin | None:
    video_id = twitch_video_id(url)
    if video_id:
        return ChatOrigin("twitch", video_id, given, f"twitch:{video_id}")
    if _is_youtube(url):
        return ChatOrigin("youtube", url, given, url)
    return ChatOrigin("url", url, given, url) if given else None


def chat_origin(source: str, chat: str | None, settings: Settings) -> ChatOrigin | None:
    """Where this job's chat comes from: the log the person gave (a file is read here, so a
    bad one fails before the long stages), else the VOD's own replay when `chat.auto`."""
    if chat:
        if is_url(chat):
            return _from_link(chat, given=True)
        path = Path(chat).expanduser()
        if not path.is_file():
            raise ChatLogError("The chat log file was not found.", detail=chat)
        read_chat_file(path, settings.chat.max_file_mb)
        return ChatOrigin("file", str(path.resolve()), True, source_identity(str(path.resolve())))
    if settings.chat.auto and is_url(source):
        return _from_link(source, given=False)
    return None


def _download(url: str, job_dir: Path, settings: Settings) -> Path:
    check_public(url, settings)
    limit = int(settings.chat.max_file_mb * 2**20)
    target = job_dir / (DOWNLOADED + (Path(urlsplit(url).path).suffix[:8] or ".txt"))
    request = urllib.request.Request(url, headers={"User-Agent": "Mozilla/5.0 (clipfactory)"})
    try:
        with urllib.request.urlopen(request, timeout=settings.chat.timeout_s) as response:
            data = response.read(limit + 1)
    except urllib.error.HTTPError as exc:
        raise ChatUnavailableError(detail=f"chat log {url}: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChatUnavailableError(detail=f"chat log {url}: {exc}") from exc
    if len(data) > limit:
        raise ChatLogError(f"This chat log is larger than {settings.chat.max_file_mb:g} MB.", detail=url)
    with atomic_path(target) as tmp:
        tmp.write_bytes(data)
    return target


def load_messages(origin: ChatOrigin, job_dir: Path, settings: Settings) -> list[ChatMessage] | None:
    """The chat's messages; None when the VOD has none."""
    try:
        if origin.kind == "file":
            return read_chat_file(origin.ref, settings.chat.max_file_mb)
        if origin.kind == "url":
            return read_chat_file(_download(origin.ref, job_dir, settings), settings.chat.max_file_mb)
        if origin.kind == "youtube":
            return youtube_chat(origin.ref, job_dir, settings)
        return twitch_chat(origin.ref, settings.chat) or None
    except ChatLogError as exc:
        if origin.given:
            raise
        raise ChatUnavailableError(detail=f"the {origin.kind} chat replay cannot be read: {exc}") from exc


def chat_stage(origin: ChatOrigin, job_dir: Path, duration: float,
               settings: Settings) -> tuple[dict[str, Any], list[str]]:
    """Read the chat and write its curves; the stage's result and files."""
    messages = load_messages(origin, job_dir, settings)
    if not messages:
        return {"available": False, "source": origin.kind}, []
    loudness = None
    features = job_dir / artifacts.AUDIO_FEATURES
    if features.exists():
        with np.load(features) as data:
            loudness = data["loudness_db"] if "loudness_db" in data.files else None
    signal = chat_signal(messages, duration, loudness, settings.chat)
    save_npz(dict(signal.curves), job_dir / artifacts.CHAT_CURVES)
    return {"available": True, "messages": signal.messages, "counted": signal.counted,
            "chatters": signal.chatters, "delay_s": signal.delay_s, "delay_measured": signal.delay_measured,
            "source": origin.kind}, [artifacts.CHAT_CURVES]


def report_block(result: dict[str, Any] | None) -> dict[str, Any] | None:
    """The report's `chat` entry: null when the job had no chat."""
    if not result or not result.get("available"):
        return None
    return {k: result[k] for k in ("messages", "chatters", "delay_s", "delay_measured", "source")}
