"""Test media made of the real talking-head clips in ../shared/media: people side by side
who talk in turn, each with the picture and sound of their own clip."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from tests.helpers import ffmpeg

FPS = 25


def talking_in_turn(out: Path, clips: Sequence[Path], turns: Sequence[tuple[int, float, float]],
                    size: tuple[int, int] = (1280, 720), face_px: int = 520,
                    tints: Sequence[str] = ()) -> Path:
    """People side by side, left to right in the order of `clips`; `turns` are (person,
    from, to) in that person's clip, played one after the other. Whoever is not talking
    holds still on the frame where they stopped (or their first frame); the sound is the
    talker's own. `tints`: a colour behind each person's half of the picture, so a crop
    can be told by its colour."""
    w, h = size
    n = len(clips)
    gap = (w - n * face_px) // (n + 1)
    parts: list[str] = []
    for p in range(n):
        parts.append(f"[{p}:v]fps={FPS},scale={face_px}:{face_px},setsar=1,split={len(turns)}"
                     + "".join(f"[p{p}s{i}]" for i in range(len(turns))))
        parts.append(f"[{p}:a]aresample=48000,aformat=channel_layouts=mono,asplit={len(turns)}"
                     + "".join(f"[a{p}s{i}]" for i in range(len(turns))))
    at = [0.0] * n
    for i, (who, a, b) in enumerate(turns):
        for p in range(n):
            if p == who:
                parts.append(f"[p{p}s{i}]trim={a}:{b},setpts=PTS-STARTPTS[v{p}t{i}]")
                at[p] = b
            else:
                still = max(0.0, at[p] - 1 / FPS)
                parts.append(f"[p{p}s{i}]trim=start={still:.3f}:duration={1 / FPS:.3f},setpts=PTS-STARTPTS,"
                             f"tpad=stop_mode=clone:stop_duration={b - a:.3f},trim=0:{b - a:.3f}[v{p}t{i}]")
            if p == who:
                parts.append(f"[a{p}s{i}]atrim={a}:{b},asetpts=PTS-STARTPTS[au{i}]")
            else:
                parts.append(f"[a{p}s{i}]anullsink")
    for p in range(n):
        parts.append("".join(f"[v{p}t{i}]" for i in range(len(turns))) + f"concat=n={len(turns)}:v=1:a=0[v{p}]")
    parts.append("".join(f"[au{i}]" for i in range(len(turns))) + f"concat=n={len(turns)}:v=0:a=1[aud]")
    total = sum(b - a for _, a, b in turns)
    boxes = "".join(f",drawbox=x={p * w // n}:y=0:w={w // n}:h={h}:color={c}:t=fill" for p, c in enumerate(tints))
    parts.append(f"color=c=0x303040:s={w}x{h}:r={FPS}:d={total:.3f}{boxes}[bg0]")
    for p in range(n):
        parts.append(f"[bg{p}][v{p}]overlay={gap + p * (face_px + gap)}:{(h - face_px) // 2}[bg{p + 1}]")
    inputs = [arg for c in clips for arg in ("-i", str(c))]
    ffmpeg(*inputs, "-filter_complex", ";".join(parts), "-map", f"[bg{n}]", "-map", "[aud]",
           "-t", f"{total:.3f}", "-c:v", "libx264", "-preset", "ultrafast", "-g", str(2 * FPS),
           "-pix_fmt", "yuv420p", "-c:a", "aac", str(out))
    return out
