"""The facecam overlay is found on real webcam recordings composited over gameplay."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import ffmpeg

from pipeline.models import Box
from pipeline.probe import probe
from pipeline.render.facecam import detect_facecam, face_track

GAMEPLAY = "testsrc2=size={w}x{h}:rate=30:duration=16,hue=H=t"


def composite(tmp: Path, face: Path, size: tuple[int, int], box: Box, name: str) -> Path:
    out = tmp / name
    ffmpeg("-f", "lavfi", "-i", GAMEPLAY.format(w=size[0], h=size[1]), "-i", str(face),
           "-filter_complex", f"[1:v]scale={box.w}:{box.h}[cam];[0:v][cam]overlay={box.x}:{box.y}:shortest=1",
           "-t", "16", "-an", "-c:v", "libx264", "-preset", "ultrafast", str(out))
    return out


@pytest.mark.parametrize("face, size, box", [
    ("face_talking_1.mp4", (1280, 720), Box(900, 40, 340, 340)),        # top right, with a margin
    ("face_webcam_2.mp4", (1920, 1080), Box(0, 600, 512, 480)),         # bottom left, on the edges
    ("face_talking_1.mp4", (1920, 1080), Box(60, 60, 420, 420)),        # top left, larger
])
def test_facecam_found_with_iou_at_least_0_7(shared_media, tmp_path, face, size, box):
    media = composite(tmp_path, shared_media / face, size, box, "stream.mp4")
    found = detect_facecam(media, probe(media))
    assert found is not None
    assert found.iou(box) >= 0.7, (found, box, found.iou(box))


def test_no_face_means_no_facecam(tmp_path):
    media = tmp_path / "gameplay.mp4"
    ffmpeg("-f", "lavfi", "-i", GAMEPLAY.format(w=1280, h=720), "-t", "8", "-c:v", "libx264",
           "-preset", "ultrafast", str(media))
    assert detect_facecam(media, probe(media), samples=8) is None


def test_face_track_follows_the_face(shared_media):
    media = shared_media / "face_talking_1.mp4"
    info = probe(media)
    track = face_track(media, 5.0, 9.0, info, fps=2.0)
    assert [round(t, 2) for t, _ in track] == [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0, 3.5]
    xs = [x for _, x in track if x is not None]
    assert len(xs) >= 6
    assert all(150 < x < 330 for x in xs), xs
