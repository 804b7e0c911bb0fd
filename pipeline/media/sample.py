"""Synthetic streams with planted hype moments, made with ffmpeg and espeak-ng.

Used by `clipfactory process --sample`, the tests and the benchmarks: calm talk over a
slowly moving picture, except for windows of loud, fast, high-pitched hype phrases over
crowd-like noise and a frantic picture. Long streams are cheap to make: the picture is
concatenated from a few encoded 5-second units without re-encoding, and the calm talk is a
concatenation of a dozen spoken sentences."""

from __future__ import annotations

import functools
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
# Shouted in words of our own, none of them in the config's anchors or keywords: the sample
# shows what the scorer hears, not that it recalls its own lists.
HYPE_EN = (
    "He cleared the jump! Did you see that?",
    "Unreal! He actually made it! Go, go, go!",
    "That was the move of the year! Look at him!",
)
UNIT_S = 5
RATE = 44100


@dataclass(frozen=True)
class SampleSpec:
    duration: int = 180
    hype_at: tuple[int, ...] = (100,)
    hype_len: int = 15
    width: int = 640
    height: int = 360
    fps: int = 30
    calm_every_s: float = 7.0
    keyframe_s: float = 2.0
    x264_preset: str = "ultrafast"

    def __post_init__(self) -> None:
        if self.duration % UNIT_S or self.hype_len % UNIT_S or any(h % UNIT_S for h in self.hype_at):
            raise ValueError(f"sample times must be multiples of {UNIT_S} s")


def espeak_wav(text: str, path: Path, *, speed: int = 150, pitch: int = 50, amplitude: int = 100,
               voice: str = "en-us") -> Path:
    subprocess.run(["espeak-ng", "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", str(amplitude),
                    "-w", str(path), text], check=True, capture_output=True)
    return path


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y", *args],
                   check=True, capture_output=True)


def _concat(parts: list[Path], out: Path, work: Path, *extra: str) -> None:
    listing = work / f"{out.stem}.txt"
    listing.write_text("".join(f"file '{p}'\n" for p in parts), encoding="utf-8")
    _ffmpeg("-f", "concat", "-safe", "0", "-i", str(listing), *extra, str(out))


def video_unit(out: Path, source: str, *, fps: int, vf: str | None = None, keyframe_s: float = 2.0,
               preset: str = "ultrafast") -> Path:
    """Encode one 5-second picture unit from a lavfi `source`. Units made with the same fps
    and size concatenate without re-encoding, which is what keeps long streams cheap. A
    keyframe every 2 s is what OBS sends to Twitch; `preset` veryfast is OBS's default too
    (B-frames, CABAC), ultrafast is quicker to make for tests."""
    encode = ["-c:v", "libx264", "-preset", preset, "-crf", "28", "-g", str(round(fps * keyframe_s)),
              "-pix_fmt", "yuv420p", "-t", str(UNIT_S)]
    _ffmpeg("-f", "lavfi", "-i", source, *(["-vf", vf] if vf else []), *encode, str(out))
    return out


def calm_source(width: int, height: int, fps: int) -> str:
    return f"testsrc2=size={width}x{height}:rate={fps}"


FRANTIC_VF = "noise=alls=100:allf=t+u,hue=H=t*3"


def _video(spec: SampleSpec, work: Path) -> Path:
    source = calm_source(spec.width, spec.height, spec.fps)
    unit = functools.partial(video_unit, fps=spec.fps, keyframe_s=spec.keyframe_s, preset=spec.x264_preset)
    calm = unit(work / "calm.mp4", source)
    hype = unit(work / "hype.mp4", source, vf=FRANTIC_VF)
    hype_units = {h // UNIT_S + k for h in spec.hype_at for k in range(spec.hype_len // UNIT_S)}
    parts = [hype if u in hype_units else calm for u in range(spec.duration // UNIT_S)]
    out = work / "video.mp4"
    _concat(parts, out, work, "-c", "copy")
    return out


def calm_talk(duration: float, work: Path, *, sentences: tuple[str, ...] = CALM_EN, voice: str = "en-us",
              every_s: float = 7.0, name: str = "calm") -> Path:
    """Calm talk for `duration` seconds: one sentence every `every_s` seconds, as a mono WAV."""
    units = []
    for i, sentence in enumerate(sentences):
        wav = espeak_wav(sentence, work / f"{name}{i}.wav", speed=140, amplitude=70, voice=voice)
        unit = work / f"{name}_unit{i}.wav"
        _ffmpeg("-i", str(wav), "-af", f"aresample={RATE},adelay=2000|2000,apad",
                "-t", str(every_s), "-ac", "1", "-c:a", "pcm_s16le", str(unit))
        units.append(unit)
    count = int(duration // every_s) + 1
    out = work / ("talk.wav" if name == "calm" else f"{name}_talk.wav")
    _concat([units[k % len(units)] for k in range(count)], out, work, "-t", str(duration))
    return out


def _calm_talk(spec: SampleSpec, work: Path) -> Path:
    return calm_talk(spec.duration, work, every_s=spec.calm_every_s)


def _audio(spec: SampleSpec, work: Path) -> Path:
    talk = _calm_talk(spec, work)
    inputs = ["-i", str(talk)]
    hushed = "+".join(f"between(t,{h - 4},{h + spec.hype_len + 1})" for h in spec.hype_at)
    graph = [f"[0:a]volume=0:enable='{hushed}',volume=0.6[talk]"]
    mix = ["[talk]"]
    phrases = [espeak_wav(p, work / f"hype{j}.wav", speed=210, pitch=85, amplitude=200)
               for j, p in enumerate(HYPE_EN)]
    n = 1
    for h_i, h in enumerate(spec.hype_at):
        for j, wav in enumerate(phrases):
            ms = int((h + 0.5 + j * spec.hype_len / len(phrases)) * 1000)
            inputs += ["-i", str(wav)]
            graph.append(f"[{n}:a]aresample={RATE},volume=1.6,adelay={ms}|{ms}[p{n}]")
            mix.append(f"[p{n}]")
            n += 1
        graph.append(f"anoisesrc=color=pink:amplitude=0.35:duration={spec.hype_len}:sample_rate={RATE},"
                     f"tremolo=f=5:d=0.6,adelay={h * 1000}|{h * 1000}[crowd{h_i}]")
        mix.append(f"[crowd{h_i}]")
    graph.append(f"anoisesrc=color=brown:amplitude=0.01:duration={spec.duration}:sample_rate={RATE}[bg]")
    mix.append("[bg]")
    graph.append("".join(mix) + f"amix=inputs={len(mix)}:normalize=0:duration=longest,"
                 f"atrim=0:{spec.duration},alimiter=limit=0.95[a]")
    out = work / "audio.m4a"
    _ffmpeg(*inputs, "-filter_complex", ";".join(graph), "-map", "[a]", "-c:a", "aac", "-b:a", "128k",
            str(out))
    return out


def make_sample(out: Path, spec: SampleSpec = SampleSpec()) -> Path:
    """Write the sample stream to `out` (mp4, H.264 + AAC) and return it."""
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        video, audio = _video(spec, work), _audio(spec, work)
        _ffmpeg("-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy",
                "-t", str(spec.duration), "-movflags", "+faststart", str(out))
    return out
