# syntax=docker/dockerfile:1
#
# The Telegram bot alone (`clipfactory bot`): no models, no ffmpeg, no GPU.
# Build from the repository root (the build context must be the repo root):
#
#   docker build -f docker/bot.Dockerfile -t clipfactory-bot .
#
# The bot imports pipeline.media.config/fetch/options (pydantic, yt-dlp, numpy), storage
# (SQLAlchemy, Alembic, aiosqlite, asyncpg) and bot/ (aiogram, matplotlib), never the
# analysis stack. So the project goes in with --no-deps and its dependencies from
# pyproject.toml less the model packages and their frameworks (docker/bot_requirements.py
# drops librosa, OpenCV, faster-whisper, sentence-transformers, transformers and the
# packaged models). tests/test_docker.py imports the bot with those blocked.

FROM python:3.11-slim-bookworm

SHELL ["/bin/bash", "-o", "pipefail", "-c"]

# The same uid/gid as the worker image and the aiogram/telegram-bot-api image (see
# docker/worker.Dockerfile): files in the shared volumes stay readable by all three.
ARG APP_UID=101
ARG APP_GID=101
RUN groupadd --gid "${APP_GID}" clipfactory \
 && useradd --uid "${APP_UID}" --gid "${APP_GID}" --create-home --home-dir /home/clipfactory \
      --shell /usr/sbin/nologin clipfactory

ENV PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    VIRTUAL_ENV=/opt/venv \
    PATH=/opt/venv/bin:$PATH \
    CLIPFACTORY_DATA_DIR=/data \
    CLIPFACTORY_MODELS_DIR=/models \
    MPLBACKEND=Agg

RUN python -m venv /opt/venv

WORKDIR /app
COPY pyproject.toml README.md constraints.txt ./
COPY docker/bot_requirements.py ./docker/bot_requirements.py
RUN python docker/bot_requirements.py pyproject.toml > /tmp/requirements.txt \
 && pip install -r /tmp/requirements.txt -c constraints.txt \
 && rm /tmp/requirements.txt

# The project itself, a plain (not editable) install: the settings defaults
# (pipeline/media/default.yaml) and the storage migrations ship inside the package, so
# nothing is read from a source tree. It is built from a scratch copy, removed after, and
# /app keeps only the health check; pip compiles the installed modules.
COPY pyproject.toml README.md /tmp/src/
COPY storage /tmp/src/storage
COPY bot /tmp/src/bot
COPY pipeline /tmp/src/pipeline
RUN pip install --no-deps /tmp/src \
 && rm -rf /tmp/src \
 && clipfactory --help >/dev/null
COPY docker/healthcheck.py ./docker/healthcheck.py

RUN mkdir -p /data /var/lib/telegram-bot-api \
 && chown "${APP_UID}:${APP_GID}" /data /var/lib/telegram-bot-api

USER ${APP_UID}:${APP_GID}

VOLUME ["/data"]

HEALTHCHECK --interval=30s --timeout=20s --start-period=30s --retries=3 \
  CMD ["python", "/app/docker/healthcheck.py", "bot"]

ENTRYPOINT ["clipfactory"]
CMD ["bot"]
