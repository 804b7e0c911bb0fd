from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED_MEDIA = ROOT.parent / "shared" / "media"


@pytest.fixture(scope="session")
def shared_media() -> Path:
    if not SHARED_MEDIA.is_dir():
        pytest.skip("../shared/media is not here")
    return SHARED_MEDIA


@pytest.fixture(scope="session")
def sample_stream(tmp_path_factory) -> Path:
    """The 3-minute generated stream with its hype moment at 1:40–1:55."""
    from pipeline.media.sample import make_sample

    return make_sample(tmp_path_factory.mktemp("sample") / "sample_stream.mp4")


@pytest.fixture(scope="session")
def analysed_sample(sample_stream, tmp_path_factory) -> Path:
    """The out folder of one full `clipfactory process` run over the sample stream."""
    from tests.helpers import run_cli

    out = tmp_path_factory.mktemp("out")
    proc = run_cli("process", str(sample_stream), "--out", str(out))
    assert proc.returncode == 0, proc.stderr
    return out


@pytest.fixture(autouse=True)
def _no_user_overrides(monkeypatch):
    for key in list(os.environ):
        if key.startswith("CLIPFACTORY_"):
            monkeypatch.delenv(key)


@pytest.fixture(scope="module")
def server(media: Path):
    """The requesting module's `media` folder served on 127.0.0.1."""
    from tests.httpserver import serve_dir

    with serve_dir(media) as base:
        yield base


@pytest.fixture
def base(server):
    """The module's server, its request log cleared for this test."""
    server.log.clear()
    return server


@pytest.fixture(scope="session")
def pg_url() -> Iterator[str]:
    """The asyncpg URL of a throwaway PostgreSQL database for this test session (tests/pg.py);
    TEST_POSTGRES_URL uses an existing server instead. Skips without the server binaries."""
    from tests.pg import find_bindir, postgres_cluster

    external = os.environ.get("TEST_POSTGRES_URL")
    if external:
        yield external
        return
    bindir = find_bindir()
    if bindir is None:
        pytest.skip("PostgreSQL server binaries not found (Debian: apt-get install postgresql)")
    with postgres_cluster(bindir) as url:
        yield url


@pytest.fixture(scope="session")
def short_media(tmp_path_factory) -> Path:
    """A 30 s 320x180 generated stream with one hype moment at 0:10 (the worker tests)."""
    from pipeline.media.sample import SampleSpec, make_sample

    return make_sample(tmp_path_factory.mktemp("media") / "short.mp4",
                       SampleSpec(duration=30, hype_at=(10,), width=320, height=180))


@pytest.fixture
def tiny_whisper_checkpoint(tmp_path: Path) -> Path:
    """An openai-whisper checkpoint of a tiny model with random weights (the real ones cannot
    be had offline): the engine's loading and decoding paths, not its accuracy."""
    torch = pytest.importorskip("torch")
    whisper_model = pytest.importorskip("whisper.model")
    from dataclasses import asdict

    torch.manual_seed(0)
    dims = whisper_model.ModelDimensions(
        n_mels=80, n_audio_ctx=1500, n_audio_state=64, n_audio_head=1, n_audio_layer=1,
        n_vocab=51865, n_text_ctx=448, n_text_state=64, n_text_head=1, n_text_layer=1)
    checkpoint = tmp_path / "tiny-random.pt"
    torch.save({"dims": asdict(dims), "model_state_dict": whisper_model.Whisper(dims).state_dict()}, checkpoint)
    return checkpoint
