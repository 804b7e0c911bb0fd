"""Benchmark the analysis on a long synthetic 1080p30 stream (not a test).

    .venv/bin/python bench/bench_pipeline.py --minutes 30

Prints per-stage wall time, real-time factor (stream seconds per wall second), whether the
planted moments were found, and the peak RSS of the whole process tree (sampled)."""

from __future__ import annotations

import argparse
import shutil
import sys
import threading
import time
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.config import load_settings  # noqa: E402
from pipeline.progress import NullObserver  # noqa: E402
from pipeline.runner import run_job  # noqa: E402
from pipeline.sample import SampleSpec, make_sample  # noqa: E402


class PeakRss:
    """Samples the summed RSS of this process and its children every 0.2 s."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = psutil.Process()
        while not self._stop.is_set():
            total = 0
            for p in [me, *me.children(recursive=True)]:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)
            time.sleep(0.2)

    def __enter__(self) -> "PeakRss":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join()


def planted(minutes: int) -> tuple[int, ...]:
    """One hype moment roughly every six minutes, off the five-second grid's edges."""
    duration = minutes * 60
    return tuple(t for t in range(150, duration - 60, 370) if t % 5 == 0) or (duration // 2 // 5 * 5,)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--minutes", type=int, default=30)
    ap.add_argument("--height", type=int, default=1080)
    ap.add_argument("--media-dir", type=Path, default=ROOT / "bench" / "_media")
    args = ap.parse_args()

    spec = SampleSpec(duration=args.minutes * 60, hype_at=planted(args.minutes),
                      width=args.height * 16 // 9, height=args.height, fps=30)
    media = args.media_dir / f"stream_{args.minutes}min_{args.height}p.mp4"
    if not media.exists():
        t0 = time.monotonic()
        make_sample(media, spec)
        print(f"generated {media.name} in {time.monotonic() - t0:.0f} s")
    out = args.media_dir / "out"
    shutil.rmtree(out, ignore_errors=True)
    settings = load_settings()
    t0 = time.monotonic()
    with PeakRss() as rss:
        report = run_job(str(media), settings, out, NullObserver())
    wall = time.monotonic() - t0
    duration = report["duration"]
    print(f"\nstream {duration / 60:.0f} min {args.height}p30, {psutil.cpu_count()} cores, "
          f"model {settings.asr.model}")
    print(f"{'stage':<16}{'wall s':>9}{'x real time':>13}")
    for stage, t in report["stages"].items():
        rtf = duration / t["seconds"] if t["seconds"] > 0 else float("inf")
        print(f"{stage:<16}{t['seconds']:>9.1f}{rtf:>13.1f}")
    print(f"{'total':<16}{wall:>9.1f}{duration / wall:>13.1f}")
    print(f"peak RSS (process tree): {rss.peak / 2**20:.0f} MiB")
    found = sum(any(c["start"] <= h + 5 and c["end"] >= h + 5 for c in report["clips"]) for h in spec.hype_at)
    print(f"planted moments found in top-{len(report['clips'])}: {found}/{len(spec.hype_at)} "
          f"(planted at {', '.join(f'{h // 60}:{h % 60:02d}' for h in spec.hype_at)})")


if __name__ == "__main__":
    main()
