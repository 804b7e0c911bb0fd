"""Turn what a streamer sent (a VOD link or a local file path) into a local media file.

Remote media is fetched with the yt-dlp Python API into the job folder as `source.<ext>`;
`fetch.json` is written beside it (atomically) only after a complete download, so a job
that is run again reuses the file instead of downloading it twice.

With `fetch.analysis_proxy` on, what is fetched is an analysis proxy: the smallest rendition of
at least `fetch.proxy_min_height` plus the best audio. The full-quality rendition is chosen at
the same time (`fetch.render_format`, preferring heights up to `fetch.render_max_height`) and
recorded in the Source, so that pipeline.media.sections later downloads only the chosen moments in
it (`section_info`, `download_section`). When both choices are the same format (a site with one
file), the download is the full-quality file and no proxy.

Before yt-dlp or ffprobe opens a link, its host is resolved and the link is refused when any
address is loopback, private, link-local, multicast, unspecified or reserved (IP literals in
any spelling included: getaddrinfo normalises `2130706433` and `0x7f.1` to 127.0.0.1), unless
`fetch.allow_private_networks` is on. A name that does not exist is a bad link
(UnsupportedLinkError); a lookup that fails for another reason is a NetworkError, retried later.
"""

from __future__ import annotations

import copy
import ipaddress
import json
import logging
import math
import re
import socket
import subprocess
import tempfile
import threading
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import yt_dlp
from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import (
    ContentTooShortError,
    GeoRestrictedError,
    UnsupportedError,
    UserNotLive,
    download_range_func,
)

from pipeline.media.cache import read_json, write_json
from pipeline.media.config import Settings
from pipeline.media.errors import (
    BadInputError,
    ClipFactoryError,
    CorruptMediaError,
    LiveStreamError,
    NetworkError,
    ProcessingError,
    SourceNotFoundError,
    TooLargeError,
    TooLongError,
    UnsupportedLinkError,
)
from pipeline.media.models import ProgressFn, Source, no_progress

log = logging.getLogger(__name__)

RECORD_NAME = "fetch.json"
SOURCE_STEM = "source"
_RECORD_VERSION = 1
_SCHEME = re.compile(r"^([a-zA-Z][a-zA-Z0-9+.\-]*):")
_WEB_SCHEMES = ("http", "https")
_DEFAULT_PORTS = {"http": 80, "https": 443}
_PLAYLIST_TYPES = ("playlist", "multi_video")
_SECTION_STEM = "section"


class _SizeLimitReached(Exception):
    """Raised from the progress hook to stop a download that grew past the size limit."""


class PrivateNetworkError(UnsupportedLinkError):
    """The link's host is, or resolves to, an address inside a private network."""

    user_message = "This link points inside a private network, which I do not fetch."


# ---------------------------------------------------------------------------- public


def is_url(text: str) -> bool:
    """True for an http(s) URL with a host: the only links `fetch` downloads."""
    return _normalise_url(text) is not None


def source_identity(source: str) -> str:
    """A stable string naming the input, for job ids.

    A URL is normalised (scheme and host lower-cased, default port and #fragment dropped);
    a file is its resolved path, size and mtime_ns, so an edited file makes a new job.
    Input that `fetch` would refuse raises the same BadInputError here.
    """
    url = _web_url(source)
    if url is not None:
        return url
    path = _local_file(source)
    stat = path.stat()
    return f"{path}|{stat.st_size}|{stat.st_mtime_ns}"


def fetch(source: str, job_dir: Path, settings: Settings,
          progress: ProgressFn = no_progress) -> Source:
    """The local media for `source`: a checked local file, or a VOD downloaded into job_dir."""
    url = _web_url(source)
    if url is None:
        path = _local_file(source)
        progress(1.0, "Using the local file")
        return Source(original=source, path=path, title=path.stem, is_remote=False)
    job_dir = Path(job_dir)
    cached = _load_record(job_dir, source)
    if cached is not None:
        progress(1.0, "Already downloaded")
        return cached
    if _record_path(job_dir).exists():
        _clear_source_files(job_dir)
    check_public(url, settings)
    return _download(source, url, job_dir, settings, progress)


def describe(source: str, settings: Settings) -> tuple[str, float | None]:
    """Title and duration of a link, checked against the limits, without downloading it:
    what the bot shows before the person picks a layout."""
    url = _web_url(source)
    if url is None:
        raise UnsupportedLinkError()
    check_public(url, settings)
    tracker = _ProgressTracker(no_progress, int(settings.limits.max_filesize_mb * 1024 * 1024))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with yt_dlp.YoutubeDL(_ydl_options(Path(tmp), settings, tracker)) as ydl:
                info = ydl.extract_info(url, download=False)
                duration = _check_before_download(info, settings)
        except yt_dlp.utils.YoutubeDLError as exc:
            raise _map_error(exc) from exc
    return _title(info, Path(urlsplit(url).path or "video")), duration


def check_public(url: str, settings: Settings) -> None:
    """Refuse a link whose host is, or resolves to, a non-public address.

    Every address the host resolves to must be public: one private answer among public ones
    is refused too. Does nothing when `fetch.allow_private_networks` is on.
    """
    if settings.fetch.allow_private_networks:
        return
    host = _host(url)
    if not host:
        raise UnsupportedLinkError(detail=f"no host in {url!r}")
    for address in _resolve(host):
        if not _is_public(address):
            raise PrivateNetworkError(detail=f"{host} is {address}")


def proxy_format(min_height: int) -> str:
    """yt-dlp format selector of the analysis proxy: the smallest video at least `min_height`
    high plus the best audio (or the smallest such combined file), else the best there is."""
    return f"wv*[height>={min_height}]+ba/w[height>={min_height}]/bv*+ba/b"


def section_info(source: Source, settings: Settings) -> dict[str, Any]:
    """yt-dlp's info for the full-quality rendition of a proxy `source`, looked up and checked
    (public media hosts, not live) without downloading; `download_section` reuses it."""
    url = source.render_url
    if not source.is_proxy or not url:
        raise ValueError(f"{source.original} is not an analysis proxy: it has no sections to fetch")
    check_public(url, settings)
    tracker = _ProgressTracker(no_progress, int(settings.limits.max_filesize_mb * 1024 * 1024))
    with tempfile.TemporaryDirectory() as tmp:
        try:
            with yt_dlp.YoutubeDL(_section_options(source, settings, Path(tmp), tracker)) as ydl:
                info = ydl.extract_info(url, download=False)
        except yt_dlp.utils.YoutubeDLError as exc:
            raise _map_error(exc) from exc
    _check_media(info, settings)
    return info


def download_section(source: Source, info: dict[str, Any], start_s: float, end_s: float,
                     out_dir: Path, settings: Settings, max_bytes: int) -> Path:
    """Download stream time [start_s, end_s] of `source`'s full-quality rendition into `out_dir`
    (an mp4, written by ffmpeg from the nearest keyframe with an edit list that starts at the
    first frame at or after start_s); the file's path.

    ffmpeg stops writing past `max_bytes`; a file larger than that raises TooLargeError.
    """
    tracker = _ProgressTracker(no_progress, max_bytes)
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
        raise _map_error(exc) from exc
    paths = [Path(d["filepath"]) for d in result.get("requested_downloads") or ()
             if d.get("filepath")]
    path = next((p for p in paths if p.is_file() and p.stat().st_size > 0), None)
    if path is None:
        raise ProcessingError(detail=f"yt-dlp left no section file for {start_s:.2f}-{end_s:.2f}")
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLargeError(_size_message(None, max_bytes),
                            detail=f"section {start_s:.2f}-{end_s:.2f} passed {max_bytes} bytes")
    return path


def section_size_estimate(info: dict[str, Any], seconds: float) -> int | None:
    """Bytes that `seconds` of the rendition `info` describes will take, when the site says
    (its size and duration, or its bitrate); None when it does not."""
    total = 0.0
    duration = _number(info.get("duration"))
    for fmt in info.get("requested_formats") or [info]:
        size = _number(fmt.get("filesize") or fmt.get("filesize_approx"))
        tbr = _number(fmt.get("tbr"))
        if size and duration:
            total += size / duration * seconds
        elif tbr:
            total += tbr * 125 * seconds   # kbit/s to bytes/s
        else:
            return None
    return int(total)


# ---------------------------------------------------------------------------- network guard


_NO_SUCH_NAME = {socket.EAI_NONAME} | (
    {socket.EAI_NODATA} if hasattr(socket, "EAI_NODATA") else set())
_NAT64 = ipaddress.ip_network("64:ff9b::/96")


def _host(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:
        return ""


def _resolve(host: str) -> list[str]:
    """Every address `host` resolves to (an IP literal in any spelling resolves to itself)."""
    try:
        answers = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except socket.gaierror as exc:
        if exc.errno in _NO_SUCH_NAME:
            raise UnsupportedLinkError(
                f"There is no site at {host}. Check the link for a typo.",
                detail=f"getaddrinfo: {exc}") from None
        raise NetworkError(f"I could not look up the site {host} right now. I will try again.",
                           detail=f"getaddrinfo: {exc}") from None
    except (UnicodeError, ValueError, OSError) as exc:
        raise UnsupportedLinkError(detail=f"host {host!r}: {exc}") from None
    addresses = sorted({str(info[4][0]) for info in answers})
    if not addresses:
        raise UnsupportedLinkError(f"There is no site at {host}. Check the link for a typo.",
                                   detail="getaddrinfo gave no address")
    return addresses


def _is_public(address: str) -> bool:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])   # drop an IPv6 zone ("fe80::1%eth0")
    except ValueError:
        return False
    if isinstance(ip, ipaddress.IPv6Address):
        # IPv4 in IPv6 clothing (::ffff:a.b.c.d, DNS64's 64:ff9b::a.b.c.d) is that IPv4 address.
        if ip.ipv4_mapped is not None:
            return _is_public(str(ip.ipv4_mapped))
        if ip in _NAT64:
            return _is_public(str(ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)))
        if ip.sixtofour is not None and not _is_public(str(ip.sixtofour)):
            return False
        if ip.is_site_local:
            return False
    return ip.is_global and not (ip.is_loopback or ip.is_private or ip.is_link_local
                                 or ip.is_multicast or ip.is_unspecified or ip.is_reserved)


def _media_urls(info: dict[str, Any]) -> list[str]:
    """The web URLs yt-dlp (and ffprobe) would open to download what `info` describes."""
    urls = []
    for fmt in info.get("requested_formats") or [info]:
        for key in ("url", "manifest_url", "fragment_base_url"):
            value = fmt.get(key)
            if isinstance(value, str) and value.split(":", 1)[0].lower() in _WEB_SCHEMES:
                urls.append(value)
    return urls


# ---------------------------------------------------------------------------- input


def _normalise_url(text: str) -> str | None:
    text = text.strip()
    match = _SCHEME.match(text)
    if not match or match.group(1).lower() not in _WEB_SCHEMES or any(c.isspace() for c in text):
        return None
    try:
        parts = urlsplit(text)
        port = parts.port
    except ValueError:
        return None
    if not parts.hostname:
        return None
    scheme = parts.scheme.lower()
    host = parts.hostname.lower()
    if ":" in host:
        host = f"[{host}]"
    netloc = host if port in (None, _DEFAULT_PORTS[scheme]) else f"{host}:{port}"
    if parts.username or parts.password:
        netloc = parts.netloc.rsplit("@", 1)[0] + "@" + netloc
    return urlunsplit((scheme, netloc, parts.path or "/", parts.query, ""))


def _web_url(source: str) -> str | None:
    """The normalised URL for a web link, None for a local path; refuse anything else."""
    if not isinstance(source, str) or not source.strip() or "\x00" in source:
        raise UnsupportedLinkError(detail="empty or unreadable input")
    url = _normalise_url(source)
    if url is not None:
        return url
    scheme = _SCHEME.match(source.strip())
    if scheme and len(scheme.group(1)) > 1 and not _exists(source):
        raise UnsupportedLinkError(
            "I can only download http:// and https:// links. Send a link to a stream VOD "
            "or a video file.", detail=f"scheme {scheme.group(1)!r}")
    if "\n" in source or "\r" in source:
        raise UnsupportedLinkError(detail="text with line breaks")
    return None


def _exists(source: str) -> bool:
    try:
        return Path(source.strip()).expanduser().exists()
    except (OSError, ValueError):
        return False


def _local_file(source: str) -> Path:
    path = Path(source.strip()).expanduser()
    try:
        resolved = path.resolve()
        exists = resolved.exists()
    except (OSError, RuntimeError) as exc:
        raise SourceNotFoundError(f"I could not open the file {source.strip()}.",
                                  detail=str(exc)) from exc
    if not exists:
        hint = (" If it is a link, send it with https:// in front."
                if _looks_like_host(source) else "")
        raise SourceNotFoundError(f"There is no file at {source.strip()}.{hint}")
    if not resolved.is_file():
        raise BadInputError(f"{source.strip()} is not a video file (it is a folder or a device).")
    if resolved.stat().st_size == 0:
        raise CorruptMediaError(f"The file {resolved.name} is empty (0 bytes).")
    return resolved


def _looks_like_host(text: str) -> bool:
    return re.match(r"^(www\.)?[\w-]+(\.[\w-]+)*\.[a-z]{2,}/", text.strip(), re.I) is not None


# ---------------------------------------------------------------------------- reuse


def _record_path(job_dir: Path) -> Path:
    return job_dir / RECORD_NAME


def _load_record(job_dir: Path, original: str) -> Source | None:
    try:
        data = read_json(_record_path(job_dir))
    except (FileNotFoundError, NotADirectoryError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    try:
        if data.get("version") != _RECORD_VERSION or data["identity"] != _normalise_url(original):
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


def _save_record(job_dir: Path, src: Source) -> None:
    write_json(_record_path(job_dir), {
        "version": _RECORD_VERSION,
        "identity": _normalise_url(src.original),
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


def _clear_source_files(job_dir: Path) -> None:
    """Remove every file of an earlier download attempt, and its record."""
    if not job_dir.is_dir():
        return
    for path in job_dir.glob(f"{SOURCE_STEM}.*"):
        if path.is_file():
            path.unlink(missing_ok=True)
    _record_path(job_dir).unlink(missing_ok=True)


# ---------------------------------------------------------------------------- download


def _download(original: str, url: str, job_dir: Path, settings: Settings,
              progress: ProgressFn) -> Source:
    job_dir.mkdir(parents=True, exist_ok=True)
    max_bytes = int(settings.limits.max_filesize_mb * 1024 * 1024)
    progress(0.0, "Looking up the video")
    try:
        info, result, render = _run_ytdlp(url, job_dir, settings,
                                          _ProgressTracker(progress, max_bytes))
        path = _downloaded_file(result, max_bytes)
    except BadInputError:
        _clear_source_files(job_dir)
        raise
    is_proxy = render is not None and render != info.get("format_id")
    src = Source(original=original, path=path.resolve(), title=_title(info, path),
                 is_remote=True, webpage_url=info.get("webpage_url") or url,
                 extractor=info.get("extractor_key") or info.get("extractor"),
                 is_proxy=is_proxy, render_url=url if is_proxy else None,
                 render_format=render if is_proxy else None)
    _save_record(job_dir, src)
    progress(1.0, "Downloaded")
    return src


def _run_ytdlp(url: str, job_dir: Path, settings: Settings, tracker: "_ProgressTracker",
               ) -> tuple[dict[str, Any], dict[str, Any], str | None]:
    """Look the link up, refuse what breaks the limits, then download; (info, result, the
    format id of the full-quality rendition when analysis proxies are on)."""
    try:
        with yt_dlp.YoutubeDL(_ydl_options(job_dir, settings, tracker)) as ydl:
            info = ydl.extract_info(url, download=False)
            _check_before_download(info, settings)
            render = (_render_choice(info, job_dir, settings, tracker)
                      if settings.fetch.analysis_proxy else None)
            tracker.parts = len(info.get("requested_formats") or ()) or 1
            return info, ydl.process_ie_result(info, download=True), render
    except _SizeLimitReached:
        raise TooLargeError(_size_message(None, tracker.max_bytes),
                            detail=f"download stopped after {tracker.downloaded} bytes") from None
    except yt_dlp.utils.YoutubeDLError as exc:
        raise _map_error(exc) from exc


def _downloaded_file(result: dict[str, Any], max_bytes: int) -> Path:
    """The finished file; yt-dlp skips a direct file over `max_filesize` without an error."""
    downloads = result.get("requested_downloads") or ()
    paths = [Path(d["filepath"]) for d in downloads if d.get("filepath")]
    path = next((p for p in paths if p.is_file() and p.stat().st_size > 0), None)
    if path is None:
        raise TooLargeError(_size_message(None, max_bytes),
                            detail="yt-dlp left no file (over max_filesize)")
    size = path.stat().st_size
    if size > max_bytes:
        raise TooLargeError(_size_message(size, max_bytes))
    return path


def _render_choice(info: dict[str, Any], job_dir: Path, settings: Settings,
                   tracker: "_ProgressTracker") -> str | None:
    """The format id (e.g. "137+140") `fetch.render_format` picks among the formats of `info`;
    None when it picks none. Nothing is downloaded."""
    options = {**_ydl_options(job_dir, settings, tracker), **_render_selection(settings)}
    try:
        with yt_dlp.YoutubeDL(options) as ydl:
            chosen = ydl.process_ie_result(copy.deepcopy(info), download=False)
    except yt_dlp.utils.YoutubeDLError as exc:
        log.info("no full-quality rendition for %s: %s", info.get("webpage_url"), exc)
        return None
    return chosen.get("format_id")


def _render_selection(settings: Settings, chosen: str | None = None) -> dict[str, Any]:
    fetch_cfg = settings.fetch
    return {
        "format": f"{chosen}/{fetch_cfg.render_format}" if chosen else fetch_cfg.render_format,
        "format_sort": [f"res:{fetch_cfg.render_max_height}"],
    }


def _section_options(source: Source, settings: Settings, out_dir: Path,
                     tracker: "_ProgressTracker") -> dict[str, Any]:
    return {
        **_ydl_options(out_dir, settings, tracker),
        **_render_selection(settings, source.render_format),
        "outtmpl": {"default": output_template(out_dir, _SECTION_STEM)},
        "overwrites": True,
        "fixup": "never",
    }


def output_template(folder: Path, stem: str) -> str:
    """yt-dlp's output template for `folder/stem.<ext>` (a % in the folder is not a field)."""
    return str(folder / stem).replace("%", "%%") + ".%(ext)s"


def _ydl_options(job_dir: Path, settings: Settings, tracker: "_ProgressTracker") -> dict[str, Any]:
    fetch_cfg = settings.fetch
    return {
        "quiet": True,
        "no_warnings": True,
        "noprogress": True,
        "logger": YdlLogger(),
        "noplaylist": True,
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
        "enable_file_urls": False,
        "cookiefile": None,
        "cookiesfrombrowser": None,
        "writesubtitles": False,
        "writeinfojson": False,
        "writethumbnail": False,
        "color": "no_color",
    }


def _check_before_download(info: dict[str, Any], settings: Settings) -> float | None:
    """Refuse what breaks the rules before anything is downloaded; the duration, if known."""
    _check_media(info, settings)
    duration, size = _known_duration_and_size(info, settings)
    limit_s = settings.limits.max_duration_s
    if duration is not None and duration > limit_s:
        raise TooLongError(_duration_message(duration, limit_s))
    max_bytes = settings.limits.max_filesize_mb * 1024 * 1024
    if size is not None and size > max_bytes:
        raise TooLargeError(_size_message(size, max_bytes))
    return duration


def _check_media(info: dict[str, Any], settings: Settings) -> None:
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
        host = _host(media_url)
        if host not in checked:
            checked.add(host)
            check_public(media_url, settings)


def _known_duration_and_size(info: dict[str, Any],
                             settings: Settings) -> tuple[float | None, int | None]:
    """Duration and size as the site reports them, else as ffprobe reads from a direct file.

    yt-dlp's generic extractor knows neither for a direct media link; ffprobe reads only the
    container header (and Content-Length) to find them before the download starts.
    """
    duration = _number(info.get("duration"))
    formats = info.get("requested_formats") or [info]
    sizes = [_number(f.get("filesize") or f.get("filesize_approx")) for f in formats]
    size = int(sum(sizes)) if sizes and all(s is not None for s in sizes) else None
    only = formats[0] if len(formats) == 1 else {}
    direct = only.get("protocol") in _WEB_SCHEMES and only.get("url")
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
    size = _number(fmt.get("size"))
    return _number(fmt.get("duration")), int(size) if size else None


def _title(info: dict[str, Any], path: Path) -> str:
    title = info.get("title") or info.get("fulltitle")
    return str(title).strip() if title and str(title).strip() else path.stem


# ---------------------------------------------------------------------------- progress


class _ProgressTracker:
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
        done_bytes = int(_number(d.get("downloaded_bytes")) or 0)
        if status == "finished":
            name = str(d.get("filename") or d.get("tmpfilename") or len(self.finished))
            self.finished[name] = int(_number(d.get("total_bytes")) or done_bytes)
            done_bytes, part_fraction = 0, 0.0
        else:
            part_fraction = _part_fraction(d)
        self.downloaded = sum(self.finished.values()) + done_bytes
        if self.downloaded > self.max_bytes:
            raise _SizeLimitReached()
        fraction = 0.99 * min((len(self.finished) + part_fraction) / self.parts, 1.0)
        if fraction >= self.last + 0.01 or (status == "finished" and fraction > self.last):
            self.last = fraction
            self.progress(fraction, f"Downloading ({_mb(self.downloaded)})")


def _part_fraction(d: dict[str, Any]) -> float:
    done = _number(d.get("downloaded_bytes")) or 0
    total = _number(d.get("total_bytes"))
    if total:
        return min(done / total, 1.0)
    index, count = _number(d.get("fragment_index")), _number(d.get("fragment_count"))
    estimate = _number(d.get("total_bytes_estimate"))
    if estimate:
        by_bytes = min(done / estimate, 1.0)
        return min(by_bytes, (index + 1) / count) if index is not None and count else by_bytes
    return min(index / count, 1.0) if index is not None and count else 0.0


# ---------------------------------------------------------------------------- errors


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


_PRIVATE = re.compile(r"private|sign in|log ?in|members[- ]only|subscriber|age[- ]restrict|"
                      r"authenticat|cookies", re.I)
_GONE = re.compile(r"does not exist|not found|has been removed|unavailable|no longer available|"
                   r"deleted|terminated", re.I)
_NO_MEDIA = re.compile(r"unsupported url|no video formats|no formats|requested format is not "
                       r"available|no video could be found|no media|not a video", re.I)
_BLOCKED = re.compile(r"confirm you.?re not a bot|rate.?limit", re.I)
_UPCOMING = re.compile(r"live event will begin|premieres in|is offline|not currently live|"
                       r"stream has not started", re.I)
_NETWORK = re.compile(r"timed out|timeout|connection (refused|reset|aborted)|"
                      r"name or service not known|temporary failure in name resolution|"
                      r"failed to resolve|network is unreachable|"
                      r"no route to host|giving up after|incomplete ?read|did not get any data|"
                      r"remote end closed|ssl|eof occurred|fragment \d+ not found", re.I)


def _map_error(exc: BaseException) -> ClipFactoryError:
    """A streamer-facing error for a yt-dlp failure; the yt-dlp text goes to `detail`."""
    text = _clean(str(exc))
    chain = _causes(exc)
    if any(isinstance(c, GeoRestrictedError) for c in chain):
        return SourceNotFoundError("This video is not available in the country this service "
                                   "runs in.", detail=text)
    for cause in chain:
        if isinstance(cause, HTTPError):
            return _http_error(cause.status, text)
    status = re.search(r"HTTP Error (\d{3})", text)
    if status:
        return _http_error(int(status.group(1)), text)
    if _BLOCKED.search(text):
        return NetworkError("The video site is refusing downloads from this server right now. "
                            "I will try again later.", detail=text)
    if any(isinstance(c, UserNotLive) for c in chain):
        return UnsupportedLinkError("This is a channel that is not live, not a VOD. Send the "
                                    "link to the VOD itself.", detail=text)
    if any(isinstance(c, UnsupportedError) for c in chain) or _NO_MEDIA.search(text):
        return UnsupportedLinkError(detail=text)
    if any(isinstance(c, (TransportError, ContentTooShortError, TimeoutError, ConnectionError))
           for c in chain) or _NETWORK.search(text):
        return NetworkError(detail=text)
    if _UPCOMING.search(text):
        return LiveStreamError("This stream is not available as a VOD yet. Send the link "
                               "again once it is.", detail=text)
    if _PRIVATE.search(text):
        return SourceNotFoundError(_PRIVATE_MESSAGE, detail=text)
    if _GONE.search(text):
        return SourceNotFoundError(detail=text)
    if "downloaded file is empty" in text.lower():
        return CorruptMediaError("The video at this link came down empty.", detail=text)
    if any(getattr(c, "expected", False) for c in chain):
        return BadInputError(detail=text)
    return ProcessingError("I could not read this video site right now (the downloader may "
                           "need an update). I will try again.", detail=text)


_PRIVATE_MESSAGE = ("This video is private or forbidden: the site refused to share it. "
                    "Make it public (or unlisted) and send the link again.")


def _http_error(status: int, text: str) -> ClipFactoryError:
    if status in (404, 410):
        return SourceNotFoundError(detail=text)
    if status in (401, 403, 451):
        return SourceNotFoundError(_PRIVATE_MESSAGE, detail=text)
    if status == 429 or status >= 500:
        return NetworkError(detail=text)
    return SourceNotFoundError(f"The site answered with an error (HTTP {status}).", detail=text)


def _causes(exc: BaseException) -> list[BaseException]:
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        item = todo.pop()
        if item is None or any(item is s for s in seen) or len(seen) > 20:
            continue
        seen.append(item)
        exc_info = getattr(item, "exc_info", None)
        if isinstance(exc_info, tuple) and len(exc_info) > 1:
            todo.append(exc_info[1])
        todo += [getattr(item, "cause", None), item.__cause__, item.__context__]
    return seen


def _clean(text: str) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", text)
    text = re.sub(r";?\s*please report this issue on .*", "", text, flags=re.S)
    return re.sub(r"^ERROR:\s*", "", text).strip()


# ---------------------------------------------------------------------------- formatting


def _number(value: Any) -> float | None:
    try:
        number = float(value)
    except (TypeError, ValueError):
        return None
    return number if math.isfinite(number) and number >= 0 else None


def _clock(seconds: float, with_seconds: bool = False) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if with_seconds else f"{hours}:{minutes:02d}"


def _duration_message(duration: float, limit: float) -> str:
    precise = _clock(duration) == _clock(limit)
    return (f"This video is {_clock(duration, precise)} long; the limit is "
            f"{_clock(limit, precise)} (h:mm{':ss' if precise else ''}). "
            "Send a shorter VOD or cut it first.")


def _mb(size: float) -> str:
    mb = size / (1024 * 1024)
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{size / 1024:.0f} KB"


def _size_message(size: float | None, limit: float) -> str:
    if size is None:
        return f"This video is larger than the size limit of {_mb(limit)}."
    return f"This video is {_mb(size)}, larger than the size limit of {_mb(limit)}."
