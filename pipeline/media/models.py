"""Typed data passed between pipeline stages."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any, Protocol


@dataclass(frozen=True)
class Source:
    """Where the media came from, and the local file the analysis reads."""

    original: str
    path: Path
    title: str
    is_remote: bool
    webpage_url: str | None = None
    extractor: str | None = None
    # An analysis proxy is a small rendition of a remote VOD: the clips are rendered from
    # full-quality sections of `render_url` in the yt-dlp format `render_format` instead
    # (pipeline.media.sections).
    is_proxy: bool = False
    render_url: str | None = None
    render_format: str | None = None


@dataclass(frozen=True)
class MediaInfo:
    duration: float
    has_audio: bool
    has_video: bool
    width: int = 0
    height: int = 0
    fps: float = 0.0
    video_codec: str | None = None
    audio_codec: str | None = None
    size_bytes: int = 0


@dataclass(frozen=True)
class Word:
    start: float
    end: float
    text: str
    probability: float = 1.0


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    text: str
    words: tuple[Word, ...] = ()
    language: str = ""  # the language it was transcribed in ("" in transcripts made before)


@dataclass(frozen=True)
class Transcript:
    language: str
    duration: float
    segments: tuple[Segment, ...]
    engine: str = ""
    model: str = ""

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Transcript:
        segments = tuple(
            Segment(
                start=s["start"], end=s["end"], text=s["text"],
                words=tuple(Word(**w) for w in s.get("words", ())),
                language=s.get("language", ""),
            )
            for s in data["segments"]
        )
        return cls(language=data["language"], duration=data["duration"], segments=segments,
                   engine=data.get("engine", ""), model=data.get("model", ""))

    @property
    def words(self) -> list[Word]:
        return [w for s in self.segments for w in s.words]

    @property
    def text(self) -> str:
        return " ".join(s.text.strip() for s in self.segments).strip()


@dataclass(frozen=True)
class Moment:
    """One picked window with its Virality Score and the reasons behind it."""

    rank: int
    start: float
    end: float
    score: float
    breakdown: dict[str, float]
    reasons: tuple[str, ...]
    text: str
    peak: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    post_kit: dict[str, Any] | None = None   # pipeline.media.postkit.PostKit.to_dict()

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "reasons": list(self.reasons)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Moment:
        """A moment from its JSON form (a report's clip: keys of the render are left out)."""
        names = {f.name for f in fields(cls)}
        known = {k: v for k, v in data.items() if k in names}
        return cls(**{**known, "reasons": tuple(known.get("reasons", ())),
                      "breakdown": dict(known.get("breakdown", {})), "text": known.get("text", "")})


@dataclass(frozen=True)
class RenderedClip:
    """A moment rendered to a file in the job folder."""

    moment: Moment
    file: str
    thumbnail: str
    layout: str
    size: tuple[int, int]
    source_size: tuple[int, int]
    size_bytes: int
    bitrate_scale: float

    def to_dict(self) -> dict[str, Any]:
        """The report's flat form: the moment's keys, then the render's."""
        return {**self.moment.to_dict(), "file": self.file, "thumbnail": self.thumbnail,
                "layout": self.layout, "size": list(self.size), "source_size": list(self.source_size),
                "size_bytes": self.size_bytes, "bitrate_scale": self.bitrate_scale}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> RenderedClip:
        return cls(Moment.from_dict(data), data["file"], data["thumbnail"], data["layout"],
                   (int(data["size"][0]), int(data["size"][1])),
                   (int(data["source_size"][0]), int(data["source_size"][1])),
                   int(data["size_bytes"]), float(data["bitrate_scale"]))


class ProgressFn(Protocol):
    def __call__(self, fraction: float, note: str = "") -> None: ...


def no_progress(fraction: float, note: str = "") -> None:
    """The progress callback for callers that do not show progress."""


@dataclass(frozen=True)
class Box:
    """A rectangle in source pixels."""

    x: int
    y: int
    w: int
    h: int

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x + self.w, other.x + other.w) - max(self.x, other.x))
        iy = max(0, min(self.y + self.h, other.y + other.h) - max(self.y, other.y))
        inter = ix * iy
        union = self.w * self.h + other.w * other.h - inter
        return inter / union if union else 0.0
