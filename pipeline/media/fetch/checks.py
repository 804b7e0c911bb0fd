"""The rules a link must pass before anything is downloaded: one video, not live, served from
public hosts, within the duration and size limits."""

from __future__ import annotations

import json
import logging
import re
import subprocess
from typing import Any

from pipeline.media.config import Settings
from pipeline.media.errors import LiveStreamError, TooLargeError, TooLongError, UnsupportedLinkError
from pipeline.media.fetch.links import WEB_SCHEMES, check_public, url_host
from pipeline.media.fetch.messages import duration_message, size_message
from pipeline.media.fetch.ytdlp import as_number

log = logging.getLogger(__name__)
_PLAYLIST_TYPES = ("playlist", "multi_video")


def check_before_download(info: dict[str, Any], settings: Settings) -> float | None:
    """Refuse what breaks the rules before anything is downloaded; the duration, if known."""
    check_media(info, settings)
    duration, size = _known_duration_and_size(info, settings)
    limit_s = settings.limits.max_duration_s
    if duration is not None and duration > limit_s:
        raise TooLongError(duration_message(duration, limit_s))
    max_bytes = settings.limits.max_filesize_mb * 1024 * 1024
    if size is not None and size > max_bytes:
        raise TooLargeError(size_message(size, max_bytes))
    return duration


def check_media(info: dict[str, Any], settings: Settings) -> None:
    """Refuse a playlist, a live stream, and media served from a non-public address."""
    if info.get("_type") in _PLAYLIST_TYPES or "entries" in info:
        raise UnsupportedLinkError(
            "This link is a playlist or a channel, not one video. Send the link to one VOD.")
    status = info.get("live_status")
    if info.get("is_live") or status == "is_live":
        raise LiveStreamError()
    if status == "is_upcoming":
        raise LiveStreamError("This stream has not started yet. Send the link again once the "
                              "VOD is available.")
    if status == "post_live":
        raise LiveStreamError("This stream just ended and the site is still preparing the VOD. "
                              "Send the link again in a little while.")
    # The page may send the download elsewhere (a redirect, a media URL on another host).
    checked: set[str] = set()
    for media_url in _media_urls(info):
        host = url_host(media_url)
        if host not in checked:
            checked.add(host)
            check_public(media_url, settings)


def _media_urls(info: dict[str, Any]) -> list[str]:
    """The web URLs yt-dlp (and ffprobe) would open to download what `info` describes."""
    urls = []
    for fmt in info.get("requested_formats") or [info]:
        for key in ("url", "manifest_url", "fragment_base_url"):
            value = fmt.get(key)
            if isinstance(value, str) and value.split(":", 1)[0].lower() in WEB_SCHEMES:
                urls.append(value)
    return urls


def _known_duration_and_size(info: dict[str, Any],
                             settings: Settings) -> tuple[float | None, int | None]:
    """Duration and size as the site reports them, else as ffprobe reads from a direct file.

    yt-dlp's generic extractor knows neither for a direct media link; ffprobe reads only the
    container header (and Content-Length) to find them before the download starts.
    """
    duration = as_number(info.get("duration"))
    formats = info.get("requested_formats") or [info]
    sizes = [as_number(f.get("filesize") or f.get("filesize_approx")) for f in formats]
    known = [s for s in sizes if s is not None]
    size = int(sum(known)) if sizes and len(known) == len(sizes) else None
    only = formats[0] if len(formats) == 1 else {}
    direct = only.get("protocol") in WEB_SCHEMES and only.get("url")
    if (duration is None or size is None) and direct:
        check_public(only["url"], settings)   # ffprobe opens the URL itself
        probed_duration, probed_size = _probe_remote(
            only["url"], only.get("http_headers") or {}, settings.fetch.socket_timeout_s)
        duration = duration if duration is not None else probed_duration
        size = size if size is not None else probed_size
    return duration, size


def _probe_remote(url: str, headers: dict[str, str],
                  timeout_s: float) -> tuple[float | None, int | None]:
    header_text = "".join(
        f"{k}: {v}\r\n" for k, v in headers.items()
        if not re.search(r"[\r\n]", f"{k}{v}") and k.lower() != "cookie")
    cmd = ["ffprobe", "-v", "error", "-protocol_whitelist", "http,https,tcp,tls",
           "-rw_timeout", str(int(timeout_s * 1_000_000))]
    if header_text:
        cmd += ["-headers", header_text]
    cmd += ["-show_entries", "format=duration,size", "-of", "json", url]
    try:
        out = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s * 2 + 5,
                             check=True).stdout
        fmt = json.loads(out).get("format", {})
    except (OSError, subprocess.SubprocessError, json.JSONDecodeError, AttributeError) as exc:
        log.debug("ffprobe of %s gave nothing: %s", url, exc)
        return None, None
    size = as_number(fmt.get("size"))
    return as_number(fmt.get("duration")), int(size) if size else None
