"""Chat logs in the formats people have, detected from their content:

- TwitchDownloader JSON: `{"comments": [{"content_offset_seconds", "commenter", "message"}]}`
- Twitch GQL comment pages (`data.video.comments.edges[].node`), one page or a list of them
- YouTube live chat replay as yt-dlp writes it (`*.live_chat.json`, one JSON object a line)
- plain text logs, a line each: `[h:mm:ss] name: text` or `[m:ss] name: text`

Lines that are none of these (blank, garbage, a truncated last line) are skipped; a log with no
message at all is a ChatLogError."""

from __future__ import annotations

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
        messages = list(_plain_lines(body))
    if not messages:
        raise ChatLogError(detail=f"no chat messages found in {name or 'the log'}")
    return sorted((m for m in messages if m.t >= 0), key=lambda m: m.t)


def _json_document(data: Any) -> list[ChatMessage] | None:
    if isinstance(data, dict) and isinstance(data.get("comments"), list):
        return list(_twitch_downloader(data["comments"]))
    if isinstance(data, dict) and "replayChatItemAction" in data:
        return list(_youtube_line(data))
    pages = data if isinstance(data, list) else [data]
    pages = [p for page in pages for p in (page if isinstance(page, list) else [page])]
    if pages and all(isinstance(p, dict) and "data" in p for p in pages):
        return [m for page in pages for m in gql_page_messages(page)]
    return None


def _json_lines(body: str) -> list[ChatMessage] | None:
    messages: list[ChatMessage] = []
    youtube = False
    for line in body.splitlines():
        try:
            obj = json.loads(line)
        except ValueError:
            continue
        if isinstance(obj, dict) and "replayChatItemAction" in obj:
            youtube = True
            messages.extend(_youtube_line(obj))
    return messages if youtube else None


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
        if match is None:
            continue
        a, b, c, author, text = match.groups()
        t = int(a) * 3600 + int(b) * 60 + int(c) if c is not None else int(a) * 60 + int(b)
        if text.strip():
            yield ChatMessage(float(t), author.strip(), text.strip())
