"""Analysis proxies and full-quality sections (pipeline.media.fetch, pipeline.media.sections) against media
generated with ffmpeg and served on 127.0.0.1.

Every frame of the generated video shows its own frame number as ten black or white stripes
(bit i of the number in stripe i, lowest bit on the left), so a test reads which frame of the
stream a file shows at a given time instead of trusting timestamps."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.errors import TooLargeError
from pipeline.media.fetch import fetch
from pipeline.media.models import Source
from pipeline.media.probe import probe
from pipeline.media.sections import SECTIONS_DIR, SectionFile, iter_sections
from tests.httpserver import ServedDir

pytestmark = pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="needs ffmpeg")

DURATION = 40.0
FPS = 25
BITS = 10
MASTER = "hls/master.m3u8"
# Variants in the order of -var_stream_map: too small for a proxy, the proxy, the full quality.
SIZES = ((256, 144), (320, 180), (1280, 720))


def local_settings(**fetch_overrides):
    """Settings that let fetch reach the test server on 127.0.0.1."""
    return load_settings(fetch={"allow_private_networks": True, **fetch_overrides})


def _ffmpeg(*args: str) -> None:
    subprocess.run(["ffmpeg", "-v", "error", "-y", *args], check=True)


@pytest.fixture(scope="module")
def media(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hls/: a master playlist with 144p, 180p and 720p video variants and one audio rendition
    (keyframes every 2 s, segments of 4 s); full.mp4: the 720p video with audio in one file."""
    root = tmp_path_factory.mktemp("proxy_media")
    stripes = (f"nullsrc=s=160x90:r={FPS}:d={DURATION},format=yuv420p,"
               f"geq=lum='255*mod(floor(N/pow(2,floor(X*{BITS}/W))),2)':cb=128:cr=128")
    scales = ";".join(f"[s{i}]scale={w}:{h}:flags=neighbor[v{i}]" for i, (w, h) in enumerate(SIZES))
    (root / "hls").mkdir()
    _ffmpeg("-f", "lavfi", "-i", stripes, "-f", "lavfi", "-i", f"sine=frequency=440:d={DURATION}",
            "-filter_complex", f"[0:v]split=3[s0][s1][s2];{scales}",
            "-map", "[v0]", "-map", "[v1]", "-map", "[v2]", "-map", "1:a",
            "-c:v", "libx264", "-preset", "ultrafast", "-g", "50", "-keyint_min", "50",
            "-sc_threshold", "0", "-b:v:0", "100k", "-b:v:1", "200k", "-b:v:2", "1500k",
            "-c:a", "aac", "-b:a", "64k",
            "-f", "hls", "-hls_time", "4", "-hls_playlist_type", "vod",
            "-master_pl_name", "master.m3u8", "-hls_segment_filename", str(root / "hls/v%v_%d.ts"),
            "-var_stream_map", "v:0,agroup:aud v:1,agroup:aud v:2,agroup:aud a:0,agroup:aud",
            str(root / "hls/v%v.m3u8"))
    _ffmpeg("-i", str(root / "hls/v2.m3u8"), "-i", str(root / "hls/v3.m3u8"), "-map", "0:v",
            "-map", "1:a", "-c", "copy", "-movflags", "+faststart", str(root / "full.mp4"))
    return root


@pytest.fixture(scope="module")
def proxy_source(server: ServedDir, tmp_path_factory) -> Source:
    job_dir = tmp_path_factory.mktemp("proxy_job")
    return fetch(f"{server}/{MASTER}", job_dir, local_settings())


def _frames(path: Path) -> list[tuple[float, int]]:
    """(file time, the frame number its stripes show) of every frame of `path`, as read."""
    times = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "frame=best_effort_timestamp_time", "-of", "csv=p=0", str(path)],
        capture_output=True, text=True, check=True).stdout.split()
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", str(path), "-an", "-fps_mode", "passthrough",
         "-vf", f"scale={BITS}:1:flags=area,format=gray", "-f", "rawvideo", "-"],
        capture_output=True, check=True).stdout
    grey = np.frombuffer(raw, np.uint8).reshape(-1, BITS)
    assert len(grey) == len(times)
    weights = 1 << np.arange(BITS)
    return [(float(t.strip(",")), int(((row > 128) * weights).sum()))
            for t, row in zip(times, grey)]


def _frame_at(frames: list[tuple[float, int]], file_time: float) -> int:
    """The number of the frame shown at `file_time` (the last one that starts by then)."""
    shown = [number for t, number in frames if t <= file_time + 1e-6]
    assert shown, f"no frame shown by {file_time}"
    return shown[-1]


def _assert_stream_time_maps(section: SectionFile, stream_times: list[float]) -> None:
    """The frame at stream time T is the file's frame at T - offset_s: exactly that frame
    number, so neither a neighbour nor a frame a keyframe away."""
    frames = _frames(section.path)
    for stream_time in stream_times:
        expected = int(stream_time * FPS)
        assert _frame_at(frames, section.file_time(stream_time)) == expected, (
            f"stream time {stream_time}: offset {section.offset_s}")


def _sections_in(job_dir: Path) -> list[str]:
    folder = job_dir / SECTIONS_DIR
    return sorted(p.name for p in folder.glob("*.mp4")) if folder.is_dir() else []


# ---------------------------------------------------------------------------- proxy choice


def test_stripes_read_back_as_frame_numbers(media):
    frames = _frames(media / "full.mp4")
    assert [n for _, n in frames[:60]] == list(range(60))
    assert _frame_at(frames, 12.3) == 307


def test_hls_proxy_is_the_smallest_variant_of_at_least_160p_with_audio(base, tmp_path):
    src = fetch(f"{base}/{MASTER}", tmp_path, local_settings())

    info = probe(src.path)
    assert (info.width, info.height) == (320, 180) and info.has_audio
    assert info.duration == pytest.approx(DURATION, abs=0.3)
    assert src.is_proxy and src.render_url == f"{base}/{MASTER}"
    assert base.log.gets("/v1_0.ts") and base.log.gets("/v3_0.ts")
    assert not base.log.gets("/v0_0.ts") and not base.log.gets("/v2_0.ts")
    video_id, audio_id = src.render_format.split("+")
    assert video_id != audio_id
    record = json.loads((tmp_path / "fetch.json").read_text())
    assert record["is_proxy"] and record["render_format"] == src.render_format

    again = fetch(f"{base}/{MASTER}", tmp_path, local_settings())
    assert again == src


def test_proxy_min_height_is_a_setting(base, tmp_path):
    src = fetch(f"{base}/{MASTER}", tmp_path, local_settings(proxy_min_height=100))
    assert probe(src.path).height == 144 and src.is_proxy


def test_render_max_height_limits_the_full_quality_choice(base, tmp_path):
    src = fetch(f"{base}/{MASTER}", tmp_path,
                local_settings(render_max_height=480, proxy_min_height=144))
    # 144p is the proxy; the largest variant up to 480p is 180p, so sections come from 180p.
    assert probe(src.path).height == 144
    assert src.is_proxy
    windows = list(iter_sections(src, [(10.0, 11.0)], tmp_path,
                                 local_settings(render_max_height=480)))
    assert windows[0][1].height == 180


def test_direct_mp4_is_the_file_and_no_proxy(base, tmp_path):
    src = fetch(f"{base}/full.mp4", tmp_path, local_settings())

    assert not src.is_proxy and src.render_url is None and src.render_format is None
    assert probe(src.path).height == 720


def test_proxy_off_downloads_with_the_analysis_format(base, tmp_path):
    src = fetch(f"{base}/{MASTER}", tmp_path, local_settings(analysis_proxy=False))
    assert not src.is_proxy and probe(src.path).height == 180   # fetch.format: up to 480p


def test_local_file_is_no_proxy_and_its_sections_are_the_file(media, tmp_path):
    src = fetch(str(media / "full.mp4"), tmp_path, local_settings())
    assert not src.is_proxy and not src.is_remote

    sections = list(iter_sections(src, [(5.0, 8.0), (20.0, 22.0)], tmp_path, local_settings()))
    assert [i for i, _ in sections] == [0, 1]
    assert all(s.path == src.path and s.offset_s == 0.0 for _, s in sections)
    assert (sections[0][1].start_s, sections[0][1].end_s) == (3.0, 10.0)
    assert _sections_in(tmp_path) == []


# ---------------------------------------------------------------------------- sections


def test_hls_sections_map_stream_time_to_file_time(proxy_source, tmp_path, base):
    windows = [(11.0, 14.0), (25.3, 27.1)]
    sections = list(iter_sections(proxy_source, windows, tmp_path, local_settings()))

    assert [i for i, _ in sections] == [0, 1]
    first, second = sections[0][1], sections[1][1]
    assert (first.start_s, first.end_s) == (9.0, 16.0)
    assert (second.start_s, second.end_s) == (23.3, 29.1)
    for section in (first, second):
        assert (section.width, section.height) == (1280, 720)
        assert section.path.parent == tmp_path / SECTIONS_DIR
        assert probe(section.path).has_audio
    # Off keyframes (every 2 s), each in the middle of a frame (frames last 0.04 s).
    _assert_stream_time_maps(first, [9.5, 12.3, 15.14])
    _assert_stream_time_maps(second, [23.38, 26.1, 28.9])
    assert base.log.gets("/v2_3.ts") and not base.log.gets("/v1_3.ts")


def test_direct_mp4_sections_map_stream_time_to_file_time(base, media, tmp_path, capfd):
    # A proxy whose full quality is one direct file: ffmpeg reads only the ranges it needs.
    src = Source(original=f"{base}/full.mp4", path=media / "full.mp4", title="full",
                 is_remote=True, is_proxy=True, render_url=f"{base}/full.mp4")
    sections = list(iter_sections(src, [(17.15, 19.0)], tmp_path, local_settings()))

    assert capfd.readouterr() == ("", "")   # yt-dlp and ffmpeg keep quiet
    section = sections[0][1]
    assert (section.start_s, section.end_s) == (15.15, 21.0)
    _assert_stream_time_maps(section, [15.26, 17.1, 20.9])
    assert probe(section.path).duration < 10


def test_sections_are_reused(proxy_source, tmp_path, base):
    windows = [(30.0, 31.0)]
    first = list(iter_sections(proxy_source, windows, tmp_path, local_settings()))
    base.log.clear()

    again = list(iter_sections(proxy_source, windows, tmp_path, local_settings()))

    assert again == first
    assert base.log.entries == []
    assert len(_sections_in(tmp_path)) == 1


def test_a_window_past_the_end_is_clamped(proxy_source, tmp_path):
    [(_, section)] = iter_sections(proxy_source, [(37.0, 45.0)], tmp_path, local_settings())

    assert section.start_s == 35.0
    assert section.end_s == pytest.approx(DURATION, abs=0.1)
    _assert_stream_time_maps(section, [35.5, 39.5])
    with pytest.raises(ValueError):
        list(iter_sections(proxy_source, [(50.0, 55.0)], tmp_path, local_settings()))


def test_sections_are_yielded_as_each_one_lands(proxy_source, tmp_path):
    sections = iter_sections(proxy_source, [(5.0, 6.0), (20.0, 21.0)], tmp_path, local_settings())

    index, first = next(sections)
    assert index == 0 and first.path.is_file()
    assert _sections_in(tmp_path) == [first.path.name]   # the second is not downloaded yet
    index, _ = next(sections)
    assert index == 1 and len(_sections_in(tmp_path)) == 2
    assert next(sections, None) is None


def test_sections_over_the_size_limit_are_refused_before_downloading(proxy_source, tmp_path,
                                                                      base):
    small = load_settings(fetch={"allow_private_networks": True},
                          limits={"max_filesize_mb": 0.5})
    with pytest.raises(TooLargeError) as err:
        next(iter_sections(proxy_source, [(5.0, 15.0), (20.0, 30.0)], tmp_path, small))
    assert "size limit" in err.value.user_message
    assert not base.log.gets(".ts") and _sections_in(tmp_path) == []


# ---------------------------------------------------------------------------- whole job


@pytest.mark.slow
def test_a_remote_job_is_analysed_on_the_proxy_and_rendered_from_exact_full_quality_sections(base, tmp_path):
    from pipeline.jobs.runner import run_job
    from pipeline.media.render.job import RenderOptions

    settings = load_settings(fetch={"allow_private_networks": True},
                             scoring={"top_k": 2, "min_clip_s": 8, "target_clip_s": 10, "max_clip_s": 12})
    opts = RenderOptions.from_settings(settings, layout="blur_fit", subtitles=False)
    report = run_job(f"{base}/{MASTER}", settings, tmp_path, render=opts)
    assert (report["media"]["width"], report["media"]["height"]) == SIZES[1], "analysed on the 180p proxy"
    assert report["clips"]
    job_dir = tmp_path / report["job_id"]
    assert len(_sections_in(job_dir)) == len(report["clips"])
    for clip in report["clips"]:
        assert clip["source_size"] == list(SIZES[2]), "rendered from the 720p sections"
        # blur_fit puts the whole picture across the middle of the 1080x1920 frame: read its stripes
        raw = subprocess.run(
            ["ffmpeg", "-v", "error", "-i", str(job_dir / clip["file"]), "-an", "-vf",
             f"crop=1080:2:0:959,scale={BITS}:1:flags=area,format=gray", "-f", "rawvideo", "-"],
            capture_output=True, check=True).stdout
        rows = np.frombuffer(raw, np.uint8).reshape(-1, BITS)
        shown = int(((rows[0] > 128) * (1 << np.arange(BITS))).sum())
        assert abs(shown - clip["start"] * FPS) <= 1.0, (shown, clip["start"])
