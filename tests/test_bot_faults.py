"""The bot under faults: a start-up nicety failing (500), a token refused at start or revoked
while serving (401), its in-process worker dying, and handlers that fail. Real `clipfactory`
processes against the fake Bot API; the error router through a real aiogram round trip."""

from __future__ import annotations

import asyncio
import io
import logging
import os
import re
import signal
import sqlite3
import subprocess
import time
from pathlib import Path

import pytest

import storage
from bot.callbacks import LayoutPick, OptionPick
from bot.settings import BotSettings
from pipeline.jobs.logs import configure_logging
from pipeline.media.config import load_settings
from tests.fake_telegram import FakeTelegram
from tests.helpers import ROOT, ThreadedApp, cli_cmd

OWNER, RU_USER = 111, 333
REFUSED = "Telegram refused the bot token: check TELEGRAM_BOT_TOKEN"
OOPS_EN = "Something went wrong on our side"
OOPS_RU = "Что-то пошло не так на нашей стороне"


class Cli:
    """`clipfactory <command>` talking to the fake, its log in a file read while it runs."""

    def __init__(self, tmp: Path, tg: FakeTelegram, command: str, token: str | None = None) -> None:
        self.log_path = tmp / f"{command}.log"
        self._log = self.log_path.open("w")
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT),
               "TELEGRAM_BOT_TOKEN": token or tg.token, "TELEGRAM_API_SERVER": tg.base_url,
               "TELEGRAM_API_LOCAL": "false", "CLIPFACTORY_DATA_DIR": str(tmp / "data"),
               "CLIPFACTORY_WORKER__POLL_S": "0.2"}
        self.proc = subprocess.Popen(cli_cmd(command), cwd=ROOT, env=env, stdout=self._log,
                                     stderr=subprocess.STDOUT, start_new_session=True)

    @property
    def log(self) -> str:
        return self.log_path.read_text(errors="replace")

    def wait_log(self, text: str, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while text not in self.log:
            assert time.monotonic() < deadline, f"no {text!r} in:\n{self.log[-3000:]}"
            assert self.proc.poll() is None or text in self.log, f"exited:\n{self.log[-3000:]}"
            time.sleep(0.2)

    def wait(self, timeout: float = 60) -> int:
        try:
            return self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            raise AssertionError(f"still running after {timeout} s:\n{self.log[-3000:]}") from None

    def close(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()
        self._log.close()


@pytest.fixture
def tg():
    with FakeTelegram().run_in_thread() as fake:
        yield fake


@pytest.fixture
def cli(tmp_path, tg):
    started: list[Cli] = []

    def start(command: str, token: str | None = None) -> Cli:
        started.append(Cli(tmp_path, tg, command, token))
        return started[-1]

    yield start
    for c in started:
        c.close()


def answered_start(tg: FakeTelegram, user: int = OWNER, timeout: float = 60) -> None:
    before = len(tg.sent_messages(user))
    tg.send_text(user, "/start")
    tg.wait_for_sync(lambda: len(tg.sent_messages(user)) > before, timeout=timeout)


@pytest.mark.slow
def test_a_commands_menu_refused_by_telegram_is_a_warning_and_the_bot_serves(tg, cli):
    tg.fail_next("setMyCommands", times=1000, status=500)
    bot = cli("bot")
    answered_start(tg)
    bot.wait_log("could not set the commands menu (TelegramServerError", timeout=90)
    assert bot.proc.poll() is None
    answered_start(tg)
    bot.proc.send_signal(signal.SIGTERM)
    assert bot.wait() == 0, bot.log[-3000:]
    assert "Traceback" not in bot.log


@pytest.mark.slow
def test_telegram_down_at_start_is_waited_out(tg, cli):
    tg.fail_next("getMe", times=6, status=502)     # more than one call's retries
    bot = cli("bot")
    bot.wait_log("Telegram is not reachable (TelegramServerError", timeout=60)
    answered_start(tg, timeout=60)
    assert bot.proc.poll() is None


@pytest.mark.slow
@pytest.mark.parametrize("command", ["bot", "run", "worker"])
def test_a_token_refused_at_start_stops_the_process_with_words(tg, cli, command):
    wrong = "987654321:AAWrongTokenRevokedInBotFather_0123456"
    proc = cli(command, token=wrong)
    assert proc.wait() == 1
    assert REFUSED in proc.log
    assert "Traceback" not in proc.log
    assert wrong not in proc.log and wrong.split(":")[1] not in proc.log
    assert not tg.calls_to("getUpdates")


@pytest.mark.slow
def test_a_token_revoked_while_serving_stops_the_bot_with_words(tg, cli):
    bot = cli("run")
    answered_start(tg)
    started = time.monotonic()
    tg.tokens = set()            # revoked in BotFather: every call now answers 401
    assert bot.wait(timeout=60) == 1
    took = time.monotonic() - started
    assert REFUSED in bot.log, bot.log[-3000:]
    assert tg.token not in bot.log
    assert took < 30, took       # the long poll (10 s) ends, the next getUpdates is refused


@pytest.mark.slow
def test_the_worker_inside_the_bot_dying_stops_the_bot(tmp_path, tg, cli):
    bot = cli("run")
    answered_start(tg)
    db = sqlite3.connect(tmp_path / "data" / "clipfactory.db")
    db.execute("ALTER TABLE jobs RENAME TO jobs_lost")   # the worker's next claim fails
    db.commit()
    db.close()
    assert bot.wait(timeout=60) == 1
    assert "The worker inside the bot stopped on an unexpected error" in bot.log
    assert "Traceback" in bot.log and "jobs" in bot.log


# --------------------------------------------------------------------------- error router





@pytest.fixture(scope="module")
def serving(tmp_path_factory):
    root = tmp_path_factory.mktemp("errors")
    settings = load_settings(data_dir=str(root / "data"))
    log = io.StringIO()
    with FakeTelegram().run_in_thread() as fake:
        handler = configure_logging("INFO", False, [fake.token], stream=log)
        bot_settings = BotSettings(telegram_bot_token=fake.token, telegram_api_server=fake.base_url,
                                   telegram_api_local=False)
        app = ThreadedApp(settings, bot_settings, with_worker=False)
        try:
            answered_start(fake, timeout=120)   # the first answer waits for migrations and aiogram
            yield fake, log, root / "data"
        finally:
            app.close()
            logging.getLogger().removeHandler(handler)
    assert app.error is None, app.error


def last_text(tg: FakeTelegram, user: int, after: int) -> str:
    msg = tg.wait_for_sync(lambda: next((m for m in tg.sent_messages(user) if m["message_id"] > after), None),
                           timeout=30)
    return msg["text"]


def last_id(tg: FakeTelegram, user: int) -> int:
    msgs = tg.sent_messages(user)
    return msgs[-1]["message_id"] if msgs else 0


def broken(monkeypatch, name: str) -> None:
    async def fails(*args, **kwargs):
        raise RuntimeError(f"{name} is broken for this test")
    monkeypatch.setattr(storage, name, fails)


def answer_to(tg: FakeTelegram, query_id: str):
    return tg.wait_for_sync(lambda: next((a for a in tg.answered_callbacks if a.callback_query_id == query_id),
                                         None), timeout=30)


@pytest.mark.slow
def test_a_failing_handler_answers_the_person_in_their_language_and_logs_the_update(serving, monkeypatch):
    tg, log, _ = serving
    broken(monkeypatch, "list_jobs")
    before = last_id(tg, OWNER)
    tg.send_text(OWNER, "/queue")
    assert OOPS_EN in last_text(tg, OWNER, before)
    before_ru = last_id(tg, RU_USER)
    tg.send_text(RU_USER, "/queue", language_code="ru")
    assert OOPS_RU in last_text(tg, RU_USER, before_ru)
    text = log.getvalue()
    failed = [int(n) for n in re.findall(r"update (\d+) failed: RuntimeError: list_jobs is broken", text)]
    assert len(failed) == 2 and failed[1] > failed[0] > 100_000, failed
    assert "Traceback" in text and "bot/routers/jobs.py" in text


@pytest.mark.slow
def test_an_error_before_any_handler_is_answered_too(serving, monkeypatch):
    """The access check itself fails (the database is down): still an answer."""
    tg, _, _ = serving
    broken(monkeypatch, "ensure_user")
    before = last_id(tg, OWNER)
    tg.send_text(OWNER, "/start")
    assert OOPS_EN in last_text(tg, OWNER, before)


@pytest.mark.slow
def test_a_button_whose_handler_fails_gets_an_alert(serving, monkeypatch):
    tg, _, _ = serving
    anchor = tg.sent_messages(OWNER)[-1]
    broken(monkeypatch, "get_request")
    query = tg.forge_callback(OWNER, anchor, OptionPick(request="abc", key="top_k", value="5").pack())
    answer = answer_to(tg, query)
    assert OOPS_EN in (answer.text or "") and answer.show_alert


def stored_request(data: Path, options: dict) -> str:
    async def go() -> str:
        db = storage.make_engine(storage.sqlite_url(data / "clipfactory.db"))
        try:
            user = await storage.ensure_user(db, telegram_id=OWNER)
            return (await storage.create_request(db, user, OWNER, "https://example.com/vod.mp4", "vod",
                                                 options=options)).id
        finally:
            await db.dispose()
    return asyncio.run(go())


@pytest.mark.slow
def test_forged_or_stale_options_are_refused_before_the_button_is_answered(serving):
    """A top_k that is no number or out of range, or options stored that the worker would
    refuse: one clear alert, no error."""
    tg, log, data = serving
    anchor = tg.sent_messages(OWNER)[-1]
    logged = len(log.getvalue())
    fresh = stored_request(data, {})
    stale = stored_request(data, {"top_k": 999})
    for data_ in (OptionPick(request=fresh, key="top_k", value="many").pack(),
                  OptionPick(request=fresh, key="top_k", value="99").pack(),
                  LayoutPick(request=stale, layout="blur_fit").pack()):
        answer = answer_to(tg, tg.forge_callback(OWNER, anchor, data_))
        assert "That choice is not available" in (answer.text or "") and answer.show_alert, data_
    assert " failed: " not in log.getvalue()[logged:]


@pytest.mark.slow
def test_a_valid_option_pick_shows_the_options_with_the_choice(serving):
    """Picking 3 clips and Russian redraws the options menu with both (it once raised
    inside the text: the menu's `lang` placeholder clashed with the reply language)."""
    tg, log, data = serving
    anchor = tg.sent_messages(OWNER)[-1]
    logged = len(log.getvalue())
    request = stored_request(data, {})
    answer_to(tg, tg.forge_callback(OWNER, anchor, OptionPick(request=request, key="top_k", value="3").pack()))
    answer_to(tg, tg.forge_callback(OWNER, anchor, OptionPick(request=request, key="language", value="ru").pack()))
    text = tg.wait_for_sync(lambda: (m := tg.message(OWNER, anchor["message_id"])) and "language ru" in m["text"]
                            and m["text"], timeout=30)
    assert "Clips: 3" in text
    assert " failed: " not in log.getvalue()[logged:]
