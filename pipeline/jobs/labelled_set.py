"""A small generated labelled set for `clipfactory eval`: short streams with planted
highlights of several kinds, decoys a picker should pass over, a chat log per stream and
`labels.json` (format in pipeline/evaluation.py).

Each stream is calm talk (English or Russian) over a slowly moving picture with one planted
event per 40-second slot:

- highlights: shouting (loud, high-pitched English), laughter-like bursts (fast "ha ha ha"
  at a high pitch, amplitude-modulated), a chat burst alone (nothing changes in sound or
  picture), fast motion alone (frantic picture, the calm talk goes on), hype phrases in
  English and in Russian;
- decoys: loud music without speech over the calm picture, a silent menu screen, and a
  stretch of uninterrupted calm talk.

Chat: a few regulars chat at a low steady rate all along; viewers burst 6–8 s after each
highlight starts (a big burst for the chat-only highlight), and one spammer floods a
stretch that is no highlight. A highlight's label is its event with 6 s of context before
it (the default `scoring.lead_in_s`) and 4 s after; a decoy's label is the event itself."""

from __future__ import annotations

import json
import random
import tempfile
from dataclasses import dataclass
from pathlib import Path

from pipeline.media.probe import format_hms
from pipeline.media.sample import (
    CALM_EN,
    FRANTIC_VF,
    HYPE_EN,
    RATE,
    UNIT_S,
    _concat,
    _ffmpeg,
    calm_source,
    calm_talk,
    espeak_wav,
    video_unit,
)

CALM_RU = (
    "Всем привет, добро пожаловать на стрим.",
    "Сегодня мы просто спокойно пофармим ресурсы.",
    "Кажется, следующий квест где-то на севере.",
    "Сейчас посмотрю на карту, секундочку.",
    "Погода в этой игре сегодня очень приятная.",
    "Нам нужно ещё примерно двадцать досок.",
    "Спасибо за подписку, очень приятно.",
    "После этого забега я улучшу меч.",
    "Эта часть немного медленная, но оно того стоит.",
    "Пойдём в деревню и продадим вещи.",
    "Кстати, у меня очень удобное кресло.",
    "Перед стримом я ел макароны.",
)
SHOUT_EN = ("Watch out! Behind you!", "No no no! Run! Run!", "Get out of there right now!")
HYPE_RU = ("Это было невероятно!", "Да ладно! Вот это да!", "Не может быть! Это лучший момент!")
LAUGH = "ha ha ha ha ha ha ha ha ha ha"

HIGHLIGHTS = ("shouting", "laughter", "chat_burst", "fast_motion", "hype_en", "hype_ru")
DECOYS = ("loud_music", "menu", "calm_talk")
EVENT_S = {"shouting": 10, "laughter": 10, "chat_burst": 10, "fast_motion": 15, "hype_en": 15,
           "hype_ru": 15, "loud_music": 20, "menu": 20, "calm_talk": 20}
HUSHED = {"shouting", "laughter", "hype_en", "hype_ru", "loud_music", "menu", "calm_talk"}
PLANS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("en", ("shouting", "menu", "hype_en", "loud_music", "fast_motion", "chat_burst")),
    ("ru", ("laughter", "calm_talk", "hype_ru", "chat_burst", "loud_music", "shouting")),
    ("en", ("fast_motion", "menu", "laughter", "hype_en", "calm_talk", "shouting")),
    ("ru", ("hype_ru", "loud_music", "chat_burst", "fast_motion", "menu", "laughter")),
    ("en", ("chat_burst", "calm_talk", "shouting", "loud_music", "hype_en", "laughter")),
    ("ru", ("shouting", "menu", "hype_ru", "fast_motion", "calm_talk", "chat_burst")),
)
SLOT_FIRST_S, SLOT_EVERY_S, SLOT_S = 20, 40, 20
LABEL_BEFORE_S, LABEL_AFTER_S = 6, 4
SPAM_S = (46, 56)  # in the gap after the first slot, whatever that slot holds

REGULARS = ("mike_77", "sasha_k", "pixelwolf", "dima2009", "lena_play", "noobmaster", "kotik", "ghost_rider")
CALM_CHAT = ("hi everyone", "what game is this?", "nice weather in game", "привет всем", "как дела?",
             "gg", "what level are you?", "чилл стрим", "hello from Berlin", "сколько часов уже играешь?",
             "o7", "nice build")
BURST_CHAT = {
    "laughter": ("KEKW", "LUL", "OMEGALUL", "ахахахах", "))))))", "ахахах", "LMAO", "KEKW KEKW"),
    "chat_burst": ("KEKW", "Pog", "ахахахах", "))))", "PogChamp", "LUL", "КЕК", "OMEGALUL", "ору", "clip it"),
    "default": ("Pog", "PogChamp", "LETS GO", "clip it", "жесть", "имба", "POGGERS", "W", "вот это да"),
}
SPAM = "FREE FOLLOWERS >>> cheap-follows dot com"
MUSIC_ROOT = "if(lt(mod(t,8),2),220,if(lt(mod(t,8),4),293.66,if(lt(mod(t,8),6),329.63,261.63)))"


@dataclass(frozen=True)
class Event:
    kind: str
    start: int
    end: int

    @property
    def is_highlight(self) -> bool:
        return self.kind in HIGHLIGHTS


@dataclass(frozen=True)
class SetSpec:
    videos: int = 6
    duration: int = 270
    width: int = 640
    height: int = 360
    fps: int = 30

    def __post_init__(self) -> None:
        if self.duration % UNIT_S:
            raise ValueError(f"duration must be a multiple of {UNIT_S} s")
        if self.duration < SLOT_FIRST_S + SLOT_S + 10 or self.videos < 1:
            raise ValueError("needs at least one video and room for one slot")


def plan_events(kinds: tuple[str, ...], duration: int) -> list[Event]:
    """One event per slot, at the start of the slot, as many as fit in `duration`."""
    events = []
    for i, kind in enumerate(kinds):
        start = SLOT_FIRST_S + i * SLOT_EVERY_S
        if start + SLOT_S > duration - 10:
            break
        events.append(Event(kind, start, start + EVENT_S[kind]))
    return events


@dataclass
class _Assets:
    work: Path
    units: dict[str, Path]
    phrases: dict[str, list[Path]]
    talk: dict[str, Path]
    long_talk: dict[str, Path]


def _assets(spec: SetSpec, work: Path, languages: set[str]) -> _Assets:
    calm = calm_source(spec.width, spec.height, spec.fps)
    # Blocky noise: just as frantic to the motion stage, a fifth of the file size.
    frantic_vf = (f"scale={spec.width // 8}:{spec.height // 8},{FRANTIC_VF},"
                  f"scale={spec.width}:{spec.height}:flags=neighbor")
    menu_vf = ",".join(f"drawbox=x=iw*0.3:y=ih*{y}:w=iw*0.4:h=ih*0.1:color=white@0.85:t=fill"
                       for y in (0.2, 0.4, 0.6))
    units = {
        "calm": video_unit(work / "u_calm.mp4", calm, fps=spec.fps),
        "frantic": video_unit(work / "u_frantic.mp4", calm, fps=spec.fps, vf=frantic_vf),
        "menu": video_unit(work / "u_menu.mp4",
                           f"color=c=0x1b2440:size={spec.width}x{spec.height}:rate={spec.fps}",
                           fps=spec.fps, vf=menu_vf),
    }
    phrases = {
        "shouting": [espeak_wav(p, work / f"shout{i}.wav", speed=190, pitch=95, amplitude=200)
                     for i, p in enumerate(SHOUT_EN)],
        "laughter": [espeak_wav(LAUGH, work / "laugh.wav", speed=320, pitch=99, amplitude=200)],
        "hype_en": [espeak_wav(p, work / f"hype_en{i}.wav", speed=200, pitch=70, amplitude=170)
                    for i, p in enumerate(HYPE_EN)],
        "hype_ru": [espeak_wav(p, work / f"hype_ru{i}.wav", speed=190, pitch=75, amplitude=180, voice="ru")
                    for i, p in enumerate(HYPE_RU)],
    }
    sentences = {"en": (CALM_EN, "en-us"), "ru": (CALM_RU, "ru")}
    talk, long_talk = {}, {}
    for lang in sorted(languages):
        lines, voice = sentences[lang]
        talk[lang] = calm_talk(spec.duration, work, sentences=lines, voice=voice, name=f"calm_{lang}")
        long_talk[lang] = espeak_wav(" ".join(lines), work / f"long_{lang}.wav", speed=150, amplitude=70,
                                     voice=voice)
    return _Assets(work, units, phrases, talk, long_talk)


def _video(name: str, events: list[Event], spec: SetSpec, assets: _Assets) -> Path:
    picture = {"fast_motion": "frantic", "menu": "menu"}
    by_unit = {}
    for e in events:
        for u in range(e.start // UNIT_S, -(-e.end // UNIT_S)):
            by_unit[u] = picture.get(e.kind, "calm")
    parts = [assets.units[by_unit.get(u, "calm")] for u in range(spec.duration // UNIT_S)]
    out = assets.work / f"{name}_video.mp4"
    _concat(parts, out, assets.work, "-c", "copy")
    return out


def _audio(name: str, lang: str, events: list[Event], spec: SetSpec, assets: _Assets) -> Path:
    inputs = ["-i", str(assets.talk[lang])]
    hushed = "+".join(f"between(t,{e.start - 1},{e.end + 1})" for e in events if e.kind in HUSHED) or "0"
    graph = [f"[0:a]aresample={RATE},volume=0:enable='{hushed}',volume=0.6[talk]"]
    mix = ["[talk]"]

    def overlay(wav: Path, at: float, gain: float, extra: str = "") -> None:
        n = len(inputs) // 2
        ms = int(at * 1000)
        inputs.extend(["-i", str(wav)])
        graph.append(f"[{n}:a]aresample={RATE},{extra}volume={gain},adelay={ms}|{ms}[s{n}]")
        mix.append(f"[s{n}]")

    for e in events:
        length = e.end - e.start
        if e.kind in ("shouting", "hype_en", "hype_ru"):
            gain = {"shouting": 1.8, "hype_en": 1.3, "hype_ru": 1.3}[e.kind]
            wavs = assets.phrases[e.kind]
            for j, wav in enumerate(wavs):
                overlay(wav, e.start + 0.5 + j * length / len(wavs), gain)
        elif e.kind == "laughter":
            for j in range(3):
                overlay(assets.phrases["laughter"][0], e.start + 0.5 + j * length / 3, 1.5,
                        "tremolo=f=7:d=0.8,")
        elif e.kind == "calm_talk":
            overlay(assets.long_talk[lang], e.start, 0.6, f"atrim=0:{length},")
        elif e.kind == "loud_music":
            ms = e.start * 1000
            chord = "+".join(f"{a}*sin(2*PI*{MUSIC_ROOT}*{r}*t)" for a, r in ((0.22, 1), (0.16, 1.26), (0.16, 1.5)))
            graph.append(f"aevalsrc='{chord}+0.35*sin(2*PI*55*t)*exp(-8*mod(t,0.5))':d={length}:s={RATE},"
                         f"adelay={ms}|{ms}[music{e.start}]")
            mix.append(f"[music{e.start}]")
    graph.append(f"anoisesrc=color=brown:amplitude=0.01:duration={spec.duration}:sample_rate={RATE}[bg]")
    mix.append("[bg]")
    graph.append("".join(mix) + f"amix=inputs={len(mix)}:normalize=0:duration=longest,"
                 f"atrim=0:{spec.duration},alimiter=limit=0.95[a]")
    out = assets.work / f"{name}_audio.m4a"
    _ffmpeg(*inputs, "-filter_complex", ";".join(graph), "-map", "[a]", "-ac", "1", "-c:a", "aac",
            "-b:a", "128k", str(out))
    return out


def chat_log(events: list[Event], duration: int, seed: int) -> str:
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
        big = e.kind == "chat_burst"
        count, viewers = (36, 24) if big else (14, 10)
        texts = BURST_CHAT.get(e.kind, BURST_CHAT["default"])
        for k in range(count):
            at = e.start + rng.uniform(6, 8) + rng.uniform(0, 7 if big else 5)
            lines.append((at, f"viewer_{rng.randrange(viewers)}", rng.choice(texts)))
    if duration >= SPAM_S[1] + 5:
        for k in range((SPAM_S[1] - SPAM_S[0]) * 2):
            lines.append((SPAM_S[0] + k / 2, "cheap_follows_bot", SPAM))
    lines.sort(key=lambda line: line[0])
    return "".join(f"[{format_hms(int(at))}] {who}: {text}\n" for at, who, text in lines if at < duration)


def _labels(events: list[Event], duration: int) -> tuple[list[dict], list[dict]]:
    highlights = [{"start": max(0, e.start - LABEL_BEFORE_S), "end": min(duration, e.end + LABEL_AFTER_S),
                   "kind": e.kind} for e in events if e.is_highlight]
    decoys = [{"start": e.start, "end": e.end, "kind": e.kind} for e in events if not e.is_highlight]
    return highlights, decoys


def make_labelled_set(out_dir: Path, spec: SetSpec = SetSpec(),
                      plans: tuple[tuple[str, tuple[str, ...]], ...] = PLANS) -> Path:
    """Write the streams, their chat logs and labels.json into `out_dir`; return labels.json."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    chosen = [plans[i % len(plans)] for i in range(spec.videos)]
    videos = []
    with tempfile.TemporaryDirectory() as tmp:
        assets = _assets(spec, Path(tmp), {lang for lang, _ in chosen})
        for i, (lang, kinds) in enumerate(chosen, start=1):
            name = f"v{i}_{lang}"
            events = plan_events(kinds, spec.duration)
            video, audio = _video(name, events, spec, assets), _audio(name, lang, events, spec, assets)
            _ffmpeg("-i", str(video), "-i", str(audio), "-map", "0:v", "-map", "1:a", "-c", "copy",
                    "-t", str(spec.duration), "-movflags", "+faststart", str(out_dir / f"{name}.mp4"))
            (out_dir / f"{name}.chat.txt").write_text(chat_log(events, spec.duration, seed=i), encoding="utf-8")
            highlights, decoys = _labels(events, spec.duration)
            videos.append({"id": name, "language": lang, "source": f"{name}.mp4", "chat": f"{name}.chat.txt",
                           "duration": spec.duration, "highlights": highlights, "decoys": decoys})
    labels = out_dir / "labels.json"
    labels.write_text(json.dumps({"generator": "clipfactory make-labelled-set", "videos": videos},
                                 ensure_ascii=False, indent=2), encoding="utf-8")
    return labels
