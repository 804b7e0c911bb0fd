"""Render a job's picked moments with a layout, in parallel within the machine's cores."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from pipeline.media import artifacts
from pipeline.media.cache import load_stage, read_json, save_stage, stable_hash, stage_result, write_json
from pipeline.media.config import LayoutSettings, Settings
from pipeline.media.errors import ConfigError
from pipeline.media.models import Box, MediaInfo, Moment, RenderedClip, Source, Transcript, Word
from pipeline.media.progress import NullObserver, Observer
from pipeline.media.render import layouts
from pipeline.media.render.brand import hook_band, hook_text, watermark_for
from pipeline.media.render.clip import ClipJob, clip_gain, render_clip
from pipeline.media.render.encoder import choose_encoder
from pipeline.media.render.subtitles import build_ass
from pipeline.media.render.tracking import crop_x_expr, cut_positions, motion_track, smooth_positions
from pipeline.media.resources import available_cores

if TYPE_CHECKING:
    from pipeline.media.render.speakers import Scene

DUO_FACES_TALL = 2.8       # a duo half is this many face heights tall
DUO_FACE_Y = 0.42          # the face's centre this far down its half


@dataclass(frozen=True)
class RenderOptions:
    layout: str
    export: str
    subtitles: bool
    style: str

    @classmethod
    def from_settings(cls, settings: Settings, layout: str | None = None, export: str | None = None,
                      subtitles: bool | None = None, style: str | None = None) -> RenderOptions:
        r = settings.render
        opts = cls(layout or r.layout, export or r.export,
                   r.subtitles if subtitles is None else subtitles, style or r.subtitle_style)
        for value, table, key in ((opts.layout, settings.layouts, "layout"),
                                  (opts.export, settings.exports, "export"),
                                  (opts.style, settings.subtitle_styles, "subtitle style")):
            if value not in table:
                raise ConfigError(f"Unknown {key} '{value}'; choose one of: {', '.join(sorted(table))}.")
        return opts


def scan_stream(job_dir: Path, media: Path, info: MediaInfo, settings: Settings, key: str) -> tuple[Box | None, int]:
    """The facecam (the configured one, else the one detected) and how many faces stay in view
    across the stream (the bot offers `duo` from two): one scan per stream, cached in the job folder."""
    stage_key = stable_hash("faces", key, settings.render.facecam_samples)
    hit = load_stage(job_dir, "faces", stage_key)
    if hit is None:
        from pipeline.media.render.facecam import scan_faces

        scan = scan_faces(media, info, settings.render.facecam_samples)
        hit = {"box": asdict(scan.facecam) if scan.facecam else None, "faces": scan.faces}
        save_stage(job_dir, "faces", stage_key, hit)
    if settings.render.facecam is not None:
        return Box(**settings.render.facecam.model_dump()), int(hit["faces"])
    return (Box(**hit["box"]) if hit["box"] else None), int(hit["faces"])


def _plan(opts: RenderOptions, settings: Settings, media: Path, info: MediaInfo, facecam: Box | None,
          start: float, end: float) -> layouts.Plan:
    layout = settings.layouts[opts.layout]
    out = settings.exports[opts.export]
    src = (info.width, info.height)
    if layout.kind == "facecam_top":
        if facecam is None:
            plan = layouts.blur_fit(settings.layouts.get("blur_fit", layout), out)
            return replace(plan, note="no facecam found, so facecam_top fell back to blur_fit")
        return layouts.facecam_top(layout, out, src, facecam)
    if layout.kind == "blur_fit":
        return layouts.blur_fit(layout, out)
    if layout.kind in ("talking_head", "duo"):
        from pipeline.media.render.speakers import analyse

        scene = analyse(media, start, end, info, speakers=layout.kind == "talking_head")
        if layout.kind == "duo":
            if len(scene.tracks) >= 2:
                return _duo(layout, out, info, scene)
            plan = _talking_head(layout, out, info, scene)
            return replace(plan, note="fewer than two faces in a clip, so duo fell back to talking_head")
        return _talking_head(layout, out, info, scene)
    track = motion_track(media, start, end - start, info)
    points = smooth_positions(track, info.width / 2, layout.smooth_s, duration=end - start)
    expr = crop_x_expr(points, layouts.crop_width(out, src), info.width)
    return layouts.moving_crop(layout, out, src, expr, layout.kind)


def _talking_head(layout: LayoutSettings, out: tuple[int, int], info: MediaInfo, scene: Scene) -> layouts.Plan:
    """The crop follows the speaker, cutting to the next one at a switch; one face: that face."""
    src = (info.width, info.height)
    times = scene.times().tolist()
    duration = scene.steps / scene.fps
    if scene.speaker:
        centres = [tr.centres()[:, 0] for tr in scene.tracks]
        track = [(t, float(centres[who][i])) for i, (t, who) in enumerate(zip(times, scene.speaker))]
        points = cut_positions(track, [(a, b) for a, b, _ in scene.segments()], info.width / 2, layout.smooth_s)
    else:
        main = max(scene.tracks, key=lambda tr: tr.median_box()[2], default=None)
        track = [] if main is None else [(t, float(x)) for t, x in zip(times, main.centres()[:, 0])]
        points = smooth_positions(track, info.width / 2, layout.smooth_s, duration=duration)
    expr = crop_x_expr(points, layouts.crop_width(out, src), info.width)
    return layouts.moving_crop(layout, out, src, expr, "talking_head")


def _duo(layout: LayoutSettings, out: tuple[int, int], info: MediaInfo, scene: Scene) -> layouts.Plan:
    """The two largest faces, left one on top, each in a window about three faces tall."""
    pair = sorted(sorted(scene.tracks, key=lambda tr: -tr.median_box()[2])[:2], key=lambda tr: tr.median_box()[0])
    sw, sh = info.width, info.height
    aspect = out[0] / (out[1] / 2)
    times = scene.times().tolist()
    windows = []
    for tr in pair:
        _, _, _, fh = tr.median_box()
        ch = min(sh, fh * DUO_FACES_TALL)
        cw = min(sw, ch * aspect)
        ch = cw / aspect
        cw, ch = max(2, int(cw) // 2 * 2), max(2, int(ch) // 2 * 2)
        centres = tr.centres()
        points = smooth_positions([(t, float(x)) for t, x in zip(times, centres[:, 0])], sw / 2, layout.smooth_s,
                                  duration=scene.steps / scene.fps)
        top = int(min(max(0.0, float(np.median(centres[:, 1])) - DUO_FACE_Y * ch), sh - ch))
        windows.append(layouts.Window(cw, ch, crop_x_expr(points, cw, sw), str(top)))
    return layouts.duo(layout, out, windows[0], windows[1])


@dataclass(frozen=True)
class ClipSource:
    """Where a moment's pictures and sound come from: the analysed file itself, or a
    full-quality section of the stream whose t = 0 is stream time `offset`."""

    media: Path
    info: MediaInfo
    offset: float = 0.0


def _scaled(box: Box | None, src: MediaInfo, to: MediaInfo) -> Box | None:
    """A facecam found on the analysis proxy, in the pixels of a full-quality section."""
    if box is None or (src.width, src.height) == (to.width, to.height):
        return box
    sx, sy = to.width / src.width, to.height / src.height
    return Box(x=round(box.x * sx), y=round(box.y * sy), w=round(box.w * sx), h=round(box.h * sy))


def clip_sources(fetched: dict[str, Any], info: MediaInfo, moments: Sequence[Moment], job_dir: Path,
                 settings: Settings) -> Iterator[tuple[int, ClipSource]] | None:
    """Full-quality sections of a remote VOD analysed from a proxy, each yielded when its
    download lands; None when the clips are cut from the analysed file itself."""
    if not fetched.get("is_proxy"):
        return None
    from pipeline.media.sections import iter_sections

    source = Source(**{**fetched, "path": Path(fetched["path"])})
    windows = [(m.start, m.end) for m in moments]
    return ((i, ClipSource(sec.path, replace(info, width=sec.width, height=sec.height), sec.offset_s))
            for i, sec in iter_sections(source, windows, job_dir, settings))


def render_moments(job_dir: Path, media: Path, info: MediaInfo, moments: Sequence[Moment],
                   words: list[Word], settings: Settings, opts: RenderOptions, source_key: str,
                   observer: Observer | None = None,
                   sources: Iterable[tuple[int, ClipSource]] | None = None,
                   ) -> tuple[list[RenderedClip], dict[str, Any]]:
    """Render every moment; returns the rendered clips and a render summary.

    `sources` yields (index into `moments`, ClipSource) as each moment's media becomes
    available (sections still downloading); by default every moment is cut from `media`.
    A moment starts rendering as soon as its source arrives, and `observer.clip_done` is
    called as each clip finishes, so the first clip can be delivered before the last is cut."""
    job_dir, media = Path(job_dir).resolve(), Path(media).resolve()  # ffmpeg runs in the job folder
    observer = observer or NullObserver()
    encoder = choose_encoder(settings.render.encoder)
    # The face count is found whichever layout renders first (Duo is offered from two faces).
    found, faces = scan_stream(job_dir, media, info, settings, source_key)
    facecam = found if settings.layouts[opts.layout].kind == "facecam_top" else None
    size = settings.exports[opts.export]
    brand = settings.brand
    mark = watermark_for(brand, size)
    key = stable_hash("render", source_key, [m.to_dict() for m in moments], opts, settings.render,
                      settings.layouts[opts.layout], settings.exports[opts.export],
                      settings.subtitle_styles[opts.style], encoder, facecam,
                      stable_hash(words) if opts.subtitles else None, brand,
                      mark.image.stat().st_mtime if mark else None)
    hit = load_stage(job_dir, "render", key)
    if hit is not None:
        observer.stage_done("render", 0.0, True)
        return [RenderedClip.from_dict(c) for c in hit["moments"]], {**hit["summary"], "cached": True}

    started = time.monotonic()
    parallel = max(1, min(settings.render.parallel or available_cores(), len(moments)))
    threads = max(1, available_cores() // parallel)
    observer.stage_progress("render", 0.0, f"0/{len(moments)} clips")
    if sources is None:
        sources = ((i, ClipSource(media, info)) for i in range(len(moments)))
    notes: set[str] = set()
    done: dict[int, RenderedClip] = {}
    lock = threading.Lock()

    def render_one(m: Moment, plan: layouts.Plan, job: ClipJob, src: ClipSource) -> None:
        stats = render_clip(job, settings.render)
        width, height = settings.exports[opts.export]
        clip = RenderedClip(m, job.out.name, job.thumbnail.name, plan.layout_used, (width, height),
                            (src.info.width, src.info.height), int(stats["size_bytes"]),
                            float(stats["bitrate_scale"]))
        with lock:
            done[m.rank] = clip
            count = len(done)
        observer.clip_done(clip.to_dict())
        observer.stage_progress("render", count / len(moments), f"{count}/{len(moments)} clips")

    with ThreadPoolExecutor(max_workers=parallel) as pool:
        futures = []
        for index, src in sources:
            m = moments[index]
            start, end = m.start - src.offset, m.end - src.offset
            plan = _plan(opts, settings, src.media, src.info, _scaled(facecam, info, src.info), start, end)
            if plan.note:
                notes.add(plan.note)
            name = f"clip_{m.rank:02d}"
            ass = None
            hook = hook_text(m, brand)
            if opts.subtitles or hook or (brand.watermark_text.strip() and mark is None):
                ass = job_dir / f"{name}.ass"
                doc = build_ass(words, m.start, m.end, settings.subtitle_styles[opts.style],
                                settings.render.font, size, plan.subtitle_pos, subtitles=opts.subtitles,
                                brand=brand, hook=hook, hook_band=hook_band(plan.hook_pos, size[1]))
                ass.write_text(doc, encoding="utf-8")
            # Found here, in the submitting thread: the next clip's loudness is measured while
            # the pool encodes the one before.
            gain = clip_gain(src.media, start, end, settings.render)
            job = ClipJob(src.media, start, end, job_dir / f"{name}.mp4", job_dir / f"{name}.jpg", plan,
                          ass, encoder, threads, (m.start if m.peak is None else m.peak) - src.offset, mark,
                          gain)
            futures.append(pool.submit(render_one, m, plan, job, src))
        for fut in as_completed(futures):
            fut.result()
    rendered = [done[m.rank] for m in moments]
    summary: dict[str, Any] = {
        "layout": opts.layout, "export": opts.export, "size": list(settings.exports[opts.export]),
        "subtitles": opts.subtitles, "style": opts.style, "encoder": encoder, "hook": brand.hook,
        "watermark": str(mark.image) if mark else brand.watermark_text,
        "facecam": asdict(facecam) if facecam else None, "faces": faces, "notes": sorted(notes),
        "seconds": round(time.monotonic() - started, 3)}
    save_stage(job_dir, "render", key, {"moments": [r.to_dict() for r in rendered], "summary": summary},
               [r.file for r in rendered] + [r.thumbnail for r in rendered])
    observer.stage_done("render", summary["seconds"], False)
    return rendered, {**summary, "cached": False}


def _adjusted(moment: Moment, extend_s: float, duration: float, settings: Settings) -> Moment:
    """The moment made longer or shorter at its end, within the stream and sane lengths."""
    if not extend_s:
        return moment
    shortest = min(settings.scoring.min_clip_s, moment.end - moment.start)
    end = moment.end + extend_s
    end = max(moment.start + shortest, min(end, duration, moment.start + 2 * settings.scoring.max_clip_s))
    return replace(moment, end=round(end, 2))


def rerender_job(job_dir: Path, settings: Settings, opts: RenderOptions, observer: Observer | None = None,
                 ranks: list[int] | None = None, extend_s: float = 0.0) -> dict[str, Any]:
    """Render a finished job's moments again (another layout, export or style; some ranks
    only; longer or shorter); no analysis runs. The report keeps every moment."""
    report: dict[str, Any] = read_json(job_dir / artifacts.REPORT)
    fetched = stage_result(job_dir, "fetch")
    if fetched is None or not (job_dir / artifacts.TRANSCRIPT).exists():
        raise ConfigError(f"Job folder {job_dir} has no finished analysis to render from.")
    info = MediaInfo(**report["media"])
    words = Transcript.from_dict(read_json(job_dir / artifacts.TRANSCRIPT)).words
    moments = [_adjusted(Moment.from_dict(c), extend_s, info.duration, settings)
               for c in report["clips"] if ranks is None or c["rank"] in ranks]
    clips, summary = render_moments(job_dir, Path(fetched["path"]), info, moments, words, settings, opts,
                                    report["source_key"], observer,
                                    clip_sources(fetched, info, moments, job_dir, settings))
    fresh = {c.moment.rank: c.to_dict() for c in clips}
    report.update(clips=[fresh.get(c["rank"], c) for c in report["clips"]], render=summary,
                  facecam=summary["facecam"])
    if summary.get("faces") is not None:
        report["faces"] = summary["faces"]
    report.setdefault("stages", {})["render"] = {"seconds": 0.0 if summary["cached"] else summary["seconds"],
                                                 "cached": summary["cached"]}
    write_json(job_dir / artifacts.REPORT, report)
    return report
