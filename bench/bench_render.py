"""Benchmark rendering (not a test): × real time per layout preset for a 45 s 1080x1920 clip
from a 1080p30 source, and the time to re-render a finished job with another layout.

    .venv/bin/python bench/bench_render.py
"""

from __future__ import annotations

import shutil
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from pipeline.jobs.runner import run_job  # noqa: E402
from pipeline.media import artifacts  # noqa: E402
from pipeline.media.cache import read_json  # noqa: E402
from pipeline.media.config import load_settings  # noqa: E402
from pipeline.media.models import Moment, Transcript  # noqa: E402
from pipeline.media.probe import probe  # noqa: E402
from pipeline.media.render.encoder import choose_encoder  # noqa: E402
from pipeline.media.render.job import RenderOptions, render_moments, rerender_job  # noqa: E402
from pipeline.media.sample import SampleSpec, make_sample  # noqa: E402

MEDIA_DIR = ROOT / "bench" / "_media"
CLIP = (40.0, 85.0)


def main() -> None:
    media = MEDIA_DIR / "stream_2min_1080p.mp4"
    if not media.exists():
        make_sample(media, SampleSpec(duration=120, hype_at=(60,), width=1920, height=1080))
    out = MEDIA_DIR / "render_out"
    shutil.rmtree(out, ignore_errors=True)
    # A facecam rectangle is given so facecam_top measures its real double crop.
    settings = load_settings(render={"facecam": {"x": 1440, "y": 40, "w": 440, "h": 330}})
    report = run_job(str(media), settings, out, render=None)
    job_dir = out / report["job_id"]
    info = probe(media)
    words = Transcript.from_dict(read_json(job_dir / artifacts.TRANSCRIPT)).words
    moment = Moment(1, CLIP[0], CLIP[1], 50.0, {}, (), "", peak=62.0)
    length = CLIP[1] - CLIP[0]
    print(f"encoder {choose_encoder(settings.render.encoder)}, one 45 s clip, 1080p30 source → 1080x1920")
    print(f"{'layout':<14}{'wall s':>8}{'x real time':>13}{'MB':>7}")
    for layout in settings.layouts:
        opts = RenderOptions.from_settings(settings, layout=layout)
        t0 = time.monotonic()
        clips, _ = render_moments(job_dir, media, info, [moment], words, settings, opts, layout)
        wall = time.monotonic() - t0
        size = (job_dir / clips[0].file).stat().st_size / 2**20
        print(f"{layout:<14}{wall:>8.1f}{length / wall:>13.2f}{size:>7.1f}")

    rerender_job(job_dir, settings, RenderOptions.from_settings(settings, layout="blur_fit"))
    t0 = time.monotonic()
    report = rerender_job(job_dir, settings, RenderOptions.from_settings(settings, layout="gameplay"))
    wall = time.monotonic() - t0
    total = sum(c["end"] - c["start"] for c in report["clips"])
    print(f"re-render of all {len(report['clips'])} moments ({total:.0f} s of clips) with another "
          f"layout: {wall:.1f} s wall, no analysis re-run")


if __name__ == "__main__":
    main()
