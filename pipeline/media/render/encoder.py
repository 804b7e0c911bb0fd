"""Which H.264 encoder to use, and settings that keep a clip under the size cap.

Debian's ffmpeg lists h264_nvenc even on a machine without an NVIDIA GPU, and datacenter
GPUs (H100, H200) have none: only a real one-frame test encode tells."""

from __future__ import annotations

import functools
import subprocess

from pipeline.media.config import QualityLevel, RenderSettings

CONTAINER_MARGIN = 0.92   # mp4 overhead and VBV overshoot
MAX_VIDEO_KBPS = 12000    # enough for 1080x1920 at 30 fps; short clips need no more


@functools.lru_cache(maxsize=1)
def nvenc_works() -> bool:
    cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-f", "lavfi",
           "-i", "color=c=black:s=256x256:r=30:d=0.1", "-frames:v", "1", "-c:v", "h264_nvenc",
           "-f", "null", "-"]
    try:
        return subprocess.run(cmd, capture_output=True, timeout=30).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def choose_encoder(preference: str) -> str:
    if preference == "auto":
        return "h264_nvenc" if nvenc_works() else "libx264"
    return preference


def video_kbps_cap(cfg: RenderSettings, duration: float) -> int:
    """The video bitrate that keeps `duration` seconds (plus audio) under cfg.max_size_mb."""
    budget_kbits = cfg.max_size_mb * 1024 * 1024 * 8 / 1000 * CONTAINER_MARGIN
    kbps = budget_kbits / max(duration, 1.0) - cfg.audio_bitrate_k
    return int(max(300, min(MAX_VIDEO_KBPS, kbps)))


def video_args(encoder: str, cfg: RenderSettings, duration: float, threads: int,
               scale: float = 1.0) -> list[str]:
    """Quality-targeted encoding at the chosen quality level, with a bitrate ceiling: CRF
    alone can overshoot the cap."""
    level = cfg.qualities.get(cfg.quality, QualityLevel())
    cap = int(video_kbps_cap(cfg, duration) * scale)
    common = ["-maxrate", f"{cap}k", "-bufsize", f"{cap}k", "-pix_fmt", "yuv420p", "-g", "60"]
    if encoder == "h264_nvenc":
        return ["-c:v", "h264_nvenc", "-preset", level.nvenc_preset, "-rc", "vbr", "-cq", str(level.nvenc_cq),
                "-b:v", "0", *common]
    tune = ["-tune", level.x264_tune] if level.x264_tune else []
    tune += ["-x264-params", level.x264_params] if level.x264_params else []
    return ["-c:v", "libx264", "-preset", level.x264_preset, *tune, "-crf", str(level.crf),
            "-profile:v", "high", "-threads", str(threads), *common]


def as_options(args: list[str]) -> dict[str, str]:
    """`["-c:v", "libx264", ...]` as ffmpeg-python output options (every argument is a pair)."""
    return {flag.lstrip("-"): value for flag, value in zip(args[::2], args[1::2], strict=True)}
