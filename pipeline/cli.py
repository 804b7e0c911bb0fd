"""`clipfactory` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING

import typer
from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from pipeline.media import artifacts
from pipeline.media.config import Settings, load_settings
from pipeline.media.errors import ClipFactoryError

if TYPE_CHECKING:
    from pipeline.jobs.evaluation import LabelledVideo

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="Viral Clip Factory: find the best moments of a stream VOD.")
console = Console(stderr=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML file merged over configs/default.yaml.")
LayoutOpt = typer.Option(None, "--layout", help="facecam_top, gameplay, blur_fit, talking_head (default: config).")
ExportOpt = typer.Option(None, "--export", help="9:16, 1:1, 4:5 or 16:9 (default: config).")
StyleOpt = typer.Option(None, "--style", help="Subtitle style: bold_outline, boxed, highlight (default: config).")
SubtitlesOpt = typer.Option(None, "--subtitles/--no-subtitles", help="Burn in word-timed subtitles.")


def _settings(config: Path | None) -> Settings:
    from pipeline.jobs.logs import configure_logging, known_secrets

    try:
        settings = load_settings(config)
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        raise typer.Exit(2) from exc
    obs = settings.observability
    configure_logging(obs.log_level, obs.log_json, known_secrets(settings.worker.database_url))
    return settings


@app.callback()
def main() -> None:
    """Viral Clip Factory."""
    from dotenv import load_dotenv

    # Settings and secrets come from the environment; a .env file fills in what is unset.
    load_dotenv(Path.cwd() / ".env", override=False)


@app.command()
def process(
    source: str | None = typer.Argument(None, help="A video file or a VOD link."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for job folders and reports."),
    config: Path | None = ConfigOpt,
    sample: bool = typer.Option(False, "--sample", help="Make and process the built-in sample stream."),
    language: str | None = typer.Option(None, help="Spoken language (en, ru, …); default: detect."),
    no_render: bool = typer.Option(False, "--no-render", help="Only analyse; make no clips."),
    layout: str | None = LayoutOpt,
    export: str | None = ExportOpt,
    style: str | None = StyleOpt,
    subtitles: bool | None = SubtitlesOpt,
    chat: str | None = typer.Option(None, "--chat", help="A chat log (TwitchDownloader JSON, "
                                       "chat-downloader JSON/CSV, YouTube .live_chat.json, or [h:mm:ss] name: "
                                       "text lines), a file or a link."),
) -> None:
    """Analyse a stream, print its best moments and render them as clips.

    Writes <out>/<job-id>/report.json and clip_01.mp4 … with thumbnails."""
    from pipeline.jobs.runner import run_job

    settings = _settings(config)
    opts = None if no_render else _render_options(settings, layout, export, style, subtitles)
    if language:
        settings = settings.model_copy(update={"asr": settings.asr.model_copy(update={"language": language})})
    if sample:
        from pipeline.media.sample import make_sample

        target = out / "sample" / "sample_stream.mp4"
        if not target.exists():
            console.print("Making the sample stream (3 min, one planted hype moment at 1:40)…")
            make_sample(target)
        source = str(target)
    if not source:
        console.print("[red]Give a video file or a link, or --sample.[/red]")
        raise typer.Exit(2)
    report = _with_progress(lambda observer: run_job(source, settings, out, observer, render=opts, chat=chat))
    _print_result(report, out)
    if report.get("chat"):
        c = report["chat"]
        console.print(f"Chat ({c['source']}): {c['messages']} messages from {c['chatters']} chatters, "
                      f"{c['delay_s']:g} s behind the stream ({'measured' if c['delay_measured'] else 'default'})")


@app.command()
def render(
    job_id: str = typer.Argument(..., help="A job id printed by `process` (its folder under --out)."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder holding the job folders."),
    config: Path | None = ConfigOpt,
    layout: str | None = LayoutOpt,
    export: str | None = ExportOpt,
    style: str | None = StyleOpt,
    subtitles: bool | None = SubtitlesOpt,
) -> None:
    """Render a finished job's moments again, e.g. with another layout; no analysis is re-run."""
    from pipeline.media.render.job import rerender_job

    settings = _settings(config)
    opts = _render_options(settings, layout, export, style, subtitles)
    job_dir = out / job_id
    if not (job_dir / artifacts.REPORT).exists():
        console.print(f"[red]No finished job '{escape(job_id)}' in {escape(str(out))}.[/red]")
        raise typer.Exit(2)
    report = _with_progress(lambda observer: rerender_job(job_dir, settings, opts, observer))
    _print_result(report, out)


def _render_options(settings: Settings, layout, export, style, subtitles):
    from pipeline.media.render.job import RenderOptions

    try:
        return RenderOptions.from_settings(settings, layout, export, subtitles, style)
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        raise typer.Exit(2) from exc


def _with_progress(work):
    from pipeline.media.progress import RichObserver

    columns = (TextColumn("{task.description:<28}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            return work(RichObserver(progress))
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        if exc.detail:
            console.print(f"[dim]{escape(exc.detail)}[/dim]")
        raise typer.Exit(1) from exc


def _print_result(report: dict, out: Path) -> None:
    from pipeline.jobs.report import moments_table

    Console().print(moments_table(report))
    summary = report.get("render")
    if summary:
        for note in summary["notes"]:
            console.print(f"[yellow]{escape(note)}[/yellow]")
        console.print(f"Clips: {summary['layout']} {summary['export']} via {summary['encoder']}, "
                      f"in {escape(str(out / report['job_id']))}")
    console.print(f"Report: {escape(str(out / report['job_id'] / 'report.json'))}")


@app.command()
def worker(
    config: Path | None = ConfigOpt,
    burst: bool = typer.Option(False, "--burst", help="Exit once the queue is empty."),
    slots: int | None = typer.Option(None, "--slots", help="Jobs run at once (default: config)."),
) -> None:
    """Take jobs from the queue and run them."""
    import asyncio

    from pipeline.jobs.notify import ConsoleNotifier
    from pipeline.jobs.worker import ensure_dirs, run_worker

    settings = _settings(config)
    ensure_dirs(settings)
    bot_settings = _bot_settings()
    if bot_settings is not None and bot_settings.telegram_bot_token.get_secret_value():
        from bot.app import run_delivering_worker
        from bot.errors import BotStopped

        try:
            done = asyncio.run(run_delivering_worker(settings, bot_settings, burst=burst, slots=slots))
        except BotStopped as exc:  # logged where it happened
            raise typer.Exit(1) from exc
    else:
        done = asyncio.run(run_worker(settings, ConsoleNotifier(console), slots=slots, burst=burst))
    console.print(f"worker finished {done} job(s)")


def _bot_settings():
    try:
        from bot.settings import BotSettings
    except ImportError:
        return None
    return BotSettings()


def _run_bot(config: Path | None, with_worker: bool) -> None:
    import asyncio

    from bot.app import run_app
    from bot.errors import BotStopped

    settings = _settings(config)
    bot_settings = _bot_settings()
    try:
        bot_settings.require_token()
        asyncio.run(run_app(settings, bot_settings, with_worker=with_worker))
    except BotStopped as exc:  # logged where it happened; non-zero so that a supervisor restarts it
        raise typer.Exit(1) from exc
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        raise typer.Exit(2) from exc


@app.command("bot")
def bot_command(config: Path | None = ConfigOpt) -> None:
    """Run the Telegram bot (jobs are run by `clipfactory worker` processes)."""
    _run_bot(config, with_worker=False)


@app.command("run")
def run_command(config: Path | None = ConfigOpt) -> None:
    """Run the Telegram bot and a worker together: the one-machine deployment."""
    _run_bot(config, with_worker=True)


@app.command()
def submit(
    source: str = typer.Argument(..., help="A video file or a VOD link."),
    config: Path | None = ConfigOpt,
    layout: str | None = LayoutOpt,
    no_render: bool = typer.Option(False, "--no-render", help="Only analyse; make no clips."),
    top_k: int | None = typer.Option(None, "--top-k", help="How many moments."),
    user: str = typer.Option("cli", "--user", help="Who the job belongs to (a name)."),
) -> None:
    """Queue a job and print its id."""
    import asyncio

    import storage
    from pipeline.jobs.retention import check_free_space
    from pipeline.jobs.worker import open_database
    from pipeline.media.options import JobOptions

    settings = _settings(config)
    try:
        check_free_space(settings.jobs_dir, settings.retention)
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        raise typer.Exit(1) from exc
    source = str(Path(source).resolve()) if Path(source).exists() else source
    options = JobOptions(render=not no_render, layout=layout, top_k=top_k).to_dict()

    async def go() -> tuple:
        db = await open_database(settings)
        try:
            user_id = await storage.ensure_user(db, name=user)
            return await storage.enqueue(db, user_id, source, options, max_attempts=settings.worker.max_attempts)
        finally:
            await db.dispose()

    job, created = asyncio.run(go())
    print(job.id)
    if not created:
        console.print("[dim]the same job was already queued[/dim]")


def _job_row(job) -> dict:
    return {"id": job.id, "status": job.status, "stage": job.stage, "progress": round(job.progress, 3),
            "error": job.error, "clips": job.clips, "source": job.source, "attempts": job.attempts,
            "created_at": job.created_at.isoformat()}


@app.command()
def jobs(
    config: Path | None = ConfigOpt,
    as_json: bool = typer.Option(False, "--json", help="Print a JSON list."),
    limit: int = typer.Option(50, "--limit"),
) -> None:
    """List jobs with their status and progress."""
    import asyncio
    import json

    from rich.table import Table

    import storage
    from pipeline.jobs.worker import open_database

    settings = _settings(config)

    async def go() -> list:
        db = await open_database(settings)
        try:
            return await storage.list_jobs(db, limit=limit)
        finally:
            await db.dispose()

    rows = [_job_row(j) for j in asyncio.run(go())]
    if as_json:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table()
    for col in ("id", "status", "stage", "progress", "clips", "error"):
        table.add_column(col)
    for r in rows:
        table.add_row(r["id"], r["status"], r["stage"] or "", f"{r['progress']:.0%}", str(r["clips"]), r["error"] or "")
    Console().print(table)


@app.command()
def cancel(job_id: str = typer.Argument(...), config: Path | None = ConfigOpt) -> None:
    """Cancel a queued job, or stop a running one at its next stage."""
    import asyncio

    import storage
    from pipeline.jobs.worker import open_database

    settings = _settings(config)

    async def go() -> bool:
        db = await open_database(settings)
        try:
            return await storage.cancel(db, job_id)
        finally:
            await db.dispose()

    if not asyncio.run(go()):
        console.print(f"[red]No active job {escape(job_id)}.[/red]")
        raise typer.Exit(1)
    console.print(f"cancel requested for {job_id}")


@app.command("make-labelled-set")
def make_labelled_set_command(
    out_dir: Path = typer.Argument(..., help="Folder for the streams, chat logs and labels.json."),
    split: str = typer.Option("train", "--split", help="train (to fit weights on) or heldout (to measure "
                                                       "on): other seeds, phrases and voices."),
    videos: int = typer.Option(6, "--videos", min=1, help="How many streams (290 s each)."),
) -> None:
    """Generate a split of the labelled set that `clipfactory eval` and `fit-weights` use (docs/eval.md)."""
    from pipeline.jobs.labelled_set import SPLITS, SetSpec, make_labelled_set

    if split not in SPLITS:
        console.print(f"[red]--split must be one of: {', '.join(SPLITS)}.[/red]")
        raise typer.Exit(2)
    console.print(f"Making {videos} labelled stream(s) of the {split} split in {escape(str(out_dir))}…")
    labels = make_labelled_set(out_dir, SetSpec(split=split, videos=videos))
    console.print(f"Labels: {escape(str(labels))}")


def _labels(labels: Path) -> list[LabelledVideo]:
    """The videos of a labels file; a clear message and exit status 2 when it cannot be read."""
    from pipeline.jobs import evaluation as ev

    try:
        return ev.load_labels(labels)
    except ClipFactoryError as exc:
        console.print(f"[red]{escape(exc.user_message)}[/red]")
        if exc.detail:
            console.print(f"[dim]{escape(exc.detail)}[/dim]")
        raise typer.Exit(2) from exc


@app.command("eval")
def eval_command(
    labels: Path = typer.Argument(..., help="A labels file (format: docs/eval.md)."),
    out: Path = typer.Option(Path("out/eval"), "--out", "-o",
                             help="Folder for the job folders; a rerun reuses their analysis."),
    config: Path | None = ConfigOpt,
    no_chat: bool = typer.Option(False, "--no-chat", help="Leave the chat logs out (chat weight 0)."),
    learn: bool = typer.Option(False, "--learn", help="Also simulate feedback learning (leave one video "
                                                     "out) and show the numbers before and after."),
    as_json: bool = typer.Option(False, "--json", help="Print the numbers as JSON on stdout."),
) -> None:
    """Score the picks against labelled highlights: HIT@1, HIT@5, precision@5 and mAP at IoU ≥ 0.5.

    Writes the numbers to <out>/eval.json (eval_no_chat.json with --no-chat)."""
    import json

    from pipeline.jobs import evaluation as ev
    from pipeline.jobs.pool import make_pool

    settings = _settings(config)
    videos = _labels(labels)
    use_chat = not no_chat
    if no_chat:
        settings = ev.without_chat(settings)
    tables = console if as_json else Console()

    def analyse_all(run_settings, per_video=None) -> dict[str, list]:
        picks = {}
        for n, video in enumerate(videos, start=1):
            s = per_video(video) if per_video else run_settings
            console.print(f"[bold]{escape(video.id)}[/bold] ({n}/{len(videos)})")
            report = _with_progress(lambda observer, video=video, s=s: ev.analyse(
                video, s, out, use_chat=use_chat, pool=pool, observer=observer))
            picks[video.id] = ev.picks_from_report(report)
        return picks

    pool = make_pool()
    try:
        before = analyse_all(settings)
        scores = {v.id: ev.score_video(before[v.id], v.highlights, v.decoys) for v in videos}
        after_scores, weights = None, {}
        if learn:
            from pipeline.media.learning import fit_weights

            defaults = settings.scoring.weights
            for v in videos:
                weights[v.id] = ev.learnt_weights(before, videos, v.id, defaults, fit_weights)
            console.print("[bold]Rescoring with the learnt weights[/bold] (score stage only)")
            after = analyse_all(settings, lambda v: ev.with_weights(settings, weights[v.id] or defaults))
            after_scores = {v.id: ev.score_video(after[v.id], v.highlights, v.decoys) for v in videos}
    finally:
        pool.close()

    for v in videos:
        tables.print(_picks_table(v, before[v.id]))
    tables.print(_scores_table(videos, scores, after_scores))
    tables.print(_kinds_table(videos, scores, after_scores))
    result = {
        "labels": str(labels), "threshold": ev.THRESHOLD, "chat": use_chat,
        "videos": [{"id": v.id, **ev.as_dict(scores[v.id]),
                    "picks": [_pick_row(v, p) for p in ev.ranked(before[v.id])]} for v in videos],
        **_summary(videos, scores),
    }
    if after_scores is not None:
        result["learn"] = {
            "vote_iou": ev.VOTE_IOU,
            "videos": [{"id": v.id, "weights": weights[v.id], **ev.as_dict(after_scores[v.id]),
                        "picks": [_pick_row(v, p) for p in ev.ranked(after[v.id])]} for v in videos],
            **_summary(videos, after_scores),
        }
    out.mkdir(parents=True, exist_ok=True)
    target = out / ("eval_no_chat.json" if no_chat else "eval.json")
    target.write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    console.print(f"Numbers: {escape(str(target))}")
    if as_json:
        print(json.dumps(result, ensure_ascii=False))


@app.command("fit-weights")
def fit_weights_command(
    labels: Path = typer.Argument(..., help="A labels file, e.g. the train split's (docs/eval.md)."),
    out: Path = typer.Option(Path("weights.yaml"), "--out", "-o", help="Where the fitted scoring.weights go."),
    work: Path = typer.Option(Path("out/fit"), "--work", help="Folder for the job folders; a rerun reuses "
                                                                "their analysis (share it with eval's --out)."),
    config: Path | None = ConfigOpt,
    chat: bool = typer.Option(False, "--chat/--no-chat", help="Fit with the chat logs and the chat weight "
                                                               "too (default: without; the chat weight is kept)."),
    rounds: int = typer.Option(6, "--rounds", min=1, help="Coordinate-ascent rounds at most."),
    max_weight: float = typer.Option(3.0, "--max-weight", min=0.1, help="Cap on any one weight."),
    seed: int = typer.Option(0, "--seed", help="Order in which the weights are tried."),
) -> None:
    """Fit scoring.weights on a labelled set: maximise mean mAP@0.5 + HIT@1 (weights >= 0, fixed total).

    Analyses each stream once (or reuses it from --work), then rescores in memory; prints the
    result as a YAML block for scoring.weights and writes it to --out."""
    from pipeline.jobs import evaluation as ev
    from pipeline.jobs import weight_fit as wf
    from pipeline.jobs.pool import make_pool

    settings = _settings(config)
    videos = _labels(labels)
    configured = dict(settings.scoring.weights)
    run_settings = settings if chat else ev.without_chat(settings)
    keys = [k for k in configured if chat or k != "chat"]
    jobs: dict[str, tuple[Path, float, bool]] = {}
    pool = make_pool()
    try:
        for n, video in enumerate(videos, start=1):
            console.print(f"[bold]{escape(video.id)}[/bold] ({n}/{len(videos)})")
            report = _with_progress(lambda observer, video=video: ev.analyse(
                video, run_settings, work, use_chat=chat, pool=pool, observer=observer))
            chat_used = bool(report.get("chat") and report["chat"].get("available", True))
            jobs[video.id] = (work.resolve() / report["job_id"], float(report["duration"]), chat and chat_used)
    finally:
        pool.close()
    fixed = {k: (configured[k] if chat or k != "chat" else 0.0) for k in configured}
    picker = wf.job_picker(run_settings, jobs)
    console.print(f"Fitting {', '.join(keys)} over {len(videos)} stream(s)…")
    fit = wf.coordinate_ascent(wf.set_objective(videos, picker), fixed, keys, max_weight=max_weight,
                               rounds=rounds, seed=seed)
    fitted = {k: (fit.weights[k] if k in keys else configured[k]) for k in configured}

    def scores(weights: dict[str, float]) -> dict[str, ev.VideoScore]:
        return {v.id: ev.score_video(picker(v, weights), v.highlights, v.decoys) for v in videos}

    console.print(_scores_table(videos, scores(fixed), scores(fit.weights)))
    header = [f"clipfactory fit-weights {labels} ({len(videos)} streams, {'with' if chat else 'without'} chat)",
              f"mean AP@0.5 + HIT@1: {fit.start_value:.3f} with the configured weights, {fit.value:.3f} fitted "
              f"({fit.evaluations} weight sets tried, {fit.rounds} round(s))"]
    block = wf.weights_yaml(fitted, header)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(block, encoding="utf-8")
    print(block, end="")
    console.print(f"Weights: {escape(str(out))}")


def _summary(videos, scores) -> dict:
    """The means, the per-kind and decoy counts, and which of issue 13's targets they meet."""
    from pipeline.jobs import evaluation as ev

    mean = ev.mean_score(list(scores.values()))
    kinds, decoys = ev.kind_report(videos, scores), ev.decoy_report(videos, scores)
    return {"mean": ev.as_dict(mean), "kinds": kinds, "decoys": decoys,
            "targets": {"values": ev.TARGETS, "met": ev.targets(mean, kinds, decoys)}}


def _kinds_table(videos, scores, after=None):
    from rich.table import Table

    from pipeline.jobs.evaluation import decoy_report, kind_report

    def cell(row: dict, key: str, other: dict | None) -> str:
        return f"{row[key]}/{row['streams']}" + (f" → {other[key]}/{other['streams']}" if other else "")

    table = Table(title="Per kind" + (": before → after learning" if after else ""),
                  caption="highlights: streams where one is in the top 5, of the streams that have it; "
                          "decoys: streams where it ranks above a planted moment")
    table.add_column("kind", no_wrap=True)
    table.add_column("in top 5", justify="right", no_wrap=True)
    table.add_column("above a planted moment", justify="right", no_wrap=True)
    kinds, k_after = kind_report(videos, scores), kind_report(videos, after) if after else None
    for kind, row in kinds.items():
        table.add_row(escape(kind or "(no kind)"), cell(row, "in_top5", k_after[kind] if k_after else None), "")
    decoys, d_after = decoy_report(videos, scores), decoy_report(videos, after) if after else None
    for kind, row in decoys["kinds"].items():
        table.add_row(escape(f"decoy: {kind or '(no kind)'}"), "",
                      cell(row, "above_planted", d_after["kinds"][kind] if d_after else None))
    if decoys["streams"]:
        clean = f"{decoys['none_above_planted']}/{decoys['streams']}"
        if d_after:
            clean += f" → {d_after['none_above_planted']}/{d_after['streams']}"
        table.add_row("no decoy above a planted moment", "", clean, style="bold")
    return table


def _pick_row(video, pick) -> dict:
    from pipeline.jobs.evaluation import best_match

    label, v = best_match(pick, video.highlights)
    decoy, d = best_match(pick, video.decoys)
    if d > v:
        label, v = decoy, d
    return {"start": pick.start, "end": pick.end, "score": pick.score, "iou": round(v, 3),
            "label": label.kind if label else None, "decoy": bool(label is decoy and decoy is not None)}


def _picks_table(video, picks):
    from rich.table import Table

    from pipeline.jobs.evaluation import THRESHOLD, ranked
    from pipeline.media.probe import format_hms

    table = Table(title=f"{escape(video.id)}: picks against {len(video.highlights)} highlight(s)")
    for column in ("#", "start–end", "score", "overlaps", "IoU"):
        table.add_column(column, justify="right" if column in ("#", "score", "IoU") else "left")
    for rank, pick in enumerate(ranked(picks), start=1):
        row = _pick_row(video, pick)
        what = "—" if row["label"] is None else (f"decoy: {row['label']}" if row["decoy"] else row["label"])
        style = "green" if not row["decoy"] and row["iou"] >= THRESHOLD else ("red" if row["decoy"] else "")
        table.add_row(str(rank), f"{format_hms(pick.start)}–{format_hms(pick.end)}", f"{pick.score:.0f}",
                      escape(what), f"{row['iou']:.2f}", style=style)
    return table


def _scores_table(videos, scores, after=None):
    from rich.table import Table

    from pipeline.jobs.evaluation import mean_score

    metrics = (("HIT@1", "hit_at_1"), ("HIT@5", "hit_at_5"), ("P@5", "precision_at_5"))
    table = Table(title="Picks against labels (IoU ≥ 0.5)" + (": before → after" if after else ""),
                  caption="mean AP = mAP; decoys: top-5 picks on a labelled decoy")
    table.add_column("video", no_wrap=True)
    for name, _ in (*metrics, ("AP", "")):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("decoys", justify="right", no_wrap=True)

    def cell(a: float, b: float | None) -> str:
        return f"{a:.2f}" if b is None else f"{a:.2f} → {b:.2f}"

    for v in videos:
        s, t = scores[v.id], after[v.id] if after else None
        table.add_row(escape(v.id), *(cell(getattr(s, k), getattr(t, k) if t else None) for _, k in metrics),
                      cell(s.average_precision, t.average_precision if t else None),
                      str(s.decoys_in_top5) if t is None else f"{s.decoys_in_top5} → {t.decoys_in_top5}")
    m = mean_score(list(scores.values()))
    n = mean_score(list(after.values())) if after else None
    table.add_row("mean", *(cell(getattr(m, k), getattr(n, k) if n else None) for _, k in metrics),
                  cell(m.map, n.map if n else None), "", style="bold")
    return table


if __name__ == "__main__":
    sys.exit(app())
