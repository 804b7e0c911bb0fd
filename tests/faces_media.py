"""Test media of people side by side who talk in turn: made of the real talking-head clips
in ../shared/media, each with the picture and sound of its own clip, or drawn (faces the
detector finds) and voiced by espeak-ng, where the folder is absent."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path

import numpy as np

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


def draw_face(img: np.ndarray, cx: int, cy: int, s: int, mouth_open: float) -> None:
    """A drawn face `s` px wide (RetinaFace finds these): skin, hair, eyes, brows, nose, and
    a mouth open by `mouth_open` (0..1)."""
    import cv2

    cv2.ellipse(img, (cx, cy), (s // 2, int(0.65 * s)), 0, 0, 360, (120, 160, 210), -1)
    cv2.ellipse(img, (cx, cy - int(0.55 * s)), (int(0.52 * s), int(0.3 * s)), 0, 180, 360, (40, 40, 60), -1)
    for side in (-1, 1):
        ex, ey = cx + side * int(0.2 * s), cy - int(0.12 * s)
        cv2.ellipse(img, (ex, ey), (int(0.11 * s), int(0.06 * s)), 0, 0, 360, (245, 245, 245), -1)
        cv2.circle(img, (ex, ey), int(0.045 * s), (50, 40, 30), -1)
        cv2.line(img, (ex - int(0.12 * s), ey - int(0.11 * s)), (ex + int(0.12 * s), ey - int(0.13 * s)),
                 (40, 40, 60), max(2, int(0.03 * s)))
    cv2.line(img, (cx, cy - int(0.05 * s)), (cx - int(0.04 * s), cy + int(0.14 * s)), (90, 120, 170),
             max(2, int(0.025 * s)))
    cv2.ellipse(img, (cx, cy + int(0.32 * s)), (int(0.17 * s), int(0.02 * s + mouth_open * 0.12 * s)), 0, 0, 360,
                (60, 50, 140), -1)


def drawn_talk(out: Path, turns: Sequence[tuple[int, str]], workdir: Path, size: tuple[int, int] = (1280, 720),
               face_px: int = 220, tints: Sequence[tuple[int, int, int]] = ((30, 30, 200), (200, 40, 30)),
               ) -> tuple[Path, list[float]]:
    """Two drawn people side by side (over `tints`, BGR), talking in turn with espeak-ng's
    voice: the talker's mouth opens with the loudness of their words, the listener's stays
    shut; both heads sway a little. Returns the file and the times where a turn changes."""
    from tests.speech import english_samples

    rate = 16000
    pieces, changes, t = [], [], 0.0
    for i, (_, text) in enumerate(turns):
        voice = english_samples(text, workdir, rate)
        voice = np.concatenate([voice, np.zeros(int(0.3 * rate), np.float32)])
        pieces.append(voice)
        t += len(voice) / rate
        if i < len(turns) - 1:
            changes.append(t)
    audio = np.concatenate(pieces)
    who_at = np.concatenate([np.full(len(p), turns[i][0]) for i, p in enumerate(pieces)])
    w, h = size
    hop = rate // FPS
    n = len(audio) // hop
    level = np.sqrt(np.mean(audio[: n * hop].reshape(n, hop) ** 2, axis=1))
    opening = np.clip(level / (np.percentile(level, 95) + 1e-9), 0, 1)
    wav = workdir / f"{out.stem}.f32"
    audio.astype("<f4").tofile(wav)
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
           "-f", "rawvideo", "-pix_fmt", "bgr24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "pipe:0",
           "-f", "f32le", "-ar", str(rate), "-ac", "1", "-i", str(wav),
           "-c:v", "libx264", "-preset", "ultrafast", "-g", str(2 * FPS), "-pix_fmt", "yuv420p",
           "-c:a", "aac", "-shortest", str(out)]
    proc = subprocess.Popen(cmd, stdin=subprocess.PIPE)
    assert proc.stdin is not None
    for i in range(n):
        frame = np.empty((h, w, 3), np.uint8)
        for p, tint in enumerate(tints):
            frame[:, p * w // 2:(p + 1) * w // 2] = tint
        talker = int(who_at[i * hop])
        for p in range(2):
            sway = int(6 * np.sin(2 * np.pi * (0.3 + 0.13 * p) * i / FPS))
            draw_face(frame, (2 * p + 1) * w // 4 + sway, h // 2, face_px, float(opening[i]) if p == talker else 0.0)
        proc.stdin.write(frame.tobytes())
    proc.stdin.close()
    if proc.wait():
        raise RuntimeError("ffmpeg failed to encode the drawn talk")
    return out, changes
