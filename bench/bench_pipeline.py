"""Benchmark a whole job on a long synthetic 1080p30 stream, against a baseline (not a test).

The stream (calm talk and picture, with a planted hype moment about every six minutes) is
generated once into bench/_media/ (ignored by git):

    .venv/bin/python bench/bench_pipeline.py --minutes 30 --generate-only
    .venv/bin/python bench/bench_pipeline.py --minutes 120 --generate-only

Our pipeline, analysis and the render of five 45 s clips:

    .venv/bin/python bench/bench_pipeline.py --minutes 30
    .venv/bin/python bench/bench_pipeline.py --minutes 120 --json bench/_media/120min.json

The same input the straightforward way too (bench/baseline.py), side by side with ratios:

    .venv/bin/python bench/bench_pipeline.py --minutes 30 --baseline
    .venv/bin/python bench/bench_pipeline.py --minutes 30 --baseline-only
    .venv/bin/python bench/bench_pipeline.py --minutes 30 --no-render      # analysis only

A quick check of the runner itself: --minutes 2 --height 360 --clips 2 --clip-seconds 20 --baseline.

Prints the stream length, cores and model; per stage the wall seconds and × real time
(stream seconds per wall second; ours runs ASR, audio features and motion at the same
time, so its stage times overlap); analysis + scoring (job start to scores); the whole job
including the render; the time from job start to the first clip file; the peak RSS of the
job's process tree; how many planted moments the top-K found. Each measured job runs in a
child process of its own, in a fresh out folder (no stage cache reuse); the peak RSS is that
child's tree (pool workers, ffmpeg included), sampled every 0.2 s. Time to first clip needs
the Observer's `clip_done` call; where the runner does not make it, ours reports n/a."""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "bench")]

from pipeline.media.config import Settings, load_settings  # noqa: E402
from pipeline.media.resources import available_cores  # noqa: E402
from pipeline.media.sample import SampleSpec, make_sample  # noqa: E402

VARIANTS = ("ours", "baseline")
STAGE_ORDER = ("fetch", "probe", "audio", "asr", "audio_features", "motion", "enrich", "score",
               "facecam", "render")


class PeakRss:
    """Samples the summed RSS of a process (this one by default) and its children every 0.2 s."""

    def __init__(self, pid: int | None = None) -> None:
        self.peak = 0
        self._pid = pid
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        try:
            root = psutil.Process(self._pid)
        except psutil.Error:
            return
        while not self._stop.is_set():
            total = 0
            try:
                tree = [root, *root.children(recursive=True)]
            except psutil.Error:
                tree = []
            for p in tree:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            self._stop.wait(0.2)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


class BenchObserver:
    """Records when each stage and the first clip were done (seconds from `start`) and
    reports each stage on stderr, so a two-hour run shows where it is."""

    def __init__(self, label: str) -> None:
        self.label = label
        self.t0 = time.monotonic()
        self.done_at: dict[str, float] = {}
        self.first_clip: float | None = None
        self._lock = threading.Lock()  # clip_done comes from the render threads

    def start(self) -> None:
        self.t0 = time.monotonic()

    def _now(self) -> float:
        return round(time.monotonic() - self.t0, 3)

    def stage_progress(self, stage: str, fraction: float, note: str = "") -> None:
        pass

    def stage_done(self, stage: str, seconds: float, cached: bool) -> None:
        self.done_at[stage] = self._now()
        print(f"  [{self.label} {self.done_at[stage]:7.1f} s] {stage} done in {seconds:.1f} s"
              f"{' (cached)' if cached else ''}", file=sys.stderr, flush=True)

    def clip_done(self, clip: dict) -> None:
        with self._lock:
            if self.first_clip is not None:
                return
            self.first_clip = self._now()
        print(f"  [{self.label} {self.first_clip:7.1f} s] first clip {clip.get('file', '')}",
              file=sys.stderr, flush=True)


def planted(minutes: int) -> tuple[int, ...]:
    """One hype moment roughly every six minutes, off the five-second grid's edges."""
    duration = minutes * 60
    return tuple(t for t in range(150, duration - 60, 370) if t % 5 == 0) or (duration // 2 // 5 * 5,)


def planted_found(clips: list[dict[str, Any]], hype_at: tuple[int, ...]) -> int:
    """Planted moments with a clip covering their fifth second."""
    return sum(any(c["start"] <= h + 5 <= c["end"] for c in clips) for h in hype_at)


def bench_settings(clips: int, clip_s: float) -> Settings:
    """Default settings picking `clips` moments of exactly `clip_s` seconds."""
    return load_settings(scoring={"top_k": clips, "min_clip_s": clip_s, "target_clip_s": clip_s,
                                  "max_clip_s": clip_s})


def rtf(duration: float, seconds: float | None) -> float | None:
    """× real time: stream seconds per wall second."""
    return duration / seconds if seconds and seconds > 0 else None


RESOLUTION = 0.05  # below this many seconds (MiB) a ratio is noise


def ratio(ours: float | None, baseline: float | None) -> float | None:
    """baseline / ours: how many times faster (or smaller) ours is; None where unknown or
    where either is too small to compare."""
    if ours is None or baseline is None or ours < RESOLUTION or baseline < RESOLUTION:
        return None
    return baseline / ours


def fmt(value: float | None, spec: str = ".1f", width: int = 12) -> str:
    if value is None:
        text = "n/a"
    elif spec == "x" and value >= 10000:
        text = ">9999"
    else:
        text = format(value, ".1f" if spec == "x" else spec)
    return f"{text:>{width}}"


def stage_names(*stage_dicts: dict[str, Any]) -> list[str]:
    """The stages of all runs: the pipeline's order first, then any others as they came."""
    seen = [s for d in stage_dicts for s in d]
    return [s for s in STAGE_ORDER if s in seen] + list(dict.fromkeys(s for s in seen if s not in STAGE_ORDER))


def clip_seconds(run: dict[str, Any]) -> float:
    return sum(c["end"] - c["start"] for c in run.get("clips", ()))


def comparison_table(duration: float, runs: dict[str, dict[str, Any]]) -> str:
    """Per stage and in total: wall seconds and × real time of each run in `runs` ("ours",
    "baseline" or both; the render's × real time counts clip seconds, the others stream
    seconds), and baseline/ours when both are there; then peak RSS and planted moments
    found. Missing numbers read n/a."""
    names = [v for v in VARIANTS if v in runs]
    both = len(names) == 2
    head = f"{'':<24}" + "".join(f"{n + ' s':>12}{'× real time':>12}" for n in names)
    lines = [head + (f"{'base/ours':>12}" if both else "")]

    def row(label: str, values: list[float | None], media_s: list[float | None], spec: str = ".1f") -> str:
        line = f"{label:<24}" + "".join(
            fmt(v, spec) + (fmt(rtf(m, v), "x") if m is not None else " " * 12) for v, m in zip(values, media_s))
        if both:
            r = ratio(values[0], values[1])
            line += fmt(r, ".2f", 11) + ("×" if r is not None else " ")
        return line

    stages = [runs[n].get("stages", {}) for n in names]
    for stage in stage_names(*stages):
        media_s = [clip_seconds(runs[n]) if stage == "render" else duration for n in names]
        lines.append(row(stage, [s.get(stage, {}).get("seconds") for s in stages], media_s))
    lines.append("-" * len(lines[0]))
    streams, nothing = [duration] * len(names), [None] * len(names)
    lines.append(row("analysis + scoring", [runs[n].get("analysis_s") for n in names], streams))
    lines.append(row("whole job incl. render", [runs[n].get("wall_s") for n in names], streams))
    lines.append(row("time to first clip", [runs[n].get("ttfc_s") for n in names], nothing))
    lines.append(row("peak RSS MiB", [runs[n].get("peak_rss_mib") for n in names], nothing, ".0f"))
    found = [f"{runs[n].get('found', '?')}/{runs[n].get('planted', '?')}" for n in names]
    lines.append(f"{'planted found in top-K':<24}" + "".join(f"{f:>12}{'':>12}" for f in found))
    return "\n".join(lines)


def ratios(runs: dict[str, dict[str, Any]]) -> dict[str, float | None]:
    ours, base = runs["ours"], runs["baseline"]
    out = {s: ratio(ours["stages"].get(s, {}).get("seconds"), base["stages"].get(s, {}).get("seconds"))
           for s in stage_names(ours["stages"], base["stages"])}
    for label, key in (("analysis", "analysis_s"), ("whole", "wall_s"), ("ttfc", "ttfc_s"),
                       ("peak_rss", "peak_rss_mib")):
        out[label] = ratio(ours.get(key), base.get(key))
    return out


def run_one(variant: str, media: Path, out: Path, render: bool, clips: int, clip_s: float) -> dict[str, Any]:
    """One measured job in this process (the child): ours through run_job, or the baseline."""
    from baseline import run_baseline

    from pipeline.jobs.runner import run_job
    from pipeline.media.render.job import RenderOptions

    settings = bench_settings(clips, clip_s)
    opts = RenderOptions.from_settings(settings) if render else None
    observer = BenchObserver(variant)
    observer.start()
    if variant == "ours":
        report = run_job(str(media), settings, out, observer, render=opts)
    else:
        report = run_baseline(str(media), settings, out, observer, render=opts)
    wall = round(time.monotonic() - observer.t0, 3)
    ttfc = observer.first_clip
    return {
        "stages": report["stages"],
        "analysis_s": observer.done_at.get("score"),
        "wall_s": wall,
        "ttfc_s": ttfc,
        "duration": report["duration"],
        "model": report["models"]["asr"],
        "clips": [{k: c.get(k) for k in ("rank", "start", "end", "score", "file")} for c in report["clips"]],
    }


def measure(variant: str, media: Path, args: argparse.Namespace, hype_at: tuple[int, ...]) -> dict[str, Any]:
    """Run one job in a child process in a fresh out folder; its results with the peak RSS
    of the child's process tree."""
    out = args.media_dir / "out" / variant
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    result = args.media_dir / "out" / f"{variant}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, str(Path(__file__).resolve()), "--job", variant, "--media", str(media),
           "--out", str(out), "--result", str(result), "--clips", str(args.clips),
           "--clip-seconds", str(args.clip_seconds), "--render" if args.render else "--no-render"]
    print(f"running {variant} …", file=sys.stderr, flush=True)
    proc = subprocess.Popen(cmd)
    with PeakRss(proc.pid) as rss:
        code = proc.wait()
    if code != 0 or not result.exists():
        sys.exit(f"the {variant} run failed (exit {code})")
    run = json.loads(result.read_text(encoding="utf-8"))
    run.update(peak_rss_mib=round(rss.peak / 2**20, 1), found=planted_found(run["clips"], hype_at),
               planted=len(hype_at))
    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=30, help="stream length (default 30; the issue: 30 and 120)")
    ap.add_argument("--height", type=int, default=1080, help="stream height, 16:9, 30 fps (default 1080)")
    ap.add_argument("--render", action=argparse.BooleanOptionalAction, default=True,
                    help="render the top-K clips (default) or analyse only")
    ap.add_argument("--clips", type=int, default=5, help="clips picked and rendered (default 5)")
    ap.add_argument("--clip-seconds", type=float, default=45, help="length of each clip (default 45)")
    which = ap.add_mutually_exclusive_group()
    which.add_argument("--baseline", action="store_true", help="also run the baseline, side by side")
    which.add_argument("--baseline-only", action="store_true", help="run the baseline only")
    which.add_argument("--generate-only", action="store_true", help="generate the stream and stop")
    ap.add_argument("--json", type=Path, help="write every number to this file")
    ap.add_argument("--media-dir", type=Path, default=ROOT / "bench" / "_media")
    for internal in ("--job", "--media", "--out", "--result"):  # the child process's arguments
        ap.add_argument(internal, help=argparse.SUPPRESS)
    args = ap.parse_args()

    if args.job:
        run = run_one(args.job, Path(args.media), Path(args.out), args.render, args.clips, args.clip_seconds)
        Path(args.result).write_text(json.dumps(run, indent=2), encoding="utf-8")
        return

    hype_at = planted(args.minutes)
    # Encoded like a stream from OBS: x264 veryfast (B-frames, CABAC), a keyframe every 2 s.
    spec = SampleSpec(duration=args.minutes * 60, hype_at=hype_at,
                      width=args.height * 16 // 9 // 2 * 2, height=args.height, fps=30,
                      keyframe_s=2.0, x264_preset="veryfast")
    media = args.media_dir / f"stream_{args.minutes}min_{args.height}p_obs.mp4"
    if not media.exists():
        t0 = time.monotonic()
        make_sample(media, spec)
        print(f"generated {media} in {time.monotonic() - t0:.0f} s", file=sys.stderr)
    if args.generate_only:
        print(media)
        return

    variants = ["baseline"] if args.baseline_only else ["ours", "baseline"] if args.baseline else ["ours"]
    runs = {v: measure(v, media, args, hype_at) for v in variants}
    first = runs[variants[0]]
    duration = first["duration"]
    print(f"\nstream {duration / 60:.0f} min {args.height}p30, planted at "
          f"{', '.join(f'{h // 60}:{h % 60:02d}' for h in hype_at)}; {available_cores()} cores; "
          f"model {first['model']}; "
          + (f"{args.clips} clips of {args.clip_seconds:g} s rendered" if args.render else "no render"))
    print(comparison_table(duration, runs))
    if args.json:
        data = {"stream": {"minutes": args.minutes, "height": args.height, "duration": duration,
                           "planted": list(hype_at), "cores": available_cores(), "model": first["model"],
                           "render": args.render, "clips": args.clips, "clip_s": args.clip_seconds},
                **runs}
        if len(runs) == 2:
            data["ratios"] = ratios(runs)
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(data, indent=2), encoding="utf-8")
        print(f"numbers written to {args.json}")


if __name__ == "__main__":
    main()
