"""Per-job choices a person makes (layout, number and length of clips, language…), and how
they turn into the settings and render options the pipeline runs with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.media.config import Settings
from pipeline.media.errors import ConfigError
from pipeline.media.render.job import RenderOptions


class JobOptions(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    render: bool = True
    layout: str | None = None
    export: str | None = None
    subtitles: bool | None = None
    style: str | None = None
    top_k: int | None = Field(None, ge=1, le=20)
    min_clip_s: float | None = Field(None, ge=5, le=180)
    max_clip_s: float | None = Field(None, ge=5, le=180)
    language: str | None = None
    template: str | None = None
    title: str | None = None                  # shown to the person; not used by the pipeline
    rerender_of: str | None = None            # a finished job whose analysis is reused
    rank: int | None = Field(None, ge=1)      # with rerender_of: only this moment
    extend_s: float | None = Field(None, ge=-60, le=60)  # with rank: make that moment longer/shorter
    chat: str | None = None                   # a chat log (file path or link) scored with the stream

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


def _extend(base: dict[str, list[str]], extra: dict[str, list[str]]) -> dict[str, list[str]]:
    return {lang: list(base.get(lang, [])) + list(extra.get(lang, [])) for lang in {*base, *extra}}


def apply_options(settings: Settings, options: JobOptions) -> tuple[Settings, RenderOptions | None]:
    """The settings for this job, and its render options (None: analyse only)."""
    scoring: dict[str, Any] = {}
    if options.top_k:
        scoring["top_k"] = options.top_k
    lo = options.min_clip_s or settings.scoring.min_clip_s
    hi = options.max_clip_s or settings.scoring.max_clip_s
    if options.min_clip_s or options.max_clip_s:
        lo, hi = min(lo, hi), max(lo, hi)
        scoring.update(min_clip_s=lo, max_clip_s=hi,
                       target_clip_s=min(hi, max(lo, settings.scoring.target_clip_s)))
    update: dict[str, Any] = {}
    if options.template:
        template = settings.templates.get(options.template)
        if template is None:
            raise ConfigError(f"Unknown channel template '{options.template}'.")
        scoring["weights"] = {**settings.scoring.weights, **template.weights}
        update["anchors"] = _extend(settings.anchors, template.anchors)
        update["keywords"] = _extend(settings.keywords, template.keywords)
    if scoring:
        update["scoring"] = settings.scoring.model_copy(update=scoring)
    if options.language:
        update["asr"] = settings.asr.model_copy(update={"language": options.language})
    job_settings = settings.model_copy(update=update) if update else settings
    if not options.render:
        return job_settings, None
    return job_settings, RenderOptions.from_settings(job_settings, options.layout, options.export,
                                                     options.subtitles, options.style)
