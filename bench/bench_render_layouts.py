"""Benchmark the render per layout against another checkout (not a test): CPU seconds (the
Python process and its ffmpeg children) and wall seconds to render one clip, each layout in
a fresh process, the two trees taking turns so both see the same load.

    git archive main | tar -x -C /tmp/before
    .venv/bin/python bench/bench_render_layouts.py /tmp/before MEDIA [START END] [--rounds N]

MEDIA should show a face (talking_head and duo follow it; facecam_top finds it): e.g. a
webcam over gameplay. Subtitles are off, the encoder is libx264; layouts the other tree
does not have are timed here only.
"""

from __future__ import annotations

import argparse
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

CHILD = r"""
import json, resource, sys, time
from pathlib import Path
root, media, layout, start, end, out = sys.argv[1:7]
sys.path.insert(0, root)
import pipeline
assert Path(pipeline.__file__).resolve().is_relative_to(Path(root).resolve()), pipeline.__file__
from pipeline.media.config import load_settings
from pipeline.media.models import Moment
from pipeline.media.probe import probe
from pipeline.media.render.job import RenderOptions, render_moments
settings = load_settings(render={"encoder": "libx264"})
if layout not in settings.layouts:
    print(json.dumps(None)); sys.exit()
info = probe(Path(media))
moment = Moment(1, float(start), float(end), 50.0, {}, (), "", peak=None)
t0 = time.monotonic()
opts = RenderOptions.from_settings(settings, layout=layout, subtitles=False)
clips, summary = render_moments(Path(out), Path(media), info, [moment], [], settings, opts, "bench")
ru, rc = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
print(json.dumps({"cpu": ru.ru_utime + ru.ru_stime + rc.ru_utime + rc.ru_stime,
                  "wall": time.monotonic() - t0, "used": clips[0].layout}))
"""


def run(root: Path, media: Path, layout: str, start: float, end: float) -> dict | None:
    with tempfile.TemporaryDirectory() as out:
        proc = subprocess.run([sys.executable, "-c", CHILD, str(root), str(media), layout, str(start), str(end),
                               out], capture_output=True, text=True, cwd=root)
        if proc.returncode:
            raise RuntimeError(proc.stderr[-2000:])
        return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("before", type=Path)
    ap.add_argument("media", type=Path)
    ap.add_argument("start", type=float, nargs="?", default=2.0)
    ap.add_argument("end", type=float, nargs="?", default=22.0)
    ap.add_argument("--rounds", type=int, default=2)
    ap.add_argument("--layouts", default="facecam_top,gameplay,blur_fit,talking_head,duo")
    args = ap.parse_args()
    print(f"one {args.end - args.start:.0f} s clip of {args.media.name}, libx264, no subtitles; "
          f"best of {args.rounds} (CPU s = process + ffmpeg children)")
    print(f"{'layout':<14}{'before CPU':>11}{'now CPU':>9}{'change':>8}{'before wall':>13}{'now wall':>10}  used")
    for layout in args.layouts.split(","):
        best: dict[str, dict] = {}
        for _ in range(args.rounds):
            for name, root in (("before", args.before), ("now", ROOT)):
                r = run(root, args.media, layout, args.start, args.end)
                if r is not None and (name not in best or r["cpu"] < best[name]["cpu"]):
                    best[name] = r
        b, n = best.get("before"), best["now"]
        change = f"{100 * (n['cpu'] / b['cpu'] - 1):+.0f}%" if b else "new"
        print(f"{layout:<14}{b['cpu'] if b else float('nan'):>11.1f}{n['cpu']:>9.1f}{change:>8}"
              f"{b['wall'] if b else float('nan'):>13.1f}{n['wall']:>10.1f}  {n['used']}")
    _ = resource, time


if __name__ == "__main__":
    main()
