"""The channel's brand on a clip: where the hook line goes, and an image watermark laid over
the picture (a text watermark and the hook line are drawn with the subtitles, in ASS)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import ffmpeg

from pipeline.media.config import BrandSettings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Moment
from pipeline.media.render.subtitles import MARK_MARGIN

HOOK_BAND_SHARE = 0.14    # the hook band's height as a share of the clip's height


def hook_band(hook_pos: tuple[int, int], height: int) -> tuple[int, int]:
    """Top and bottom rows of the band around the layout's hook position, inside the frame."""
    half = int(height * HOOK_BAND_SHARE / 2)
    top = max(0, min(hook_pos[1] - half, height - 2 * half))
    return top, top + 2 * half


def hook_text(moment: Moment, brand: BrandSettings) -> str:
    """The line the clip opens with: its post kit's hook (the title unless the writer gave
    one); empty when the brand shows none or the moment has no kit."""
    if not brand.hook or not moment.post_kit:
        return ""
    kit = moment.post_kit
    return str(kit.get("hook") or kit.get("title") or "")


@dataclass(frozen=True)
class Watermark:
    image: Path
    corner: str
    width: int
    opacity: float


def watermark_for(brand: BrandSettings, size: tuple[int, int]) -> Watermark | None:
    if not brand.watermark_image:
        return None
    image = Path(brand.watermark_image).expanduser()
    if not image.is_file():
        raise ConfigError(f"The watermark image {image} does not exist (brand.watermark_image).")
    return Watermark(image.resolve(), brand.watermark_position, max(8, int(size[0] * brand.watermark_size)),
                     brand.watermark_opacity)


def with_watermark(video: Any, mark: Watermark) -> Any:
    """`video` with the image laid over it in its corner, scaled to its width, at its opacity."""
    margin = f"W*{MARK_MARGIN}"
    image = (ffmpeg.input(str(mark.image)).filter("scale", mark.width, -1).filter("format", "rgba")
             .filter("colorchannelmixer", aa=mark.opacity))
    x = margin if mark.corner.endswith("left") else f"W-w-{margin}"
    y = margin if mark.corner.startswith("top") else f"H-h-{margin}"
    return video.overlay(image, x=x, y=y, eof_action="repeat")
