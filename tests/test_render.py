"""Rendered clips: size, codecs, duration, loudness, size cap, subtitles, layouts, exports."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.models import MediaInfo, Moment
from pipeline.media.probe import probe
from pipeline.media.render.encoder import choose_encoder, video_kbps_cap
from pipeline.media.render.job import ClipSource, RenderOptions, render_moments
from pipeline.media.render.subtitles import build_ass, clean
from pipeline.media.render.tracking import crop_x_expr, motion_track, smooth_positions
from tests.helpers import ffmpeg, only_report, run_cli


def streams(path: Path) -> dict:
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams",
                          "-show_format", str(path)], capture_output=True, text=True, check=True).stdout
    return json.loads(out)


def integrated_lufs(path: Path) -> float:
    err = subprocess.run(["ffmpeg", "-nostdin", "-hide_banner", "-nostats", "-i", str(path), "-map", "0:a",
                          "-af", "ebur128", "-f", "null", "-"], capture_output=True, text=True).stderr
    return float(re.findall(r"I:\s+(-?[\d.]+) LUFS", err)[-1])


def frame_at(path: Path, t: float, size: tuple[int, int] = (1080, 1920)) -> np.ndarray:
    raw = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-ss", f"{t:.3f}", "-i", str(path),
                          "-frames:v", "1", "-f", "rawvideo", "-pix_fmt", "gray", "-"],
                         capture_output=True, check=True).stdout
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0]).astype(np.int16)


def check_clip(path: Path, size: tuple[int, int], duration: float, cap_mb: float) -> None:
    info = streams(path)
    video = next(s for s in info["streams"] if s["codec_type"] == "video")
    audio = next(s for s in info["streams"] if s["codec_type"] == "audio")
    assert (video["width"], video["height"]) == size
    assert video["codec_name"] == "h264" and audio["codec_name"] == "aac"
    assert abs(float(info["format"]["duration"]) - duration) <= 0.2
    assert path.stat().st_size <= cap_mb * 1024 * 1024


@pytest.fixture(scope="module")
def job(analysed_sample) -> tuple[Path, dict]:
    report = only_report(analysed_sample)
    return analysed_sample / report["job_id"], report


@pytest.mark.slow
def test_process_renders_every_moment_within_spec(job):
    job_dir, report = job
    settings = load_settings()
    assert report["render"]["layout"] == "facecam_top"
    assert report["facecam"] is None and report["faces"] == 0, "the sample has no face"
    assert any("fell back to blur_fit" in n for n in report["render"]["notes"])
    assert report["render"]["encoder"] == choose_encoder("auto")
    for clip in report["clips"]:
        path = job_dir / clip["file"]
        check_clip(path, (1080, 1920), clip["end"] - clip["start"], settings.render.max_size_mb)
        assert abs(integrated_lufs(path) - settings.render.loudness_lufs) <= 1.5
        thumb = job_dir / clip["thumbnail"]
        assert thumb.exists() and probe(thumb).width == settings.render.thumbnail_width


@pytest.mark.slow
def test_render_again_with_another_layout_reuses_the_analysis(job, analysed_sample):
    job_dir, report = job
    before = {p.name: p.stat().st_mtime_ns for p in job_dir.glob("*.done.json") if p.name != "render.done.json"}
    proc = run_cli("render", report["job_id"], "--out", str(analysed_sample), "--layout", "gameplay",
                   "--export", "1:1", "--style", "boxed")
    assert proc.returncode == 0, proc.stderr
    after = {p.name: p.stat().st_mtime_ns for p in job_dir.glob("*.done.json") if p.name != "render.done.json"}
    assert before == after, "no analysis stage ran again"
    again = only_report(analysed_sample)
    assert again["render"]["layout"] == "gameplay" and again["render"]["export"] == "1:1"
    assert [c["start"] for c in again["clips"]] == [c["start"] for c in report["clips"]]
    for clip in again["clips"]:
        check_clip(job_dir / clip["file"], (1080, 1080), clip["end"] - clip["start"], 49)


@pytest.mark.slow
def test_unknown_layout_is_refused_by_name(job, analysed_sample):
    _, report = job
    proc = run_cli("render", report["job_id"], "--out", str(analysed_sample), "--layout", "diagonal")
    assert proc.returncode == 2
    assert "diagonal" in proc.stderr and "talking_head" in proc.stderr


@pytest.fixture(scope="module")
def short_job(sample_stream, tmp_path_factory):
    """One calm 15 s moment of the sample, with its transcript, for direct render calls."""
    from pipeline.media.asr import transcribe
    from pipeline.media.audio_decode import decode_audio

    job_dir = tmp_path_factory.mktemp("short")
    info = probe(sample_stream)
    raw = job_dir / "audio.f32"
    decode_audio(sample_stream, raw, 16000)
    transcript = transcribe(raw, info.duration, load_settings())
    moment = {"rank": 1, "start": 30.0, "end": 45.0, "score": 40.0, "peak": 35.0}
    return {"dir": job_dir, "media": sample_stream, "info": info, "words": transcript.words,
            "moment": moment}


def render_short(short_job, settings, moment: dict | None = None, **opts) -> tuple[Path, dict, dict]:
    options = RenderOptions.from_settings(settings, **opts)
    clips, summary = render_moments(short_job["dir"], short_job["media"], short_job["info"],
                                    [Moment.from_dict(moment or short_job["moment"])], short_job["words"],
                                    settings, options, "k")
    return short_job["dir"] / clips[0].file, clips[0].to_dict(), summary


@pytest.mark.slow
@pytest.mark.parametrize("export", ["9:16", "1:1", "4:5", "16:9"])
def test_export_presets(short_job, export):
    settings = load_settings()
    path, _, summary = render_short(short_job, settings, export=export, layout="blur_fit")
    assert summary["export"] == export
    check_clip(path, settings.exports[export], 15.0, settings.render.max_size_mb)


@pytest.mark.slow
def test_subtitles_are_burned_in_where_the_layout_puts_them(short_job):
    settings = load_settings()
    words = [w for w in short_job["words"] if 30.5 < w.start < 44]
    assert words, "the calm talk is transcribed"
    t = (words[0].start + words[0].end) / 2 - 30.0
    with_subs, _, _ = render_short(short_job, settings, layout="blur_fit", subtitles=True)
    on = frame_at(with_subs, t)
    off_path, _, _ = render_short(short_job, settings, layout="blur_fit", subtitles=False)
    off = frame_at(off_path, t)
    diff = np.abs(on - off)
    y = int(1920 * settings.layouts["blur_fit"].subtitle_y)
    band = diff[y - 100:y + 100, 100:980]
    assert (band > 60).mean() > 0.02, "subtitle text changes the subtitle area"
    assert (diff[200:600] > 60).mean() < 0.01, "and nothing far from it"


@pytest.mark.slow
def test_facecam_top_uses_the_configured_rectangle(short_job):
    settings = load_settings(render={"facecam": {"x": 0, "y": 0, "w": 320, "h": 180}})
    path, clip, summary = render_short(short_job, settings, layout="facecam_top")
    assert summary["facecam"] == {"x": 0, "y": 0, "w": 320, "h": 180}
    assert clip["layout"] == "facecam_top" and not summary["notes"]
    check_clip(path, (1080, 1920), 15.0, settings.render.max_size_mb)


@pytest.mark.slow
def test_size_cap_holds_for_incompressible_video(short_job):
    settings = load_settings(render={"max_size_mb": 3})
    hype = {"rank": 1, "start": 99.0, "end": 114.0, "score": 80.0, "peak": 104.0}
    path, clip, _ = render_short(short_job, settings, hype, layout="gameplay", subtitles=False)
    assert path.stat().st_size <= 3 * 1024 * 1024
    assert clip["size_bytes"] == path.stat().st_size


def _ass_seconds(stamp: str) -> float:
    h, m, s = stamp.split(":")
    return int(h) * 3600 + int(m) * 60 + float(s)


def test_ass_words_and_times_match_the_transcript():
    from pipeline.media.models import Word

    settings = load_settings()
    words = [Word(10.0 + 0.5 * i, 10.3 + 0.5 * i, w) for i, w in
             enumerate(["that", "was", "insane", "no", "way", "let's", "go", "what", "just", "happened"])]
    words += [Word(20.0, 20.4, "Вот"), Word(20.5, 20.9, "это"), Word(21.0, 21.6, "красиво!")]
    style = settings.subtitle_styles["highlight"]
    doc = build_ass(words, 9.0, 25.0, style, "DejaVu Sans", (1080, 1920), (540, 1300))
    lit = []
    for line in (x for x in doc.splitlines() if x.startswith("Dialogue:")):
        fields = line.split(",", 9)
        text = fields[9]
        word = re.search(r"\\c&H[0-9A-F]{6}&[^}]*\}([^{]+)\{\\r\}", text).group(1)
        lit.append((word, _ass_seconds(fields[1])))
        rows = re.sub(r"\{[^}]*\}", "", text).split("\\N")
        assert len(rows) <= 2 and all(len(r) <= style.max_chars_per_line for r in rows)
    assert [w for w, _ in lit] == [clean(w.text) for w in words]
    assert all(abs(t - (w.start - 9.0)) < 0.011 for (_, t), w in zip(lit, words))
    assert "Style: Default,DejaVu Sans" in doc and "PlayResY: 1920" in doc


def test_encoder_probe_is_honest(tmp_path):
    assert choose_encoder("libx264") == "libx264"
    # What "auto" picks must match what this machine really does: encode a second of another
    # picture to a file with h264_nvenc and read back what came out.
    clip = tmp_path / "nvenc.mp4"
    encode = subprocess.run(["ffmpeg", "-nostdin", "-v", "error", "-f", "lavfi",
                             "-i", "testsrc2=size=640x360:rate=30:duration=1", "-c:v", "h264_nvenc",
                             str(clip)], capture_output=True, text=True, timeout=120)
    encoded = encode.returncode == 0 and clip.exists() and clip.stat().st_size > 0
    if encoded:
        video = streams(clip)["streams"][0]
        assert (video["codec_name"], video["width"], video["height"]) == ("h264", 640, 360)
    assert choose_encoder("auto") == ("h264_nvenc" if encoded else "libx264"), encode.stderr
    cfg = load_settings().render
    kbps = video_kbps_cap(cfg, 60)
    assert (kbps + cfg.audio_bitrate_k) * 1000 * 60 / 8 <= cfg.max_size_mb * 1024 * 1024


def test_gameplay_crop_follows_the_action(tmp_path):
    media = tmp_path / "square.mp4"
    # A bright square sweeping left to right over 10 s on a dark, still background.
    ffmpeg("-f", "lavfi", "-i", "color=c=black:size=1280x720:rate=30:duration=10",
           "-f", "lavfi", "-i", "color=c=white:size=120x120:rate=30:duration=10",
           "-filter_complex", "[0:v][1:v]overlay=x='40+t*110':y=300",
           "-c:v", "libx264", "-preset", "ultrafast", str(media))
    info = MediaInfo(duration=10, has_audio=False, has_video=True, width=1280, height=720)
    track = motion_track(media, 0.0, 10.0, info)
    xs = [x for _, x in track if x is not None]
    assert len(xs) > 20 and xs[-1] > xs[0] + 600
    points = smooth_positions(track, 640, 2.0, duration=10.0)
    assert all(b[1] >= a[1] - 1 for a, b in zip(points, points[1:])), "smooth, no jitter back"
    expr = crop_x_expr(points, 404, 1280)
    assert expr.count("if(") == len(points) - 1


class Recorder:
    """An observer that notes each finished clip."""

    def __init__(self) -> None:
        self.clips: list[dict] = []
        self.first = threading.Event()

    def stage_progress(self, stage, fraction, note=""):
        pass

    def stage_done(self, stage, seconds, cached):
        pass

    def clip_done(self, clip):
        self.clips.append(clip)
        self.first.set()


@pytest.mark.slow
def test_first_clip_renders_and_is_announced_while_the_next_is_still_being_fetched(short_job):
    settings = load_settings(render={"parallel": 1})
    moments = [Moment.from_dict({"rank": r, "start": s, "end": s + 6.0, "score": 50.0 - r})
               for r, s in ((1, 30.0), (2, 60.0))]
    rec = Recorder()
    waited: list[bool] = []

    def sources():
        yield 0, ClipSource(short_job["media"], short_job["info"])
        waited.append(rec.first.wait(timeout=120))  # the second section "downloads" until clip 1 is out
        yield 1, ClipSource(short_job["media"], short_job["info"])

    job_dir = short_job["dir"] / "overlap"
    job_dir.mkdir()
    clips, _ = render_moments(job_dir, short_job["media"], short_job["info"], moments, short_job["words"],
                              settings, RenderOptions.from_settings(settings, layout="blur_fit"), "overlap",
                              rec, sources())
    assert waited == [True], "clip 1 was not finished before clip 2's media arrived"
    assert [c["rank"] for c in rec.clips] == [1, 2]
    assert [c.file for c in clips] == ["clip_01.mp4", "clip_02.mp4"]


@pytest.mark.slow
def test_a_section_with_an_offset_renders_the_same_moment(short_job, tmp_path):
    settings = load_settings()
    section = tmp_path / "section.mp4"
    ffmpeg("-ss", "25", "-i", str(short_job["media"]), "-t", "25", "-c:v", "libx264", "-preset", "ultrafast",
           "-c:a", "aac", str(section))
    info = probe(section)
    moment = {"rank": 1, "start": 30.0, "end": 36.0, "score": 50.0, "peak": 33.0}
    opts = RenderOptions.from_settings(settings, layout="blur_fit", subtitles=False)
    frames = {}
    for name, src in (("whole", ClipSource(short_job["media"], short_job["info"])),
                      ("section", ClipSource(section, info, offset=25.0))):
        job_dir = tmp_path / name
        job_dir.mkdir()
        clips, _ = render_moments(job_dir, short_job["media"], short_job["info"], [Moment.from_dict(moment)], [],
                                  settings, opts, name, None, iter([(0, src)]))
        check_clip(job_dir / clips[0].file, (1080, 1920), 6.0, settings.render.max_size_mb)
        frames[name] = [frame_at(job_dir / clips[0].file, t) for t in (1.0, 4.0)]
    same = np.abs(frames["whole"][0] - frames["section"][0]).mean()
    apart = np.abs(frames["whole"][0] - frames["whole"][1]).mean()
    assert same < apart / 3, (same, apart)


def _branded(short_job, tmp_settings: dict, moment_kit: dict | None, layout: str = "blur_fit") -> Path:
    # Near-lossless encodes, so that the two renders differ only where the picture does.
    settings = load_settings(render={"quality": "exact", "qualities": {"exact": {"x264_preset": "ultrafast", "crf": 8}},
                                     "max_size_mb": 400}, **tmp_settings)
    moment = {**short_job["moment"], "post_kit": moment_kit}
    path, _, _ = render_short(short_job, settings, moment, layout=layout, subtitles=True)
    keep = path.with_name(f"{path.stem}_{len(list(path.parent.glob('*_kept.mp4')))}_kept.mp4")
    path.rename(keep)
    return keep


KIT = {"title": "The goalkeeper slipped on the frozen pitch", "description": "", "hashtags": []}


@pytest.mark.slow
def test_the_hook_changes_only_its_band_and_only_in_its_seconds(short_job):
    from pipeline.media.render import layouts
    from pipeline.media.render.brand import HOOK_BAND_SHARE

    settings = load_settings()
    hook_y = layouts.blur_fit(settings.layouts["blur_fit"], (1080, 1920)).hook_pos[1]
    half = int(1920 * HOOK_BAND_SHARE / 2)
    hooked = _branded(short_job, {"brand": {"hook": True, "hook_s": 2.5}}, KIT)
    plain = _branded(short_job, {"brand": {"hook": False}}, KIT)
    during = np.abs(frame_at(hooked, 1.0) - frame_at(plain, 1.0)) > 40
    rows = np.nonzero(during.any(axis=1))[0]
    inside = during[hook_y - half:hook_y + half]
    assert inside.mean() > 0.05, "the hook is drawn in its band"
    assert during.sum() - inside.sum() <= 0.001 * during.size, (rows.min(), rows.max())
    after = np.abs(frame_at(hooked, 4.0) - frame_at(plain, 4.0)) > 40
    assert after.mean() < 0.0005, "after its seconds the hook leaves no trace"


@pytest.mark.slow
def test_an_image_watermark_sits_in_the_template_s_corner(short_job, tmp_path):
    logo = tmp_path / "logo.png"
    ffmpeg("-f", "lavfi", "-i", "color=c=red:s=200x80:d=1", "-frames:v", "1", str(logo))
    brand = {"hook": False, "watermark_image": str(logo), "watermark_position": "bottom_left",
             "watermark_size": 0.2, "watermark_opacity": 1.0}
    plain = _branded(short_job, {}, None)
    from pipeline.media.options import JobOptions, apply_options

    settings = load_settings(render={"quality": "exact", "qualities": {"exact": {"x264_preset": "ultrafast",
                                                                                   "crf": 8}},
                                     "max_size_mb": 400}, templates={"mine": {"brand": brand}})
    job_settings, options = apply_options(settings, JobOptions(template="mine", layout="blur_fit", subtitles=True))
    assert options is not None
    clips, summary = render_moments(short_job["dir"], short_job["media"], short_job["info"],
                                    [Moment.from_dict(short_job["moment"])], short_job["words"], job_settings,
                                    options, "k")
    assert summary["watermark"] == str(logo.resolve())
    marked = short_job["dir"] / clips[0].file
    t = 3.0
    diff = np.abs(frame_at(marked, t) - frame_at(plain, t)) > 40
    rows, cols = np.nonzero(diff)
    assert diff.sum() > 0.5 * 216 * 86, "the logo (216 px wide, red) is drawn"
    assert rows.min() > 1920 * 0.85 and cols.max() < 1080 * 0.35, (rows.min(), cols.max())
