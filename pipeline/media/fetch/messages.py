"""yt-dlp failures mapped to streamer-facing errors, and the limits put into words."""

from __future__ import annotations

import re

from yt_dlp.networking.exceptions import HTTPError, TransportError
from yt_dlp.utils import ContentTooShortError, GeoRestrictedError, UnsupportedError, UserNotLive

from pipeline.media.errors import (
    BadInputError,
    ClipFactoryError,
    CorruptMediaError,
    LiveStreamError,
    NetworkError,
    ProcessingError,
    SourceNotFoundError,
    UnsupportedLinkError,
)

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
_PRIVATE_MESSAGE = ("This video is private or forbidden: the site refused to share it. "
                    "Make it public (or unlisted) and send the link again.")


def map_error(exc: BaseException) -> ClipFactoryError:
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


def _clock(seconds: float, with_seconds: bool = False) -> str:
    total = int(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    return f"{hours}:{minutes:02d}:{secs:02d}" if with_seconds else f"{hours}:{minutes:02d}"


def duration_message(duration: float, limit: float) -> str:
    precise = _clock(duration) == _clock(limit)
    return (f"This video is {_clock(duration, precise)} long; the limit is "
            f"{_clock(limit, precise)} (h:mm{':ss' if precise else ''}). "
            "Send a shorter VOD or cut it first.")


def mb(size: float) -> str:
    mb = size / (1024 * 1024)
    if mb >= 1024:
        return f"{mb / 1024:.1f} GB"
    return f"{mb:.1f} MB" if mb >= 0.1 else f"{size / 1024:.0f} KB"


def size_message(size: float | None, limit: float) -> str:
    if size is None:
        return f"This video is larger than the size limit of {mb(limit)}."
    return f"This video is {mb(size)}, larger than the size limit of {mb(limit)}."
