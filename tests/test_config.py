from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from pipeline.media.config import load_settings
from pipeline.media.errors import ConfigError

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_load_from_yaml():
    s = load_settings()
    assert s.scoring.top_k == 5
    assert (s.scoring.min_clip_s, s.scoring.max_clip_s) == (15, 60)
    assert len(s.scoring.weights) >= 8
    assert s.anchors["en"] and s.anchors["ru"]
    assert s.asr.engine == "faster-whisper"


def test_the_shipped_defaults_are_the_documented_copy():
    root = Path(__file__).resolve().parents[1]
    shipped = (root / "pipeline" / "media" / "default.yaml").read_bytes()
    assert shipped, "empty defaults"
    assert shipped == (root / "configs" / "default.yaml").read_bytes(), (
        "pipeline/media/default.yaml (shipped) and configs/default.yaml (documented) differ")


def test_environment_overrides_nested_keys(monkeypatch):
    monkeypatch.setenv("CLIPFACTORY_SCORING__TOP_K", "3")
    monkeypatch.setenv("CLIPFACTORY_ASR__LANGUAGE", "ru")
    s = load_settings()
    assert s.scoring.top_k == 3
    assert s.asr.language == "ru"
    assert s.scoring.weights["loudness"] > 0, "the rest of the section stays"


def test_config_file_merges_over_defaults(tmp_path):
    f = tmp_path / "mine.yaml"
    f.write_text("scoring:\n  weights:\n    motion: 3.5\nanchors:\n  en: [gg ez]\n", encoding="utf-8")
    s = load_settings(f)
    assert s.scoring.weights["motion"] == 3.5
    documented = yaml.safe_load((ROOT / "configs" / "default.yaml").read_text(encoding="utf-8"))
    assert s.scoring.weights["semantic"] == documented["scoring"]["weights"]["semantic"]
    assert s.anchors["en"] == ["gg ez"]
    assert s.anchors["ru"], "other languages keep their anchors"


def test_environment_wins_over_config_file(tmp_path, monkeypatch):
    f = tmp_path / "mine.yaml"
    f.write_text("scoring:\n  top_k: 7\n", encoding="utf-8")
    monkeypatch.setenv("CLIPFACTORY_SCORING__TOP_K", "2")
    assert load_settings(f).scoring.top_k == 2


@pytest.mark.parametrize("yaml_text, key", [
    ("scoring:\n  top_k: -1\n", "scoring.top_k"),
    ("scoring:\n  weights:\n    charisma: 1\n", "scoring.weights"),
    ("scoring:\n  weights:\n    loudness: -2\n", "scoring.weights"),
    ("asr:\n  engine: whisperx\n", "asr.engine"),
    ("asr:\n  beam_sise: 3\n", "asr.beam_sise"),
    ("scoring:\n  min_clip_s: 70\n", "scoring"),
    ("embeddings:\n  models:\n    default: null\n", "embeddings.models.default"),
])
def test_wrong_values_fail_naming_the_key(tmp_path, yaml_text, key):
    f = tmp_path / "bad.yaml"
    f.write_text(yaml_text, encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_settings(f)
    assert key in str(err.value)


def test_missing_or_broken_config_file(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "absent.yaml")
    broken = tmp_path / "broken.yaml"
    broken.write_text("scoring: [unclosed", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid YAML"):
        load_settings(broken)
