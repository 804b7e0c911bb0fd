"""End to end: a scripted user talks to the real aiogram bot through a fake Telegram Bot API
on 127.0.0.1; the real worker fetches with real yt-dlp from a local HTTP server and sends
real clips back."""

from __future__ import annotations

import asyncio
import html
import io
import json
import logging
import os
import subprocess
import threading
import time
from pathlib import Path

import pytest

from bot.callbacks import CancelJob, ClipAction, LayoutPick, RelayoutPick, SettingPick
from bot.settings import BotSettings
from pipeline.jobs import metrics
from pipeline.jobs.logs import configure_logging, known_secrets
from pipeline.media.config import load_settings
from pipeline.media.sample import SampleSpec, make_sample
from tests.fake_telegram import FakeTelegram
from tests.helpers import ThreadedApp
from tests.httpserver import serve_dir

# Round trips through the real bot and worker: left out of `make test-fast`.
pytestmark = pytest.mark.slow

OWNER, FRIEND, STRANGER = 111, 222, 999


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    root = tmp_path_factory.mktemp("bot")
    media = root / "www"
    media.mkdir()
    make_sample(media / "vod.mp4", SampleSpec(duration=40, hype_at=(20,), width=320, height=180))
    (media / "page.html").write_text("<html><body>no video here</body></html>")
    settings = load_settings(data_dir=str(root / "data"), scoring={"top_k": 2},
                             worker={"lease_s": 10, "heartbeat_s": 1, "poll_s": 0.2},
                             fetch={"allow_private_networks": True})
    log_stream = io.StringIO()
    with FakeTelegram().run_in_thread() as tg, serve_dir(media) as base:
        old_token = os.environ.get("TELEGRAM_BOT_TOKEN")
        os.environ["TELEGRAM_BOT_TOKEN"] = tg.token
        handler = configure_logging("DEBUG", True, known_secrets(), stream=log_stream)
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=False, telegram_allowed_users=f"{OWNER},{FRIEND}",
                                   telegram_admins=str(OWNER), telegram_status_every_s=0.5)
        app = ThreadedApp(settings, bot_settings)
        try:
            yield tg, base, root, log_stream
        finally:
            app.close()
            logging.getLogger().removeHandler(handler)
            if old_token is None:
                os.environ.pop("TELEGRAM_BOT_TOKEN", None)
            else:
                os.environ["TELEGRAM_BOT_TOKEN"] = old_token
    assert app.error is None, app.error


def keyboard_data(message: dict) -> list[str]:
    return [b.get("callback_data", "") for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row]


def wait_message(tg, chat: int, predicate, timeout: float = 60) -> dict:
    def find():
        return next((m for m in reversed(tg.sent_messages(chat)) if predicate(m)), None)
    return tg.wait_for_sync(find, timeout=timeout)


def layout_offer(tg, chat: int, after: int) -> dict:
    return wait_message(tg, chat, lambda m: m["message_id"] > after and any(
        d.startswith("lp:") for d in keyboard_data(m)))


def last_id(tg, chat: int) -> int:
    msgs = tg.sent_messages(chat)
    return msgs[-1]["message_id"] if msgs else 0


def answer_to(tg, query_id: str) -> str:
    answered = tg.wait_for_sync(
        lambda: next((a for a in tg.answered_callbacks if a.callback_query_id == query_id), None))
    return answered.text or ""


def ffprobe_bytes(data: bytes, tmp: Path) -> dict:
    path = tmp / "clip.mp4"
    path.write_bytes(data)
    out = subprocess.run(["ffprobe", "-v", "error", "-print_format", "json", "-show_streams", str(path)],
                         capture_output=True, text=True, check=True).stdout
    return json.loads(out)


@pytest.fixture(scope="module")
def link_job(world):
    """One job from a link in a message, run until its summary picture is sent: the offer
    message and what was uploaded meanwhile. Shared by the tests that look at a finished job
    (its clips, the logs of the run), so each of them holds in any order."""
    tg, base, _, _ = world
    before = last_id(tg, OWNER)
    tg.send_text(OWNER, f"here is my stream {base}/vod.mp4 please", first_name="Ann")
    offer = layout_offer(tg, OWNER, before)
    uploads_before, photos_before = len(tg.uploads), len(tg.calls_to("sendPhoto"))
    tg.press_button(OWNER, offer, LayoutPick(request=keyboard_data(offer)[0].split(":")[1], layout="blur_fit").pack())
    tg.wait_for_sync(lambda: len(tg.calls_to("sendPhoto")) > photos_before, timeout=600)
    return offer, list(tg.uploads[uploads_before:])


def test_link_in_text_gives_clips_with_scores(world, link_job, tmp_path):
    tg = world[0]
    offer, uploads = link_job
    assert "vod" in offer["text"] and "0:00:40" in offer["text"]
    videos = [u for u in uploads if u.method == "sendVideo"]
    assert 1 <= len(videos) <= 2
    for upload in videos:
        streams = ffprobe_bytes(upload.data, tmp_path)["streams"]
        video = next(s for s in streams if s["codec_type"] == "video")
        assert (video["width"], video["height"]) == (1080, 1920) and video["codec_name"] == "h264"
        assert "Virality" in (upload.caption or "")
        assert str(upload.params.get("supports_streaming")).lower() == "true"
    photos = [u for u in uploads if u.method == "sendPhoto"]
    assert len(photos) == 1 and photos[0].data.startswith(b"\x89PNG")
    status = tg.message(OWNER, offer["message_id"])
    assert status["text"].startswith("✅"), status["text"]
    edits = [c for c in tg.calls_to("editMessageText") if c.params.get("message_id") == offer["message_id"]]
    assert any("%" in str(c.params.get("text")) for c in edits), "live progress was shown"


def _link_report(root: Path) -> dict:
    reports = [json.loads(p.read_text()) for p in (root / "data" / "jobs").glob("*/report.json")]
    return next(r for r in reports if r["source"].endswith("/vod.mp4") and r["source"].startswith("http"))


def _clip_messages(tg, chat: int) -> list[dict]:
    return [m for m in tg.sent_messages(chat) if "video" in m and "Virality" in (m.get("caption") or "")]


def test_the_caption_carries_the_post_kit(world, link_job):
    tg, _, root, _ = world
    _, uploads = link_job
    report = _link_report(root)
    kits = {c["rank"]: c["post_kit"] for c in report["clips"]}
    videos = [u for u in uploads if u.method == "sendVideo"]
    assert videos and len(kits) == len(report["clips"])
    for upload in videos:
        caption = upload.caption or ""
        rank = next(r for r in kits if f"<b>#{r}</b>" in caption)
        kit = kits[rank]
        assert html.escape(kit["title"]) in caption
        assert 3 <= len(kit["hashtags"]) <= 6 and all(h in caption for h in kit["hashtags"])
        assert "<pre>" in caption
        txt = (root / "data" / "jobs" / report["job_id"] / f"clip_{rank:02d}.txt").read_text(encoding="utf-8")
        assert txt.splitlines()[0] == kit["title"] and " ".join(kit["hashtags"]) in txt


def test_new_title_rewrites_the_kit_and_no_hook_renders_again(world, link_job):
    tg, _, root, _ = world
    report = _link_report(root)
    first = next(m for m in _clip_messages(tg, OWNER) if "#1 ·" in (m.get("caption") or ""))
    old = next(c for c in report["clips"] if c["rank"] == 1)["post_kit"]
    videos = len(tg.calls_to("sendVideo"))
    tg.press_button(OWNER, first, ClipAction(job=report["job_id"], rank=1, action="retitle").pack())
    tg.wait_for_sync(lambda: len(tg.calls_to("sendVideo")) > videos, timeout=300)
    new = next(c for c in _link_report(root)["clips"] if c["rank"] == 1)["post_kit"]
    assert new["variant"] == old["variant"] + 1 and new["title"] != old["title"]
    assert html.escape(new["title"]) in (tg.calls_to("sendVideo")[-1].params.get("caption") or "")
    videos = len(tg.calls_to("sendVideo"))
    tg.press_button(OWNER, first, ClipAction(job=report["job_id"], rank=1, action="nohook").pack())
    tg.wait_for_sync(lambda: len(tg.calls_to("sendVideo")) > videos, timeout=300)
    assert _link_report(root)["render"]["hook"] is False


def test_upload_goes_through_the_same_path(world):
    tg, _, root, _ = world
    before = last_id(tg, OWNER)
    tg.user_sends_video(OWNER, root / "www" / "vod.mp4", file_name="my_stream.mp4", duration=40)
    offer = layout_offer(tg, OWNER, before)
    photos = len(tg.calls_to("sendPhoto"))
    request = keyboard_data(offer)[0].split(":")[1]
    tg.press_button(OWNER, offer, LayoutPick(request=request, layout="gameplay").pack())
    tg.wait_for_sync(lambda: len(tg.calls_to("sendPhoto")) > photos, timeout=600)
    assert tg.message(OWNER, offer["message_id"])["text"].startswith("✅")


def test_big_upload_and_pdf_get_clear_answers(world):
    tg, _, _, _ = world
    before = last_id(tg, OWNER)
    tg.user_sends_document(OWNER, b"x" * 1000, file_name="huge.mp4", mime_type="video/mp4", file_size=30 * 2**20)
    wait_message(tg, OWNER, lambda m: m["message_id"] > before and "send a link" in m["text"].lower())
    before = last_id(tg, OWNER)
    tg.user_sends_document(OWNER, b"%PDF-1.4", file_name="notes.pdf", mime_type="application/pdf")
    wait_message(tg, OWNER, lambda m: m["message_id"] > before and "not a video" in m["text"])


@pytest.mark.parametrize("path, words", [("missing.mp4", "leads nowhere"), ("page.html", "could not find a video")])
def test_bad_links_get_clear_answers(world, path, words):
    tg, base, _, _ = world
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, f"{base}/{path}")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and words in m["text"], timeout=60)


def test_text_without_link(world):
    tg, _, _, _ = world
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, "hello there")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "link" in m["text"])


def test_stranger_is_refused_on_messages_and_buttons(world):
    tg, base, _, _ = world
    tg.send_text(STRANGER, f"{base}/vod.mp4")
    refusal = wait_message(tg, STRANGER, lambda m: "private" in m["text"])
    query = tg.forge_callback(STRANGER, refusal, LayoutPick(request="abc", layout="blur_fit").pack())
    assert "private" in answer_to(tg, query)


def test_forged_callback_for_someone_elses_request_and_job(world):
    tg, base, _, _ = world
    before = last_id(tg, OWNER)
    tg.send_text(OWNER, f"{base}/vod.mp4")
    offer = layout_offer(tg, OWNER, before)
    request = keyboard_data(offer)[0].split(":")[1]
    query = tg.forge_callback(FRIEND, offer, LayoutPick(request=request, layout="blur_fit").pack())
    assert "not yours" in answer_to(tg, query).lower()
    tg.press_button(OWNER, offer, LayoutPick(request=request, layout="blur_fit").pack())
    status = wait_message(tg, OWNER, lambda m: m["message_id"] == offer["message_id"] and any(
        d.startswith("cj:") for d in keyboard_data(m)))
    job_id = next(d for d in keyboard_data(status) if d.startswith("cj:")).split(":")[1]
    query = tg.forge_callback(FRIEND, status, CancelJob(job=job_id).pack())
    assert "not yours" in answer_to(tg, query).lower()
    # The owner cancels it with /cancel; the status message says so.
    tg.send_text(OWNER, "/cancel")
    wait_message(tg, OWNER, lambda m: m["message_id"] == offer["message_id"] and "Cancelled" in m["text"], timeout=300)


@pytest.mark.slow
def test_clip_buttons_of_a_job_that_is_not_done_are_refused(world):
    tg, base, _, _ = world
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, f"{base}/vod.mp4")
    offer = layout_offer(tg, FRIEND, before)
    request = keyboard_data(offer)[0].split(":")[1]
    tg.press_button(FRIEND, offer, LayoutPick(request=request, layout="blur_fit").pack())
    status = wait_message(tg, FRIEND, lambda m: m["message_id"] == offer["message_id"] and any(
        d.startswith("cj:") for d in keyboard_data(m)))
    job_id = next(d for d in keyboard_data(status) if d.startswith("cj:")).split(":")[1]
    tg.send_text(FRIEND, "/cancel")
    wait_message(tg, FRIEND, lambda m: "Cancelling" in m["text"], timeout=60)
    wait_message(tg, FRIEND, lambda m: m["message_id"] == offer["message_id"] and "Cancelled" in m["text"],
                 timeout=300)
    cancelled = last_id(tg, FRIEND)
    for data in (ClipAction(job=job_id, rank=1, action="longer").pack(),
                 ClipAction(job=job_id, rank=1, action="relayout").pack(),
                 RelayoutPick(job=job_id, rank=1, layout="blur_fit").pack()):
        query = tg.forge_callback(FRIEND, status, data)
        assert "expired" in answer_to(tg, query).lower()
    # No layout offer, no new job's status (each would come with buttons).
    later = [m for m in tg.sent_messages(FRIEND) if m["message_id"] > cancelled]
    assert not [m for m in later if keyboard_data(m)], later


def test_flood_control_is_waited_out(world):
    tg, _, _, _ = world
    before = last_id(tg, FRIEND)
    tg.rate_limit_next("sendMessage", retry_after=1)
    tg.send_text(FRIEND, "/start")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "Send me a link" in m["text"], timeout=30)
    assert any(c.status == 429 for c in tg.calls_to("sendMessage"))


@pytest.fixture
def friend_speaks_russian(world):
    """FRIEND's Telegram profile in Russian for one test, English again after it whatever
    happens (the fake keeps a user's profile from message to message). The profile is
    changed without a message, so no stray answer reaches the next test's chat."""
    tg = world[0]
    tg.add_user(FRIEND, language_code="ru")
    try:
        yield tg
    finally:
        tg.add_user(FRIEND, language_code="en")


def test_russian_speakers_get_russian(friend_speaks_russian):
    tg = friend_speaks_russian
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, "/help")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "Как пользоваться" in m["text"])


def test_settings_and_stats(world):
    tg, _, _, _ = world
    before = last_id(tg, OWNER)
    tg.send_text(OWNER, "/settings")
    menu = wait_message(tg, OWNER, lambda m: m["message_id"] > before and "defaults" in m["text"])
    tg.press_button(OWNER, menu, SettingPick(key="template", value="fps").pack())
    wait_message(tg, OWNER, lambda m: m["message_id"] == menu["message_id"] and "fps" in m["text"])
    forged = tg.forge_callback(OWNER, menu, SettingPick(key="template", value="nope").pack())
    assert "expired" in answer_to(tg, forged)
    photos = len(tg.calls_to("sendPhoto"))
    tg.send_text(OWNER, "/stats")
    tg.wait_for_sync(lambda: len(tg.calls_to("sendPhoto")) > photos or any(
        "Jobs:" in m.get("text", "") for m in tg.sent_messages(OWNER)[-2:]), timeout=30)


def test_watermark_hook_and_colour_in_settings_reach_the_next_request(world):
    tg, base, root, _ = world
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, "/watermark")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "/watermark @" in m["text"])
    tg.send_text(FRIEND, "/watermark @goal_cam")
    menu = wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "@goal_cam" in m["text"])
    tg.press_button(FRIEND, menu, SettingPick(key="hook", value="0").pack())
    wait_message(tg, FRIEND, lambda m: m["message_id"] == menu["message_id"] and "hook off" in m["text"])
    tg.press_button(FRIEND, menu, SettingPick(key="colour", value="pink").pack())
    wait_message(tg, FRIEND, lambda m: m["message_id"] == menu["message_id"] and "pink" in m["text"])
    forged = tg.forge_callback(FRIEND, menu, SettingPick(key="colour", value="plaid").pack())
    assert answer_to(tg, forged)
    before = last_id(tg, FRIEND)
    tg.send_text(FRIEND, f"{base}/vod.mp4")
    layout_offer(tg, FRIEND, before)
    import sqlite3

    with sqlite3.connect(root / "data" / "clipfactory.db") as db:
        rows = [json.loads(r[0]) for r in db.execute("SELECT options FROM requests ORDER BY created_at")]
    assert {"hook": False, "watermark": "@goal_cam", "colour": "pink"}.items() <= rows[-1].items()


def test_logs_of_the_whole_run_hide_the_token_and_name_the_jobs(world, link_job):
    tg, _, _, log_stream = world
    text = log_stream.getvalue()
    assert text, "the run logged"
    assert tg.token not in text
    lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
    job_lines = [line for line in lines if line["logger"] == "pipeline.jobs.worker"]
    assert job_lines and all(line["job_id"] != "-" for line in job_lines)
    assert metrics.CLIPS_SENT._value.get() >= 1


def test_a_local_bot_api_server_accepts_big_uploads(tmp_path):
    settings = load_settings(data_dir=str(tmp_path / "data"))
    with FakeTelegram(local=True).run_in_thread() as tg:
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=True)
        assert bot_settings.download_limit_mb == 2000
        app = ThreadedApp(settings, bot_settings)
        try:
            tg.user_sends_video(OWNER, b"\x00" * 1000, file_name="long_stream.mp4", duration=3 * 3600,
                                file_size=300 * 2**20)
            offer = layout_offer(tg, OWNER, 0)
            assert "long_stream.mp4" in offer["text"] and "3:00:00" in offer["text"]
        finally:
            app.close()
    assert app.error is None


def test_telegram_server_errors_are_retried(world):
    tg, _, _, _ = world
    before = last_id(tg, FRIEND)
    tg.server_error_next("sendMessage", status=502, times=2)
    tg.send_text(FRIEND, "/start")
    wait_message(tg, FRIEND, lambda m: m["message_id"] > before and "Send me a link" in m["text"], timeout=30)
    assert sum(c.status == 502 for c in tg.calls_to("sendMessage")) >= 2


def test_status_keeps_updating_when_the_bot_restarts_mid_job(tmp_path):
    """The bot alone is restarted while a separate worker runs the job: the worker keeps
    editing the same status message (its id lives in the job's row) and delivers the clips."""
    from bot.app import run_delivering_worker

    www = tmp_path / "www"
    www.mkdir()
    make_sample(www / "vod.mp4", SampleSpec(duration=40, hype_at=(20,), width=320, height=180))
    settings = load_settings(data_dir=str(tmp_path / "data"), scoring={"top_k": 1},
                             fetch={"allow_private_networks": True},
                             worker={"lease_s": 10, "heartbeat_s": 1, "poll_s": 0.2})
    with FakeTelegram().run_in_thread() as tg, serve_dir(www) as base:
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=False, telegram_status_every_s=0.5)
        bot = ThreadedApp(settings, bot_settings, with_worker=False)
        tg.send_text(OWNER, f"{base}/vod.mp4")
        offer = layout_offer(tg, OWNER, 0)
        tg.press_button(OWNER, offer, LayoutPick(request=keyboard_data(offer)[0].split(":")[1],
                                                 layout="blur_fit").pack())
        wait_message(tg, OWNER, lambda m: m["message_id"] == offer["message_id"] and "Queued" in m["text"])
        bot.close()
        worker_loop = asyncio.new_event_loop()
        worker = threading.Thread(target=lambda: worker_loop.run_until_complete(
            run_delivering_worker(settings, bot_settings, burst=True, slots=1)), daemon=True)
        worker.start()
        tg.wait_for_sync(lambda: any(c.params.get("message_id") == offer["message_id"]
                                     and "%" in str(c.params.get("text"))
                                     for c in tg.calls_to("editMessageText")), timeout=300)
        bot = ThreadedApp(settings, bot_settings, with_worker=False)  # the bot comes back mid-job
        worker.join(600)
        bot.close()
        assert tg.message(OWNER, offer["message_id"])["text"].startswith("✅")
        assert tg.calls_to("sendVideo")


def test_a_clip_is_delivered_once_even_when_a_job_is_resumed(tmp_path):
    """A worker that takes over a job delivers again only what was not delivered."""
    import storage
    from bot.factory import create_bot
    from bot.notifier import TelegramNotifier

    job_dir = tmp_path / "job"
    job_dir.mkdir()
    subprocess.run(["ffmpeg", "-v", "error", "-f", "lavfi", "-i", "testsrc2=size=108x192:rate=10:duration=2",
                    "-c:v", "libx264", "-pix_fmt", "yuv420p", str(job_dir / "clip_01.mp4")], check=True)
    clip = {"rank": 1, "start": 0.0, "end": 2.0, "score": 70.0, "text": "hello there",
            "breakdown": {"loudness": 0.9, "motion": 0.5}, "reasons": ["loud"], "file": "clip_01.mp4"}

    async def scenario(tg) -> None:
        url = storage.sqlite_url(tmp_path / "db.sqlite")
        await storage.migrate(url)
        db = storage.make_engine(url)
        bot = create_bot(BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                     telegram_api_local=False))
        try:
            user = await storage.ensure_user(db, telegram_id=OWNER)
            job, _ = await storage.enqueue(db, user, "https://example.com/v.mp4", {}, chat_id=OWNER)
            await storage.record_clips(db, job.id, [clip])
            notifier = TelegramNotifier(bot, db, BotSettings())
            await notifier.clip_ready(job, clip, job_dir)
            await storage.record_clips(db, job.id, [clip])      # the job resumed elsewhere
            await notifier.clip_ready(job, clip, job_dir)
            [stored] = await storage.clips_for(db, job.id)
            assert stored.delivered_at is not None and stored.telegram_file_id
        finally:
            await bot.session.close()
            await db.dispose()

    with FakeTelegram().run_in_thread() as tg:
        tg.add_user(OWNER)
        asyncio.run(scenario(tg))
        assert len(tg.calls_to("sendVideo")) == 1


def test_a_telegram_call_that_times_out_is_sent_again():
    from bot.factory import create_bot

    async def scenario(tg) -> None:
        bot = create_bot(BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                     telegram_api_local=False, telegram_request_timeout_s=0.5))
        try:
            tg.hang_next("sendMessage", seconds=3, apply=False)
            started = time.monotonic()
            sent = await bot.send_message(OWNER, "still here")
            assert sent.text == "still here" and time.monotonic() - started >= 0.5
        finally:
            await bot.session.close()

    with FakeTelegram().run_in_thread() as tg:
        tg.add_user(OWNER)
        asyncio.run(scenario(tg))
        assert len(tg.calls_to("sendMessage")) >= 1
        assert [m["text"] for m in tg.sent_messages(OWNER)] == ["still here"]
