"""Post kits for a stream's picked moments, and the re-rank by the language model.

Each moment gets the offline kit; with a model configured, the model's kit replaces it when
the answer is good. A model that cannot be reached (or loaded) is asked once: the other
clips of the job go straight to the offline writer. With `llm.rerank`, the picks are ordered
by the model's ratings (ties and unrated picks keep the score's order) and renumbered."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from pipeline.media.config import Settings
from pipeline.media.llm import ChatModel, LlmError, open_model
from pipeline.media.models import Moment, Transcript
from pipeline.media.postkit.ask import BadAnswer, ask_kit
from pipeline.media.postkit.kit import ClipBrief, PostKit
from pipeline.media.postkit.offline import offline_kit

log = logging.getLogger(__name__)


def clip_language(transcript: Transcript, start: float, end: float) -> str:
    """The language most of the clip is spoken in (its segments'), else the stream's."""
    spoken: dict[str, float] = {}
    for seg in transcript.segments:
        overlap = min(end, seg.end) - max(start, seg.start)
        if overlap > 0 and seg.text.strip():
            lang = seg.language or transcript.language
            spoken[lang] = spoken.get(lang, 0.0) + overlap
    return max(spoken, key=lambda k: spoken[k]) if spoken else transcript.language


def brief_for(moment: Moment, transcript: Transcript, vod_title: str, settings: Settings) -> ClipBrief:
    reasons = tuple(k for k, v in sorted(moment.breakdown.items(), key=lambda kv: kv[1], reverse=True) if v > 0)
    return ClipBrief(rank=moment.rank, text=moment.text, language=clip_language(transcript, moment.start, moment.end),
                     vod_title=vod_title, tags=tuple(settings.post_kit.tags), reasons=reasons[:4],
                     score=moment.score)


class KitWriter:
    """Writes kits for one job: the model (if any) is opened on first use, and given up on for
    the rest of the job after it fails to answer."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._model: ChatModel | None = None
        self._tried = False

    def model(self) -> ChatModel | None:
        if not self._tried:
            self._tried = True
            try:
                self._model = open_model(self.settings.llm)
            except LlmError as exc:
                log.warning("language model unavailable (%s): the offline writer writes the post kits", exc)
        return self._model

    def write(self, brief: ClipBrief, variant: int = 0) -> PostKit:
        draft = offline_kit(brief, self.settings.post_kit, variant)
        model = self.model()
        if model is None:
            return draft
        try:
            return ask_kit(model, brief, draft, self.settings.post_kit, self.settings.llm)
        except LlmError as exc:
            log.warning("language model failed for clip %d (%s): offline post kit used; no more "
                        "questions to it in this job", brief.rank, exc)
            self._model = None
        except BadAnswer as exc:
            log.warning("language model answer for clip %d refused (%s): offline post kit used", brief.rank, exc)
        except Exception as exc:  # whatever goes wrong with the model, the job goes on
            log.warning("language model path failed for clip %d (%r): offline post kit used", brief.rank, exc)
        return draft


def rerank(moments: Sequence[Moment]) -> list[Moment]:
    """Ordered by the model's rating where it gave one (ties: by rank), renumbered from 1."""
    ratings = [(m.post_kit or {}).get("rating") for m in moments]
    if sum(1 for r in ratings if r is not None) < 2:
        return list(moments)
    order = sorted(range(len(moments)), key=lambda i: (-(ratings[i] or 0.0), moments[i].rank))
    return [replace(moments[i], rank=n) for n, i in enumerate(order, start=1)]


def kits_for(moments: Sequence[Moment], transcript: Transcript, vod_title: str,
             settings: Settings) -> list[Moment]:
    """The moments with their post kits (`Moment.post_kit`), re-ranked by the model when it
    rated them and `llm.rerank` is on."""
    writer = KitWriter(settings)
    out = [replace(m, post_kit=writer.write(brief_for(m, transcript, vod_title, settings)).to_dict())
           for m in moments]
    return rerank(out) if settings.llm.rerank and settings.llm.mode != "none" else out


def kit_file(job_dir: Path, rank: int) -> Path:
    return job_dir / f"clip_{rank:02d}.txt"


def write_kit_file(job_dir: Path, moment: Moment) -> None:
    """clip_XX.txt beside the clip: the copy-ready kit."""
    if moment.post_kit:
        kit_file(job_dir, moment.rank).write_text(PostKit.from_dict(moment.post_kit).text() + "\n", encoding="utf-8")
