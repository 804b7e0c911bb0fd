"""Benchmark the render (not a test): where a clip's time goes per layout, and what each
`render.quality` level costs and keeps.

    .venv/bin/python bench/bench_render_quality.py             # profile + quality table
    .venv/bin/python bench/bench_render_quality.py --profile   # only the per-layout profile
    .venv/bin/python bench/bench_render_quality.py --quality   # only the quality table

The source is representative stream content, made here: a textured world panning like a game
camera, moving sprites, a HUD, and a webcam in the corner (a real face from
../shared/media/face_webcam_2.mp4 when that folder is there, a generated picture otherwise),
1080p30 at a stream's bitrate. Subtitles are burned in as in a real clip.

Profile: each step's graph is run to ffmpeg's null output, adding one part at a time (decode;
+ layout filters; + subtitles; + the x264 encode); fps is frames per wall second, and a part's
own cost is the difference of the per-frame times.

Quality: each level's encode of the same graph against a reference encode at
`-preset slow -crf 16`; SSIM (ffmpeg's ssim filter, all planes), size scaled to a 45 s clip,
and render fps."""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import ffmpeg  # noqa: E402

from pipeline.media.config import QualityLevel, Settings, load_settings  # noqa: E402
from pipeline.media.models import Box, Word  # noqa: E402
from pipeline.media.render import layouts  # noqa: E402
from pipeline.media.render.clip import FFMPEG, ClipJob, clip_graph  # noqa: E402
from pipeline.media.render.subtitles import build_ass  # noqa: E402
from pipeline.media.render.tracking import crop_x_expr  # noqa: E402
from pipeline.media.resources import available_cores  # noqa: E402

MEDIA_DIR = ROOT / "bench" / "_media"
FACE = ROOT.parent / "shared" / "media" / "face_webcam_2.mp4"
CAM = Box(x=1440, y=700, w=440, h=330)
SOURCE_S = 40
TODAY = QualityLevel(x264_preset="veryfast", crf=23)        # the render before quality levels
REFERENCE = QualityLevel(x264_preset="slow", crf=16)
SENTENCE = ["no", "way", "did", "you", "see", "that", "jump", "he", "went", "straight", "over",
            "the", "wall", "and", "landed", "on", "the", "roof"]


def make_source(out: Path) -> Path:
    """A 1080p30 stream-like source with a panning world, sprites, a HUD and a webcam."""
    if out.exists():
        return out
    world = out.with_name("world.png")
    subprocess.run([*FFMPEG, "-f", "lavfi", "-i", "nullsrc=s=3840x1440,format=rgb24,"
                    "geq=r='128+90*sin(X/37)*cos(Y/53)+30*sin(X/7+Y/11)':"
                    "g='128+80*sin(X/71+Y/89)+25*cos(X/5)':b='120+90*cos(X/29-Y/43)'",
                    "-frames:v", "1", str(world)], check=True)
    pan = "noise=alls=3:allf=t,crop=1920:1080:x='mod(t*260,1920)':y='180+150*sin(t/2)'"
    sprite = "testsrc2=s=220x220:r=30"
    inputs = ["-loop", "1", "-framerate", "30", "-t", str(SOURCE_S), "-i", str(world),
              "-f", "lavfi", "-t", str(SOURCE_S), "-i", sprite]
    if FACE.exists():
        inputs += ["-stream_loop", "-1", "-t", str(SOURCE_S), "-i", str(FACE)]
    else:
        inputs += ["-f", "lavfi", "-t", str(SOURCE_S), "-i", "testsrc=s=440x330:r=30"]
    inputs += ["-f", "lavfi", "-t", str(SOURCE_S), "-i", "sine=f=220:sample_rate=48000"]
    graph = (f"[2:v]scale={CAM.w}:{CAM.h},setsar=1[cam];"
             f"[0:v]{pan}[world];[world][1:v]overlay=x='960+600*sin(t*1.3)':y='500+250*cos(t*0.9)'[g1];"
             "[g1]drawbox=x=40:y=980:w=500:h=60:color=black@0.6:t=fill,"
             "drawbox=x=50:y=990:w='300':h=40:color=red:t=fill[g2];"
             f"[g2][cam]overlay=x={CAM.x}:y={CAM.y}[v]")
    out.parent.mkdir(parents=True, exist_ok=True)
    subprocess.run([*FFMPEG, *inputs, "-filter_complex", graph, "-map", "[v]", "-map", "3:a",
                    "-c:v", "libx264", "-preset", "veryfast", "-b:v", "6000k", "-maxrate", "6000k",
                    "-bufsize", "12000k", "-g", "60", "-pix_fmt", "yuv420p", "-c:a", "aac",
                    "-f", "mp4", str(out.with_suffix(".part"))], check=True)
    return out.with_suffix(".part").rename(out)


def plans(settings: Settings, only: str = "") -> dict[str, layouts.Plan]:
    out, src = settings.exports["9:16"], (1920, 1080)
    cw = layouts.crop_width(out, src)
    sweep = crop_x_expr([(0.0, 700.0), (10.0, 1200.0), (20.0, 900.0), (30.0, 1300.0)], cw, src[0])
    every = {"facecam_top": layouts.facecam_top(settings.layouts["facecam_top"], out, src, CAM),
            "gameplay": layouts.moving_crop(settings.layouts["gameplay"], out, src, sweep, "gameplay"),
            "blur_fit": layouts.blur_fit(settings.layouts["blur_fit"], out),
            "talking_head": layouts.moving_crop(settings.layouts["talking_head"], out, src,
                                                str(CAM.x + CAM.w // 2 - cw // 2), "talking_head")}
    wanted = [name for name in only.split(",") if name]
    return {name: plan for name, plan in every.items() if not wanted or name in wanted}


def subtitles(settings: Settings, plan: layouts.Plan, folder: Path, seconds: float) -> Path:
    words, t = [], 0.2
    while t < seconds:
        for w in SENTENCE:
            words.append(Word(t, t + 0.28, w))
            t += 0.33
        t += 1.0
    doc = build_ass(words, 0.0, seconds, settings.subtitle_styles["bold_outline"], settings.render.font,
                    settings.exports["9:16"], plan.subtitle_pos)
    path = folder / "bench.ass"
    path.write_text(doc, encoding="utf-8")
    return path


def timed(cmd: list[str], cwd: Path) -> tuple[float, float]:
    """Wall seconds and CPU seconds (user + system) of one ffmpeg run. Frames per CPU second
    compare settings fairly on a busy machine, where wall time does not."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.monotonic()
    subprocess.run(cmd, check=True, cwd=cwd, capture_output=True)
    wall = time.monotonic() - t0
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def profile(settings: Settings, media: Path, work: Path, seconds: float, threads: int,
            only: str) -> list[dict[str, Any]]:
    rows = []
    for name, plan in plans(settings, only).items():
        ass = subtitles(settings, plan, work, seconds)

        def null(video: Any) -> list[str]:
            return list(video.output("-", format="null").compile(cmd=FFMPEG))

        def source() -> Any:
            return ffmpeg.input(str(media), ss="2.000", t=f"{seconds:.3f}", threads=threads).video

        steps = {"decode": null(source()),
                 "+ layout": null(plan.draw(source())),
                 "+ subtitles": null(plan.draw(source()).filter("subtitles", ass.name))}
        job = ClipJob(media, 2.0, 2.0 + seconds, work / "p.mp4", work / "p.jpg", plan, ass, "libx264",
                      threads, 2.0)
        steps["+ encode (balanced)"] = list(clip_graph(job, settings.render, None, work / "p.mp4")
                                            .compile(cmd=FFMPEG))
        frames = seconds * 30
        row: dict[str, Any] = {"layout": name}
        for step, cmd in steps.items():
            wall, cpu = timed(cmd, work)
            row[step] = {"fps": frames / wall, "fps_per_cpu_s": frames / cpu}
        rows.append(row)
        print(json.dumps(row), flush=True)
    return rows


def ssim(clip: Path, reference: Path) -> float:
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-i", str(clip), "-i", str(reference),
                          "-lavfi", "[0:v][1:v]ssim", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"All:([\d.]+)", err)[-1])


def quality(settings: Settings, media: Path, work: Path, seconds: float, threads: int,
            names: list[str], tries: dict[str, QualityLevel], only: str) -> list[dict[str, Any]]:
    levels = {"reference": REFERENCE, "today": TODAY, **settings.render.qualities, **tries}
    rows = []
    for name, plan in plans(settings, only).items():
        ass = subtitles(settings, plan, work, seconds)
        encoded: dict[str, Path] = {}
        for level_name, level in levels.items():
            if level_name not in ("reference", "today", *tries) and names and level_name not in names:
                continue
            cfg = settings.render.model_copy(update={"quality": level_name, "qualities": {level_name: level}})
            job = ClipJob(media, 2.0, 2.0 + seconds, work / "q.mp4", work / "q.jpg", plan, ass, "libx264",
                          threads, 2.0)
            cmd = list(clip_graph(job, cfg, None, "OUT").compile(cmd=FFMPEG))
            # A reference is kept for the same graph and settings only (named by their hash).
            digest = hashlib.sha1(json.dumps([cmd, str(media), ass.read_text()]).encode()).hexdigest()[:12]
            out = work / f"{name}_{level_name if level_name == 'reference' else 'clip'}_{digest}.mp4"
            encoded[level_name] = out
            if level_name == "reference" and out.exists():
                continue
            wall, cpu = timed([str(out) if a == "OUT" else a for a in cmd], work)
            row = {"layout": name, "level": level_name, "fps": seconds * 30 / wall,
                   "fps_per_cpu_s": seconds * 30 / cpu, "mb_per_45s": out.stat().st_size / 2**20 * 45 / seconds}
            if level_name != "reference":
                row["ssim"] = ssim(out, encoded["reference"])
            rows.append(row)
            print(json.dumps(row), flush=True)
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--profile", action="store_true")
    parser.add_argument("--quality", action="store_true")
    parser.add_argument("--seconds", type=float, default=15.0, help="clip length measured")
    parser.add_argument("--levels", default="", help="comma-separated quality levels (default: all)")
    parser.add_argument("--try", dest="tries", default="",
                        help="extra x264 settings to measure, preset/crf[/tune[/x264-params]], "
                             "e.g. superfast/24,ultrafast/26//cabac=1")
    parser.add_argument("--layouts", default="", help="comma-separated layouts (default: all)")
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    both = not (args.profile or args.quality)
    settings = load_settings()
    media = make_source(MEDIA_DIR / ("quality_src_face.mp4" if FACE.exists() else "quality_src.mp4"))
    work = MEDIA_DIR / "quality_out"
    work.mkdir(parents=True, exist_ok=True)
    threads = available_cores()
    print(f"source {media.name}, {args.seconds:.0f} s clips, {threads} threads", flush=True)
    result: dict[str, Any] = {}
    if args.profile or both:
        result["profile"] = profile(settings, media, work, args.seconds, threads, args.layouts)
    if args.quality or both:
        names = [n for n in args.levels.split(",") if n]
        tries = {}
        for spec in filter(None, args.tries.split(",")):
            preset, crf, tune, params = (spec.split("/") + ["", ""])[:4]
            tries[spec] = QualityLevel(x264_preset=preset, crf=int(crf), x264_tune=tune or None,
                                       x264_params=params or None)
        result["quality"] = quality(settings, media, work, args.seconds, threads, names, tries, args.layouts)
    if args.json:
        args.json.write_text(json.dumps(result, indent=1))


if __name__ == "__main__":
    main()
