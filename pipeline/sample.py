"""A synthetic stream with a planted hype moment, made with ffmpeg and espeak-ng.

Used by `clipfactory process --sample`, the tests and the benchmarks: calm talk over a
slowly moving picture, except for one window of loud, fast, high-pitched hype phrases over
crowd-like noise and a frantic picture."""

from __future__ import annotations

import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

CALM_EN = (
    "Welcome back to the stream everyone.",
    "Today we are going to farm some materials in this area.",
    "I think the next quest is somewhere to the north.",
    "Let me check the map for a second.",
    "The weather in this game is really nice today.",
    "We need about twenty more pieces of wood.",
    "Thanks for the follow, I appreciate it.",
    "I will upgrade the sword after this run.",
    "This part is a bit slow, but it is worth it.",
    "Let us walk over to the village and sell these items.",
    "My chair is very comfortable, by the way.",
    "I had pasta for dinner before the stream.",
)
HYPE_EN = (
    "Oh my god! No way! That was insane!",
    "Let's go! Let's go! What just happened?",
    "That was the best play ever! I can't believe it!",
)


@dataclass(frozen=True)
class SampleSpec:
    duration: float = 180.0
    hype_at: float = 100.0
    hype_len: float = 15.0
    width: int = 640
    height: int = 360
    fps: int = 30
    calm_every_s: float = 7.0
    audio: bool = True


def espeak_wav(text: str, path: Path, *, speed: int = 150, pitch: int = 50, amplitude: int = 100,
               voice: str = "en-us") -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude),
                    "-w", str(path), text], check=True, capture_output=True)
    return path


def _speech_track(spec: SampleSpec, work: Path) -> list[tuple[Path, float, float]]:
    """(wav, start second, gain) for every utterance."""
    track = []
    t, i = 2.0, 0
    while t < spec.duration - 6:
        if not (spec.hype_at - 7 < t < spec.hype_at + spec.hype_len + 1):
            wav = espeak_wav(CALM_EN[i % len(CALM_EN)], work / f"calm{i}.wav", speed=140, amplitude=70)
            track.append((wav, t, 0.6))
            i += 1
        t += spec.calm_every_s
    for j, phrase in enumerate(HYPE_EN):
        wav = espeak_wav(phrase, work / f"hype{j}.wav", speed=210, pitch=85, amplitude=200)
        track.append((wav, spec.hype_at + 0.5 + j * spec.hype_len / len(HYPE_EN), 1.6))
    return track


def make_sample(out: Path, spec: SampleSpec = SampleSpec()) -> Path:
    """Write the sample stream to `out` (mp4, H.264 + AAC) and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    h0, h1 = spec.hype_at, spec.hype_at + spec.hype_len
    hype = f"between(t,{h0},{h1})"
    video = (f"testsrc2=size={spec.width}x{spec.height}:rate={spec.fps}:duration={spec.duration},"
             f"noise=alls=100:allf=t+u:enable='{hype}',hue=H=t*3:enable='{hype}'[v]")
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y"]
    with tempfile.TemporaryDirectory() as tmp:
        graph = [video]
        if spec.audio:
            track = _speech_track(spec, Path(tmp))
            for wav, _, _ in track:
                cmd += ["-i", str(wav)]
            parts = []
            for k, (_, start, gain) in enumerate(track):
                ms = int(start * 1000)
                graph.append(f"[{k}:a]aresample=44100,volume={gain},adelay={ms}|{ms}[s{k}]")
                parts.append(f"[s{k}]")
            graph.append(f"anoisesrc=color=brown:amplitude=0.01:duration={spec.duration}:sample_rate=44100[bg]")
            graph.append(
                f"anoisesrc=color=pink:amplitude=0.35:duration={spec.hype_len}:sample_rate=44100,"
                f"tremolo=f=5:d=0.6,adelay={int(h0 * 1000)}|{int(h0 * 1000)}[crowd]")
            n = len(parts) + 2
            graph.append("".join(parts) + f"[bg][crowd]amix=inputs={n}:normalize=0:duration=longest,"
                         f"atrim=0:{spec.duration},alimiter=limit=0.95[a]")
        cmd += ["-filter_complex", ";".join(graph), "-map", "[v]"]
        if spec.audio:
            cmd += ["-map", "[a]", "-c:a", "aac", "-b:a", "128k"]
        cmd += ["-c:v", "libx264", "-preset", "ultrafast", "-crf", "28", "-g", str(spec.fps * 2),
                "-pix_fmt", "yuv420p", "-t", str(spec.duration), "-movflags", "+faststart", str(out)]
        subprocess.run(cmd, check=True, capture_output=True)
    return out
