"""Load on the bot (not a test): N simulated users send VOD links within a minute through the
fake Telegram Bot API; some send several. Each then taps a layout. Reports the handler latency
(message → first answer, message → layout offer), that every user got an answer, that no job
was lost, and the fairness of the queue (users among the first claims).

    .venv/bin/python bench/bench_bot_load.py --users 200 --seconds 60
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from fake_telegram import FakeTelegram  # noqa: E402
from httpserver import serve_dir  # noqa: E402
from test_bot import App, keyboard_data  # noqa: E402

import storage  # noqa: E402
from bot.callbacks import LayoutPick  # noqa: E402
from bot.settings import BotSettings  # noqa: E402
from pipeline.media.config import load_settings  # noqa: E402
from pipeline.media.sample import SampleSpec, make_sample  # noqa: E402


def pct(values: list[float], q: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, int(q * len(values)))] * 1000 if values else float("nan")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--users", type=int, default=200)
    ap.add_argument("--seconds", type=float, default=60)
    ap.add_argument("--heavy-every", type=int, default=10, help="every Nth user sends 3 links")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="botload-"))
    (tmp / "www").mkdir()
    make_sample(tmp / "www" / "vod.mp4", SampleSpec(duration=30, hype_at=(10,), width=320, height=180))
    settings = load_settings(data_dir=str(tmp / "data"), fetch={"allow_private_networks": True})
    with FakeTelegram().run_in_thread() as tg, serve_dir(tmp / "www") as base:
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=False, telegram_max_active_jobs=5)
        app = App(settings, bot_settings, with_worker=False)
        sent: dict[tuple[int, int], float] = {}
        users = [10_000 + i for i in range(args.users)]
        plan = [(u, k) for u in users for k in range(3 if (u - 10_000) % args.heavy_every == 0 else 1)]
        gap = args.seconds / len(plan)
        t0 = time.monotonic()
        for i, (user, k) in enumerate(plan):
            while time.monotonic() < t0 + i * gap:
                time.sleep(0.005)
            sent[(user, k)] = time.monotonic()
            tg.send_text(user, f"clip this {base}/vod.mp4?copy={k}")
        expected = len(plan)

        def offers() -> list[dict]:
            return [m for u in users for m in tg.sent_messages(u) if any(d.startswith("lp:") for d in keyboard_data(m))]

        tg.wait_for_sync(lambda: len(offers()) >= expected, timeout=600)
        sending_done = time.monotonic() - t0
        first_answer, offer_latency = [], []
        for user in users:
            calls = [c for c in tg.calls if c.params.get("chat_id") in (user, str(user))]
            user_sent = sorted(v for (u, _), v in sent.items() if u == user)
            firsts = sorted(c.at for c in calls if c.method == "sendMessage")
            offers_at = sorted(c.at for c in calls
                               if c.method == "editMessageText" and "lp:" in str(c.params.get("reply_markup")))
            first_answer += [f - s for s, f in zip(user_sent, firsts)]
            offer_latency += [o - s for s, o in zip(user_sent, offers_at)]
        for m in offers():
            tg.press_button(int(m["chat"]["id"]), m, LayoutPick(request=keyboard_data(m)[0].split(":")[1],
                                                                layout="blur_fit").pack())
        tg.wait_for_sync(lambda: sum(1 for u in users for m in tg.sent_messages(u) if "Queued" in m.get("text", ""))
                         >= expected, timeout=300)
        app.close()

    async def queue_facts() -> tuple[int, list[int]]:
        db = storage.make_engine(storage.sqlite_url(tmp / "data" / "clipfactory.db"))
        try:
            queued = len(await storage.list_jobs(db, limit=10_000, status="queued"))
            order = []
            for i in range(min(len(users), queued)):
                job = await storage.claim(db, f"probe-{i}", lease_s=600, per_user_limit=None)
                order.append(job.user_id)
            return queued, order
        finally:
            await db.dispose()

    queued, order = asyncio.run(queue_facts())  # as many claims as there are users
    print(f"{args.users} users, {expected} links in {args.seconds:.0f} s; all offers out after {sending_done:.1f} s")
    print(f"answered users: {sum(1 for u in users if tg.sent_messages(u))}/{args.users}")
    print(f"first answer latency ms: p50 {pct(first_answer, .5):.0f}  p99 {pct(first_answer, .99):.0f}  "
          f"max {pct(first_answer, 1):.0f}")
    print(f"layout offer latency ms (yt-dlp lookup included): p50 {pct(offer_latency, .5):.0f}  "
          f"p99 {pct(offer_latency, .99):.0f}  max {pct(offer_latency, 1):.0f}")
    print(f"jobs queued: {queued}/{expected} (lost: {expected - queued})")
    print(f"fairness: the first {len(order)} claims came from {len(set(order))} different users "
          f"(no user twice before everyone once: {len(set(order)) == len(order)})")


if __name__ == "__main__":
    main()
