"""The active speaker and the duo layout.

Who speaks is planted (tests/faces_media.py), two people side by side talking in turn, the
listener still: real talking-head clips from ../shared/media with their own sound (skipped
without the folder), and drawn faces voiced by espeak-ng whose mouths open with their words
(always). The turns' times are the truth. The speaker path is also checked on planted
evidence."""

from __future__ import annotations

from pathlib import Path

import ffmpeg
import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.probe import probe
from pipeline.media.render.job import RenderOptions, _plan
from pipeline.media.render.speakers import MIN_HOLD_S, analyse, choose_speaker
from tests.faces_media import drawn_talk, talking_in_turn

RED, BLUE = (200, 30, 30), (30, 40, 200)
# (person, from, to) in the person's clip: real_face_3 talks, then real_face_2, then real_face_3
TURNS = [(0, 0.0, 2.5), (1, 0.25, 3.75), (0, 2.5, 5.0)]
CHANGES = [2.5, 6.0]
LINES = [(0, "We streamed the whole night and the boss finally fell over."),
         (1, "Honestly I thought we would never see the ending of that level."),
         (0, "Next week we try the hard mode with no healing at all.")]


def test_speaker_path_holds_and_ignores_a_cough():
    """Face 0 talks for 4 s, face 1 for 5 s; face 0 coughs 0.4 s into face 1's turn and
    face 1 murmurs 0.6 s in a silence of face 0's: one switch, at 4 s."""
    fps = 10
    ev = np.zeros((2, 90))
    ev[0, :40] = 0.8 + 0.2 * np.sin(np.arange(40))
    ev[1, 40:] = 0.7 + 0.3 * np.cos(np.arange(50))
    ev[0, 60:64] = 1.0
    ev[0, 20:26] = 0.0
    ev[1, 20:26] = 0.6
    path = choose_speaker(ev, fps)
    switches = [i for i in range(1, len(path)) if path[i] != path[i - 1]]
    assert switches == [40], path
    assert path[0] == 0 and path[-1] == 1


def test_every_hold_after_a_switch_lasts_the_minimum():
    """Evidence that alternates every second: the path may not follow it faster than the
    minimum hold."""
    fps = 10
    t = np.arange(120)
    ev = np.stack([(t // 10) % 2 == 0, (t // 10) % 2 == 1]).astype(float)
    path = choose_speaker(ev, fps)
    runs, start = [], 0
    for i in range(1, len(path) + 1):
        if i == len(path) or path[i] != path[i - 1]:
            runs.append(i - start)
            start = i
    assert all(r >= MIN_HOLD_S * fps for r in runs[1:]), runs


@pytest.fixture(scope="module", params=["drawn", pytest.param("real", marks=pytest.mark.slow)])
def talk(request, tmp_path_factory) -> tuple[Path, list[int], list[float]]:
    """(media, who talks in each turn, times where the turn changes); the left person over
    red, the right one over blue."""
    folder = tmp_path_factory.mktemp("speakers")
    if request.param == "drawn":
        media, changes = drawn_talk(folder / "drawn.mp4", LINES, folder, tints=(RED[::-1], BLUE[::-1]))
        return media, [who for who, _ in LINES], changes
    shared = request.getfixturevalue("shared_media")
    media = talking_in_turn(folder / "two.mp4", [shared / "real_face_3.mp4", shared / "real_face_2.mp4"], TURNS,
                            tints=["0x" + bytes(RED).hex(), "0x" + bytes(BLUE).hex()])
    return media, [who for who, _, _ in TURNS], CHANGES


def test_active_speaker_switches_with_each_turn(talk):
    media, speakers, changes = talk
    info = probe(media)
    scene = analyse(media, 0.0, info.duration, info)
    assert len(scene.tracks) == 2
    segments = scene.segments()
    assert [who for _, _, who in segments] == speakers, segments
    for (_, end, _), change in zip(segments, changes):
        assert abs(end - change) <= 0.5, (segments, changes)
    assert all(b - a >= MIN_HOLD_S for a, b, _ in segments[1:]), segments


def frame_at(plan, media: Path, t: float, size: tuple[int, int]) -> np.ndarray:
    """The plan's output frame at source time t (the crop's expressions see that t)."""
    graph = (plan.draw(ffmpeg.input(str(media)).video).filter("select", f"gte(t,{t})")
             .output("pipe:", format="rawvideo", pix_fmt="rgb24", vframes=1))
    raw = graph.run(capture_stdout=True, capture_stderr=True, cmd=["ffmpeg", "-nostdin"])[0]
    return np.frombuffer(raw, np.uint8).reshape(size[1], size[0], 3).astype(int)


def share(region: np.ndarray, colour: tuple[int, int, int]) -> float:
    return float((np.abs(region - np.array(colour)).max(axis=2) < 50).mean())


def plan_for(layout: str, media: Path):
    settings = load_settings()
    info = probe(media)
    return _plan(RenderOptions.from_settings(settings, layout=layout), settings, media, info, None,
                 0.0, info.duration), settings.exports["9:16"]


def test_talking_head_is_on_the_speaker(talk):
    """The 9:16 crop shows the red (left) side while the left person talks, the blue side
    while the right one does (a second into each turn)."""
    media, speakers, changes = talk
    plan, out = plan_for("talking_head", media)
    assert plan.layout_used == "talking_head"
    for t, who in zip([1.0] + [c + 1.0 for c in changes], speakers):
        colour, other = (RED, BLUE) if who == 0 else (BLUE, RED)
        frame = frame_at(plan, media, t, out)
        assert share(frame, colour) > 0.1 and share(frame, other) < 0.01, (t, share(frame, colour))


def test_duo_stacks_each_face_in_its_half(talk):
    """Top half: the left person (over red), bottom half: the right one (over blue; a window
    a few faces wide may take in a strip of the other side); each half holds one face, near
    its middle."""
    import cv2

    from pipeline.media.render.faces import detect

    media = talk[0]
    plan, (w, h) = plan_for("duo", media)
    assert plan.layout_used == "duo" and plan.subtitle_pos == (w // 2, h // 2)
    frame = frame_at(plan, media, 3.0, (w, h))
    top, bottom = frame[: h // 2], frame[h // 2:]
    assert share(top, RED) > 0.05 and share(top, BLUE) < share(top, RED) / 3
    assert share(bottom, BLUE) > 0.05 and share(bottom, RED) < share(bottom, BLUE) / 3
    for half in (top, bottom):      # looked at a third the size, as the render's analysis does
        small = cv2.resize(np.ascontiguousarray(half[..., ::-1].astype(np.uint8)), (w // 3, h // 6),
                           interpolation=cv2.INTER_AREA)
        faces = detect(small, min_size=20)
        assert len(faces) == 1, faces
        assert abs(faces[0].cx - w / 6) < w / 3 * 0.2 and abs(faces[0].cy - h / 12) < h / 6 * 0.15


def test_duo_button_only_for_a_stream_with_two_faces():
    from bot import keyboards

    names = list(load_settings().layouts)
    assert "duo" in names

    def labels(faces: int | None) -> list[str]:
        markup = keyboards.relayout("job", 1, keyboards.layout_names(names, faces))
        return [b.text for row in markup.inline_keyboard for b in row]

    assert keyboards.LAYOUT_LABELS["duo"] in labels(2)
    for faces in (None, 0, 1):
        assert keyboards.LAYOUT_LABELS["duo"] not in labels(faces)
        assert keyboards.LAYOUT_LABELS["talking_head"] in labels(faces)


def test_stream_with_two_people_counts_two_faces(talk):
    from pipeline.media.render.facecam import scan_faces

    assert scan_faces(talk[0], probe(talk[0]), samples=8).faces == 2


@pytest.mark.slow
def test_stream_with_one_person_counts_one_face(shared_media, tmp_path):
    from pipeline.media.render.facecam import scan_faces

    one = talking_in_turn(tmp_path / "one.mp4", [shared_media / "real_face_1.mp4"], [(0, 0.0, 6.0)])
    assert scan_faces(one, probe(one), samples=8).faces == 1


def test_a_change_of_speaker_is_a_cut_not_a_pan():
    from pipeline.media.render.tracking import CUT_S, cut_positions

    track = [(i / 10, 300.0 if i < 40 else 1500.0) for i in range(90)]
    points = cut_positions(track, [(0.0, 4.0), (4.0, 9.0)], 960.0, smooth_s=1.5)
    assert all(x == pytest.approx(300) for t, x in points if t < 4.0)
    assert all(x == pytest.approx(1500) for t, x in points if t >= 4.0)
    jumps = [(t1 - t0) for (t0, x0), (t1, x1) in zip(points, points[1:]) if abs(x1 - x0) > 1]
    assert jumps and all(j <= CUT_S + 1e-9 for j in jumps), points
