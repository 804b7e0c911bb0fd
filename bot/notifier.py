"""Telegram side of the worker: edits each job's status message, sends its clips with
captions and buttons, then a timeline of the whole stream. The chat and message ids live in
the job's row, so status keeps updating after the bot or the worker restarts."""

from __future__ import annotations

import html
import logging
import time
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from aiogram import Bot
from aiogram.exceptions import TelegramBadRequest
from aiogram.types import BufferedInputFile, FSInputFile

import storage
from bot import keyboards
from bot.charts import timeline
from bot.settings import BotSettings
from bot.texts import t
from pipeline.jobs import metrics
from pipeline.media.cache import read_json
from pipeline.media.probe import format_hms
from pipeline.media.scoring import REASONS

log = logging.getLogger(__name__)
BAR_CELLS = 10
CAPTION_LIMIT = 1024


def bar(fraction: float, cells: int = BAR_CELLS) -> str:
    full = round(max(0.0, min(1.0, fraction)) * cells)
    return "▰" * full + "▱" * (cells - full)


def vod_link(source: str, seconds: float) -> str | None:
    """The VOD at that moment, where the site understands a time parameter."""
    if not source.startswith(("http://", "https://")):
        return None
    parts = urlsplit(source)
    host = (parts.hostname or "").lower()
    s = int(seconds)
    if host.endswith(("youtube.com", "youtu.be")):
        stamp = f"{s}s"
    elif host.endswith("twitch.tv"):
        stamp = f"{s // 3600}h{s % 3600 // 60}m{s % 60}s"
    else:
        return None
    query = [(k, v) for k, v in parse_qsl(parts.query) if k != "t"] + [("t", stamp)]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), ""))


def caption(clip: dict[str, Any], source: str, lang: str) -> str:
    top = sorted(clip["breakdown"].items(), key=lambda kv: kv[1], reverse=True)[:4]
    bars = "\n".join(f"{bar(v, 5)} {html.escape(REASONS.get(k, k))}" for k, v in top)
    span = f"{format_hms(clip['start'])}–{format_hms(clip['end'])}"
    link = vod_link(source, clip["start"])
    timecode = f'<a href="{html.escape(link)}">{span}</a>' if link else span
    head = t(lang, "caption", rank=clip["rank"], score=round(clip["score"]), bars=bars, timecode=timecode)
    kit = clip.get("post_kit")
    if not kit:
        words = clip.get("text", "").split()
        hook = " ".join(words[:14]) + ("…" if len(words) > 14 else "")
        return f"{head}\n💬 “{html.escape(hook)}”"[:CAPTION_LIMIT]
    why = f"\n🤖 {html.escape(kit['reason'])}" if kit.get("reason") else ""
    title, tags = kit["title"], " ".join(kit.get("hashtags", ()))
    room = CAPTION_LIMIT - len(head) - len(why) - len(html.escape(f"{title}{tags}")) - 40
    description = kit.get("description", "")
    if len(html.escape(description)) > room:
        description = description[:max(0, room // 2)].rsplit(" ", 1)[0] + "…" if room > 20 else ""
    ready = "\n\n".join(html.escape(p) for p in (title, description, tags) if p)
    return f"<b>{html.escape(title)}</b>\n{head}{why}\n<pre>{ready}</pre>"


class TelegramNotifier:
    """Implements pipeline.jobs.notify.Notifier over the Bot API."""

    def __init__(self, bot: Bot, db: Any, bot_settings: BotSettings) -> None:
        self.bot, self.db, self.bot_settings = bot, db, bot_settings
        self._last_edit: dict[str, float] = {}
        self._started: dict[str, float] = {}

    async def _lang(self, job: Any) -> str:
        user = await storage.get_user(self.db, job.user_id)
        return user.language if user else "en"

    def _title(self, job: Any) -> str:
        return html.escape(job.options.get("title") or Path(job.source).name or "video")

    async def _edit(self, job: Any, text: str, markup=None) -> None:
        if not job.chat_id or not job.status_message_id:
            return
        try:
            await self.bot.edit_message_text(text=text, chat_id=job.chat_id, message_id=job.status_message_id,
                                             reply_markup=markup)
        except TelegramBadRequest as exc:
            if "not modified" not in str(exc):
                log.warning("could not edit the status of %s: %s", job.id, exc)

    async def progress(self, job: Any, stage: str, fraction: float, note: str) -> None:
        now = time.monotonic()
        self._started.setdefault(job.id, now)
        if now - self._last_edit.get(job.id, 0.0) < self.bot_settings.telegram_status_every_s:
            return
        self._last_edit[job.id] = now
        lang = await self._lang(job)
        elapsed = now - self._started[job.id]
        eta = ""
        if 0.05 < fraction < 1 and elapsed > 5:
            eta = t(lang, "eta", minutes=max(1, round(elapsed * (1 - fraction) / fraction / 60)))
        await self._edit(job, t(lang, "status", title=self._title(job), stage=t(lang, f"stage_{stage}"),
                                percent=round(fraction * 100), bar=bar(fraction), eta=eta),
                         keyboards.cancel(job.id, lang))

    async def clip_ready(self, job: Any, clip: dict[str, Any], job_dir: Path) -> None:
        if not job.chat_id:
            return
        stored = {c.rank: c for c in await storage.clips_for(self.db, job.id)}.get(clip["rank"])
        if stored is None or stored.delivered_at is not None:
            return
        lang = await self._lang(job)
        path = job_dir / clip["file"]
        if path.stat().st_size > self.bot_settings.upload_limit_mb * 2**20:
            await self.bot.send_message(job.chat_id, t(lang, "too_large_clip", rank=clip["rank"]))
            return
        video = stored.telegram_file_id or FSInputFile(path, filename=f"clip_{clip['rank']:02d}.mp4")
        thumb = job_dir / clip["thumbnail"] if clip.get("thumbnail") else None
        width, height = (clip.get("size") or [1080, 1920])[:2]
        sent = await self.bot.send_video(
            job.chat_id, video, duration=round(clip["end"] - clip["start"]), width=width, height=height,
            thumbnail=FSInputFile(thumb) if thumb and thumb.exists() and not stored.telegram_file_id else None,
            supports_streaming=True, caption=caption(clip, job.source, lang),
            reply_markup=keyboards.clip(job.options.get("rerender_of") or job.id, stored.id, clip["rank"]))
        if sent.video:
            await storage.set_clip_file_id(self.db, stored.id, sent.video.file_id)
        await storage.mark_delivered(self.db, stored.id)
        metrics.CLIPS_SENT.inc()

    async def finished(self, job: Any, report: dict[str, Any], job_dir: Path) -> None:
        lang = await self._lang(job)
        await self._edit(job, t(lang, "done", title=self._title(job), count=len(report["clips"])))
        if not job.chat_id or job.options.get("rerender_of"):
            return
        scores = read_json(job_dir / report["timeline_file"]) if report.get("timeline_file") else []
        png = timeline(scores, report["clips"])
        await self.bot.send_photo(job.chat_id, BufferedInputFile(png, "timeline.png"),
                                  caption=t(lang, "summary", title=self._title(job)))

    async def failed(self, job: Any, message: str) -> None:
        lang = await self._lang(job)
        await self._edit(job, t(lang, "failed", title=self._title(job), message=html.escape(message)))

    async def cancelled(self, job: Any) -> None:
        lang = await self._lang(job)
        await self._edit(job, t(lang, "cancelled", title=self._title(job)))

    async def resolve_source(self, job: Any, job_dir: Path) -> str:
        """A Telegram upload (`telegram:<file_id>`) becomes a file in the job folder."""
        if not job.source.startswith("telegram:"):
            return job.source
        target = job_dir / "upload.mp4"
        if not target.exists():
            job_dir.mkdir(parents=True, exist_ok=True)
            partial = job_dir / "upload.part"
            await self.bot.download(job.source.removeprefix("telegram:"), destination=partial)
            partial.rename(target)
        return str(target)
