"""The analysis of a job as a declared graph of stages.

Each stage says what it reads (the stages before it), what it writes (file names from
`pipeline.media.artifacts`), which settings enter its cache key, and where it runs: in the
job's own process (`local`), in the process that keeps the ASR model (`asr`), or in the pool
the other CPU-heavy stages share (`cpu`). `pipeline.jobs.runner` walks the graph.

A stage's function takes a `StageContext` and a progress callback and returns a small,
JSON-able result; pool stages run it in a spawned process, so it is a module-level function
and everything in the context pickles."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np

from pipeline.media import artifacts
from pipeline.media.cache import atomic_path, read_json, save_npz, write_json
from pipeline.media.chat.stage import ChatOrigin, chat_stage
from pipeline.media.config import Settings
from pipeline.media.errors import ChatUnavailableError, NoAudioError
from pipeline.media.fetch import fetch, source_identity
from pipeline.media.models import MediaInfo, Moment, ProgressFn, Transcript
from pipeline.media.probe import check_usable, probe

if TYPE_CHECKING:
    from pipeline.media.enrich import SentenceFeatures

Where = Literal["local", "cpu", "asr"]
StageFn = Callable[["StageContext", ProgressFn], "dict[str, Any] | None"]
CASCADE_ONLY = {"cascade_model", "cascade_beam_size"}   # change the subtitles, not the scoring
log = logging.getLogger(__name__)


@dataclass(frozen=True)
class StageContext:
    """What a stage may read: the job, its settings and the results of the stages before it."""

    job_dir: Path
    source: str
    settings: Settings
    chat: ChatOrigin | None = None
    render: bool = False
    results: Mapping[str, dict[str, Any]] = field(default_factory=dict)

    @property
    def media(self) -> Path:
        return Path(self.results["fetch"]["path"])

    @property
    def info(self) -> MediaInfo:
        return MediaInfo(**self.results["probe"])

    def path(self, name: str) -> Path:
        return self.job_dir / name


@dataclass(frozen=True)
class Stage:
    name: str
    run: StageFn
    where: Where = "local"
    after: tuple[str, ...] = ()
    outputs: tuple[str, ...] = ()
    key: Callable[[Settings], tuple[Any, ...]] = lambda s: ()
    identity: Callable[[StageContext], tuple[Any, ...]] = lambda ctx: ()
    when: Callable[[StageContext], bool] = lambda ctx: True


def usable(result: dict[str, Any] | None) -> bool:
    """Whether a finished stage's output feeds the stages after it (chat may find none)."""
    return result is not None and bool(result.get("available", True))


# ---------------------------------------------------------------------------- stage functions


def fetch_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    src = fetch(ctx.source, ctx.job_dir, ctx.settings, progress)
    return {k: str(v) if isinstance(v, Path) else v for k, v in asdict(src).items()}


def probe_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    info = probe(ctx.media)
    check_usable(info, ctx.settings)
    return asdict(info)


def audio_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.audio_decode import decode_audio

    target = ctx.path(artifacts.AUDIO)
    with atomic_path(target) as tmp:
        decode_audio(ctx.media, tmp, ctx.settings.audio.sample_rate, progress, ctx.info.duration)
    if target.stat().st_size == 0:
        raise NoAudioError()
    return {}


def asr_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.asr import transcribe

    transcript = transcribe(ctx.path(artifacts.AUDIO), ctx.info.duration, ctx.settings, progress)
    write_json(ctx.path(artifacts.TRANSCRIPT), transcript.to_dict())
    return {"language": transcript.language, "words": len(transcript.words),
            "engine": transcript.engine, "model": transcript.model}


def audio_features_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.audio_features import analyse_audio

    arrays = analyse_audio(ctx.path(artifacts.AUDIO), ctx.info.duration, ctx.settings.audio, progress)
    save_npz(arrays, ctx.path(artifacts.AUDIO_FEATURES))
    return {}


def audio_events_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.events import analyse_events

    arrays = analyse_events(ctx.path(artifacts.AUDIO), ctx.info.duration, ctx.settings.audio_events,
                            ctx.settings.models_dir, progress, sample_rate=ctx.settings.audio.sample_rate)
    save_npz(arrays, ctx.path(artifacts.AUDIO_EVENTS))
    return {"model": ctx.settings.audio_events.model}


def motion_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.motion import analyse_motion

    save_npz(analyse_motion(ctx.media, ctx.info.duration, ctx.settings.video, progress),
             ctx.path(artifacts.MOTION))
    return {}


def enrich_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    from pipeline.media.enrich import enrich, features_to_dicts

    progress(0.05, "loading models")
    transcript = Transcript.from_dict(json.loads(ctx.path(artifacts.TRANSCRIPT).read_text(encoding="utf-8")))
    features, info = enrich(transcript, ctx.settings)
    write_json(ctx.path(artifacts.ENRICH), {"sentences": features_to_dicts(features), "info": info})
    progress(1.0)
    return info


def chat_stage_fn(ctx: StageContext, progress: ProgressFn) -> dict[str, Any] | None:
    """The chat's curves; None (the job goes on without chat) when it cannot be fetched."""
    if ctx.chat is None:
        return None
    try:
        result, _ = chat_stage(ctx.chat, ctx.job_dir, ctx.info.duration, ctx.settings)
        return result
    except ChatUnavailableError as exc:
        log.warning("going on without chat: %s", exc)
        return None


def score_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    moments, timeline = score_job(ctx.job_dir, ctx.info.duration, ctx.settings, usable(ctx.results.get("chat")))
    write_json(ctx.path(artifacts.TIMELINE), [round(float(v), 4) for v in timeline])
    return {"moments": [m.to_dict() for m in moments]}


def post_kit_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    """Every pick's post kit (title, description, hashtags), and the picks re-ranked when a
    language model rated them."""
    from pipeline.media.postkit.write import kits_for

    transcript = Transcript.from_dict(read_json(ctx.path(artifacts.TRANSCRIPT)))
    moments = [Moment.from_dict(m) for m in ctx.results["score"]["moments"]]
    picked = kits_for(moments, transcript, ctx.results["fetch"].get("title", ""), ctx.settings)
    return {"moments": [m.to_dict() for m in picked]}


def subtitles_stage(ctx: StageContext, progress: ProgressFn) -> dict[str, Any]:
    """The words burned into the clips when `asr.cascade_model` is set: a better model
    re-reads the chosen clips."""
    from pipeline.media.asr.cascade import refine_words

    transcript = Transcript.from_dict(read_json(ctx.path(artifacts.TRANSCRIPT)))
    windows = [(m["start"], m["end"]) for m in ctx.results["score"]["moments"]]
    words = refine_words(ctx.path(artifacts.AUDIO), transcript, windows, ctx.settings)
    return {"model": ctx.settings.asr.cascade_model, "words": [asdict(w) for w in words]}


def scoring_inputs(job_dir: Path, duration: float,
                   with_chat: bool = False) -> tuple[dict[str, np.ndarray], list[SentenceFeatures]]:
    """What scoring reads from a job folder whose analysis stages have finished: the raw
    per-second curves and the enriched sentences. The audio events are read when their file is
    there (a stream without them is scored without those features); `words`, the share of each
    second covered by ASR words, is the voice baseline's speech mask."""
    from pipeline.media.enrich import features_from_dicts, text_curves
    from pipeline.media.scoring import speech_coverage

    sentences = features_from_dicts(read_json(job_dir / artifacts.ENRICH)["sentences"])
    raw: dict[str, np.ndarray] = {}
    events = [artifacts.AUDIO_EVENTS] if (job_dir / artifacts.AUDIO_EVENTS).exists() else []
    for name in (artifacts.AUDIO_FEATURES, artifacts.MOTION, *events,
                 *([artifacts.CHAT_CURVES] if with_chat else [])):
        with np.load(job_dir / name) as data:
            raw.update({k: data[k] for k in data.files})
    raw.update(text_curves(sentences, duration))
    words = Transcript.from_dict(read_json(job_dir / artifacts.TRANSCRIPT)).words
    raw["words"] = speech_coverage([(w.start, w.end) for w in words], max(1, int(np.ceil(duration))))
    return raw, sentences


def score_job(job_dir: Path, duration: float, settings: Settings,
              with_chat: bool = False) -> tuple[list[Moment], np.ndarray]:
    """Score a job folder whose analysis stages have finished."""
    from pipeline.media.scoring import pick_moments

    raw, sentences = scoring_inputs(job_dir, duration, with_chat)
    return pick_moments(raw, sentences, duration, settings.scoring)


# ---------------------------------------------------------------------------- the graph


def _enrich_key(s: Settings) -> tuple[Any, ...]:
    return s.embeddings, s.emotion, s.anchors, s.emotion_prototypes, s.keywords


ANALYSIS: tuple[Stage, ...] = (
    Stage("fetch", fetch_stage, key=lambda s: (s.fetch, s.limits),
          identity=lambda ctx: (source_identity(ctx.source),)),
    Stage("probe", probe_stage, after=("fetch",), key=lambda s: (s.limits, s.scoring.min_clip_s)),
    Stage("audio", audio_stage, after=("fetch", "probe"), outputs=(artifacts.AUDIO,),
          key=lambda s: (s.audio.sample_rate,)),
    Stage("asr", asr_stage, "asr", after=("audio",), outputs=(artifacts.TRANSCRIPT,),
          key=lambda s: (s.asr.model_dump(exclude=CASCADE_ONLY),)),
    Stage("audio_features", audio_features_stage, "cpu", after=("audio",), outputs=(artifacts.AUDIO_FEATURES,),
          key=lambda s: (s.audio,)),
    Stage("audio_events", audio_events_stage, "cpu", after=("audio",), outputs=(artifacts.AUDIO_EVENTS,),
          key=lambda s: (s.audio_events,)),
    Stage("motion", motion_stage, "cpu", after=("fetch", "probe"), outputs=(artifacts.MOTION,),
          key=lambda s: (s.video,)),
    Stage("enrich", enrich_stage, "cpu", after=("asr",), outputs=(artifacts.ENRICH,), key=_enrich_key),
    Stage("chat", chat_stage_fn, after=("audio_features",), outputs=(artifacts.CHAT_CURVES,),
          key=lambda s: (s.chat,), identity=lambda ctx: (ctx.chat.identity if ctx.chat else None,),
          when=lambda ctx: ctx.chat is not None),
    Stage("score", score_stage, after=("asr", "enrich", "audio_features", "audio_events", "motion", "chat"),
          outputs=(artifacts.TIMELINE,), key=lambda s: (s.scoring,)),
    Stage("post_kit", post_kit_stage, after=("fetch", "asr", "score"), key=lambda s: (s.post_kit, s.llm),
          when=lambda ctx: ctx.settings.post_kit.enabled),
    Stage("subtitles", subtitles_stage, after=("asr", "score"), key=lambda s: (s.asr,),
          when=lambda ctx: ctx.render and bool(ctx.settings.asr.cascade_model)),
)


def graph(*, replace_stages: Mapping[str, Stage] | None = None,
          where: Where | None = None) -> tuple[Stage, ...]:
    """The analysis graph, with some stages swapped (same name, another function) or every
    stage moved to one place (`where="local"`: everything in this process, one after another)."""
    swapped = [(replace_stages or {}).get(s.name, s) for s in ANALYSIS]
    return tuple(replace(s, where=where) if where else s for s in swapped)
