"""Errors a person may see. Each carries a message written for a streamer, not a developer."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


class ClipFactoryError(Exception):
    """Base of every error the product reports to a person."""

    user_message: str = "Something went wrong while processing this video."
    transient: bool = False

    def __init__(self, user_message: str | None = None, *, detail: str | None = None):
        if user_message:
            self.user_message = user_message
        self.detail = detail
        super().__init__(self.user_message if detail is None else f"{self.user_message} ({detail})")

    def __reduce__(self) -> tuple[Callable[..., ClipFactoryError], tuple[Any, ...]]:
        # Crosses process-pool boundaries with its message and detail intact.
        return (_rebuild, (type(self), self.user_message, self.detail))


def _rebuild(cls: type[ClipFactoryError], user_message: str, detail: str | None) -> ClipFactoryError:
    return cls(user_message, detail=detail)


class ConfigError(ClipFactoryError):
    user_message = "The configuration is not valid."


class BadInputError(ClipFactoryError):
    """The link or file itself is the problem: retrying will not help."""

    user_message = "This link or file cannot be used."


class UnsupportedLinkError(BadInputError):
    user_message = "I could not find a video at this link. Send a link to a stream VOD or a video file."


class SourceNotFoundError(BadInputError):
    user_message = "This link leads nowhere (the page or file does not exist, or is private)."


class LiveStreamError(BadInputError):
    user_message = "This stream is still live. Send the link again once the VOD is available."


class TooLongError(BadInputError):
    user_message = "This video is longer than the limit."


class TooShortError(BadInputError):
    user_message = "This video is shorter than the shortest clip, so there is nothing to cut."


class TooLargeError(BadInputError):
    user_message = "This file is larger than the size limit."


class NoAudioError(BadInputError):
    user_message = "This video has no sound track, and moments are found from what is said and heard."


class NoVideoError(BadInputError):
    user_message = "This file has no picture, only sound. Send a video."


class CorruptMediaError(BadInputError):
    user_message = "This file is damaged or is not a video I can read."


class ChatLogError(BadInputError):
    """A chat log the person gave that cannot be read."""

    user_message = ("This chat log cannot be read. Send a TwitchDownloader JSON file, a chat-downloader JSON "
                    "or CSV file, a YouTube live chat file (.live_chat.json) or a text log with lines like "
                    "[0:12:34] name: message.")


class NetworkError(ClipFactoryError):
    user_message = "The video site did not answer. I will try again."
    transient = True


class ProcessingError(ClipFactoryError):
    """A tool we run failed in a way that may pass on retry (ffmpeg killed, out of memory)."""

    user_message = "Processing failed on our side. I will try again."
    transient = True


class ChatUnavailableError(NetworkError):
    """The chat replay could not be fetched; the job goes on without it."""

    user_message = "The chat replay could not be fetched, so moments were found without it."
