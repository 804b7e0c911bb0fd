"""Learning from feedback: the fit itself, its storage (SQLite file, PostgreSQL), the weights a
job runs with (through the real worker), and /weights with 👍/👎 through the fake Telegram."""

from __future__ import annotations

import asyncio
import math
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

import storage
from bot.callbacks import ClipAction, Vote, WeightsAction
from bot.settings import BotSettings
from pipeline.jobs import learning_store
from pipeline.media.config import FEATURES, load_settings
from pipeline.media.learning import fit_weights
from tests.fake_telegram import FakeTelegram
from tests.helpers import ThreadedApp
from tests.pg import create_database

OWNER = 111
T0 = datetime(2030, 1, 1, 12, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def settings(tmp_path_factory):
    return load_settings(data_dir=str(tmp_path_factory.mktemp("learning") / "data"))


@pytest.fixture(scope="module")
def defaults(settings):
    return dict(settings.scoring.weights)


def breakdown(rng: np.random.Generator, names=FEATURES) -> dict[str, float]:
    return {f: round(float(rng.beta(1.2, 2.5)), 4) for f in names}


def motion_lover(n: int, seed: int = 1) -> list[tuple[dict[str, float], int]]:
    """Someone who likes a clip exactly when it has a lot of motion, whatever else it has."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        b = breakdown(rng)
        out.append((b, int(b["motion"] > 0.3)))
    return out


def ratios(weights: dict[str, float], defaults: dict[str, float]) -> dict[str, float]:
    return {k: weights[k] / defaults[k] for k in defaults if defaults[k] > 0}


# --- the fit --------------------------------------------------------------------------

def test_a_planted_preference_is_recovered(defaults):
    weights = fit_weights(motion_lover(120), defaults)
    r = ratios(weights, defaults)
    assert r["motion"] > 3, r
    others = [k for k in r if k != "motion"]
    assert all(r[k] < 1.0 for k in others), r
    assert sum(weights[k] for k in others) < sum(defaults[k] for k in others)


def test_more_votes_move_further_from_the_defaults(defaults):
    few, many = (fit_weights(motion_lover(n), defaults) for n in (10, 60))
    assert 1.0 < ratios(few, defaults)["motion"] < ratios(many, defaults)["motion"]


def test_few_or_ambiguous_votes_stay_near_the_defaults(defaults):
    rng = np.random.default_rng(7)
    coin_flips = [(breakdown(rng), int(rng.random() < 0.5)) for _ in range(8)]
    weights = fit_weights(coin_flips, defaults)
    assert all(abs(r - 1) < 0.25 for r in ratios(weights, defaults).values()), weights
    # The same clip liked and disliked alike says nothing at all.
    same = breakdown(rng)
    weights = fit_weights([(same, 1), (same, 0)] * 5, defaults)
    assert weights == pytest.approx(defaults, rel=1e-3)


def test_the_output_keeps_the_contract(defaults):
    extra = {**defaults, "custom": 0.7}
    examples = motion_lover(30)
    weights = fit_weights(examples, extra)
    assert set(weights) == set(extra)
    assert all(w >= 0 for w in weights.values())
    assert math.isclose(sum(weights.values()), sum(extra.values()), rel_tol=1e-9)
    assert weights["custom"] > 0, "a feature no clip has keeps a share"
    assert fit_weights(examples, extra) == weights, "deterministic"
    off = fit_weights(examples, {**defaults, "scene_cuts": 0.0})
    assert off["scene_cuts"] == 0.0, "a switched-off feature stays off"


def test_none_below_min_votes_or_with_one_class(defaults):
    examples = motion_lover(20)
    assert fit_weights(examples[:7], defaults, min_votes=8) is None
    assert fit_weights(examples[:8], defaults, min_votes=8) is not None
    assert fit_weights([(b, 1) for b, _ in examples], defaults) is None
    assert fit_weights([(b, 0) for b, _ in examples], defaults) is None


def test_a_feature_missing_from_some_clips(defaults):
    """Streams without chat have no "chat" value: the fit neither fails nor reads it as 0."""
    examples = motion_lover(40)
    without_chat = [({k: v for k, v in b.items() if k != "chat"} if i % 2 else b, y)
                    for i, (b, y) in enumerate(examples)]
    weights = fit_weights(without_chat, defaults)
    assert ratios(weights, defaults)["motion"] > 1.3
    assert all(math.isfinite(w) and w >= 0 for w in weights.values())


# --- storage --------------------------------------------------------------------------

async def _job_with_clips(db, user: int, source: str, options: dict, breakdowns) -> tuple[str, list]:
    job, _ = await storage.enqueue(db, user, source, options)
    clips = await storage.record_clips(db, job.id, [
        {"start": 10.0 * i, "end": 10.0 * i + 20, "score": 50.0, "breakdown": b}
        for i, b in enumerate(breakdowns)])
    return job.id, clips


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.slow)])
def db_url(request, tmp_path):
    """A migrated, empty database: a SQLite file, or a fresh PostgreSQL database (tests/pg.py)."""
    if request.param == "sqlite":
        url = storage.sqlite_url(tmp_path / "learning.db")
    else:
        url = asyncio.run(create_database(request.getfixturevalue("pg_url")))
    asyncio.run(storage.migrate(url))
    return url


def test_storage_round_trip(db_url):
    rng = np.random.default_rng(3)
    bds = [breakdown(rng) for _ in range(4)]

    async def main():
        db = storage.make_engine(db_url)
        try:
            ann = await storage.ensure_user(db, 1, "Ann")
            bob = await storage.ensure_user(db, 2, "Bob")
            _, plain = await _job_with_clips(db, ann, "a.mp4", {}, bds[:2])
            _, fps = await _job_with_clips(db, ann, "b.mp4", {"template": "fps"}, bds[2:])
            await storage.add_feedback(db, plain[0].id, ann, 1, now=T0)
            await storage.add_feedback(db, plain[1].id, ann, -1, now=T0 + timedelta(seconds=1))
            await storage.mark_kept(db, plain[1].id, ann, now=T0 + timedelta(seconds=2))  # 👎 wins
            await storage.mark_kept(db, fps[0].id, ann, now=T0 + timedelta(seconds=3))
            await storage.add_feedback(db, fps[1].id, bob, -1, now=T0)
            out = {
                "all": await storage.feedback_examples(db, ann),
                "plain": await storage.feedback_examples(db, ann, template=""),
                "fps": await storage.feedback_examples(db, ann, template="fps"),
                "since": await storage.feedback_examples(db, ann, since=T0 + timedelta(seconds=1)),
                "limit": await storage.feedback_examples(db, ann, limit=1),
                "votes": await storage.feedback_for(db, fps[0].id),
            }
            await storage.save_learnt_weights(db, ann, "", {"motion": 2.0, "semantic": 1.0}, 9, now=T0)
            await storage.save_learnt_weights(db, ann, "", {"motion": 3.0, "semantic": 0.5}, 12, now=T0)
            await storage.save_learnt_weights(db, ann, "fps", {"motion": 1.0}, 8, now=T0)
            out["learnt"] = await storage.get_learnt_weights(db, ann)
            out["bob"] = await storage.get_learnt_weights(db, bob)
            out["deleted_fps"] = await storage.delete_learnt_weights(db, ann, "fps")
            out["still"] = await storage.get_learnt_weights(db, ann)
            out["deleted_all"] = await storage.delete_learnt_weights(db, ann)
            out["gone"] = await storage.get_learnt_weights(db, ann)
            return out
        finally:
            await db.dispose()

    out = asyncio.run(main())
    # newest first: kept fps clip (1), the 👎 clip kept afterwards (still 0), the 👍 (1)
    assert out["all"] == [(bds[2], 1), (bds[1], 0), (bds[0], 1)]
    assert out["plain"] == [(bds[1], 0), (bds[0], 1)]
    assert out["fps"] == [(bds[2], 1)]
    assert out["since"] == [(bds[2], 1), (bds[1], 0)]
    assert out["limit"] == [(bds[2], 1)]
    assert out["votes"] == {}, "keeping a clip is not a vote"
    learnt = out["learnt"]
    assert (learnt.weights, learnt.votes, learnt.template, learnt.updated_at) == (
        {"motion": 3.0, "semantic": 0.5}, 12, "", T0)
    assert out["bob"] is None
    assert out["deleted_fps"] == 1 and out["still"] is not None
    assert out["deleted_all"] == 1 and out["gone"] is None


def test_refit_and_the_weights_a_job_gets(db_url, settings, defaults):
    votes = motion_lover(12, seed=5)

    async def main():
        db = storage.make_engine(db_url)
        try:
            ann = await storage.ensure_user(db, 1, "Ann")
            _, plain = await _job_with_clips(db, ann, "a.mp4", {}, [b for b, _ in votes[:6]])
            _, fps = await _job_with_clips(db, ann, "b.mp4", {"template": "fps"}, [b for b, _ in votes[6:]])
            for clip, (_, liked) in zip(plain + fps, votes):
                await storage.add_feedback(db, clip.id, ann, 1 if liked else -1)
            saved = await learning_store.refit(db, settings, ann, "fps")
            picks = {t: await learning_store.weights_for(db, settings, ann, t) for t in ("", "fps", "moba")}
            job_settings, used = await learning_store.job_settings(db, settings, ann, "moba")
            other, other_used = await learning_store.job_settings(db, settings, 999, "fps")
            await learning_store.reset(db, ann)
            after_reset = await learning_store.weights_for(db, settings, ann, "")
            refit_after_reset = await learning_store.refit(db, settings, ann)
            return saved, picks, job_settings, used, other, other_used, after_reset, refit_after_reset
        finally:
            await db.dispose()

    saved, picks, job_settings, used, other, other_used, after_reset, refit_after_reset = asyncio.run(main())
    assert saved == {"": 12}, "six fps votes are not enough for fps weights of their own"
    assert picks[""].source == "learnt" and picks[""].votes == 12 and picks[""].learnt_for == ""
    assert picks[""].weights["motion"] > defaults["motion"]
    assert picks["fps"].source == "learnt" and picks["fps"].learnt_for == "", "falls back to all jobs"
    assert picks["moba"].weights == picks[""].weights
    assert job_settings.scoring.weights == used.weights == picks[""].weights
    assert used.describe()["source"] == "learnt"
    assert other_used.source == "template" and other is settings
    assert after_reset.source == "default" and after_reset.weights == defaults
    assert refit_after_reset == {}, "votes before a reset are not used again"


def test_per_template_weights_and_switching_learning_off(db_url, settings, defaults):
    votes = motion_lover(10, seed=9)
    off = settings.model_copy(update={"learning": settings.learning.model_copy(update={"enabled": False})})

    async def main():
        db = storage.make_engine(db_url)
        try:
            ann = await storage.ensure_user(db, 1, "Ann")
            _, fps = await _job_with_clips(db, ann, "b.mp4", {"template": "fps"}, [b for b, _ in votes])
            for clip, (_, liked) in zip(fps, votes):
                await storage.add_feedback(db, clip.id, ann, 1 if liked else -1)
            nothing = await learning_store.refit(db, off, ann, "fps")
            saved = await learning_store.refit(db, settings, ann, "fps")
            return (nothing, saved, await learning_store.weights_for(db, settings, ann, "fps"),
                    await learning_store.weights_for(db, off, ann, "fps"))
        finally:
            await db.dispose()

    nothing, saved, fps, unused = asyncio.run(main())
    assert nothing == {}
    assert saved == {"": 10, "fps": 10}
    assert fps.source == "learnt" and fps.learnt_for == "fps"
    template = {**defaults, **settings.templates["fps"].weights}
    assert math.isclose(sum(fps.weights.values()), sum(template.values()))
    assert unused.source == "template" and unused.weights == template


class Quiet:
    def __init__(self) -> None:
        self.failures: list[str] = []

    async def progress(self, job, stage, fraction, note): ...
    async def clip_ready(self, job, clip, job_dir): ...
    async def finished(self, job, report, job_dir): ...
    async def cancelled(self, job): ...

    async def failed(self, job, message):
        self.failures.append(message)


@pytest.mark.slow
def test_the_worker_runs_a_job_with_the_learnt_weights(tmp_path, settings):
    """The real worker on a job whose file turns out broken: the weights it chose are in
    the job's event log before anything else runs."""
    from pipeline.jobs.worker import run_worker

    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"not a video at all" * 100)
    job_settings = settings.model_copy(update={"data_dir": tmp_path / "data"})
    learnt = {**settings.scoring.weights, "motion": 3.0}

    async def main():
        from pipeline.jobs.worker import ensure_dirs, open_database

        ensure_dirs(job_settings)
        db = await open_database(job_settings)
        try:
            ann = await storage.ensure_user(db, 1, "Ann")
            bob = await storage.ensure_user(db, 2, "Bob")
            await storage.save_learnt_weights(db, ann, "", learnt, 9)
            jobs = [(await storage.enqueue(db, u, str(broken), {"render": False}))[0] for u in (ann, bob)]
            notifier = Quiet()
            await run_worker(job_settings, notifier, burst=True, db=db)
            return [(await storage.events_for(db, j.id, "weights"))[0].data for j in jobs], notifier.failures
        finally:
            await db.dispose()

    (ann_used, bob_used), failed = asyncio.run(main())
    assert len(failed) == 2
    assert ann_used["source"] == "learnt" and ann_used["weights"]["motion"] == 3.0 and ann_used["votes"] == 9
    assert bob_used["source"] == "default" and bob_used["weights"] == dict(settings.scoring.weights)


# --- the bot --------------------------------------------------------------------------




def _answer(tg, query_id: str):
    return tg.wait_for_sync(lambda: next(
        (a for a in tg.answered_callbacks if a.callback_query_id == query_id), None), timeout=30)


def _buttons(message: dict) -> list[str]:
    return [b.get("callback_data", "") for row in (message.get("reply_markup") or {}).get("inline_keyboard", [])
            for b in row]


@pytest.mark.slow
def test_votes_refit_and_weights_shows_and_resets_them(tmp_path, defaults):
    settings = load_settings(data_dir=str(tmp_path / "data"))
    url = storage.sqlite_url(tmp_path / "data" / "clipfactory.db")
    votes = motion_lover(9, seed=11)

    async def prepare():
        await storage.migrate(url)
        db = storage.make_engine(url)
        try:
            ann = await storage.ensure_user(db, OWNER, "Ann")
            job, clips = await _job_with_clips(db, ann, "a.mp4", {}, [b for b, _ in votes])
            # Clip buttons act on a finished job only.
            assert (await storage.claim(db, "worker-1", lease_s=60)).id == job
            assert await storage.complete(db, job, "worker-1", {})
            return ann, job, clips
        finally:
            await db.dispose()

    async def read(fn, *args, **kwargs):
        db = storage.make_engine(url)
        try:
            return await fn(db, *args, **kwargs)
        finally:
            await db.dispose()

    ann, job_id, clips = asyncio.run(prepare())
    with FakeTelegram().run_in_thread() as tg:
        bot_settings = BotSettings(telegram_bot_token=tg.token, telegram_api_server=tg.base_url,
                                   telegram_api_local=False, telegram_allowed_users=str(OWNER))
        app = ThreadedApp(settings, bot_settings, with_worker=False)
        try:
            commands = tg.wait_for_sync(lambda: tg.calls_to("setMyCommands"), timeout=30)
            assert any("weights" in str(c.params.get("commands")) for c in commands)

            tg.send_text(OWNER, "/weights")
            shown = tg.wait_for_sync(lambda: next(
                (m for m in tg.sent_messages(OWNER) if "Scoring weights" in m.get("text", "")), None), timeout=30)
            assert "the defaults" in shown["text"] and "Votes so far: 0" in shown["text"]
            assert "motion" in shown["text"] and f"{defaults['motion']:.2f}" in shown["text"]
            assert not _buttons(shown), "nothing to reset yet"

            # "Longer" on one clip keeps it (a like); 👍/👎 on the others.
            liked_rank = next(c.rank for c, (_, y) in zip(clips, votes) if y)
            longer = ClipAction(job=job_id, rank=liked_rank, action="longer").pack()
            _answer(tg, tg.forge_callback(OWNER, shown, longer))
            for clip, (_, liked) in zip(clips, votes):
                if clip.rank == liked_rank:
                    continue
                vote = Vote(clip=clip.id, vote=1 if liked else -1).pack()
                answer = _answer(tg, tg.forge_callback(OWNER, shown, vote))
                assert "Thanks" in (answer.text or "")

            def refitted():
                learnt = asyncio.run(read(storage.get_learnt_weights, ann))
                return learnt if learnt and learnt.votes == 9 else None

            learnt = tg.wait_for_sync(refitted, timeout=30)
            assert learnt.weights["motion"] > defaults["motion"]
            kept = asyncio.run(read(storage.feedback_examples, ann))
            assert len(kept) == 9 and sum(y for _, y in kept) == sum(y for _, y in votes)

            before = len(tg.sent_messages(OWNER))
            tg.send_text(OWNER, "/weights")
            view = tg.wait_for_sync(lambda: next(
                (m for m in tg.sent_messages(OWNER)[before:] if "learnt from 9" in m.get("text", "")), None),
                timeout=30)
            assert f"{learnt.weights['motion']:.2f}" in view["text"]
            reset = WeightsAction(action="reset").pack()
            assert _buttons(view) == [reset]
            assert "default" in (_answer(tg, tg.press_button(OWNER, view, reset)).text or "")

            def back_to_defaults():
                message = tg.message(OWNER, view["message_id"])
                return message if "Scoring weights: the defaults" in message["text"] else None

            edited = tg.wait_for_sync(back_to_defaults, timeout=30)
            assert "Votes so far: 0" in edited["text"] and not _buttons(edited)
            assert asyncio.run(read(storage.get_learnt_weights, ann)) is None
        finally:
            app.close()
    assert app.error is None, app.error
