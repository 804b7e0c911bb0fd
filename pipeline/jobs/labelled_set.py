"""The generated labelled set for `clipfactory eval` and `clipfactory fit-weights`: streams
with planted moments of known kinds, decoys a picker should pass over, a chat log per stream
and `labels.json` (format in pipeline/jobs/evaluation.py).

Two splits, made apart so that weights fitted on one can be measured on the other: `train`
and `heldout` differ in seeds (event order, sounds, timing), phrases
(`pipeline.jobs.eval_phrases`), voices and pictures. Each split has six streams of 290 s:
English, Russian, English, Russian, English, and English with a Russian stretch. Every
stream is calm talk over a slowly moving picture with seven planted events, one per 40 s slot
in an order drawn from the stream's seed:

- five highlights, one of each kind: hype said in words the config does not list (`hype_en`,
  or `hype_ru` in the Russian streams and in the Russian stretch of the bilingual one),
  `laughter`, `scream`, `crowd` and `explosion` (no words: synthesised in
  `pipeline.jobs.eval_sounds`; the last three over a frantic picture);
- two decoys, the pairs taking turns over the streams: `readout` (a calm voice reading out
  chat messages made of the config's own hype phrases), `loud_music` (music with a beat, no
  speech, calm picture), `menu` (a static menu screen with soft music, nobody talking) and
  `calm_talk` (uninterrupted calm talk).

Speech: espeak-ng for English; festival's Russian voice (msu_ru_nsh) for Russian, since
faster-whisper hears nothing in espeak-ng's Russian. Festival has one Russian voice here, so
the splits vary it by resampling (pitch and tempo together). Hype is said fast, high and
loud; the calm talk, the read-out and the long talk at one calm level.

Chat: a few regulars chat at a low steady rate all along; viewers burst 6–8 s after each
highlight starts; one spammer floods a stretch that is no highlight. A highlight's label is
its event with 6 s before it (the default `scoring.lead_in_s`) and 4 s after; a decoy's label
is the event itself."""

from __future__ import annotations

import json
import random
import subprocess
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from pipeline.jobs import eval_sounds
from pipeline.jobs.eval_phrases import HELDOUT, TRAIN, SplitPhrases
from pipeline.media.probe import format_hms
from pipeline.media.sample import FRANTIC_VF, UNIT_S, _concat, _ffmpeg, espeak_wav, video_unit

MIX_RATE = 32000
HIGHLIGHTS = ("hype_en", "hype_ru", "laughter", "scream", "crowd", "explosion")
DECOYS = ("readout", "loud_music", "menu", "calm_talk")
EVENT_S = {"hype_en": 15, "hype_ru": 15, "laughter": 10, "scream": 10, "crowd": 15, "explosion": 15,
           "readout": 15, "loud_music": 20, "menu": 20, "calm_talk": 20}
PICTURE = {"scream": "frantic", "crowd": "frantic", "explosion": "frantic", "menu": "menu"}
TALK_GOES_ON = {"crowd", "explosion"}   # game sounds under the streamer's calm talk
# RMS of the active part, dBFS. Hype sits 8 dB over the calm voice (a compressed stream voice
# does not get much louder), the game sounds below the hype, the loud music above it.
LEVEL_DB = {"talk": -24.0, "hype": -16.0, "laughter": -18.0, "scream": -14.0, "crowd": -20.0,
            "explosion": -18.0, "loud_music": -15.0, "menu": -34.0, "bed": -60.0}
LANGUAGES = ("en", "ru", "en", "ru", "en", "en+ru")
DECOY_PAIRS = (("readout", "loud_music"), ("menu", "calm_talk"), ("readout", "menu"),
               ("loud_music", "calm_talk"), ("readout", "calm_talk"), ("loud_music", "menu"))
SLOT_FIRST_S, SLOT_EVERY_S, SLOTS = 20, 40, 7
DURATION_S = 290
LABEL_BEFORE_S, LABEL_AFTER_S = 6, 4
SPAM_S = (46, 56)  # in the gap after the first slot, whatever that slot holds
FESTIVAL_RU = "(voice_msu_ru_nsh_clunits)"

REGULARS = ("mike_77", "sasha_k", "pixelwolf", "dima2009", "lena_play", "noobmaster", "kotik", "ghost_rider")
CALM_CHAT = ("hi everyone", "what game is this?", "nice weather in game", "привет всем", "как дела?",
             "gg", "what level are you?", "чилл стрим", "hello from Berlin", "сколько часов уже играешь?",
             "o7", "nice build")
BURST_CHAT = {
    "laughter": ("KEKW", "LUL", "OMEGALUL", "ахахахах", "))))))", "ахахах", "LMAO", "KEKW KEKW"),
    "default": ("Pog", "PogChamp", "LETS GO", "clip it", "жесть", "имба", "POGGERS", "W", "вот это да"),
}
SPAM = "FREE FOLLOWERS >>> cheap-follows dot com"


@dataclass(frozen=True)
class Voice:
    """How one kind of speech is made. `shift` resamples the result: pitch and tempo rise
    together (festival's voice has no pitch setting of its own here)."""

    engine: str          # "espeak" (espeak-ng) or "festival" (Russian)
    name: str            # espeak-ng voice (with its +variant); festival: "msu_ru_nsh"
    speed: int = 150     # espeak-ng words per minute
    pitch: int = 50      # espeak-ng 0..99
    shift: float = 1.0

    @property
    def key(self) -> tuple[str, str, int, int, float]:
        return self.engine, self.name, self.speed, self.pitch, self.shift


def _ru(shift: float) -> Voice:
    return Voice("festival", "msu_ru_nsh", shift=shift)


@dataclass(frozen=True)
class SplitSpec:
    name: str
    seed: int                       # stream i (from 1) draws from seed + i
    phrases: SplitPhrases
    calm_en: Voice
    hype_en: tuple[Voice, ...]
    readout_en: Voice
    calm_ru: Voice
    hype_ru: tuple[Voice, ...]
    readout_ru: Voice
    calm_picture: str               # lavfi source, formatted with w, h, fps
    block: int                      # the frantic picture's noise blocks, in pixels

    def voices(self) -> tuple[Voice, ...]:
        return (self.calm_en, *self.hype_en, self.readout_en, self.calm_ru, *self.hype_ru, self.readout_ru)

    def seeds(self, videos: int) -> tuple[int, ...]:
        return tuple(self.seed + i for i in range(1, videos + 1))


SPLITS: dict[str, SplitSpec] = {
    "train": SplitSpec(
        "train", 1000, TRAIN,
        calm_en=Voice("espeak", "en-us", 140, 45),
        hype_en=(Voice("espeak", "en-us", 200, 80), Voice("espeak", "en-us+m3", 210, 85)),
        readout_en=Voice("espeak", "en-us+m3", 150, 50),
        calm_ru=_ru(1.0), hype_ru=(_ru(1.22), _ru(1.28)), readout_ru=_ru(1.02),
        calm_picture="testsrc2=size={w}x{h}:rate={fps}", block=8),
    "heldout": SplitSpec(
        "heldout", 2000, HELDOUT,
        calm_en=Voice("espeak", "en-gb+m7", 150, 40),
        hype_en=(Voice("espeak", "en-gb+f3", 215, 90), Voice("espeak", "en-gb", 190, 95)),
        readout_en=Voice("espeak", "en-gb+f3", 145, 55),
        calm_ru=_ru(0.94), hype_ru=(_ru(1.18), _ru(1.32)), readout_ru=_ru(0.97),
        calm_picture="testsrc=size={w}x{h}:rate={fps}", block=6),
}


@dataclass(frozen=True)
class Event:
    kind: str
    start: int
    end: int

    @property
    def is_highlight(self) -> bool:
        return self.kind in HIGHLIGHTS


@dataclass(frozen=True)
class StreamPlan:
    name: str
    language: str                   # "en", "ru" or "en+ru" (English with a Russian stretch)
    seed: int
    events: tuple[Event, ...]
    russian: tuple[float, float] | None = None   # the Russian stretch of a bilingual stream

    def language_at(self, t: float) -> str:
        if self.language == "en+ru":
            return "ru" if self.russian and self.russian[0] <= t < self.russian[1] else "en"
        return self.language


@dataclass(frozen=True)
class SetSpec:
    split: str = "train"
    videos: int = 6
    duration: int = DURATION_S
    width: int = 640
    height: int = 360
    fps: int = 30
    slots: int = SLOTS

    def __post_init__(self) -> None:
        if self.split not in SPLITS:
            raise ValueError(f"split must be one of {sorted(SPLITS)}")
        if self.duration % UNIT_S:
            raise ValueError(f"duration must be a multiple of {UNIT_S} s")
        if self.videos < 1 or not 1 <= self.slots <= SLOTS:
            raise ValueError(f"needs at least one video and 1..{SLOTS} slots")
        if self.duration < SLOT_FIRST_S + (self.slots - 1) * SLOT_EVERY_S + max(EVENT_S.values()) + 10:
            raise ValueError("the duration leaves no room for the slots")


def stream_kinds(language: str, index: int, rng: random.Random) -> list[str]:
    """The seven kinds of one stream, in the order they are planted."""
    hype = "hype_en" if language == "en" else "hype_ru"
    kinds = [hype, "laughter", "scream", "crowd", "explosion", *DECOY_PAIRS[index % len(DECOY_PAIRS)]]
    rng.shuffle(kinds)
    return kinds


def plan_set(spec: SetSpec) -> list[StreamPlan]:
    """What each stream of the split holds, decided before anything is made."""
    split = SPLITS[spec.split]
    plans = []
    for i, seed in enumerate(split.seeds(spec.videos)):
        language = LANGUAGES[i % len(LANGUAGES)]
        kinds = stream_kinds(language, i, random.Random(seed))[: spec.slots]
        events = tuple(Event(k, SLOT_FIRST_S + j * SLOT_EVERY_S, SLOT_FIRST_S + j * SLOT_EVERY_S + EVENT_S[k])
                       for j, k in enumerate(kinds))
        russian = None
        if language == "en+ru":
            hype = next((e for e in events if e.kind == "hype_ru"), events[0])
            russian = (float(max(0, hype.start - 25)), float(min(spec.duration, hype.end + 20)))
        name = f"{split.name}{i + 1}_{language.replace('+', '')}"
        plans.append(StreamPlan(name, language, seed, events, russian))
    return plans


# ---------------------------------------------------------------------------- speech


def _decode(path: Path, rate: int = MIX_RATE, af: str = "") -> NDArray[np.float32]:
    """Any audio file as float32 mono samples at `rate` (after the filter `af`, if any)."""
    cmd = ["ffmpeg", "-nostdin", "-v", "error", "-i", str(path), *(["-af", af] if af else []),
           "-ac", "1", "-ar", str(rate), "-f", "f32le", "-"]
    raw = subprocess.run(cmd, check=True, capture_output=True).stdout
    return np.frombuffer(raw, dtype="<f4").copy()


def festival_wav(text: str, path: Path) -> Path:
    """Russian `text` spoken by festival's msu_ru_nsh voice. The voice reads UTF-8."""
    txt = path.with_suffix(".txt")
    txt.write_text(text, encoding="utf-8")
    subprocess.run(["text2wave", "-eval", FESTIVAL_RU, str(txt), "-o", str(path)], check=True, capture_output=True)
    if not path.exists() or path.stat().st_size <= 44:
        raise RuntimeError(f"festival produced no audio for {text!r}")
    return path


def _trim(x: NDArray[np.float32]) -> NDArray[np.float32]:
    loud = np.flatnonzero(np.abs(x) > 0.02 * float(np.max(np.abs(x)) or 1.0))
    return x[loud[0]:loud[-1] + 1] if loud.size else x


@dataclass
class Speaker:
    """Speaks and caches: each (text, voice) is made once per set."""

    work: Path
    cache: dict[tuple[str, tuple[Any, ...]], NDArray[np.float32]] = field(default_factory=dict)

    def __call__(self, text: str, voice: Voice) -> NDArray[np.float32]:
        key = (text, voice.key)
        if key not in self.cache:
            wav = self.work / f"speech{len(self.cache)}.wav"
            if voice.engine == "festival":
                festival_wav(text, wav)
                rate = 16000
            else:
                espeak_wav(text, wav, speed=voice.speed, pitch=voice.pitch, voice=voice.name)
                rate = 22050
            af = f"asetrate={round(rate * voice.shift)},aresample={MIX_RATE}" if voice.shift != 1.0 else ""
            self.cache[key] = _trim(_decode(wav, af=af))
        return self.cache[key]


# ---------------------------------------------------------------------------- audio


def _at_level(x: NDArray[np.float32], db: float) -> NDArray[np.float32]:
    """`x` scaled so that its active part (above a fiftieth of its peak) has this RMS in dBFS."""
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    if peak <= 0:
        return x
    active = x[np.abs(x) > peak / 50]
    rms = float(np.sqrt(np.mean(active.astype(np.float64) ** 2)))
    return (x * (10 ** (db / 20) / rms)).astype(np.float32)


def _place(mix: NDArray[np.float32], x: NDArray[np.float32], at_s: float, until_s: float | None = None) -> float:
    """Add `x` into `mix` from `at_s` (cut at `until_s`); the time it ends."""
    start = int(at_s * MIX_RATE)
    stop = min(len(mix), start + len(x), int(until_s * MIX_RATE) if until_s is not None else len(mix))
    if stop > start:
        mix[start:stop] += x[: stop - start]
    return at_s + len(x) / MIX_RATE


def _say_in(mix: NDArray[np.float32], lines: list[NDArray[np.float32]], start: float, end: float,
            db: float, rng: random.Random, gap: tuple[float, float]) -> None:
    """Lines one after another from `start`, none beyond `end`."""
    t = start + rng.uniform(0.2, 0.6)
    for line in lines:
        if t + len(line) / MIX_RATE > end:
            break
        t = _place(mix, _at_level(line, db), t) + rng.uniform(*gap)


def _calm_talk(mix: NDArray[np.float32], plan: StreamPlan, split: SplitSpec, speak: Speaker,
               rng: random.Random, duration: float) -> None:
    """A calm sentence every 5.5–8 s, in the language of that moment, kept clear of the events
    the streamer is busy with (all but the game sounds talked over)."""
    busy = [(e.start - 2.0, e.end + 1.0) for e in plan.events if e.kind not in TALK_GOES_ON]
    order = {"en": rng.sample(split.phrases.calm_en, len(split.phrases.calm_en)),
             "ru": rng.sample(split.phrases.calm_ru, len(split.phrases.calm_ru))}
    said = {"en": 0, "ru": 0}
    t = rng.uniform(1.0, 3.0)
    while t < duration - 1:
        lang = plan.language_at(t)
        text = order[lang][said[lang] % len(order[lang])]
        line = speak(text, split.calm_en if lang == "en" else split.calm_ru)
        end = t + len(line) / MIX_RATE
        if end < duration and not any(t < b and a < end for a, b in busy):
            _place(mix, _at_level(line, LEVEL_DB["talk"] + rng.uniform(-1, 1)), t)
            said[lang] += 1
            t = end + rng.uniform(2.5, 4.5)
        else:
            t += 1.0


SOUNDS: dict[str, Callable[[float, int, np.random.Generator], NDArray[np.float32]]] = {
    "laughter": eval_sounds.laughter, "scream": eval_sounds.screams,
    "crowd": eval_sounds.crowd, "explosion": eval_sounds.explosions,
}


def _event_audio(mix: NDArray[np.float32], e: Event, plan: StreamPlan, split: SplitSpec, speak: Speaker,
                 rng: random.Random, nrng: np.random.Generator) -> None:
    length = float(e.end - e.start)
    lang = plan.language_at(e.start)
    if e.kind in ("hype_en", "hype_ru"):
        texts, voices = ((split.phrases.hype_en, split.hype_en) if e.kind == "hype_en"
                         else (split.phrases.hype_ru, split.hype_ru))
        voice = voices[plan.seed % len(voices)]
        lines = [speak(t, voice) for t in rng.sample(texts, len(texts))]
        _say_in(mix, lines, e.start, e.end, LEVEL_DB["hype"] + rng.uniform(-1.5, 1.5), rng, (0.3, 0.9))
    elif e.kind in SOUNDS:
        sound = SOUNDS[e.kind](length, MIX_RATE, nrng)
        _place(mix, _at_level(sound, LEVEL_DB[e.kind] + rng.uniform(-1.5, 1.5)), e.start, e.end)
    elif e.kind == "readout":
        texts = split.phrases.readout_en if lang == "en" else split.phrases.readout_ru
        voice = split.readout_en if lang == "en" else split.readout_ru
        lines = [speak(t, voice) for t in rng.sample(texts, len(texts))]
        _say_in(mix, lines, e.start, e.end, LEVEL_DB["talk"] + rng.uniform(-1, 1), rng, (0.6, 1.2))
    elif e.kind == "calm_talk":
        texts = split.phrases.calm_en if lang == "en" else split.phrases.calm_ru
        voice = split.calm_en if lang == "en" else split.calm_ru
        lines = [speak(t, voice) for t in rng.sample(texts, len(texts))]
        _say_in(mix, lines, e.start, e.end, LEVEL_DB["talk"] + rng.uniform(-1, 1), rng, (0.15, 0.4))
    elif e.kind in ("loud_music", "menu"):
        music = eval_sounds.music(length, MIX_RATE, nrng, loud=e.kind == "loud_music")
        _place(mix, _at_level(music, LEVEL_DB[e.kind] + rng.uniform(-1.5, 1.5)), e.start, e.end)
    else:
        raise ValueError(f"unknown kind {e.kind}")


def _soft_limit(x: NDArray[np.float32], knee: float = 0.8) -> NDArray[np.float32]:
    over = np.abs(x) > knee
    y = x.copy()
    y[over] = np.sign(x[over]) * (knee + (1 - knee) * 0.98 * np.tanh((np.abs(x[over]) - knee) / (1 - knee)))
    return y


def stream_audio(plan: StreamPlan, split: SplitSpec, speak: Speaker, duration: float) -> NDArray[np.float32]:
    rng = random.Random(plan.seed)
    nrng = np.random.default_rng(plan.seed)
    mix = np.zeros(int(duration * MIX_RATE), dtype=np.float32)
    _calm_talk(mix, plan, split, speak, rng, duration)
    for e in plan.events:
        _event_audio(mix, e, plan, split, speak, rng, nrng)
    brown = np.cumsum(nrng.standard_normal(mix.size)).astype(np.float32)
    brown -= np.convolve(brown, np.ones(MIX_RATE // 20) / (MIX_RATE // 20), mode="same").astype(np.float32)
    mix += _at_level(brown, LEVEL_DB["bed"])
    return _soft_limit(mix)


# ---------------------------------------------------------------------------- video and files


def _units(spec: SetSpec, split: SplitSpec, work: Path) -> dict[str, Path]:
    calm = split.calm_picture.format(w=spec.width, h=spec.height, fps=spec.fps)
    # Blocky noise: just as frantic to the motion stage, a fraction of the file size.
    frantic_vf = (f"scale={spec.width // split.block}:{spec.height // split.block},{FRANTIC_VF},"
                  f"scale={spec.width}:{spec.height}:flags=neighbor")
    menu_vf = ",".join(f"drawbox=x=iw*0.3:y=ih*{y}:w=iw*0.4:h=ih*0.1:color=white@0.85:t=fill"
                       for y in (0.2, 0.4, 0.6))
    return {
        "calm": video_unit(work / "u_calm.mp4", calm, fps=spec.fps, preset="veryfast"),
        "frantic": video_unit(work / "u_frantic.mp4", calm, fps=spec.fps, vf=frantic_vf, preset="veryfast"),
        "menu": video_unit(work / "u_menu.mp4", f"color=c=0x1b2440:size={spec.width}x{spec.height}:rate={spec.fps}",
                           fps=spec.fps, vf=menu_vf),
    }


def _video(plan: StreamPlan, spec: SetSpec, units: dict[str, Path], work: Path) -> Path:
    by_unit = {}
    for e in plan.events:
        for u in range(e.start // UNIT_S, -(-e.end // UNIT_S)):
            by_unit[u] = PICTURE.get(e.kind, "calm")
    parts = [units[by_unit.get(u, "calm")] for u in range(spec.duration // UNIT_S)]
    out = work / f"{plan.name}_video.mp4"
    _concat(parts, out, work, "-c", "copy")
    return out


def _encode_audio(samples: NDArray[np.float32], work: Path, name: str) -> Path:
    raw, out = work / f"{name}.f32", work / f"{name}_audio.m4a"
    samples.astype("<f4").tofile(raw)
    _ffmpeg("-f", "f32le", "-ar", str(MIX_RATE), "-ac", "1", "-i", str(raw), "-c:a", "aac", "-b:a", "128k", str(out))
    return out


def chat_log(events: tuple[Event, ...] | list[Event], duration: int, seed: int) -> str:
    """A plain `[h:mm:ss] name: text` chat log for one stream."""
    rng = random.Random(seed)
    lines: list[tuple[float, str, str]] = []
    t = rng.uniform(1, 4)
    while t < duration:
        lines.append((t, rng.choice(REGULARS), rng.choice(CALM_CHAT)))
        t += rng.uniform(3, 6)
    for e in events:
        if not e.is_highlight:
            continue
        texts = BURST_CHAT.get(e.kind, BURST_CHAT["default"])
        for _ in range(14):
            at = e.start + rng.uniform(6, 8) + rng.uniform(0, 5)
            lines.append((at, f"viewer_{rng.randrange(10)}", rng.choice(texts)))
    if duration >= SPAM_S[1] + 5:
        for k in range((SPAM_S[1] - SPAM_S[0]) * 2):
            lines.append((SPAM_S[0] + k / 2, "cheap_follows_bot", SPAM))
    lines.sort(key=lambda line: line[0])
    return "".join(f"[{format_hms(int(at))}] {who}: {text}\n" for at, who, text in lines if at < duration)


def labels_of(plan: StreamPlan, duration: int) -> dict[str, Any]:
    highlights = [{"start": max(0, e.start - LABEL_BEFORE_S), "end": min(duration, e.end + LABEL_AFTER_S),
                   "kind": e.kind} for e in plan.events if e.is_highlight]
    decoys = [{"start": e.start, "end": e.end, "kind": e.kind} for e in plan.events if not e.is_highlight]
    return {"id": plan.name, "language": plan.language, "seed": plan.seed, "source": f"{plan.name}.mp4",
            "chat": f"{plan.name}.chat.txt", "duration": duration, "highlights": highlights, "decoys": decoys,
            **({"russian_stretch": list(plan.russian)} if plan.russian else {})}


def make_labelled_set(out_dir: Path, spec: SetSpec = SetSpec()) -> Path:
    """Write the split's streams, their chat logs and labels.json into `out_dir`; return labels.json."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    split = SPLITS[spec.split]
    videos = []
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        units, speak = _units(spec, split, work), Speaker(work)
        for plan in plan_set(spec):
            video = _video(plan, spec, units, work)
            audio = _encode_audio(stream_audio(plan, split, speak, spec.duration), work, plan.name)
            _ffmpeg("-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy",
                    "-t", str(spec.duration), "-movflags", "+faststart", str(out_dir / f"{plan.name}.mp4"))
            (out_dir / f"{plan.name}.chat.txt").write_text(chat_log(plan.events, spec.duration, plan.seed),
                                                           encoding="utf-8")
            videos.append(labels_of(plan, spec.duration))
    labels = out_dir / "labels.json"
    labels.write_text(json.dumps({"generator": "clipfactory make-labelled-set", "split": spec.split,
                                  "videos": videos}, ensure_ascii=False, indent=2), encoding="utf-8")
    return labels
