"""The names of the files a job leaves in its folder: one place for every stage and reader."""

from __future__ import annotations

FETCH_RECORD = "fetch.json"
AUDIO = "audio.f32"
TRANSCRIPT = "transcript.json"
AUDIO_FEATURES = "audio_features.npz"
AUDIO_EVENTS = "audio_events.npz"
MOTION = "motion.npz"
ENRICH = "enrich.json"
CHAT_CURVES = "chat.npz"
TIMELINE = "timeline.json"
REPORT = "report.json"
