"""Chat replay as a scoring signal: formats, spam robustness, emotes in English and Russian,
the reaction delay, Twitch's GQL paging and yt-dlp's live_chat path against local servers,
scoring, the whole job, and a chat log uploaded to the bot."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pytest

from pipeline.media.chat.models import ChatMessage
from pipeline.media.chat.parse import parse_chat, read_chat_file
from pipeline.media.chat.signal import chat_signal, drop_repeats, estimate_delay, measure
from pipeline.media.chat.stage import chat_origin, load_messages
from pipeline.media.chat.twitch import QUERY_HASH, twitch_chat, twitch_video_id
from pipeline.media.chat.youtube import youtube_chat
from pipeline.media.config import load_settings
from pipeline.media.errors import ChatLogError, ChatUnavailableError
from pipeline.media.scoring import pick_moments

# ---------------------------------------------------------------- chat files in every format

EXPECTED = [(5.0, "ann", "hello chat"), (12.5, "bob", "KEKW that was funny"), (3725.0, "вася", "ахахах))))")]


def twitch_downloader_json(rows=EXPECTED) -> str:
    return json.dumps({"streamer": {"name": "x", "id": 1}, "video": {"start": 0, "end": 4000},
                       "comments": [{"_id": str(i), "content_offset_seconds": t,
                                     "commenter": {"display_name": a.title(), "name": a, "_id": str(i)},
                                     "message": {"body": text, "fragments": [{"text": text, "emoticon": None}]}}
                                    for i, (t, a, text) in enumerate(rows)]}, ensure_ascii=False)


def plain_log(rows=EXPECTED) -> str:
    def stamp(t: float) -> str:
        s = int(t)
        return f"[{s // 3600}:{s % 3600 // 60:02d}:{s % 60:02d}]" if s >= 600 else f"[{s // 60}:{s % 60:02d}]"
    lines = ["# exported chat", "", "garbage line without a stamp"]
    lines += [f"{stamp(t)} {a}: {text}" for t, a, text in rows]
    return "\n".join(lines + ["[1:00] broken line without a colon", "   "]) + "\n"


def youtube_line(t_ms: int, author: str, runs: list[dict]) -> str:
    item = {"liveChatTextMessageRenderer": {"message": {"runs": runs}, "authorName": {"simpleText": author},
                                            "id": f"id{t_ms}", "timestampUsec": str(1700000000000000 + t_ms)}}
    return json.dumps({"clickTrackingParams": "CAEQl98BIhM",
                       "replayChatItemAction": {"actions": [{"addChatItemAction": {"item": item, "clientId": "c"}}],
                                                "videoOffsetTimeMsec": str(t_ms)}, "isLive": False},
                      ensure_ascii=False)


def youtube_live_chat(rows=EXPECTED) -> str:
    lines = [youtube_line(int(t * 1000), a, [{"text": text}]) for t, a, text in rows]
    lines.insert(1, json.dumps({"replayChatItemAction": {"actions": [{"addLiveChatTickerItemAction": {}}],
                                                         "videoOffsetTimeMsec": "7000"}}))
    return "\n".join(lines) + '\n{"replayChatItemAction": {"actions": [{"addCh'  # truncated last line


def gql_page(rows, next_cursor: bool) -> dict:
    edges = [{"cursor": f"cur-{t}", "node": {"id": f"n{t}", "contentOffsetSeconds": t,
                                              "commenter": {"id": "1", "login": a, "displayName": a.title()},
                                              "message": {"fragments": [{"emote": None, "text": text}]}}}
             for t, a, text in rows]
    return {"data": {"video": {"id": "123", "creator": {"id": "9"},
                               "comments": {"edges": edges, "pageInfo": {"hasNextPage": next_cursor,
                                                                         "hasPreviousPage": False}}}},
            "extensions": {"durationMilliseconds": 30, "operationName": "VideoCommentsByOffsetOrCursor"}}


FORMATS = {
    "twitchdownloader.json": twitch_downloader_json,
    "chat.txt": plain_log,
    "vod.live_chat.json": youtube_live_chat,
    "gql_pages.json": lambda: json.dumps([gql_page(EXPECTED[:2], True), gql_page(EXPECTED[2:], False)],
                                         ensure_ascii=False),
}


@pytest.fixture(scope="module")
def media(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("chat_www")
    for name, make in FORMATS.items():
        (folder / name).write_text(make(), encoding="utf-8")
    (folder / "notes.txt").write_text("just some notes\nnothing that looks like chat\n", encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(data_dir=str(tmp_path_factory.mktemp("data")), fetch={"allow_private_networks": True})


def _rows(messages: list[ChatMessage]) -> list[tuple[float, str, str]]:
    return [(m.t, m.author, m.text) for m in messages]


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_each_format_is_recognised_and_read_from_a_link(name, base, settings, tmp_path):
    origin = chat_origin("vod.mp4", f"{base}/{name}", settings)
    assert origin is not None and origin.kind == "url" and origin.given
    messages = load_messages(origin, tmp_path, settings)
    assert base.log.gets(name), "the chat log was downloaded from the server"
    rows = _rows(messages)
    if name == "twitchdownloader.json":
        assert rows == EXPECTED
    else:
        whole = name == "chat.txt"  # a plain log's stamps are whole seconds
        assert [(t, text) for t, _, text in rows] == [(float(int(t)) if whole else t, text) for t, _, text in EXPECTED]
        assert [a.lower() for _, a, _ in rows] == [a for _, a, _ in EXPECTED]


def test_plain_logs_take_short_and_long_stamps_and_skip_garbage():
    messages = parse_chat("\ufeff[0:07] a: first\n\nnoise\n[12:03] b: second: with colon\n"
                          "[1:02:03.5] c d: third\n[99] e: bad stamp\n")
    assert _rows(messages) == [(7.0, "a", "first"), (723.0, "b", "second: with colon"), (3723.0, "c d", "third")]


def test_youtube_emoji_runs_become_text():
    line = youtube_line(2500, "Zoe", [{"text": "so funny "}, {"emoji": {"emojiId": "😂", "shortcuts": [":joy:"]}},
                                      {"emoji": {"emojiId": "UC/x", "shortcuts": [":KEKW:"], "isCustomEmoji": True}}])
    (message,) = parse_chat(line)
    assert message.t == 2.5 and message.author == "Zoe"
    assert "😂" in message.text and "KEKW" in message.text


def test_unreadable_or_missing_chat_logs_are_clear_errors(media, settings, tmp_path):
    with pytest.raises(ChatLogError) as err:
        chat_origin("vod.mp4", str(media / "notes.txt"), settings)
    assert "[0:12:34] name: message" in err.value.user_message
    with pytest.raises(ChatLogError, match="not found"):
        chat_origin("vod.mp4", str(tmp_path / "missing.json"), settings)
    (tmp_path / "other.json").write_text('{"hello": "world"}', encoding="utf-8")
    with pytest.raises(ChatLogError):
        read_chat_file(tmp_path / "other.json", 10)
    (tmp_path / "empty.log").write_text("", encoding="utf-8")
    with pytest.raises(ChatLogError):
        read_chat_file(tmp_path / "empty.log", 10)


def test_a_chat_link_that_does_not_answer_is_unavailable_not_an_error(base, settings, tmp_path):
    origin = chat_origin("vod.mp4", f"{base}/nothing-here.json", settings)
    with pytest.raises(ChatUnavailableError):
        load_messages(origin, tmp_path, settings)
    origin = chat_origin("vod.mp4", f"{base}/notes.txt", settings)
    with pytest.raises(ChatLogError):  # it answered, but what it gave is not a chat log
        load_messages(origin, tmp_path, settings)


def test_where_chat_comes_from(settings):
    assert twitch_video_id("https://www.twitch.tv/videos/2234567890?t=1h2m") == "2234567890"
    assert twitch_video_id("https://m.twitch.tv/somechannel/v/42") == "42"
    assert twitch_video_id("https://www.twitch.tv/somechannel") is None
    twitch = chat_origin("https://www.twitch.tv/videos/2234567890", None, settings)
    assert (twitch.kind, twitch.ref, twitch.given) == ("twitch", "2234567890", False)
    youtube = chat_origin("https://www.youtube.com/watch?v=abc", None, settings)
    assert youtube.kind == "youtube" and not youtube.given
    assert chat_origin("https://example.com/vod.mp4", None, settings) is None
    assert chat_origin("/tmp/video.mp4", None, settings) is None
    off = settings.model_copy(update={"chat": settings.chat.model_copy(update={"auto": False})})
    assert chat_origin("https://www.twitch.tv/videos/1", None, off) is None


# ---------------------------------------------------------------- measures


def test_one_flooder_cannot_make_a_burst(settings):
    cfg = settings.chat
    flood = [ChatMessage(100 + i * 0.1, "spammer", "KEKW KEKW KEKW") for i in range(100)]
    flood += [ChatMessage(100 + i * 0.2, "spammer", f"Pog {i}") for i in range(50)]   # varied texts too
    crowd = [ChatMessage(200 + (i % 5) * 0.2, f"viewer{i}", "KEKW") for i in range(20)]
    m = measure(flood + crowd, 300, cfg)
    assert m["rate"][100:111].max() == 1 and m["rate"][200] == 20
    assert m["laughter"][100:111].max() == 1 and m["laughter"][200] == 20
    assert m["hype"][100:111].max() == 1
    assert m["chatters"][100:111].max() <= 1 and m["chatters"][200] == pytest.approx(20 / cfg.chatters_window_s)
    kept = drop_repeats(flood, cfg.repeat_window_s)
    assert sum(1 for k in kept if k.text == "KEKW KEKW KEKW") == 1


@pytest.mark.parametrize("text,laughing,hyped", [
    ("KEKW", True, False), ("omegalul", True, False), ("that LULW", True, False), ("lmao what", True, False),
    ("hahaha", True, False), ("ахахахах", True, False), ("ХАХАХА", True, False), ("ну))))", True, False),
    ("лол", True, False), ("ору", True, False), ("кек", True, False), ("😂😂", True, False),
    ("Pog", False, True), ("POGGERS", False, True), ("PogChamp", False, True), ("lets go", False, True),
    ("W", False, True), ("clip it", False, True), ("имба", False, True), ("жесть", False, True),
    ("клип", False, True), ("пог", False, True),
    ("hello there", False, False), ("оружие", False, False), ("колобок", False, False), ("ok)", False, False),
    ("pogo stick", False, False), ("ахтунг", False, False),
])
def test_laughter_and_hype_in_english_and_russian(text, laughing, hyped, settings):
    m = measure([ChatMessage(3.2, "someone", text)], 10, settings.chat)
    assert (m["laughter"][3] == 1, m["hype"][3] == 1) == (laughing, hyped)
    assert m["rate"][3] == 1


def _crowd(at: float, chatters: int, rng: np.random.Generator, spread: float = 6.0) -> list[ChatMessage]:
    return [ChatMessage(float(at + rng.uniform(0, spread)), f"fan{at}_{i}", "KEKW") for i in range(chatters)]


def test_reaction_delay_recovers_a_planted_lag(settings):
    rng = np.random.default_rng(7)
    n, lag = 900, 8
    loudness = -30 + rng.normal(0, 1.5, n)
    moments = (120, 330, 560, 770)
    messages = [ChatMessage(float(t), f"regular{t % 7}", "hi") for t in range(0, n, 3)]
    for at in moments:
        loudness[at:at + 8] += 14
        messages += _crowd(at + lag, 25, rng)
    signal = chat_signal(messages, n, loudness, settings.chat)
    assert signal.delay_measured and signal.delay_s == pytest.approx(lag, abs=1)
    chat = signal.curves["chat"]
    for at in moments:  # shifted back onto the loud seconds
        assert chat[at:at + 8].mean() > 4 * np.median(chat)
    # sparse chat: the default, flagged as not measured
    sparse = chat_signal(messages[:10], n, loudness, settings.chat)
    assert (sparse.delay_s, sparse.delay_measured) == (settings.chat.delay_default_s, False)
    # chat that does not follow the audio at all: the default too
    noise = [ChatMessage(float(rng.uniform(0, n)), f"u{i}", "hi") for i in range(400)]
    assert estimate_delay(measure(noise, n, settings.chat)["rate"], loudness, 400, settings.chat)[1] is False


# ---------------------------------------------------------------- Twitch GQL, against a fake server


@contextmanager
def fake_gql(pages: dict[str | None, dict], status: int = 200) -> Iterator[tuple[str, list[dict]]]:
    """A GQL endpoint on 127.0.0.1: pages by cursor (None: the first, by offset)."""
    seen: list[dict] = []

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args) -> None:
            pass

        def do_POST(self) -> None:
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            seen.append({"client_id": self.headers.get("Client-ID"), "body": body})
            payload = body[0] if isinstance(body, list) else body
            page = pages.get(payload["variables"].get("cursor"))
            data = json.dumps(page if page is not None else {"errors": [{"message": "bad cursor"}]}).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/gql", seen
    finally:
        server.shutdown()
        server.server_close()


def _chat_cfg(settings, **update):
    return settings.chat.model_copy(update=update)


def test_twitch_chat_is_read_page_by_page(settings):
    rows = [(float(t), f"user{t % 4}", f"message {t}") for t in range(0, 150, 2)]
    pages = {None: gql_page(rows[:25], True), "cur-48.0": gql_page(rows[25:50], True),
             "cur-98.0": gql_page(rows[50:], False)}
    with fake_gql(pages) as (url, seen):
        messages = twitch_chat("123", _chat_cfg(settings, twitch_gql_url=url))
    assert _rows(messages) == [(t, a, text) for t, a, text in rows]
    assert len(seen) == 3
    first, *rest = [s["body"] for s in seen]
    assert first["operationName"] == "VideoCommentsByOffsetOrCursor"
    assert first["extensions"]["persistedQuery"]["sha256Hash"] == QUERY_HASH
    assert first["variables"] == {"videoID": "123", "contentOffsetSeconds": 0}
    assert [r["variables"] for r in rest] == [{"videoID": "123", "cursor": "cur-48.0"},
                                              {"videoID": "123", "cursor": "cur-98.0"}]
    assert all(s["client_id"] == settings.chat.twitch_client_id for s in seen)


def test_twitch_paging_stops_at_the_limit_and_failures_are_clear(settings):
    rows = [(float(t), "u", "m") for t in range(10)]
    endless = {None: gql_page(rows[:5], True), "cur-4.0": gql_page(rows[5:], True)}
    with fake_gql(endless) as (url, seen):
        assert len(twitch_chat("1", _chat_cfg(settings, twitch_gql_url=url, max_pages=2))) == 10
        assert len(seen) == 2
    with fake_gql({None: {"errors": [{"message": "failed integrity check"}]}}) as (url, _):
        with pytest.raises(ChatUnavailableError, match="integrity"):
            twitch_chat("1", _chat_cfg(settings, twitch_gql_url=url))
    with fake_gql({None: {"data": {"video": None}}}) as (url, _):
        with pytest.raises(ChatUnavailableError, match="no video"):
            twitch_chat("1", _chat_cfg(settings, twitch_gql_url=url))
    with fake_gql({}, status=500) as (url, _):
        with pytest.raises(ChatUnavailableError, match="500"):
            twitch_chat("1", _chat_cfg(settings, twitch_gql_url=url))


# ---------------------------------------------------------------- yt-dlp's live_chat path


def test_youtube_live_chat_replay_is_downloaded_by_ytdlp(base, settings, tmp_path):
    info = {"id": "chatvod", "title": "A past live stream", "extractor": "youtube", "extractor_key": "Youtube",
            "webpage_url": f"{base}/watch", "duration": 4000, "was_live": True,
            "formats": [{"format_id": "18", "url": f"{base}/not-downloaded.mp4", "ext": "mp4",
                         "vcodec": "avc1", "acodec": "mp4a"}],
            "subtitles": {"live_chat": [{"url": f"{base}/vod.live_chat.json", "ext": "json", "protocol": "http"}]}}
    messages = youtube_chat(info, tmp_path, settings)
    assert [(m.t, m.text) for m in messages] == [(t, text) for t, _, text in EXPECTED]
    assert base.log.gets("vod.live_chat.json"), "yt-dlp fetched the replay from the server"
    assert not base.log.gets("not-downloaded.mp4"), "only the chat, not the video"
    assert (tmp_path / "chat_replay.live_chat.json").is_file()
    no_chat = {**info, "id": "other", "subtitles": {}}
    assert youtube_chat(no_chat, tmp_path / "other", settings) is None


# ---------------------------------------------------------------- scoring


def _raw(n: int, rng: np.random.Generator) -> dict[str, np.ndarray]:
    return {
        "loudness_db": -30 + rng.normal(0, 1.5, n), "centroid_hz": 1500 + rng.normal(0, 100, n),
        "onset": 1 + rng.normal(0, 0.2, n), "bursts_db": np.abs(rng.normal(0, 1, n)),
        "pitch_semitone_std": 1 + np.abs(rng.normal(0, 0.3, n)), "motion": 0.02 + np.abs(rng.normal(0, 0.005, n)),
        "scene_cuts": np.zeros(n), "semantic": 0.2 + rng.normal(0, 0.03, n), "emotion": 0.2 + rng.normal(0, 0.03, n),
        "keywords": np.zeros(n), "speech_rate": 2.5 + rng.normal(0, 0.3, n), "exclamation": np.zeros(n),
    }


def test_a_chat_burst_lifts_the_window_it_marks(settings):
    rng = np.random.default_rng(11)
    n = 600
    raw = _raw(n, rng)
    raw["chat"] = rng.poisson(2, n).astype(float)
    raw["chat"][300:310] += 30
    cfg = settings.scoring
    moments, _ = pick_moments(raw, [], float(n), cfg)
    top = moments[0]
    assert 295 <= top.peak <= 312
    assert top.breakdown["chat"] > 0.5 and "chat went wild" in top.reasons
    assert all(m.breakdown["chat"] < top.breakdown["chat"] for m in moments[1:])
    without, _ = pick_moments({k: v for k, v in raw.items() if k != "chat"}, [], float(n), cfg)
    same = [m for m in without if m.start < 310 and m.end > 300]
    assert top.score > max([m.score for m in same], default=0) + 15, "the audio and picture alone are flat"


def test_no_chat_does_not_dilute_the_other_features(settings):
    rng = np.random.default_rng(12)
    n = 400
    raw = _raw(n, rng)
    raw["loudness_db"][200:212] += 15
    cfg = settings.scoring
    assert cfg.weights["chat"] > 0
    no_chat_weight = cfg.model_copy(update={"weights": {k: w for k, w in cfg.weights.items() if k != "chat"}})
    for chat in (None, np.full(n, 3.0)):  # missing, or flat
        case = raw if chat is None else {**raw, "chat": chat}
        scored = [(m.start, m.end, m.score) for m in pick_moments(case, [], float(n), cfg)[0]]
        assert scored == [(m.start, m.end, m.score) for m in pick_moments(raw, [], float(n), no_chat_weight)[0]]
        assert all(m.breakdown["chat"] == 0.0 for m in pick_moments(case, [], float(n), cfg)[0])


# ---------------------------------------------------------------- the whole job


HYPE_AT = 30


@pytest.fixture(scope="module")
def stream(tmp_path_factory) -> Path:
    from pipeline.media.sample import SampleSpec, make_sample

    return make_sample(tmp_path_factory.mktemp("chat_stream") / "chat_stream.mp4",
                       SampleSpec(duration=60, hype_at=(HYPE_AT,), hype_len=10, width=320, height=180))


def _stream_chat(path: Path) -> Path:
    rng = np.random.default_rng(5)
    lines = [(t + 0.5, f"regular{t % 5}", ["hi chat", "nice", "what game is this", "gg"][t % 4])
             for t in range(0, 60, 3)]
    lines += [(HYPE_AT + 7 + float(rng.uniform(0, 9)), f"fan{i}", ["KEKW", "Pog", "ахахах", "LETS GO"][i % 4])
              for i in range(30)]
    lines += [(HYPE_AT + 8 + i * 0.1, "flooder", "KEKW") for i in range(40)]
    lines.sort()
    path.write_text("".join(f"[0:{int(t) // 60:02d}:{int(t) % 60:02d}] {a}: {text}\n" for t, a, text in lines),
                    encoding="utf-8")
    return path


@pytest.mark.slow
def test_a_job_with_a_chat_log_scores_chat(stream, tmp_path, base):
    from pipeline.jobs.runner import run_job

    settings = load_settings(fetch={"allow_private_networks": True}, scoring={"top_k": 2})
    chat = _stream_chat(tmp_path / "chat.txt")
    report = run_job(str(stream), settings, tmp_path / "out", chat=str(chat))
    block = report["chat"]
    assert block["source"] == "file" and block["messages"] == 20 + 30 + 40
    assert block["chatters"] == 5 + 30 + 1
    assert block["delay_measured"] and 5 <= block["delay_s"] <= 9, block
    assert report["stages"]["chat"]["cached"] is False
    clips = report["clips"]
    assert clips and all("chat" in c["breakdown"] for c in clips)
    hit = next(c for c in clips if c["start"] <= HYPE_AT + 2 and c["end"] >= HYPE_AT + 8)
    assert hit["breakdown"]["chat"] > 0.3 and hit["rank"] == 1
    job_dir = tmp_path / "out" / report["job_id"]
    with np.load(job_dir / "chat.npz") as data:
        assert data["chat"][HYPE_AT:HYPE_AT + 8].mean() > 3 * np.median(data["chat"])

    again = run_job(str(stream), settings, tmp_path / "out", chat=str(chat))
    assert again["stages"]["chat"]["cached"] and again["chat"] == block
    # a chat link that does not answer: a warning, the job goes on without chat
    gone = run_job(str(stream), settings, tmp_path / "out", chat=f"{base}/gone.txt")
    assert gone["chat"] is None and gone["clips"]
    assert all(c["breakdown"]["chat"] == 0.0 for c in gone["clips"])
    # a chat file that cannot be read: a clear error
    bad = tmp_path / "bad.txt"
    bad.write_text("not a chat\n", encoding="utf-8")
    with pytest.raises(ChatLogError):
        run_job(str(stream), settings, tmp_path / "out", chat=str(bad))


# ---------------------------------------------------------------- the bot


@pytest.mark.slow
def test_a_chat_log_sent_after_a_link_goes_with_the_job(tmp_path):
    import asyncio
    import os
    import subprocess

    import storage
    from bot.callbacks import LayoutPick
    from bot.settings import BotSettings
    from pipeline.jobs.worker import open_database
    from tests.fake_telegram import FakeTelegram
    from tests.helpers import ThreadedApp
    from tests.httpserver import serve_dir
    from tests.test_bot import keyboard_data, last_id, layout_offer, wait_message

    owner = 111
    www = tmp_path / "www"
    www.mkdir()
    subprocess.run(["ffmpeg", "-nostdin", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc2=size=320x180:rate=10",
                    "-f", "lavfi", "-i", "sine=frequency=300", "-t", "20", "-c:v", "libx264", "-preset", "ultrafast",
                    "-c:a", "aac", "-shortest", str(www / "stream.mp4")], check=True)
    settings = load_settings(data_dir=str(tmp_path / "data"), fetch={"allow_private_networks": True})
    log_text = plain_log().encode("utf-8")
    with FakeTelegram().run_in_thread() as tg, serve_dir(www) as base:
        old_token = os.environ.get("TELEGRAM_BOT_TOKEN")
        os.environ["TELEGRAM_BOT_TOKEN"] = tg.token
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=False, telegram_allowed_users=str(owner))
        app = ThreadedApp(settings, bot_settings, with_worker=False)
        try:
            tg.add_user(owner, "Ann", language_code="ru")
            before = last_id(tg, owner)
            tg.user_sends_document(owner, log_text, file_name="chat.txt", mime_type="text/plain")
            alone = wait_message(tg, owner, lambda m: m["message_id"] > before)
            assert "сначала пришлите ссылку" in alone["text"]

            tg.add_user(owner, language_code="en")
            before = last_id(tg, owner)
            tg.send_text(owner, f"my stream {base}/stream.mp4")
            offer = layout_offer(tg, owner, before)
            before = last_id(tg, owner)
            tg.user_sends_document(owner, b"just notes, no chat here", file_name="notes.txt", mime_type="text/plain")
            refused = wait_message(tg, owner, lambda m: m["message_id"] > before)
            assert "cannot be read" in refused["text"]

            before = last_id(tg, owner)
            tg.user_sends_document(owner, log_text, file_name="Chat.TXT", mime_type="text/plain")
            added = wait_message(tg, owner, lambda m: m["message_id"] > before)
            assert "3 messages from 3 chatters" in added["text"]

            request_id = keyboard_data(offer)[0].split(":")[1]
            tg.press_button(owner, offer, LayoutPick(request=request_id, layout="blur_fit").pack())
            wait_message(tg, owner, lambda m: m["message_id"] == offer["message_id"] and "Queued" in m["text"])
        finally:
            app.close()
            if old_token is None:
                os.environ.pop("TELEGRAM_BOT_TOKEN", None)
            else:
                os.environ["TELEGRAM_BOT_TOKEN"] = old_token
    assert app.error is None, app.error

    async def queued_jobs():
        db = await open_database(settings)
        try:
            return await storage.list_jobs(db)
        finally:
            await db.dispose()

    (job,) = asyncio.run(queued_jobs())
    chat_path = Path(job.options["chat"])
    assert chat_path.read_bytes() == log_text and chat_path.suffix == ".txt"
    assert _rows(read_chat_file(chat_path, 10)) == [(float(int(t)), a, text) for t, a, text in EXPECTED]
