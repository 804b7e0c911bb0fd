"""Twitch VOD chat from Twitch's public GraphQL endpoint (yt-dlp no longer reads it): the
`VideoCommentsByOffsetOrCursor` persisted query, first by offset 0, then page by page by the
cursor of the last comment, until there is no next page or `chat.max_pages` is reached."""

from __future__ import annotations

import json
import re
import urllib.error
import urllib.request
from typing import Any

from pipeline.media.chat.models import ChatMessage
from pipeline.media.chat.parse import gql_comments, gql_page_messages
from pipeline.media.config import ChatSettings
from pipeline.media.errors import ChatUnavailableError

OPERATION = "VideoCommentsByOffsetOrCursor"
QUERY_HASH = "b70a3591ff0f4e0313d126c6a1502d79a1c02baebb288227c582044aa76adf6a"
_VIDEO = re.compile(r"^https?://(?:[\w-]+\.)*twitch\.tv/(?:[\w-]+/)?(?:videos?|v)/(\d+)", re.IGNORECASE)


def twitch_video_id(url: str) -> str | None:
    """The VOD id of a twitch.tv/videos/<id> link (also www., m., and <channel>/v/<id>)."""
    match = _VIDEO.match(url.strip())
    return match.group(1) if match else None


def _post(payload: dict[str, Any], cfg: ChatSettings) -> dict[str, Any]:
    request = urllib.request.Request(
        cfg.twitch_gql_url, data=json.dumps(payload).encode("utf-8"), method="POST",
        headers={"Client-ID": cfg.twitch_client_id, "Content-Type": "text/plain;charset=UTF-8",
                 "User-Agent": "Mozilla/5.0 (clipfactory)"})
    try:
        with urllib.request.urlopen(request, timeout=cfg.timeout_s) as response:
            body = response.read(int(cfg.max_file_mb * 2**20) + 1)
    except urllib.error.HTTPError as exc:
        raise ChatUnavailableError(detail=f"Twitch chat: HTTP {exc.code}") from exc
    except (urllib.error.URLError, OSError) as exc:
        raise ChatUnavailableError(detail=f"Twitch chat: {exc}") from exc
    try:
        answer = json.loads(body)
    except ValueError as exc:
        raise ChatUnavailableError(detail="Twitch chat: the answer is not JSON") from exc
    if isinstance(answer, list):
        answer = answer[0] if answer else {}
    if not isinstance(answer, dict):
        raise ChatUnavailableError(detail="Twitch chat: unexpected answer")
    if answer.get("errors"):
        raise ChatUnavailableError(detail=f"Twitch chat: {answer['errors']}")
    return answer


def _payload(variables: dict[str, Any]) -> dict[str, Any]:
    return {"operationName": OPERATION, "variables": variables,
            "extensions": {"persistedQuery": {"version": 1, "sha256Hash": QUERY_HASH}}}


def twitch_pages(video_id: str, cfg: ChatSettings) -> list[dict[str, Any]]:
    """The raw GQL answers, page by page."""
    pages = []
    variables: dict[str, Any] = {"videoID": video_id, "contentOffsetSeconds": 0}
    for _ in range(cfg.max_pages):
        page = _post(_payload(variables), cfg)
        if not ((page.get("data") or {}).get("video")):
            raise ChatUnavailableError(detail=f"Twitch chat: no video {video_id}")
        pages.append(page)
        comments = gql_comments(page)
        edges = comments.get("edges") or []
        cursor = (edges[-1] or {}).get("cursor") if edges else None
        if not (comments.get("pageInfo") or {}).get("hasNextPage") or not cursor:
            break
        variables = {"videoID": video_id, "cursor": cursor}
    return pages


def twitch_chat(video_id: str, cfg: ChatSettings) -> list[ChatMessage]:
    return [m for page in twitch_pages(video_id, cfg) for m in gql_page_messages(page)]
