"""The docs cannot drift from the code: docs/settings.md is exactly what
scripts/gen_settings_docs.py generates now, and the hand-written pages name only settings,
variables, commands, options and links that exist."""

from __future__ import annotations

import difflib
import importlib.util
import re
import sys
from pathlib import Path
from typing import Any, get_args, get_origin

import pytest
from pydantic import BaseModel

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
PAGES = sorted(DOCS.glob("*.md"))
# Variables of the compose files (docker/*.yml), not settings of the program.
COMPOSE_VARIABLES = {"TELEGRAM_API_ID", "TELEGRAM_API_HASH", "TELEGRAM_API_BIND", "POSTGRES_PASSWORD",
                     "POSTGRES_BIND", "POSTGRES_PORT", "WORKER_IMAGE", "BOT_IMAGE", "GPU"}


def _generator():
    spec = importlib.util.spec_from_file_location("gen_settings_docs", ROOT / "scripts" / "gen_settings_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def gen():
    return _generator()


def test_settings_doc_is_generated_from_the_current_code(gen) -> None:
    expected = gen.render()
    current = (DOCS / "settings.md").read_text(encoding="utf-8")
    if current != expected:
        diff = "".join(list(difflib.unified_diff(current.splitlines(True), expected.splitlines(True),
                                                 "docs/settings.md", "generated"))[:60])
        pytest.fail("docs/settings.md is out of date: run .venv/bin/python scripts/gen_settings_docs.py\n" + diff)


def test_settings_doc_covers_every_setting(gen) -> None:
    from bot.settings import BotSettings
    from pipeline.media.config import Settings

    text = (DOCS / "settings.md").read_text(encoding="utf-8")
    for name, info in Settings.model_fields.items():
        assert f"`{name}`" in text, name
        inner = info.annotation
        if get_origin(inner) is dict:
            inner = get_args(inner)[1]
        if isinstance(inner, type) and issubclass(inner, BaseModel):
            section = text.split(f"## `{name}`", 1)[-1].split("\n## ", 1)[0]
            for field in inner.model_fields:
                assert f"| `{field}` |" in section, f"{name}.{field}"
    for name in BotSettings.model_fields:
        assert f"`{name.upper()}`" in text, name


def test_a_setting_without_a_description_stops_the_generator(gen, monkeypatch) -> None:
    monkeypatch.delitem(gen.DESCRIPTIONS, "worker.poll_s")
    with pytest.raises(SystemExit, match="worker.poll_s"):
        gen.render()


def test_generator_check_mode(gen, tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setattr(gen, "OUTPUT", DOCS / "settings.md")
    assert gen.main(["--check"]) == 0
    stale = tmp_path / "settings.md"
    stale.write_text("old\n", encoding="utf-8")
    monkeypatch.setattr(gen, "OUTPUT", stale)
    monkeypatch.setattr(gen, "ROOT", tmp_path)
    assert gen.main(["--check"]) == 1


def test_yaml_comments_are_read_by_key_path(gen) -> None:
    comments = gen.yaml_comments(
        "# header\n\nasr:\n  # above\n  model: x   # beside\n  n: 1\n"
        'exports:\n  "9:16": [1, 2]  # tall\ncolour: "&H00 #1"  # real\n')
    assert comments == {("asr", "model"): "Beside.", ("exports", "9:16"): "Tall.", ("colour",): "Real."}


# --------------------------------------------------------------------------- hand-written pages


def _text(page: Path) -> str:
    return page.read_text(encoding="utf-8")


def test_the_pages_exist() -> None:
    assert {p.name for p in PAGES} >= {"setup.md", "scaling.md", "troubleshooting.md", "settings.md"}


def _resolves(path: tuple[str, ...], model: Any) -> bool:
    if not path:
        return True
    origin = get_origin(model)
    if origin is dict:
        return _resolves(path[1:], get_args(model)[1])          # any key of a map
    if get_origin(model) is not None:
        return any(_resolves(path, a) for a in get_args(model) if a is not type(None))
    if isinstance(model, type) and issubclass(model, BaseModel):
        field = model.model_fields.get(path[0])
        return field is not None and _resolves(path[1:], field.annotation)
    return False


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_environment_variables_exist(page: Path) -> None:
    from bot.settings import BotSettings
    from pipeline.media.config import Settings

    text = _text(page)
    for var in set(re.findall(r"\bCLIPFACTORY_[A-Z0-9_]+", text)):
        if var == "CLIPFACTORY_CONFIG" or var.endswith("_"):   # the prefix alone: CLIPFACTORY_ASR__<KEY>
            continue
        path = tuple(p.lower() for p in var.removeprefix("CLIPFACTORY_").split("__"))
        assert _resolves(path, Settings), f"{page.name}: {var} is no setting"
    bot_vars = {n.upper() for n in BotSettings.model_fields}
    for var in set(re.findall(r"\bTELEGRAM_[A-Z_]+", text)) - {"TELEGRAM_"}:
        assert var in bot_vars or var in COMPOSE_VARIABLES, f"{page.name}: {var} is not read by anything"
    compose_text = "".join(_text(f) for f in (ROOT / "docker").glob("compose*.yml"))
    for var in COMPOSE_VARIABLES:
        assert "${" + var in compose_text, f"{var} is not a variable of docker/compose*.yml"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_dotted_setting_names_exist(page: Path) -> None:
    from pipeline.media.config import Settings

    sections = {n for n, f in Settings.model_fields.items()
                if isinstance(f.annotation, type) and issubclass(f.annotation, BaseModel)}
    for name in set(re.findall(r"`([a-z_]+(?:\.[a-z_0-9]+)+)(?::[^`]*)?`", _text(page))):
        path = tuple(name.split("."))
        if path[0] in sections:
            assert _resolves(path, Settings), f"{page.name}: {name} is no setting"


def _cli():
    import typer.main

    from pipeline.cli import app

    return typer.main.get_command(app)


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_clipfactory_commands_and_options_exist(page: Path) -> None:
    cli = _cli()
    for line in _text(page).splitlines():
        for match in re.finditer(r"\bclipfactory ([a-z][a-z-]*)([^`|]*)", line):
            command, rest = match.groups()
            assert command in cli.commands, f"{page.name}: clipfactory {command}"
            params = cli.commands[command].params
            known = {opt for p in params for opt in (*p.opts, *p.secondary_opts)}
            for option in re.findall(r"(?<![\w-])(--[a-z][a-z-]*)", rest):
                assert option in known, f"{page.name}: clipfactory {command} {option}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_make_targets_exist(page: Path) -> None:
    makefile = _text(ROOT / "Makefile")
    for target in set(re.findall(r"\bmake ([a-z]+)\b", _text(page))):
        assert re.search(rf"^{target}:", makefile, re.M), f"{page.name}: make {target}"


def _anchors(page: Path) -> set[str]:
    anchors = set()
    for heading in re.findall(r"^#+ (.+)$", _text(page), re.M):
        slug = re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")
        anchors.add(slug)
    return anchors


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_relative_links_resolve(page: Path) -> None:
    for target in re.findall(r"\]\(([^)\s]+)\)", _text(page)):
        if re.match(r"[a-z]+://", target):
            continue
        file, _, anchor = target.partition("#")
        linked = (page.parent / file).resolve() if file else page
        assert linked.exists(), f"{page.name}: {target}"
        if anchor and linked.suffix == ".md":
            assert anchor in _anchors(linked), f"{page.name}: no heading for #{anchor} in {linked.name}"


def test_compose_files_named_by_the_docs_exist() -> None:
    for page in PAGES:
        for name in set(re.findall(r"docker/[\w.]+\.(?:yml|Dockerfile|py)", _text(page))):
            assert (ROOT / name).exists(), f"{page.name}: {name}"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(pytest.main([__file__, "-q"]))
