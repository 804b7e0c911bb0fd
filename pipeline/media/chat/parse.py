"""Chat logs in the formats people have, detected from their content:

- TwitchDownloader JSON: `{"comments": [{"content_offset_seconds", "commenter", "message"}]}`
- Twitch GQL comment pages (`data.video.comments.edges[].node`), one page or a list of them
- YouTube live chat replay as yt-dlp writes it (`*.live_chat.json`, one JSON object a line)
- chat-downloader (xenova/chat-downloader) JSON (a list of items with `time_in_seconds`,
  `message`, `author.name`; also one item a line) and CSV (the same items flattened to columns
  `time_in_seconds`, `message`, `author.name`, ...; other spellings of those columns too)
- plain text logs, a line each: `[h:mm:ss] name: text` or `[m:ss] name: text`, and
  chat-downloader's text output `m:ss | (badges) *money* name: text`

Lines that are none of these (blank, garbage, a truncated last line) are skipped; a log with no
message at all is a ChatLogError."""

from __future__ import annotations

import csv
import io
import json
import re
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

from pipeline.media.chat.models import ChatMessage
from pipeline.media.errors import ChatLogError

ANONYMOUS = "(anonymous)"
_PLAIN = re.compile(r"^\s*\[\s*(\d+):(\d{1,2})(?::(\d{1,2}))?(?:[.,]\d+)?\s*\]\s*"
                    r"<?([^:<>\s][^:<>]{0,63}?)>?\s*:\s?(.*)$")
# chat-downloader's default text format: "{time_text} | ({badges}) *{money}* {author}: {message}";
# badge titles may hold parentheses ("Member (6 months)").
_DOWNLOADER_LINE = re.compile(r"^\s*(-?)(\d+):(\d{1,2})(?::(\d{1,2}))?\s+\|\s+"
                              r"(?:\((?:[^()]|\([^()]*\))*\)\s+)?(?:\*[^*]*\*\s+)?"
                              r"([^:\s][^:]{0,63}?):\s(.*)$")


def read_chat_file(path: Path | str, max_mb: float) -> list[ChatMessage]:
    """The messages of a chat log file, sorted by time."""
    path = Path(path)
    try:
        size = path.stat().st_size
    except OSError as exc:
        raise ChatLogError("The chat log file was not found.", detail=str(path)) from exc
    if size > max_mb * 2**20:
        raise ChatLogError(f"This chat log is larger than {max_mb:g} MB.", detail=f"{path}: {size} bytes")
    return parse_chat(path.read_bytes().decode("utf-8", errors="replace"), name=path.name)


def parse_chat(text: str, name: str = "") -> list[ChatMessage]:
    """The messages of a chat log in any known format, sorted by time."""
    body = text.lstrip("\ufeff").strip()
    messages: list[ChatMessage] | None = None
    if body[:1] in ("{", "["):
        try:
            data = json.loads(body)
        except ValueError:
            messages = _json_lines(body)
        else:
            messages = _json_document(data)
    if messages is None:
        messages = _csv_table(body)
    if messages is None:
        messages = list(_plain_lines(body))
    if not messages:
        raise ChatLogError(detail=f"no chat messages found in {name or 'the log'}")
    return sorted((m for m in messages if m.t >= 0), key=lambda m: m.t)


def _json_document(data: Any) -> list[ChatMessage] | None:
    if isinstance(data, dict) and isinstance(data.get("comments"), list):
        return list(_twitch_downloader(data["comments"]))
    if isinstance(data, list) and any(_is_downloader_item(x) for x in data):
        return [m for x in data if isinstance(x, dict) for m in _downloader_item(flatten(x))]
    if isinstance(data, dict) and "replayChatItemAction" in data:
        return list(_youtube_line(data))
    pages = data if isinstance(data, list) else [data]
    pages = [p for page in pages for p in (page if isinstance(page, list) else [page])]
    if pages and all(isinstance(p, dict) and "data" in p for p in pages):
        return [m for page in pages for m in gql_page_messages(page)]
    return None


def _json_lines(body: str) -> list[ChatMessage] | None:
    messages: list[ChatMessage] = []
    known = False
    for line in body.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "replayChatItemAction" in obj:
            known = True
            messages.extend(_youtube_line(obj))
        elif _is_downloader_item(obj):
            known = True
            messages.extend(_downloader_item(flatten(obj)))
    return messages if known else None


def _number(value: Any) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _twitch_downloader(comments: Iterable[Any]) -> Iterator[ChatMessage]:
    for c in comments:
        if not isinstance(c, dict):
            continue
        t = _number(c.get("content_offset_seconds"))
        message = c.get("message") or {}
        text = message.get("body")
        if text is None:
            text = "".join(f.get("text") or "" for f in message.get("fragments") or [] if isinstance(f, dict))
        commenter = c.get("commenter") or {}
        author = commenter.get("name") or commenter.get("display_name") or ANONYMOUS
        if t is not None and text:
            yield ChatMessage(t, str(author), str(text))


def gql_page_messages(page: dict[str, Any]) -> Iterator[ChatMessage]:
    """The messages of one `VideoCommentsByOffsetOrCursor` answer."""
    for edge in gql_comments(page).get("edges") or []:
        node = (edge or {}).get("node") or {}
        t = _number(node.get("contentOffsetSeconds"))
        commenter = node.get("commenter") or {}
        author = commenter.get("login") or commenter.get("displayName") or ANONYMOUS
        text = "".join(f.get("text") or "" for f in (node.get("message") or {}).get("fragments") or []
                       if isinstance(f, dict))
        if t is not None and text:
            yield ChatMessage(t, str(author), text)


def gql_comments(page: dict[str, Any]) -> dict[str, Any]:
    return (((page.get("data") or {}).get("video") or {}).get("comments")) or {}


def _youtube_line(obj: dict[str, Any]) -> Iterator[ChatMessage]:
    replay = obj.get("replayChatItemAction") or {}
    offset = _number(replay.get("videoOffsetTimeMsec", obj.get("videoOffsetTimeMsec")))
    if offset is None:
        return
    for action in replay.get("actions") or []:
        item = ((action or {}).get("addChatItemAction") or {}).get("item") or {}
        renderer = item.get("liveChatTextMessageRenderer") or item.get("liveChatPaidMessageRenderer")
        if not renderer:
            continue
        author = ((renderer.get("authorName") or {}).get("simpleText")
                  or renderer.get("authorExternalChannelId") or ANONYMOUS)
        text = "".join(_youtube_run(r) for r in (renderer.get("message") or {}).get("runs") or [])
        if text.strip():
            yield ChatMessage(offset / 1000.0, str(author), text)


def _youtube_run(run: dict[str, Any]) -> str:
    if "text" in run:
        return str(run["text"])
    emoji = run.get("emoji") or {}
    if not emoji.get("isCustomEmoji") and emoji.get("emojiId"):
        return str(emoji["emojiId"])
    shortcut = next(iter(emoji.get("shortcuts") or []), "")
    return f" {shortcut.strip(':')} " if shortcut else ""


def _plain_lines(body: str) -> Iterator[ChatMessage]:
    for line in body.splitlines():
        match = _PLAIN.match(line)
        if match is not None:
            a, b, c, author, text = match.groups()
            sign = ""
        elif (match := _DOWNLOADER_LINE.match(line)) is not None:
            sign, a, b, c, author, text = match.groups()
        else:
            continue
        t = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
        if text.strip():
            yield ChatMessage(-float(t) if sign else float(t), author.strip(), text.strip())


# --- chat-downloader (JSON and CSV) ------------------------------------------------------------

# Column names compared without case, spaces, dots, underscores, slashes and dashes, so that
# "author.name", "author_name" and "Author Name" are one; the first found wins.
_TIME_KEYS = ("timeinseconds", "contentoffsetseconds", "offsetseconds", "offset", "seconds",
              "time")
_TIME_TEXT_KEYS = ("timetext", "time", "timestamptext")
_AUTHOR_KEYS = ("authorname", "authordisplayname", "authorid", "commentername",
                "commenterdisplayname", "author", "username", "user", "displayname", "name",
                "nick", "nickname")
_TEXT_KEYS = ("message", "messagebody", "text", "body", "content", "comment")
_EMOTE = re.compile(r"^emotes[._](\d+)[._](\w+)$")


def _compact(key: str) -> str:
    return re.sub(r"[\s._/\-]+", "", key.strip().lower())


def flatten(item: Any, prefix: str = "") -> dict[str, Any]:
    """A nested item as chat-downloader's CSV writes it: `author.name`, `emotes.0.id`, ..."""
    if isinstance(item, dict):
        return {k: v for key, value in item.items() for k, v in flatten(value, f"{prefix}{key}.").items()}
    if isinstance(item, list):
        return {k: v for i, value in enumerate(item) for k, v in flatten(value, f"{prefix}{i}.").items()}
    return {prefix[:-1]: item}


def _is_downloader_item(obj: Any) -> bool:
    return isinstance(obj, dict) and "message" in obj and ("time_in_seconds" in obj or "time_text" in obj)


def _clock(text: Any) -> float | None:
    """Seconds of `h:mm:ss`, `m:ss` (chat-downloader's time_text, "-0:35" before the stream)."""
    match = re.fullmatch(r"\s*(-?)(\d+(?:,\d{3})*)((?::\d{1,2}){1,2})(?:\.\d+)?\s*", str(text or ""))
    if match is None:
        return None
    parts = [int(match.group(2).replace(",", ""))] + [int(x) for x in match.group(3)[1:].split(":")]
    seconds = float(sum(v * 60 ** i for i, v in enumerate(reversed(parts))))
    return -seconds if match.group(1) else seconds


def _first(row: dict[str, Any], keys: Iterable[str]) -> Any:
    for key in keys:
        value = row.get(key)
        if value not in (None, ""):
            return value
    return None


def _with_emoji(text: str, flat: dict[str, Any]) -> str:
    """YouTube emoji as our YouTube reader writes them: chat-downloader puts an emoji's first
    shortcut (":face_with_tears_of_joy:") in the text; the emoji itself ("😂") is its id."""
    emotes: dict[str, dict[str, Any]] = {}
    for key, value in flat.items():
        match = _EMOTE.match(key)
        if match:
            emotes.setdefault(match.group(1), {})[match.group(2)] = value
    for emote in emotes.values():
        name, emote_id = str(emote.get("name") or ""), str(emote.get("id") or "")
        custom = str(emote.get("is_custom_emoji", "")).lower() == "true"
        if name.startswith(":") and name.endswith(":") and len(name) > 2:
            text = text.replace(name, f" {name.strip(':')} " if custom or not emote_id else emote_id)
    return " ".join(text.split())


def _downloader_item(flat: dict[str, Any]) -> Iterator[ChatMessage]:
    """A message from one flattened chat-downloader item (a JSON item or a CSV row); items
    without an author are notices of the site ("Welcome to live chat!"), not chat."""
    row = {_compact(k): v for k, v in flat.items()}
    t = _number(_first(row, _TIME_KEYS))
    if t is None:
        t = _clock(_first(row, _TIME_TEXT_KEYS))
    author = _first(row, _AUTHOR_KEYS)
    text = _first(row, _TEXT_KEYS)
    if t is None or author is None or text is None:
        return
    text = _with_emoji(str(text), flat)
    if text:
        yield ChatMessage(t, str(author).strip(), text)


def _csv_table(body: str) -> list[ChatMessage] | None:
    """Rows of a CSV log whose header names a time, an author and a message column (comma,
    semicolon or tab separated); None for anything else."""
    header = body.split("\n", 1)[0]
    delimiter = max((",", ";", "\t"), key=header.count)
    columns = {_compact(c) for c in next(csv.reader([header], delimiter=delimiter), [])}
    if not (columns & set(_TIME_KEYS + _TIME_TEXT_KEYS) and columns & set(_AUTHOR_KEYS)
            and columns & set(_TEXT_KEYS)):
        return None
    reader = csv.DictReader(io.StringIO(body), delimiter=delimiter)
    return [m for row in reader for m in _downloader_item({k: v for k, v in row.items() if k})]
