"""ffmpeg filtergraphs for the layout presets. Each takes the source frame and returns an
output of exactly the export size, labelled [v]; the subtitle position comes with it."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.media.config import LayoutSettings
from pipeline.media.models import Box


@dataclass(frozen=True)
class Plan:
    graph: str                    # a filtergraph from [0:v] to [vbase]
    subtitle_pos: tuple[int, int]
    layout_used: str
    note: str = ""


def _even(v: float) -> int:
    return max(2, int(round(v / 2)) * 2)


def _subtitle_y(layout: LayoutSettings, out_h: int, seam: int | None = None) -> int:
    if layout.subtitle_y == "seam":
        return seam if seam is not None else int(out_h * 0.75)
    return int(out_h * float(layout.subtitle_y))


def _cover(w: int, h: int) -> str:
    return f"scale={w}:{h}:force_original_aspect_ratio=increase,crop={w}:{h}"


def blur_fit(layout: LayoutSettings, out: tuple[int, int]) -> Plan:
    w, h = out
    small = (_even(w / 8), _even(h / 8))
    graph = (f"[0:v]split=2[bgsrc][fgsrc];"
             f"[bgsrc]{_cover(*small)},boxblur={max(1, layout.blur // 4)}:2,scale={w}:{h}[bg];"
             f"[fgsrc]scale={w}:{h}:force_original_aspect_ratio=decrease,setsar=1[fg];"
             f"[bg][fg]overlay=(W-w)/2:(H-h)/2,setsar=1[vbase]")
    return Plan(graph, (w // 2, _subtitle_y(layout, h)), "blur_fit")


def facecam_top(layout: LayoutSettings, out: tuple[int, int], src: tuple[int, int], cam: Box) -> Plan:
    w, h = out
    top_h = _even(h * layout.facecam_share)
    bottom_h = h - top_h
    sw, sh = src
    gw = min(sw, _even(sh * w / bottom_h))
    gh = min(sh, _even(gw * bottom_h / w))
    gx, gy = (sw - gw) // 2, (sh - gh) // 2
    graph = (f"[0:v]split=2[camsrc][gamesrc];"
             f"[camsrc]crop={cam.w}:{cam.h}:{cam.x}:{cam.y},{_cover(w, top_h)}[cam];"
             f"[gamesrc]crop={gw}:{gh}:{gx}:{gy},scale={w}:{bottom_h},setsar=1[game];"
             f"[cam][game]vstack=inputs=2,setsar=1[vbase]")
    return Plan(graph, (w // 2, _subtitle_y(layout, h, seam=top_h)), "facecam_top")


def moving_crop(layout: LayoutSettings, out: tuple[int, int], src: tuple[int, int], x_expr: str,
                name: str) -> Plan:
    w, h = out
    sw, sh = src
    cw = crop_width(out, src)
    ch = min(sh, _even(cw * h / w))
    graph = (f"[0:v]crop=w={cw}:h={ch}:x='{x_expr}':y={(sh - ch) // 2},"
             f"scale={w}:{h},setsar=1[vbase]")
    return Plan(graph, (w // 2, _subtitle_y(layout, h)), name)


def crop_width(out: tuple[int, int], src: tuple[int, int]) -> int:
    return min(src[0], _even(src[1] * out[0] / out[1]))
