"""A fake Telegram Bot API server on 127.0.0.1 for testing the real aiogram bot offline.

It speaks enough of the Bot API (https://core.telegram.org/bots/api) for aiogram 3: the
bot's own calls (`POST /bot{token}/{method}`, JSON, urlencoded or multipart bodies) and
file downloads (`GET /file/bot{token}/{file_path}`). Tests drive the "user" side through
a scripted API and inspect what the bot did afterwards::

    async with FakeTelegram().start() as tg:
        bot = tg.make_bot()                   # aiogram Bot pointed at the fake
        polling = asyncio.create_task(dp.start_polling(bot, handle_signals=False))
        msg = tg.send_text(42, "https://twitch.tv/videos/1")
        reply = await tg.wait_for(lambda: tg.last_message(42))
        tg.press_button(42, reply, "clip:1")
        upload = await tg.wait_for(lambda: tg.uploads and tg.uploads[-1])
        assert upload.data.startswith(b"...")
        await dp.stop_polling(); await polling

For synchronous tests `with FakeTelegram().run_in_thread() as tg:` runs the same server on
its own event loop in a background thread; every public method is thread-safe.

What it models (each with Telegram's own error texts, so the bot's error handling is real):
  * users and private chats (group chats with a negative chat_id), per-chat message ids,
    messages the bot sends / edits / deletes, inline keyboards and callback queries;
  * long polling: `getUpdates` honours `offset` (confirming earlier updates), `limit`,
    `timeout` and `allowed_updates`; a second concurrent poll ends the first with 409;
  * uploads: multipart parts (aiogram names them randomly and references them as
    `attach://<name>`) are stored on disk under a new file_id that the bot may re-send;
    more than `upload_limit` bytes answers 413;
  * downloads: `getFile` refuses files over `download_limit` ("file is too big") unless
    the fake plays a local Bot API server (`local=True`), which then answers absolute paths
    that aiogram (`TelegramAPIServer(is_local=True)`) reads straight from disk;
  * `parse_mode="HTML"` is parsed (tags stripped, entities produced, bad markup answered
    with "can't parse entities"); Markdown modes are stored verbatim;
  * fault injection: 429 with retry_after, 5xx, or a hang, for the next N calls of a method.
"""

from __future__ import annotations

import asyncio
import contextlib
import copy
import itertools
import json
import mimetypes
import re
import secrets
import shutil
import socket
import struct
import tempfile
import threading
import time
import weakref
from collections.abc import AsyncIterator, Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import BodyPartReader, web

MB = 1024 * 1024
DEFAULT_TOKEN = "123456789:AAFakeTelegramTokenForTests_0123456789"
CLOUD_UPLOAD_LIMIT = 50 * MB
CLOUD_DOWNLOAD_LIMIT = 20 * MB
LOCAL_UPLOAD_LIMIT = 2000 * MB

MESSAGE_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64

# Form fields that hold a file: an upload (`attach://name`), a file_id or a URL.
FILE_FIELDS = ("video", "photo", "document", "animation", "audio", "voice", "video_note",
               "sticker", "thumbnail")
# Form fields whose string value must never be JSON-decoded ("123" stays a text).
STRING_FIELDS = frozenset({
    "text", "caption", "parse_mode", "action", "url", "callback_query_id", "file_id",
    "language_code", "inline_message_id", "business_connection_id", "message_effect_id",
    "title", "performer", "file_name", "emoji", "question", "address", "secret_token",
    "description", "short_description", "name", "query", *FILE_FIELDS,
})
CHAT_ACTIONS = frozenset({
    "typing", "upload_photo", "record_video", "upload_video", "record_voice", "upload_voice",
    "upload_document", "choose_sticker", "find_location", "record_video_note",
    "upload_video_note",
})
# Update types delivered when allowed_updates is empty (Telegram's default set).
DEFAULT_UPDATE_TYPES = frozenset({
    "message", "edited_message", "channel_post", "edited_channel_post", "inline_query",
    "chosen_inline_result", "callback_query", "shipping_query", "pre_checkout_query",
    "poll", "poll_answer", "my_chat_member", "chat_join_request",
})
_FOLDERS = {"video": "videos", "photo": "photos", "document": "documents",
            "thumbnail": "thumbnails", "animation": "animations", "audio": "music",
            "voice": "voice", "video_note": "video_notes", "sticker": "stickers"}
_FILE_ID_PREFIX = {"video": "BAACAgI", "photo": "AgACAgI", "document": "BQACAgI",
                   "thumbnail": "AAMCAgI"}


# --------------------------------------------------------------------------- records


class ApiError(Exception):
    """A Bot API error answer: raised by a method implementation, sent as JSON."""

    def __init__(self, status: int, description: str, **parameters: Any) -> None:
        super().__init__(description)
        self.status = status
        self.description = description
        self.parameters = parameters

    def payload(self) -> dict[str, Any]:
        body: dict[str, Any] = {"ok": False, "error_code": self.status,
                                "description": self.description}
        if self.parameters:
            body["parameters"] = self.parameters
        return body


def bad_request(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


@dataclass
class StoredFile:
    """A file the fake knows by file_id: uploaded by the bot or sent by a user."""

    file_id: str
    file_unique_id: str
    kind: str                      # video | photo | document | thumbnail | ...
    origin: str                    # "bot" (uploaded by the bot) or "user"
    disk_path: Path                # where the bytes are
    file_path: str                 # Telegram's relative path, e.g. "videos/file_3.mp4"
    file_size: int                 # reported size (a test may claim more than stored)
    file_name: str | None = None
    mime_type: str | None = None
    meta: dict[str, Any] = field(default_factory=dict)   # width/height/duration...

    @property
    def data(self) -> bytes:
        return self.disk_path.read_bytes()

    @property
    def stored_size(self) -> int:
        return self.disk_path.stat().st_size


@dataclass
class Upload:
    """A media message the bot sent: new bytes (multipart) or a re-sent file_id."""

    method: str                    # sendVideo, sendPhoto, sendDocument
    chat_id: int
    message_id: int
    field: str                     # the form field: video, photo, document
    file: StoredFile
    params: dict[str, Any]
    reused: bool                   # True when the bot passed an existing file_id
    thumbnail: StoredFile | None = None

    @property
    def data(self) -> bytes:
        return self.file.data

    @property
    def caption(self) -> str | None:
        return self.params.get("caption")

    @property
    def file_id(self) -> str:
        return self.file.file_id


@dataclass
class Call:
    """One Bot API request. Unpacks as `method, params` for `for m, p in tg.calls`."""

    method: str
    params: dict[str, Any]
    status: int = 200
    response: dict[str, Any] = field(default_factory=dict)
    at: float = field(default_factory=time.monotonic)

    def __iter__(self) -> Iterator[Any]:
        yield self.method
        yield self.params

    @property
    def ok(self) -> bool:
        return self.status == 200

    @property
    def result(self) -> Any:
        return self.response.get("result")


@dataclass
class AnsweredCallback:
    callback_query_id: str
    data: str | None
    user_id: int
    text: str | None
    show_alert: bool
    url: str | None
    params: dict[str, Any]


@dataclass
class Fault:
    method: str                    # lower-cased method name or "*"
    remaining: int
    status: int = 500
    description: str = "Internal Server Error"
    parameters: dict[str, Any] = field(default_factory=dict)
    hang: float = 0.0
    apply_after_hang: bool = True


@dataclass
class _Part:
    name: str
    filename: str
    content_type: str | None
    path: Path
    size: int


class _TooLarge(Exception):
    def __init__(self, fields: dict[str, str]) -> None:
        super().__init__("upload too large")
        self.fields = fields


# --------------------------------------------------------------------------- text helpers


def utf16_len(text: str) -> int:
    """Telegram counts entity offsets and lengths in UTF-16 code units."""
    return len(text.encode("utf-16-le")) // 2


_URL = re.compile(r"https?://[^\s<>\"']+")
_COMMAND = re.compile(r"^/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]+)?")


def user_text_entities(text: str) -> list[dict[str, Any]]:
    """The entities Telegram attaches to a plain text a user sends (commands, URLs)."""
    entities = []
    if m := _COMMAND.match(text):
        entities.append({"type": "bot_command", "offset": 0, "length": utf16_len(m.group())})
    for m in _URL.finditer(text):
        entities.append({"type": "url", "offset": utf16_len(text[:m.start()]),
                         "length": utf16_len(m.group())})
    return entities


_TAG = re.compile(r"<(/?)([a-zA-Z][a-zA-Z0-9-]*)((?:\s[^<>]*)?)>")
_ATTR = re.compile(r"""([a-zA-Z-]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s"'>]+)))?""")
_HTML_ENTITY = re.compile(r"&(lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);")
_HTML_TYPES = {"b": "bold", "strong": "bold", "i": "italic", "em": "italic",
               "u": "underline", "ins": "underline", "s": "strikethrough",
               "strike": "strikethrough", "del": "strikethrough", "tg-spoiler": "spoiler",
               "span": "spoiler", "a": "text_link", "code": "code", "pre": "pre",
               "blockquote": "blockquote", "tg-emoji": "custom_emoji"}


def _entities_error(message: str) -> ApiError:
    return bad_request(f"can't parse entities: {message}")


def _unescape(token: str) -> str:
    name = token[1:-1]
    if name.startswith("#x"):
        return chr(int(name[2:], 16))
    if name.startswith("#"):
        return chr(int(name[1:]))
    return {"lt": "<", "gt": ">", "amp": "&", "quot": '"'}[name]


def parse_html(source: str) -> tuple[str, list[dict[str, Any]]]:
    """Telegram's HTML parse mode: the visible text and its entities (UTF-16 offsets).

    Raises ApiError 400 "can't parse entities: ..." for the markup Telegram refuses:
    unknown tags (a bare "<" too), mismatched or unclosed tags.
    """
    out: list[str] = []
    pos = 0                                   # UTF-16 position in the output
    stack: list[tuple[str, dict[str, Any] | None, int]] = []
    entities: list[dict[str, Any]] = []
    i = 0
    while i < len(source):
        ch = source[i]
        if ch == "<":
            byte_offset = len(source[:i].encode())
            m = _TAG.match(source, i)
            if m is None:
                name = re.match(r"</?([^\s>]*)", source[i:]).group(1)  # type: ignore[union-attr]
                raise _entities_error(
                    f'Unsupported start tag "{name}" at byte offset {byte_offset}')
            closing, name, raw_attrs = m.group(1), m.group(2).lower(), m.group(3)
            if closing:
                if not stack or stack[-1][0] != name:
                    expected = f'"</{stack[-1][0]}>"' if stack else "no end tag"
                    raise _entities_error(f"Unmatched end tag at byte offset {byte_offset}, "
                                          f'expected {expected}, found "</{name}>"')
                _, entity, start = stack.pop()
                if entity is not None and pos > start:
                    entities.append({**entity, "offset": start, "length": pos - start})
            else:
                stack.append((name, _html_entity(name, raw_attrs, stack, byte_offset), pos))
            i = m.end()
            continue
        if ch == "&" and (m := _HTML_ENTITY.match(source, i)):
            text = _unescape(m.group())
            i = m.end()
        else:
            text = ch
            i += 1
        out.append(text)
        pos += utf16_len(text)
    if stack:
        raise _entities_error(f'Can\'t find end tag corresponding to start tag "{stack[-1][0]}"')
    entities.sort(key=lambda e: (e["offset"], -e["length"]))
    return "".join(out), entities


def _html_entity(name: str, raw_attrs: str, stack: list, byte_offset: int) -> dict[str, Any] | None:
    if name not in _HTML_TYPES:
        raise _entities_error(f'Unsupported start tag "{name}" at byte offset {byte_offset}')
    attrs = {m.group(1).lower(): next((g for g in m.groups()[1:] if g is not None), "")
             for m in _ATTR.finditer(raw_attrs)}
    entity: dict[str, Any] = {"type": _HTML_TYPES[name]}
    if name == "span" and attrs.get("class") != "tg-spoiler":
        raise _entities_error(f'Unsupported start tag "span" at byte offset {byte_offset}')
    if name == "a":
        href = attrs.get("href", "")
        if not href:
            return None                       # Telegram keeps the text, drops the link
        entity["url"] = href
    if name == "blockquote" and "expandable" in attrs:
        entity["type"] = "expandable_blockquote"
    if name == "tg-emoji":
        entity["custom_emoji_id"] = attrs.get("emoji-id", "")
    if name == "code" and stack and stack[-1][0] == "pre" and stack[-1][1] is not None:
        language = attrs.get("class", "")
        if language.startswith("language-"):
            stack[-1][1]["language"] = language[len("language-"):]
        return None                           # <pre><code> is one "pre" entity
    return entity


def strip_text(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram trims leading and trailing whitespace of texts and captions."""
    stripped = text.strip()
    if stripped == text:
        return text, entities
    shift = utf16_len(text[: len(text) - len(text.lstrip())])
    end = utf16_len(stripped)
    kept = []
    for e in entities:
        start = max(e["offset"] - shift, 0)
        stop = min(e["offset"] + e["length"] - shift, end)
        if stop > start:
            kept.append({**e, "offset": start, "length": stop - start})
    return stripped, kept


def image_size(path: Path) -> tuple[int, int]:
    """Width and height of a PNG or JPEG (0, 0 when unknown)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(256 * 1024)
    except OSError:
        return 0, 0
    if head[:8] == b"\x89PNG\r\n\x1a\n" and len(head) >= 24:
        return struct.unpack(">II", head[16:24])
    if head[:2] == b"\xff\xd8":
        i = 2
        while i + 9 < len(head):
            if head[i] != 0xFF:
                i += 1
                continue
            marker = head[i + 1]
            if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
                height, width = struct.unpack(">HH", head[i + 5:i + 9])
                return width, height
            i += 2 + struct.unpack(">H", head[i + 2:i + 4])[0]
    return 0, 0


def decode_form_value(key: str, value: str) -> Any:
    """Form values are strings; aiogram JSON-encodes everything that isn't a string."""
    if key in STRING_FIELDS or not value or value[0] not in '{["-0123456789tfn':
        return value
    try:
        decoded = json.loads(value)
    except ValueError:
        return value
    return value if isinstance(decoded, str) or decoded != decoded else decoded  # NaN


def _as_bool(value: Any) -> bool:
    if isinstance(value, str):
        return value.lower() in ("true", "1")
    return bool(value)


def _as_int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        raise bad_request(f"invalid {name} specified") from None


# --------------------------------------------------------------------------- the server


class FakeTelegram:
    """A fake Bot API server. Start it with `start()` (async) or `run_in_thread()` (sync).

    Knobs (constructor keywords, also plain attributes you may change later):
      token / extra_tokens   the tokens it accepts; others get 401 Unauthorized
      local                  play a local Bot API server: getFile has no size limit and
                             answers absolute paths; uploads up to 2000 MB
      upload_limit           bytes of multipart file data per request before 413
                             (default 50 MB, or 2000 MB when local)
      download_limit         largest file getFile serves in cloud mode (default 20 MB)
      files_dir              where uploads are stored (default: a temp dir, removed when
                             the fake is garbage-collected, so bytes stay readable after stop)
      bot_username / bot_first_name
    """

    def __init__(
        self,
        token: str = DEFAULT_TOKEN,
        *,
        local: bool = False,
        upload_limit: int | None = None,
        download_limit: int = CLOUD_DOWNLOAD_LIMIT,
        files_dir: str | Path | None = None,
        bot_username: str = "clip_factory_test_bot",
        bot_first_name: str = "Clip Factory",
        extra_tokens: tuple[str, ...] = (),
    ) -> None:
        self.token = token
        self.tokens = {token, *extra_tokens}
        self.local = local
        self.upload_limit = upload_limit if upload_limit is not None else (
            LOCAL_UPLOAD_LIMIT if local else CLOUD_UPLOAD_LIMIT)
        self.download_limit = download_limit
        self.bot_user = {"id": int(token.split(":", 1)[0]), "is_bot": True,
                         "first_name": bot_first_name, "username": bot_username,
                         "can_join_groups": True, "can_read_all_group_messages": False,
                         "supports_inline_queries": False}
        self.files_dir = Path(files_dir) if files_dir else None

        self._lock = threading.RLock()
        self._ids = itertools.count(1)            # file ids, callback ids, temp names
        self._users: dict[int, dict[str, Any]] = {}
        self._chats: dict[int, dict[str, Any]] = {}
        self._blocked: set[int] = set()
        self._next_message_id: dict[int, int] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._deleted: set[tuple[int, int]] = set()
        self._updates: list[dict[str, Any]] = []
        self._next_update_id = 100_000
        self._allowed_updates: frozenset[str] = DEFAULT_UPDATE_TYPES
        self._callbacks: dict[str, dict[str, Any]] = {}
        self._files: dict[str, StoredFile] = {}
        self._by_path: dict[str, StoredFile] = {}
        self._commands: dict[tuple[str, str], list[dict[str, Any]]] = {}
        self._faults: list[Fault] = []

        self.all_calls: list[Call] = []
        self.uploads: list[Upload] = []
        self.answered_callbacks: list[AnsweredCallback] = []

        self._loop: asyncio.AbstractEventLoop | None = None
        self._runner: web.AppRunner | None = None
        self._poller: asyncio.Future[str] | None = None
        self._closing: asyncio.Event | None = None
        self.base_url = ""

        self._methods: dict[str, Callable[[dict[str, Any], dict[str, _Part]], Any]] = {
            name[len("_api_"):].lower(): getattr(self, name)
            for name in dir(self) if name.startswith("_api_")
        }
        self._method_names = {name[len("_api_"):].lower(): name[len("_api_"):]
                              for name in dir(self) if name.startswith("_api_")}

    # ------------------------------------------------------------------ lifecycle

    @contextlib.asynccontextmanager
    async def start(self, host: str = "127.0.0.1", port: int = 0) -> AsyncIterator[FakeTelegram]:
        """Serve on the running event loop: `async with FakeTelegram().start() as tg:`."""
        await self._startup(host, port)
        try:
            yield self
        finally:
            await self._shutdown()

    @contextlib.contextmanager
    def run_in_thread(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[FakeTelegram]:
        """Serve from a background thread with its own event loop (for sync tests)."""
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        errors: list[BaseException] = []
        stop: list[asyncio.Event] = []

        async def serve() -> None:
            stop.append(asyncio.Event())
            async with self.start(host, port):
                ready.set()
                await stop[0].wait()

        def target() -> None:
            try:
                loop.run_until_complete(serve())
            except BaseException as exc:  # noqa: BLE001 - handed to the caller
                errors.append(exc)
            finally:
                ready.set()
                loop.close()

        thread = threading.Thread(target=target, name="fake-telegram", daemon=True)
        thread.start()
        ready.wait(30)
        if errors:
            raise errors[0]
        try:
            yield self
        finally:
            loop.call_soon_threadsafe(stop[0].set)
            thread.join(30)

    async def _startup(self, host: str, port: int) -> None:
        if self._runner is not None:
            raise RuntimeError("FakeTelegram is already running")
        self._ensure_files_dir()
        self._loop = asyncio.get_running_loop()
        self._closing = asyncio.Event()
        app = web.Application(client_max_size=1024 * MB)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_method)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        self._runner = web.AppRunner(app, access_log=None, shutdown_timeout=2.0)
        await self._runner.setup()
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
        await web.SockSite(self._runner, sock).start()
        self.base_url = f"http://{host}:{sock.getsockname()[1]}"

    def _ensure_files_dir(self) -> Path:
        if self.files_dir is None:
            self.files_dir = Path(tempfile.mkdtemp(prefix="fake-telegram-"))
            weakref.finalize(self, shutil.rmtree, self.files_dir, True)
        self.files_dir.mkdir(parents=True, exist_ok=True)
        return self.files_dir

    async def _shutdown(self) -> None:
        assert self._closing is not None and self._runner is not None
        self._closing.set()
        self._wake_poller("closing")
        await self._runner.cleanup()
        self._runner = None
        self._loop = None

    @property
    def api_server(self) -> Any:
        """aiogram's TelegramAPIServer for this fake (is_local follows `local`)."""
        from aiogram.client.telegram import TelegramAPIServer

        return TelegramAPIServer.from_base(self.base_url, is_local=self.local)

    def make_bot(self, token: str | None = None, **bot_kwargs: Any) -> Any:
        """A real aiogram Bot whose session talks to this fake."""
        from aiogram import Bot
        from aiogram.client.session.aiohttp import AiohttpSession

        session = AiohttpSession(api=self.api_server)
        return Bot(token or self.token, session=session, **bot_kwargs)

    # ------------------------------------------------------------------ fault knobs

    def fail_next(self, method: str = "*", *, times: int = 1, status: int = 500,
                  description: str = "Internal Server Error", **parameters: Any) -> None:
        """The next `times` calls of `method` ("*" = any but getUpdates) answer this error."""
        with self._lock:
            self._faults.append(Fault(method.lower(), times, status, description, parameters))

    def rate_limit_next(self, method: str = "*", *, retry_after: int = 1, times: int = 1) -> None:
        """429 Too Many Requests with parameters.retry_after (aiogram: TelegramRetryAfter)."""
        self.fail_next(method, times=times, status=429,
                       description=f"Too Many Requests: retry after {retry_after}",
                       retry_after=retry_after)

    def server_error_next(self, method: str = "*", *, status: int = 502, times: int = 1,
                          description: str = "Bad Gateway") -> None:
        """A 5xx answer (aiogram: TelegramServerError)."""
        self.fail_next(method, times=times, status=status, description=description)

    def hang_next(self, method: str = "*", seconds: float = 5.0, *, times: int = 1,
                  apply: bool = True) -> None:
        """Hold the next `times` calls for `seconds` before answering (client timeouts).

        With apply=True the call then takes effect anyway, as on Telegram where a request
        whose answer was lost may still have been carried out; with apply=False it is
        dropped and answered 502.
        """
        with self._lock:
            self._faults.append(Fault(method.lower(), times, 502, "Bad Gateway",
                                      hang=seconds, apply_after_hang=apply))

    def clear_faults(self) -> None:
        with self._lock:
            self._faults.clear()

    def block_bot(self, user_id: int, blocked: bool = True) -> None:
        """The user blocks the bot: sends to their chat answer 403."""
        with self._lock:
            (self._blocked.add if blocked else self._blocked.discard)(user_id)

    # ------------------------------------------------------------------ scripted user API

    def add_user(self, user_id: int, first_name: str | None = None, *,
                 username: str | None = None, language_code: str | None = None,
                 last_name: str | None = None) -> dict[str, Any]:
        """Register (or update) a user and their private chat; returns the User object."""
        with self._lock:
            user = self._users.setdefault(user_id, {"id": user_id, "is_bot": False,
                                                    "first_name": "Tester",
                                                    "language_code": "en"})
            for key, value in (("first_name", first_name), ("last_name", last_name),
                               ("username", username), ("language_code", language_code)):
                if value is not None:
                    user[key] = value
            chat = self._chats.setdefault(user_id, {"id": user_id, "type": "private"})
            chat.update({k: user[k] for k in ("first_name", "last_name", "username") if k in user})
            return copy.deepcopy(user)

    def add_group(self, chat_id: int, title: str = "Test group") -> dict[str, Any]:
        if chat_id >= 0:
            raise ValueError("group chat ids are negative")
        with self._lock:
            return copy.deepcopy(self._chats.setdefault(
                chat_id, {"id": chat_id, "type": "supergroup", "title": title}))

    def send_text(self, user_id: int, text: str, *, first_name: str | None = None,
                  language_code: str | None = None, username: str | None = None,
                  chat_id: int | None = None,
                  reply_to: dict[str, Any] | int | None = None) -> dict[str, Any]:
        """The user sends a text message (to the bot's private chat unless chat_id).

        Profile fields left None keep what the user had (a new user: "Tester", "en").
        """
        return self._user_message(user_id, {"text": text, "entities": user_text_entities(text)},
                                  first_name=first_name, language_code=language_code,
                                  username=username, chat_id=chat_id, reply_to=reply_to)

    def user_sends_video(self, user_id: int, path_or_bytes: str | Path | bytes, *,
                         file_name: str = "video.mp4", mime_type: str = "video/mp4",
                         duration: int = 1, width: int = 1280, height: int = 720,
                         caption: str | None = None, file_size: int | None = None,
                         chat_id: int | None = None) -> dict[str, Any]:
        """The user sends a video; `file_size` may claim more than the stored bytes."""
        with self._lock:
            stored = self._store_user_file("video", path_or_bytes, file_name, mime_type,
                                           file_size, width=width, height=height,
                                           duration=duration)
            fields: dict[str, Any] = {"video": self._video_object(stored)}
            if caption is not None:
                fields["caption"] = caption
            return self._user_message(user_id, fields, chat_id=chat_id)

    def user_sends_document(self, user_id: int, path_or_bytes: str | Path | bytes, *,
                            file_name: str = "file.bin",
                            mime_type: str | None = None, caption: str | None = None,
                            file_size: int | None = None,
                            chat_id: int | None = None) -> dict[str, Any]:
        """The user sends a file as a document (any type, e.g. an uncompressed .mp4)."""
        mime_type = mime_type or mimetypes.guess_type(file_name)[0] or "application/octet-stream"
        with self._lock:
            stored = self._store_user_file("document", path_or_bytes, file_name, mime_type,
                                           file_size)
            fields: dict[str, Any] = {"document": self._document_object(stored)}
            if caption is not None:
                fields["caption"] = caption
            return self._user_message(user_id, fields, chat_id=chat_id)

    def press_button(self, user_id: int, message: dict[str, Any] | int,
                     callback_data: str, *, check: bool = True) -> str:
        """The user presses an inline button of a bot message; returns the query id.

        `message` is a message dict (as returned by sent_messages) or a message_id in the
        user's private chat. With check=True the button must be on the message's current
        keyboard; check=False (see forge_callback) sends any data, like a hostile client.
        """
        with self._lock:
            chat_id, message_id = self._message_ref(user_id, message)
            current = self._messages.get((chat_id, message_id))
            if current is None or (chat_id, message_id) in self._deleted:
                raise LookupError(f"no message {message_id} in chat {chat_id}")
            if check:
                offered = [b.get("callback_data") for row in
                           (current.get("reply_markup") or {}).get("inline_keyboard", [])
                           for b in row]
                if callback_data not in offered:
                    raise LookupError(f"message {message_id} has no button {callback_data!r};"
                                      f" it offers {offered}")
            user = self._users.get(user_id) or self.add_user(user_id)
            query_id = str(4_000_000_000_000 + next(self._ids))
            query = {"id": query_id, "from": copy.deepcopy(user),
                     "message": copy.deepcopy(current),
                     "chat_instance": str(-7_000_000_000 - abs(chat_id)),
                     "data": callback_data}
            self._callbacks[query_id] = {"query": query, "answered": False}
            self._push_update("callback_query", query)
            return query_id

    def press_button_with_text(self, user_id: int, message: dict[str, Any] | int,
                               button_text: str) -> str:
        """Press the inline button whose label contains `button_text`."""
        with self._lock:
            chat_id, message_id = self._message_ref(user_id, message)
            current = self._messages.get((chat_id, message_id)) or {}
            for row in (current.get("reply_markup") or {}).get("inline_keyboard", []):
                for button in row:
                    if button_text in button.get("text", "") and "callback_data" in button:
                        return self.press_button(user_id, message, button["callback_data"])
            raise LookupError(f"message {message_id} has no callback button {button_text!r}")

    def forge_callback(self, user_id: int, message: dict[str, Any] | int,
                       callback_data: str) -> str:
        """A callback query with arbitrary data on any message (tamper/replay tests)."""
        return self.press_button(user_id, message, callback_data, check=False)

    def push_update(self, kind: str, payload: dict[str, Any]) -> int:
        """Queue any raw update, e.g. push_update("my_chat_member", {...}); returns its id."""
        with self._lock:
            return self._push_update(kind, payload)

    # ------------------------------------------------------------------ inspection API

    @property
    def calls(self) -> list[Call]:
        """Every Bot API call but getUpdates, in order (`for method, params in tg.calls`)."""
        with self._lock:
            return [c for c in self.all_calls if c.method != "getUpdates"]

    def calls_to(self, method: str, *, ok_only: bool = False) -> list[Call]:
        with self._lock:
            return [c for c in self.all_calls
                    if c.method.lower() == method.lower() and (c.ok or not ok_only)]

    def methods(self) -> list[str]:
        """The names of `calls`, handy for `assert tg.methods()[-3:] == [...]`."""
        return [c.method for c in self.calls]

    def sent_messages(self, chat_id: int | None = None, *,
                      include_deleted: bool = False) -> list[dict[str, Any]]:
        """The bot's messages (copies, current text/caption/keyboard after edits)."""
        with self._lock:
            found = [copy.deepcopy(m) for key, m in sorted(self._messages.items())
                     if m.get("from", {}).get("id") == self.bot_user["id"]
                     and (chat_id is None or key[0] == chat_id)
                     and (include_deleted or key not in self._deleted)]
            return found

    def last_message(self, chat_id: int) -> dict[str, Any] | None:
        messages = self.sent_messages(chat_id)
        return messages[-1] if messages else None

    def message(self, chat_id: int, message_id: int) -> dict[str, Any] | None:
        """Any message (the bot's or a user's) by id, None when unknown or deleted."""
        with self._lock:
            if (chat_id, message_id) in self._deleted:
                return None
            found = self._messages.get((chat_id, message_id))
            return copy.deepcopy(found) if found else None

    def is_deleted(self, chat_id: int, message_id: int) -> bool:
        with self._lock:
            return (chat_id, message_id) in self._deleted

    def file(self, file_id: str) -> StoredFile:
        with self._lock:
            return self._files[file_id]

    def commands(self, scope: dict[str, Any] | None = None,
                 language_code: str = "") -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._commands.get((self._scope_key(scope), language_code), []))

    @property
    def long_polling(self) -> bool:
        """Whether a getUpdates call is waiting right now."""
        poller = self._poller
        return poller is not None and not poller.done()

    def pending_updates(self) -> list[dict[str, Any]]:
        with self._lock:
            return copy.deepcopy(self._updates)

    async def wait_for(self, predicate: Callable[[], Any], timeout: float = 5.0,
                       interval: float = 0.01) -> Any:
        """Poll `predicate()` until it returns something truthy, and return that.

        A predicate may also assert: AssertionError counts as "not yet", and the last one
        is re-raised on timeout. Otherwise a timeout raises TimeoutError.
        """
        deadline = time.monotonic() + timeout
        while True:
            outcome, error = self._try(predicate)
            if outcome:
                return outcome
            if time.monotonic() >= deadline:
                raise self._timeout_error(timeout, error)
            await asyncio.sleep(interval)

    def wait_for_sync(self, predicate: Callable[[], Any], timeout: float = 5.0,
                      interval: float = 0.01) -> Any:
        """wait_for for synchronous tests (the server runs in run_in_thread)."""
        deadline = time.monotonic() + timeout
        while True:
            outcome, error = self._try(predicate)
            if outcome:
                return outcome
            if time.monotonic() >= deadline:
                raise self._timeout_error(timeout, error)
            time.sleep(interval)

    async def wait_for_call(self, method: str, *, since: int = 0,
                            timeout: float = 5.0) -> Call:
        """The first `method` call at or after index `since` of `calls`."""
        return await self.wait_for(
            lambda: next((c for c in self.calls[since:] if c.method.lower() == method.lower()),
                         None), timeout)

    async def wait_for_message(self, chat_id: int, contains: str = "", *,
                               timeout: float = 5.0) -> dict[str, Any]:
        """The bot's last message in the chat whose text or caption contains `contains`."""
        def find() -> dict[str, Any] | None:
            return next((m for m in reversed(self.sent_messages(chat_id))
                         if contains in (m.get("text") or m.get("caption") or "")), None)
        return await self.wait_for(find, timeout)

    @staticmethod
    def _try(predicate: Callable[[], Any]) -> tuple[Any, AssertionError | None]:
        try:
            return predicate(), None
        except AssertionError as exc:
            return None, exc

    def _timeout_error(self, timeout: float, error: AssertionError | None) -> BaseException:
        if error is not None:
            return error
        recent = ", ".join(f"{c.method}:{c.status}" for c in self.calls[-10:])
        return TimeoutError(f"condition not met within {timeout}s; last calls: [{recent}]")

    # ------------------------------------------------------------------ HTTP layer

    async def _handle_method(self, request: web.Request) -> web.Response:
        token = request.match_info["token"]
        raw_name = request.match_info["method"]
        name = self._method_names.get(raw_name.lower(), raw_name)
        parts: dict[str, _Part] = {}
        try:
            params, parts = await self._read_params(request)
        except _TooLarge as too_large:
            error = ApiError(413, "Bad Request: Request Entity Too Large")
            fields = {k: decode_form_value(k, v) for k, v in too_large.fields.items()}
            return self._answer(name, fields, error.status, error.payload())
        try:
            if token not in self.tokens:
                raise ApiError(401, "Unauthorized")
            handler = self._methods.get(raw_name.lower())
            if handler is None:
                raise ApiError(404, "Not Found")
            await self._apply_fault(name)
            if name == "getUpdates":
                result = await self._get_updates(params)
            else:
                with self._lock:
                    result = handler(params, parts)
            return self._answer(name, params, 200, {"ok": True, "result": result})
        except ApiError as error:
            return self._answer(name, params, error.status, error.payload())
        finally:
            for part in parts.values():       # parts no method adopted
                part.path.unlink(missing_ok=True)

    def _answer(self, method: str, params: dict[str, Any], status: int,
                payload: dict[str, Any]) -> web.Response:
        with self._lock:
            self.all_calls.append(Call(method, params, status, payload))
        return web.json_response(payload, status=status)

    async def _apply_fault(self, method: str) -> None:
        with self._lock:
            fault = next((f for f in self._faults if f.remaining > 0 and (
                f.method == method.lower() or (f.method == "*" and method != "getUpdates"))),
                None)
            if fault is None:
                return
            fault.remaining -= 1
            self._faults = [f for f in self._faults if f.remaining > 0]
        if fault.hang:
            assert self._closing is not None
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(self._closing.wait(), fault.hang)
            if fault.apply_after_hang:
                return
        raise ApiError(fault.status, fault.description, **fault.parameters)

    async def _read_params(self, request: web.Request) -> tuple[dict[str, Any], dict[str, _Part]]:
        params: dict[str, Any] = {k: decode_form_value(k, v) for k, v in request.query.items()}
        ctype = request.content_type
        if ctype.startswith("multipart/"):
            fields, parts = await self._read_multipart(request)
            params.update({k: decode_form_value(k, v) for k, v in fields.items()})
            return params, parts
        body = await request.read()
        if not body:
            return params, {}
        if ctype == "application/json":
            try:
                decoded = json.loads(body)
            except ValueError:
                raise ApiError(400, "Bad Request: can't parse JSON") from None
            params.update(decoded if isinstance(decoded, dict) else {})
        else:
            form = await request.post()
            params.update({k: decode_form_value(k, v) for k, v in form.items()
                           if isinstance(v, str)})
        return params, {}

    async def _read_multipart(
            self, request: web.Request) -> tuple[dict[str, str], dict[str, _Part]]:
        """Stream the parts to disk, counting file bytes against upload_limit.

        An oversized body is still read to its end (and discarded) so the client sees a
        clean 413 rather than a reset connection.
        """
        assert self.files_dir is not None
        incoming = self.files_dir / "incoming"
        incoming.mkdir(exist_ok=True)
        reader = await request.multipart()
        fields: dict[str, str] = {}
        parts: dict[str, _Part] = {}
        total = 0
        too_large = False
        while (part := await reader.next()) is not None:
            if not isinstance(part, BodyPartReader) or part.name is None:
                continue
            if part.filename is None:
                fields[part.name] = await part.text()
                continue
            path = incoming / f"part-{next(self._ids)}"
            size = 0
            with path.open("wb") as sink:
                while chunk := await part.read_chunk(256 * 1024):
                    size += len(chunk)
                    total += len(chunk)
                    too_large = too_large or total > self.upload_limit
                    if not too_large:
                        sink.write(chunk)
            parts[part.name] = _Part(part.name, part.filename,
                                     part.headers.get("Content-Type"), path, size)
        if too_large:
            for p in parts.values():
                p.path.unlink(missing_ok=True)
            raise _TooLarge(fields)
        return fields, parts

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] not in self.tokens:
            return web.json_response({"ok": False, "error_code": 401,
                                      "description": "Unauthorized"}, status=401)
        path = request.match_info["path"]
        with self._lock:
            stored = self._by_path.get(path) or self._by_path.get("/" + path)
        with self._lock:
            self.all_calls.append(Call("downloadFile", {"file_path": path},
                                       200 if stored else 404))
        if stored is None:
            return web.json_response({"ok": False, "error_code": 404,
                                      "description": "Not Found"}, status=404)
        return web.FileResponse(stored.disk_path)

    # ------------------------------------------------------------------ state helpers

    def _notify(self) -> None:
        """Wake a long poll (from any thread)."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake_poller("update")
        else:
            loop.call_soon_threadsafe(self._wake_poller, "update")

    def _wake_poller(self, reason: str) -> None:
        poller = self._poller
        if poller is not None and not poller.done():
            poller.set_result(reason)

    def _push_update(self, kind: str, payload: dict[str, Any]) -> int:
        self._next_update_id += 1
        self._updates.append({"update_id": self._next_update_id, kind: payload})
        self._notify()
        return self._next_update_id

    def _user_message(self, user_id: int, fields: dict[str, Any], *,
                      first_name: str | None = None, language_code: str | None = None,
                      username: str | None = None, chat_id: int | None = None,
                      reply_to: dict[str, Any] | int | None = None) -> dict[str, Any]:
        with self._lock:
            user = self.add_user(user_id, first_name, username=username,
                                 language_code=language_code)
            chat_id = user_id if chat_id is None else chat_id
            if chat_id not in self._chats:
                self.add_group(chat_id)
            message = self._new_message(chat_id, user, fields)
            if reply_to is not None:
                _, reply_id = self._message_ref(chat_id, reply_to)
                if target := self._messages.get((chat_id, reply_id)):
                    message["reply_to_message"] = copy.deepcopy(target)
            self._push_update("message", message)
            return copy.deepcopy(message)

    def _new_message(self, chat_id: int, sender: dict[str, Any],
                     fields: dict[str, Any]) -> dict[str, Any]:
        message_id = self._next_message_id.get(chat_id, 0) + 1
        self._next_message_id[chat_id] = message_id
        message = {"message_id": message_id, "from": copy.deepcopy(sender),
                   "chat": copy.deepcopy(self._chats[chat_id]), "date": int(time.time()),
                   **fields}
        if not message.get("entities"):
            message.pop("entities", None)
        self._messages[(chat_id, message_id)] = message
        return message

    def _message_ref(self, chat_id: int, message: dict[str, Any] | int) -> tuple[int, int]:
        if isinstance(message, dict):
            return message["chat"]["id"], message["message_id"]
        return chat_id, int(message)

    @staticmethod
    def _scope_key(scope: Any) -> str:
        if isinstance(scope, str):
            scope = json.loads(scope)
        return json.dumps(scope or {"type": "default"}, sort_keys=True)

    def _new_file_id(self, kind: str) -> tuple[str, str]:
        n = next(self._ids)
        prefix = _FILE_ID_PREFIX.get(kind, "CAACAgI")
        return (f"{prefix}AAxkBAA{n:05d}{secrets.token_urlsafe(12)}",
                f"AgAD{n:05d}{secrets.token_hex(3)}")

    def _register(self, kind: str, origin: str, disk_path: Path, size: int,
                  file_name: str | None, mime_type: str | None,
                  **meta: Any) -> StoredFile:
        file_id, unique_id = self._new_file_id(kind)
        suffix = Path(file_name or "").suffix or mimetypes.guess_extension(mime_type or "") or ""
        file_path = f"{_FOLDERS.get(kind, 'documents')}/file_{len(self._files)}{suffix}"
        stored = StoredFile(file_id, unique_id, kind, origin, disk_path, file_path, size,
                            file_name, mime_type, {k: v for k, v in meta.items() if v is not None})
        self._files[file_id] = stored
        self._by_path[file_path] = stored
        self._by_path[str(disk_path.resolve())] = stored
        return stored

    def _store_user_file(self, kind: str, source: str | Path | bytes, file_name: str,
                         mime_type: str | None, file_size: int | None,
                         **meta: Any) -> StoredFile:
        """Bytes are written under files_dir; a path is referenced where it lies."""
        if isinstance(source, bytes):
            folder = self._ensure_files_dir() / "user"
            folder.mkdir(exist_ok=True)
            disk_path = folder / f"{next(self._ids)}-{Path(file_name).name}"
            disk_path.write_bytes(source)
        else:
            disk_path = Path(source)
            if not disk_path.is_file():
                raise FileNotFoundError(disk_path)
        size = file_size if file_size is not None else disk_path.stat().st_size
        return self._register(kind, "user", disk_path, size, file_name, mime_type, **meta)

    def _adopt_part(self, part: _Part, kind: str) -> StoredFile:
        assert self.files_dir is not None
        folder = self.files_dir / "bot"
        folder.mkdir(exist_ok=True)
        safe_name = re.sub(r"[^\w.-]", "_", Path(part.filename).name) or kind
        disk_path = folder / f"{next(self._ids)}-{safe_name}"
        part.path.replace(disk_path)
        mime = mimetypes.guess_type(part.filename)[0] or part.content_type
        return self._register(kind, "bot", disk_path, part.size, part.filename, mime)

    def _resolve_file(self, params: dict[str, Any], parts: dict[str, _Part],
                      field_name: str, kind: str, *, required: bool = True
                      ) -> tuple[StoredFile | None, bool]:
        """The file in a media field: (file, reused). Adopts uploads, resolves file_ids."""
        value = params.get(field_name)
        part = None
        if isinstance(value, str) and value.startswith("attach://"):
            part = parts.pop(value[len("attach://"):], None)
            if part is None:
                raise bad_request(f"file for {field_name} not found in the request")
        elif field_name in parts:                       # plain `-F video=@clip.mp4`
            part = parts.pop(field_name)
        if part is not None:
            stored = self._adopt_part(part, kind)
            params[field_name] = stored
            return stored, False
        if value is None or value == "":
            if required:
                raise bad_request(f"there is no {field_name} in the request")
            return None, False
        if isinstance(value, str) and value.startswith(("http://", "https://")):
            raise bad_request("failed to get HTTP URL content")
        stored = self._files.get(str(value))
        if stored is None:
            raise bad_request("wrong file identifier/HTTP URL specified")
        return stored, True

    # ------------------------------------------------------------------ message helpers

    def _chat_for_send(self, params: dict[str, Any]) -> int:
        if "chat_id" not in params:
            raise bad_request("chat_id is empty")
        chat_id = params["chat_id"]
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise bad_request("chat not found")
        if chat_id in self._blocked:
            raise ApiError(403, "Forbidden: bot was blocked by the user")
        return chat_id

    def _formatted(self, params: dict[str, Any], key: str, limit: int,
                   too_long: str) -> tuple[str | None, list[dict[str, Any]]]:
        raw = params.get(key)
        if raw is None or raw == "":
            return None, []
        entities_key = "entities" if key == "text" else "caption_entities"
        text, entities = str(raw), params.get(entities_key) or []
        if str(params.get("parse_mode", "")).lower() == "html":
            text, entities = parse_html(text)
        text, entities = strip_text(text, entities)
        if len(text) > limit:
            raise bad_request(too_long)
        return text, entities

    def _inline_markup(self, params: dict[str, Any]) -> dict[str, Any] | None:
        """Validate reply_markup; return it when it is an inline keyboard (echoed back)."""
        markup = params.get("reply_markup")
        if not isinstance(markup, dict) or "inline_keyboard" not in markup:
            return None
        for row in markup["inline_keyboard"]:
            for button in row:
                data = button.get("callback_data")
                if data is not None and not 1 <= len(data.encode()) <= CALLBACK_DATA_LIMIT:
                    raise bad_request("BUTTON_DATA_INVALID")
                url = button.get("url")
                if url is not None and not re.match(r"(https?|tg)://\S+$", url):
                    raise bad_request(f"inline keyboard button URL '{url}' is invalid: "
                                      "Wrong HTTP URL")
                if len(button) < 2:
                    raise bad_request("text buttons are unallowed in the inline keyboard")
        return copy.deepcopy(markup)

    def _send(self, chat_id: int, params: dict[str, Any], fields: dict[str, Any]) -> dict[str, Any]:
        if markup := self._inline_markup(params):
            fields["reply_markup"] = markup
        reply = params.get("reply_parameters")
        if reply is None and "reply_to_message_id" in params:
            reply = {"message_id": params["reply_to_message_id"]}
        if isinstance(reply, dict) and "message_id" in reply:
            key = (chat_id, _as_int(reply["message_id"], "message_id"))
            target = self._messages.get(key)
            if target is not None and key not in self._deleted:
                fields["reply_to_message"] = {k: v for k, v in copy.deepcopy(target).items()
                                              if k != "reply_to_message"}
            elif not _as_bool(reply.get("allow_sending_without_reply", False)):
                raise bad_request("message to be replied not found")
        return copy.deepcopy(self._new_message(chat_id, self.bot_user, fields))

    def _caption_fields(self, params: dict[str, Any]) -> dict[str, Any]:
        caption, entities = self._formatted(params, "caption", CAPTION_LIMIT,
                                            "message caption is too long")
        fields: dict[str, Any] = {}
        if caption is not None:
            fields["caption"] = caption
            if entities:
                fields["caption_entities"] = entities
        return fields

    def _editable(self, params: dict[str, Any]) -> tuple[tuple[int, int], dict[str, Any]]:
        if "inline_message_id" in params:
            raise bad_request("inline messages are not supported by the fake")
        chat_id = params.get("chat_id")
        message_id = params.get("message_id")
        if not isinstance(chat_id, int) or chat_id not in self._chats:
            raise bad_request("chat not found")
        key = (chat_id, _as_int(message_id, "message_id"))
        message = self._messages.get(key)
        if message is None or key in self._deleted:
            raise bad_request("message to edit not found")
        if message["from"]["id"] != self.bot_user["id"]:
            raise bad_request("message can't be edited")
        return key, message

    @staticmethod
    def _apply_edit(message: dict[str, Any], changes: dict[str, Any]) -> dict[str, Any]:
        """Apply changes (None removes a key); 400 "not modified" when nothing changes."""
        before = {k: message.get(k) for k in changes}
        after = {k: v for k, v in changes.items()}
        if before == after:
            raise bad_request("message is not modified: specified new message content and "
                              "reply markup are exactly the same as a current content and "
                              "reply markup of the message")
        for key, value in changes.items():
            if value is None:
                message.pop(key, None)
            else:
                message[key] = value
        message["edit_date"] = int(time.time())
        return copy.deepcopy(message)

    def _video_object(self, stored: StoredFile, params: dict[str, Any] | None = None,
                      thumbnail: StoredFile | None = None) -> dict[str, Any]:
        params = params or {}
        video = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                 "width": int(params.get("width") or stored.meta.get("width", 0)),
                 "height": int(params.get("height") or stored.meta.get("height", 0)),
                 "duration": int(params.get("duration") or stored.meta.get("duration", 0)),
                 "file_size": stored.file_size}
        stored.meta.update({k: video[k] for k in ("width", "height", "duration") if video[k]})
        if stored.file_name:
            video["file_name"] = stored.file_name
        if stored.mime_type:
            video["mime_type"] = stored.mime_type
        if thumbnail is not None:
            video["thumbnail"] = self._photo_size(thumbnail)
        return video

    @staticmethod
    def _document_object(stored: StoredFile) -> dict[str, Any]:
        document = {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                    "file_size": stored.file_size}
        if stored.file_name:
            document["file_name"] = stored.file_name
        if stored.mime_type:
            document["mime_type"] = stored.mime_type
        return document

    @staticmethod
    def _photo_size(stored: StoredFile) -> dict[str, Any]:
        if "width" not in stored.meta:
            stored.meta["width"], stored.meta["height"] = image_size(stored.disk_path)
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "width": stored.meta["width"], "height": stored.meta["height"],
                "file_size": stored.file_size}

    def _send_media(self, method: str, field_name: str, params: dict[str, Any],
                    parts: dict[str, _Part]) -> dict[str, Any]:
        chat_id = self._chat_for_send(params)
        fields = self._caption_fields(params)          # validate before storing anything
        stored, reused = self._resolve_file(params, parts, field_name, field_name)
        assert stored is not None
        thumbnail, _ = self._resolve_file(params, parts, "thumbnail", "thumbnail",
                                          required=False)
        if field_name == "video":
            fields["video"] = self._video_object(stored, params, thumbnail)
        elif field_name == "photo":
            fields["photo"] = [self._photo_size(stored)]
        else:
            fields["document"] = self._document_object(stored)
            if thumbnail is not None:
                fields["document"]["thumbnail"] = self._photo_size(thumbnail)
        message = self._send(chat_id, params, fields)
        self.uploads.append(Upload(method, chat_id, message["message_id"], field_name,
                                   stored, params, reused, thumbnail))
        return message

    # ------------------------------------------------------------------ Bot API methods
    # Each `_api_<methodName>(params, parts)` runs under the lock and returns the result
    # or raises ApiError. getUpdates is special-cased (it waits).

    def _api_getMe(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return copy.deepcopy(self.bot_user)

    def _api_logOut(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return True

    def _api_close(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return True

    def _api_getUpdates(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        raise AssertionError("served by _get_updates")  # pragma: no cover

    def _select_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        offset = int(params.get("offset") or 0)
        limit = min(max(int(params.get("limit") or 100), 1), 100)
        if offset > 0:
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        elif offset < 0:
            self._updates = self._updates[offset:]
        allowed = params.get("allowed_updates")
        if isinstance(allowed, list):                # remembered, as Telegram does
            self._allowed_updates = frozenset(allowed) or DEFAULT_UPDATE_TYPES
        self._updates = [u for u in self._updates
                         if next(k for k in u if k != "update_id") in self._allowed_updates]
        return copy.deepcopy(self._updates[:limit])

    async def _get_updates(self, params: dict[str, Any]) -> list[dict[str, Any]]:
        with self._lock:
            updates = self._select_updates(params)
        timeout = float(params.get("timeout") or 0)
        if updates or timeout <= 0 or self._closing is None or self._closing.is_set():
            return updates
        assert self._loop is not None
        waiter: asyncio.Future[str] = self._loop.create_future()
        self._wake_poller("conflict")                   # a newer poll ends the older one
        self._poller = waiter
        try:
            reason = await asyncio.wait_for(waiter, timeout)
        except TimeoutError:
            reason = "timeout"
        finally:
            if self._poller is waiter:
                self._poller = None
        if reason == "conflict":
            raise ApiError(409, "Conflict: terminated by other getUpdates request; make sure "
                                "that only one bot instance is running")
        with self._lock:
            return self._select_updates(params)

    def _api_deleteWebhook(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        if _as_bool(params.get("drop_pending_updates", False)):
            self._updates.clear()
        return True

    def _api_getWebhookInfo(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return {"url": "", "has_custom_certificate": False,
                "pending_update_count": len(self._updates)}

    def _api_setMyCommands(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        commands = params.get("commands")
        if not isinstance(commands, list):
            raise bad_request("commands is not an array")
        for command in commands:
            if not re.fullmatch(r"[a-z0-9_]{1,32}", str(command.get("command", ""))) or \
                    not 1 <= len(str(command.get("description", ""))) <= 256:
                raise bad_request("BOT_COMMAND_INVALID")
        key = (self._scope_key(params.get("scope")), params.get("language_code") or "")
        self._commands[key] = copy.deepcopy(commands)
        return True

    def _api_getMyCommands(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return self.commands(params.get("scope"), params.get("language_code") or "")

    def _api_deleteMyCommands(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        self._commands.pop((self._scope_key(params.get("scope")),
                            params.get("language_code") or ""), None)
        return True

    def _api_sendMessage(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        chat_id = self._chat_for_send(params)
        text, entities = self._formatted(params, "text", MESSAGE_LIMIT, "message is too long")
        if text is None or text == "":
            raise bad_request("message text is empty")
        fields: dict[str, Any] = {"text": text}
        if entities:
            fields["entities"] = entities
        return self._send(chat_id, params, fields)

    def _api_editMessageText(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        key, message = self._editable(params)
        if "text" not in message:
            raise bad_request("there is no text in the message to edit")
        text, entities = self._formatted(params, "text", MESSAGE_LIMIT, "message is too long")
        if not text:
            raise bad_request("message text is empty")
        return self._apply_edit(message, {"text": text, "entities": entities or None,
                                          "reply_markup": self._inline_markup(params)})

    def _api_editMessageCaption(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        key, message = self._editable(params)
        if not any(k in message for k in ("video", "photo", "document", "animation", "audio")):
            raise bad_request("there is no caption in the message to edit")
        fields = self._caption_fields(params)
        return self._apply_edit(message, {"caption": fields.get("caption"),
                                          "caption_entities": fields.get("caption_entities"),
                                          "reply_markup": self._inline_markup(params)})

    def _api_editMessageReplyMarkup(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        key, message = self._editable(params)
        return self._apply_edit(message, {"reply_markup": self._inline_markup(params)})

    def _api_deleteMessage(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        chat_id = params.get("chat_id")
        key = (chat_id, _as_int(params.get("message_id"), "message_id"))
        if key not in self._messages or key in self._deleted:
            raise bad_request("message to delete not found")
        self._deleted.add(key)  # type: ignore[arg-type]
        return True

    def _api_answerCallbackQuery(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        query_id = str(params.get("callback_query_id", ""))
        pending = self._callbacks.get(query_id)
        if pending is None or pending["answered"]:
            raise bad_request("query is too old and response timeout expired or query ID is "
                              "invalid")
        pending["answered"] = True
        query = pending["query"]
        self.answered_callbacks.append(AnsweredCallback(
            query_id, query.get("data"), query["from"]["id"], params.get("text"),
            _as_bool(params.get("show_alert", False)), params.get("url"), params))
        return True

    def _api_sendChatAction(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        self._chat_for_send(params)
        if params.get("action") not in CHAT_ACTIONS:
            raise bad_request("wrong parameter action in request")
        return True

    def _api_sendVideo(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return self._send_media("sendVideo", "video", params, parts)

    def _api_sendPhoto(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return self._send_media("sendPhoto", "photo", params, parts)

    def _api_sendDocument(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        return self._send_media("sendDocument", "document", params, parts)

    def _api_sendMediaGroup(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        chat_id = self._chat_for_send(params)
        media = params.get("media")
        if not isinstance(media, list) or not 2 <= len(media) <= 10:
            raise bad_request("wrong number of media in the album (2-10)")
        group_id = str(10_000_000_000 + next(self._ids))
        messages = []
        for item in media:
            kind = item.get("type")
            if kind not in ("video", "photo", "document"):
                raise bad_request(f"unsupported media type {kind!r} in the album")
            item_params = {**item, kind: item.get("media")}
            fields = self._caption_fields(item_params)
            stored, reused = self._resolve_file(item_params, parts, kind, kind)
            assert stored is not None
            if not reused:
                item["media"] = stored                  # the recorded call shows the file
            if kind == "video":
                fields["video"] = self._video_object(stored, item)
            elif kind == "photo":
                fields["photo"] = [self._photo_size(stored)]
            else:
                fields["document"] = self._document_object(stored)
            fields["media_group_id"] = group_id
            message = self._send(chat_id, params, fields)
            self.uploads.append(Upload("sendMediaGroup", chat_id, message["message_id"], kind,
                                       stored, item_params, reused))
            messages.append(message)
        return messages

    def _api_getFile(self, params: dict[str, Any], parts: dict[str, _Part]) -> Any:
        stored = self._files.get(str(params.get("file_id", "")))
        if stored is None:
            raise bad_request("invalid file_id")
        if not self.local and stored.file_size > self.download_limit:
            raise bad_request("file is too big")
        file_path = str(stored.disk_path.resolve()) if self.local else stored.file_path
        return {"file_id": stored.file_id, "file_unique_id": stored.file_unique_id,
                "file_size": stored.file_size, "file_path": file_path}
