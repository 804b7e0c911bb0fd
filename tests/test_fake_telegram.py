"""The fake Telegram Bot API server, exercised by a real aiogram 3 Bot and Dispatcher."""

from __future__ import annotations

import asyncio
import json
import shutil
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

pytest.importorskip("aiogram")

from aiogram import Bot, Dispatcher, F  # noqa: E402
from aiogram.client.session.aiohttp import AiohttpSession  # noqa: E402
from aiogram.exceptions import (  # noqa: E402
    TelegramBadRequest,
    TelegramEntityTooLarge,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.filters import CommandStart  # noqa: E402
from aiogram.types import (  # noqa: E402
    BufferedInputFile,
    CallbackQuery,
    FSInputFile,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
)

from tests.fake_telegram import MB, FakeTelegram  # noqa: E402

USER = 4242


def run(coro, timeout: float = 20):
    return asyncio.run(asyncio.wait_for(coro, timeout))


@pytest.fixture(scope="module")
def clip(tmp_path_factory) -> Path:
    """A 1 s 180x320 mp4 made with ffmpeg's lavfi test source."""
    if shutil.which("ffmpeg") is None:
        pytest.skip("ffmpeg is not installed")
    out = tmp_path_factory.mktemp("clip") / "clip.mp4"
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-f", "lavfi", "-i",
         "testsrc=size=180x320:rate=10:duration=1", "-pix_fmt", "yuv420p",
         "-c:v", "libx264", "-preset", "ultrafast", str(out)],
        check=True, timeout=60)
    return out


def echo_dispatcher(clip: Path, downloads: list[bytes]) -> Dispatcher:
    """A tiny bot: echo with a button; the button edits, answers and sends a clip."""
    dp = Dispatcher()

    @dp.message(CommandStart())
    async def start(message: Message) -> None:
        await message.answer("<b>Hi</b>, send me a link", parse_mode="HTML")

    @dp.message(F.document)
    async def document(message: Message, bot: Bot) -> None:
        data = await bot.download(message.document)
        downloads.append(data.read())
        await message.answer(f"got {len(downloads[-1])} bytes")

    @dp.message(F.text)
    async def echo(message: Message) -> None:
        keyboard = InlineKeyboardMarkup(inline_keyboard=[[
            InlineKeyboardButton(text="Make clip", callback_data="clip:1")]])
        await message.answer(f"echo: {message.text}", reply_markup=keyboard)

    @dp.callback_query(F.data.startswith("clip:"))
    async def make_clip(query: CallbackQuery, bot: Bot) -> None:
        await query.answer("on it")
        await query.message.edit_text("Rendering…")
        await bot.send_chat_action(query.message.chat.id, "upload_video")
        await bot.send_video(query.message.chat.id, FSInputFile(clip), caption="Your clip",
                             duration=1, width=180, height=320)

    return dp


def test_echo_bot_round_trip(clip: Path) -> None:
    async def main() -> None:
        downloads: list[bytes] = []
        async with FakeTelegram().start() as tg:
            bot = tg.make_bot()
            dp = echo_dispatcher(clip, downloads)
            polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
            try:
                tg.send_text(USER, "/start", first_name="Ann")
                hello = await tg.wait_for_message(USER, "send me a link")
                assert hello["text"] == "Hi, send me a link"          # HTML parsed
                assert hello["entities"] == [{"type": "bold", "offset": 0, "length": 2}]

                sent = tg.send_text(USER, "https://www.twitch.tv/videos/1")
                assert sent["entities"][0]["type"] == "url"
                reply = await tg.wait_for_message(USER, "echo:")
                assert reply["text"] == "echo: https://www.twitch.tv/videos/1"
                assert reply["from"]["is_bot"] and reply["chat"]["id"] == USER
                button = reply["reply_markup"]["inline_keyboard"][0][0]
                assert button == {"text": "Make clip", "callback_data": "clip:1"}
                with pytest.raises(LookupError):
                    tg.press_button(USER, reply, "clip:999")

                query_id = tg.press_button(USER, reply, "clip:1")
                upload = await tg.wait_for(lambda: tg.uploads and tg.uploads[-1])
                assert upload.method == "sendVideo" and not upload.reused
                assert upload.caption == "Your clip"
                assert upload.data == clip.read_bytes()
                assert upload.file.file_name == "clip.mp4"

                answered = tg.answered_callbacks[-1]
                assert (answered.callback_query_id, answered.text) == (query_id, "on it")
                edited = tg.message(USER, reply["message_id"])
                assert edited["text"] == "Rendering…" and "reply_markup" not in edited
                assert "edit_date" in edited
                clip_message = tg.last_message(USER)
                assert clip_message["video"]["file_id"] == upload.file_id
                video = clip_message["video"]
                assert (video["width"], video["height"], video["duration"]) == (180, 320, 1)
                assert tg.methods()[-4:] == ["answerCallbackQuery", "editMessageText",
                                             "sendChatAction", "sendVideo"]

                # the file_id the fake answered resolves to the same stored bytes
                again = await bot.send_video(USER, upload.file_id, caption="again")
                assert again.video.file_id == upload.file_id
                assert tg.uploads[-1].reused and tg.uploads[-1].data == clip.read_bytes()

                # a user document, downloaded by the bot through getFile + /file/bot…/path
                payload = bytes(range(256)) * 40
                tg.user_sends_document(USER, payload, file_name="notes.bin")
                await tg.wait_for_message(USER, "got 10240 bytes")
                assert downloads == [payload]
                assert tg.calls_to("downloadFile")[-1].ok
            finally:
                await dp.stop_polling()
                await polling
            assert [c.method for c in tg.all_calls[:1]] == ["getMe"]

    started = time.monotonic()
    run(main())
    assert time.monotonic() - started < 15


def test_errors_map_to_aiogram_exceptions() -> None:
    async def main() -> None:
        async with FakeTelegram(upload_limit=256 * 1024).start() as tg:
            tg.add_user(USER)
            async with tg.make_bot() as bot:
                with pytest.raises(TelegramEntityTooLarge):
                    await bot.send_video(USER, BufferedInputFile(b"\0" * (300 * 1024), "big.mp4"))
                assert tg.calls[-1].status == 413 and tg.calls[-1].params["chat_id"] == USER
                assert not tg.uploads
                small = await bot.send_video(USER, BufferedInputFile(b"\0" * 1024, "ok.mp4"))
                assert small.video.file_size == 1024

                tg.rate_limit_next("sendMessage", retry_after=7)
                with pytest.raises(TelegramRetryAfter) as retry:
                    await bot.send_message(USER, "hi")
                assert retry.value.retry_after == 7
                tg.server_error_next("sendMessage")
                with pytest.raises(TelegramServerError):
                    await bot.send_message(USER, "hi")
                hi = await bot.send_message(USER, "hi")                      # faults used up
                assert hi.text == "hi"

                big = tg.user_sends_video(USER, b"tiny", file_size=21 * MB)
                with pytest.raises(TelegramBadRequest, match="file is too big"):
                    await bot.get_file(big["video"]["file_id"])

                with pytest.raises(TelegramBadRequest, match="chat not found"):
                    await bot.send_message(999, "who?")
                with pytest.raises(TelegramBadRequest, match="can't parse entities"):
                    await bot.send_message(USER, "a <3 b", parse_mode="HTML")
                with pytest.raises(TelegramBadRequest, match="message is not modified"):
                    await bot.edit_message_text("hi", chat_id=USER, message_id=hi.message_id)
                with pytest.raises(TelegramBadRequest, match="BUTTON_DATA_INVALID"):
                    await bot.send_message(USER, "x", reply_markup=InlineKeyboardMarkup(
                        inline_keyboard=[[InlineKeyboardButton(text="x", callback_data="y" * 65)]]))
                tg.block_bot(USER)
                with pytest.raises(TelegramForbiddenError):
                    await bot.send_message(USER, "hi")
                tg.block_bot(USER, False)

                # a hang past the client's timeout: aiogram gives up, the message still lands
                tg.hang_next("sendMessage", 0.6)
                with pytest.raises(TelegramNetworkError):
                    await bot.send_message(USER, "late", request_timeout=0.2)
                await tg.wait_for(lambda: tg.last_message(USER)["text"] == "late")

            async with Bot("42:WRONG", session=AiohttpSession(api=tg.api_server)) as stranger:
                with pytest.raises(TelegramUnauthorizedError):
                    await stranger.get_me()

    run(main())


def test_local_server_serves_big_files_from_disk(tmp_path: Path) -> None:
    source = tmp_path / "vod.mp4"
    source.write_bytes(b"frame" * 1000)

    async def main() -> None:
        async with FakeTelegram(local=True).start() as tg:
            message = tg.user_sends_video(USER, source, file_size=300 * MB)
            async with tg.make_bot() as bot:
                assert bot.session.api.is_local
                file = await bot.get_file(message["video"]["file_id"])
                assert Path(file.file_path).is_absolute() and file.file_size == 300 * MB
                data = await bot.download(message["video"]["file_id"])
                assert data.read() == source.read_bytes()
            assert not tg.calls_to("downloadFile")       # aiogram read the path itself

    run(main())


def _post(url: str, payload: dict | None = None) -> tuple[int, dict]:
    body = json.dumps(payload or {}).encode()
    request = urllib.request.Request(url, data=body, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def test_thread_runner_long_polling_and_files() -> None:
    with FakeTelegram().run_in_thread() as tg:
        api = f"{tg.base_url}/bot{tg.token}"
        assert _post(f"{api}/getMe")[1]["result"]["is_bot"]
        assert _post(f"{tg.base_url}/bot1:nope/getMe") == (
            401, {"ok": False, "error_code": 401, "description": "Unauthorized"})
        assert _post(f"{api}/noSuchMethod")[0] == 404

        started = time.monotonic()
        assert _post(f"{api}/getUpdates", {"timeout": 0.3})[1]["result"] == []
        assert time.monotonic() - started >= 0.25

        first = tg.send_text(USER, "one")["message_id"]
        tg.send_text(USER, "two")
        updates = _post(f"{api}/getUpdates", {"timeout": 5})[1]["result"]
        assert [u["message"]["text"] for u in updates] == ["one", "two"]
        last = updates[-1]["update_id"]
        assert len(_post(f"{api}/getUpdates", {"offset": last})[1]["result"]) == 1
        assert _post(f"{api}/getUpdates", {"offset": last + 1})[1]["result"] == []
        assert tg.pending_updates() == []

        status, sent = _post(f"{api}/sendMessage", {"chat_id": USER, "text": "pong",
                                                    "reply_parameters": {"message_id": first}})
        assert status == 200 and sent["result"]["reply_to_message"]["text"] == "one"
        assert tg.wait_for_sync(lambda: tg.last_message(USER))["text"] == "pong"

        doc = tg.user_sends_document(USER, b"%PDF-1.4 fake", file_name="a.pdf")
        info = _post(f"{api}/getFile", {"file_id": doc["document"]["file_id"]})[1]["result"]
        assert doc["document"]["mime_type"] == "application/pdf"
        with urllib.request.urlopen(f"{tg.base_url}/file/bot{tg.token}/{info['file_path']}") as r:
            assert r.read() == b"%PDF-1.4 fake"


def test_bot_api_surface(tmp_path: Path) -> None:
    """Commands, photos, albums, captions, deletes, callbacks and polling conflicts."""
    from aiogram.types import BotCommand, InputMediaPhoto, InputMediaVideo

    png = (b"\x89PNG\r\n\x1a\n" + b"\0\0\0\rIHDR" + (720).to_bytes(4, "big")
           + (1280).to_bytes(4, "big") + b"\x08\x02\0\0\0")

    async def main() -> None:
        async with FakeTelegram().start() as tg:
            async with tg.make_bot() as bot:
                await bot.set_my_commands([BotCommand(command="clip", description="Make clips")])
                assert [c.command for c in await bot.get_my_commands()] == ["clip"]
                assert tg.commands() == [{"command": "clip", "description": "Make clips"}]

                tg.send_text(USER, "hi", first_name="Bo", language_code="de")
                photo = await bot.send_photo(USER, BufferedInputFile(png, "thumb.png"),
                                             caption="<i>cover</i>", parse_mode="HTML")
                assert (photo.photo[-1].width, photo.photo[-1].height) == (720, 1280)
                assert photo.caption == "cover" and photo.caption_entities[0].type == "italic"
                edited = await bot.edit_message_caption(chat_id=USER, message_id=photo.message_id,
                                                        caption="new cover")
                assert edited.caption == "new cover"
                with pytest.raises(TelegramBadRequest, match="no text in the message"):
                    await bot.edit_message_text("x", chat_id=USER, message_id=photo.message_id)

                album = await bot.send_media_group(USER, [
                    InputMediaPhoto(media=photo.photo[-1].file_id),
                    InputMediaVideo(media=BufferedInputFile(b"video", "a.mp4"), caption="a")])
                assert len({m.media_group_id for m in album}) == 1
                assert [u.reused for u in tg.uploads[-2:]] == [True, False]
                assert tg.uploads[-1].data == b"video"

                doc = await bot.send_document(USER, BufferedInputFile(b"csv", "clips.csv"))
                assert doc.document.mime_type == "text/csv"
                assert await bot.delete_message(USER, doc.message_id)
                assert tg.is_deleted(USER, doc.message_id)
                assert doc.message_id not in [m["message_id"] for m in tg.sent_messages(USER)]
                with pytest.raises(TelegramBadRequest, match="message to delete not found"):
                    await bot.delete_message(USER, doc.message_id)

                query = tg.forge_callback(USER, photo.message_id, "x" * 10)
                assert await bot.answer_callback_query(query, text="no", show_alert=True)
                assert tg.answered_callbacks[-1].show_alert
                with pytest.raises(TelegramBadRequest, match="query is too old"):
                    await bot.answer_callback_query(query)

                # allowed_updates: a callback query is dropped when only messages are allowed
                tg.forge_callback(USER, photo.message_id, "y")
                tg.send_text(USER, "after")
                updates = await bot.get_updates(allowed_updates=["message"], timeout=0)
                assert [next(k for k in u.model_fields_set if k != "update_id")
                        for u in updates] == ["message", "message"]
                assert updates[-1].message.from_user.language_code == "de"
                await bot.get_updates(offset=updates[-1].update_id + 1, timeout=0)

                # a second long poll ends the first one with 409 Conflict
                first = asyncio.create_task(bot.get_updates(timeout=5))
                await tg.wait_for(lambda: tg.long_polling)
                second = asyncio.create_task(bot.get_updates(timeout=5))
                from aiogram.exceptions import TelegramConflictError
                with pytest.raises(TelegramConflictError):
                    await first
                tg.send_text(USER, "wake")
                assert [u.message.text for u in await second] == ["wake"]

                with pytest.raises(TimeoutError, match="condition not met"):
                    await tg.wait_for(lambda: False, timeout=0.05)

    run(main())
