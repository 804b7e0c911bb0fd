"""Per-job choices a person makes (layout, number and length of clips, language…), and how
they turn into the settings and render options the pipeline runs with."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from pipeline.media.config import BrandSettings, Settings
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
    hook: bool | None = None                  # the hook line over the first seconds (brand.hook)
    watermark: str | None = Field(None, max_length=40)   # the person's handle drawn on the clips
    colour: str | None = None                 # a name from BRAND_COLOURS: the highlight and hook colour
    retitle: bool = False                     # with rerender_of and rank: a new post kit for that clip

    def to_dict(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)


BRAND_COLOURS = {"yellow": "&H0000E5FF", "green": "&H0066FF66", "pink": "&H00FF66FF", "cyan": "&H00FFFF00",
                 "white": "&H00FFFFFF"}
"""Colours a person picks in the bot (ASS &HAABBGGRR)."""


def brand_for(settings: Settings, template: str | None, options: JobOptions) -> BrandSettings:
    """The brand in force for a job: the defaults, the channel template's, the person's."""
    brand: dict[str, Any] = dict(settings.templates[template].brand) if template in settings.templates else {}
    if options.hook is not None:
        brand["hook"] = options.hook
    if options.watermark is not None:
        brand["watermark_text"] = options.watermark
    if options.colour:
        if options.colour not in BRAND_COLOURS:
            raise ConfigError(f"Unknown colour '{options.colour}'; choose one of: {', '.join(BRAND_COLOURS)}.")
        brand.update(highlight_colour=BRAND_COLOURS[options.colour], hook_colour=BRAND_COLOURS[options.colour])
    return settings.brand.model_copy(update=brand) if brand else settings.brand


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
        update["post_kit"] = settings.post_kit.model_copy(update={"tags": [*settings.post_kit.tags, *template.tags]})
    brand = brand_for(settings, options.template, options)
    if brand is not settings.brand:
        update["brand"] = brand
    if scoring:
        update["scoring"] = settings.scoring.model_copy(update=scoring)
    if options.language:
        update["asr"] = settings.asr.model_copy(update={"language": options.language})
    job_settings = settings.model_copy(update=update) if update else settings
    if not options.render:
        return job_settings, None
    return job_settings, RenderOptions.from_settings(job_settings, options.layout, options.export,
                                                     options.subtitles, options.style)
