"""Benchmark the face analysis of a talking_head / duo clip (not a test): CPU seconds
(this process and its ffmpeg children) of the face track before this change (Haar,
frontal then profile, 2 frames a second; a copy of the old module's file is passed in) and
of `speakers.analyse` now, over the same 45 s window.

    git show <old commit>:pipeline/media/render/facecam.py > /tmp/facecam_old.py
    .venv/bin/python bench/bench_face_track.py /tmp/facecam_old.py MEDIA [START END]
"""

from __future__ import annotations

import importlib.util
import resource
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.media.probe import probe  # noqa: E402
from pipeline.media.render.speakers import analyse  # noqa: E402


def cpu() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    old_file, media = Path(sys.argv[1]), Path(sys.argv[2])
    start, end = (float(sys.argv[3]), float(sys.argv[4])) if len(sys.argv) > 4 else (40.0, 85.0)
    spec = importlib.util.spec_from_file_location("facecam_old", old_file)
    assert spec and spec.loader
    old = importlib.util.module_from_spec(spec)
    sys.modules["facecam_old"] = old
    spec.loader.exec_module(old)
    info = probe(media)
    for name, run in (("before: Haar face_track", lambda: old.face_track(media, start, end, info)),
                      ("now: analyse (talking_head; speakers from 2 faces)", lambda: analyse(media, start, end, info)),
                      ("now: analyse for duo (no speaker search)",
                       lambda: analyse(media, start, end, info, speakers=False))):
        c0, t0 = cpu(), time.monotonic()
        out = run()
        print(f"{name:<46}{cpu() - c0:>7.1f} s CPU{time.monotonic() - t0:>7.1f} s wall  "
              f"{len(out.tracks) if hasattr(out, 'tracks') else sum(x is not None for _, x in out)} faces/hits")


if __name__ == "__main__":
    main()
