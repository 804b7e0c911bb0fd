"""`clipfactory` command line."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn

from pipeline.config import Settings, load_settings
from pipeline.errors import ClipFactoryError

app = typer.Typer(add_completion=False, no_args_is_help=True,
                  help="Viral Clip Factory: find the best moments of a stream VOD.")
console = Console(stderr=True)

ConfigOpt = typer.Option(None, "--config", "-c", help="YAML file merged over configs/default.yaml.")
LayoutOpt = typer.Option(None, "--layout", help="facecam_top, gameplay, blur_fit, talking_head (default: config).")
ExportOpt = typer.Option(None, "--export", help="9:16, 1:1, 4:5 or 16:9 (default: config).")
StyleOpt = typer.Option(None, "--style", help="Subtitle style: bold_outline, boxed, highlight (default: config).")
SubtitlesOpt = typer.Option(None, "--subtitles/--no-subtitles", help="Burn in word-timed subtitles.")


def _settings(config: Optional[Path]) -> Settings:
    try:
        return load_settings(config)
    except ClipFactoryError as exc:
        console.print(f"[red]{exc.user_message}[/red]")
        raise typer.Exit(2) from exc


@app.callback()
def main() -> None:
    """Viral Clip Factory."""
    from dotenv import load_dotenv

    # Settings and secrets come from the environment; a .env file fills in what is unset.
    load_dotenv(Path.cwd() / ".env", override=False)


@app.command()
def process(
    source: Optional[str] = typer.Argument(None, help="A video file or a VOD link."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder for job folders and reports."),
    config: Optional[Path] = ConfigOpt,
    sample: bool = typer.Option(False, "--sample", help="Make and process the built-in sample stream."),
    language: Optional[str] = typer.Option(None, help="Spoken language (en, ru, …); default: detect."),
    no_render: bool = typer.Option(False, "--no-render", help="Only analyse; make no clips."),
    layout: Optional[str] = LayoutOpt,
    export: Optional[str] = ExportOpt,
    style: Optional[str] = StyleOpt,
    subtitles: Optional[bool] = SubtitlesOpt,
) -> None:
    """Analyse a stream, print its best moments and render them as clips.

    Writes <out>/<job-id>/report.json and clip_01.mp4 … with thumbnails."""
    from pipeline.runner import run_job

    settings = _settings(config)
    opts = None if no_render else _render_options(settings, layout, export, style, subtitles)
    if language:
        settings = settings.model_copy(update={"asr": settings.asr.model_copy(update={"language": language})})
    if sample:
        from pipeline.sample import make_sample

        target = out / "sample" / "sample_stream.mp4"
        if not target.exists():
            console.print("Making the sample stream (3 min, one planted hype moment at 1:40)…")
            make_sample(target)
        source = str(target)
    if not source:
        console.print("[red]Give a video file or a link, or --sample.[/red]")
        raise typer.Exit(2)
    report = _with_progress(lambda observer: run_job(source, settings, out, observer, render=opts))
    _print_result(report, out)


@app.command()
def render(
    job_id: str = typer.Argument(..., help="A job id printed by `process` (its folder under --out)."),
    out: Path = typer.Option(Path("out"), "--out", "-o", help="Folder holding the job folders."),
    config: Optional[Path] = ConfigOpt,
    layout: Optional[str] = LayoutOpt,
    export: Optional[str] = ExportOpt,
    style: Optional[str] = StyleOpt,
    subtitles: Optional[bool] = SubtitlesOpt,
) -> None:
    """Render a finished job's moments again, e.g. with another layout; no analysis is re-run."""
    from pipeline.render.job import rerender_job

    settings = _settings(config)
    opts = _render_options(settings, layout, export, style, subtitles)
    job_dir = out / job_id
    if not (job_dir / "report.json").exists():
        console.print(f"[red]No finished job '{job_id}' in {out}.[/red]")
        raise typer.Exit(2)
    report = _with_progress(lambda observer: rerender_job(job_dir, settings, opts, observer))
    _print_result(report, out)


def _render_options(settings: Settings, layout, export, style, subtitles):
    from pipeline.render.job import RenderOptions

    try:
        return RenderOptions.from_settings(settings, layout, export, subtitles, style)
    except ClipFactoryError as exc:
        console.print(f"[red]{exc.user_message}[/red]")
        raise typer.Exit(2) from exc


def _with_progress(work):
    from pipeline.progress import RichObserver

    columns = (TextColumn("{task.description:<28}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            return work(RichObserver(progress))
    except ClipFactoryError as exc:
        console.print(f"[red]{exc.user_message}[/red]")
        if exc.detail:
            console.print(f"[dim]{exc.detail}[/dim]")
        raise typer.Exit(1) from exc


def _print_result(report: dict, out: Path) -> None:
    from pipeline.report import moments_table

    Console().print(moments_table(report))
    summary = report.get("render")
    if summary:
        for note in summary["notes"]:
            console.print(f"[yellow]{note}[/yellow]")
        console.print(f"Clips: {summary['layout']} {summary['export']} via {summary['encoder']}, "
                      f"in {out / report['job_id']}")
    console.print(f"Report: {out / report['job_id'] / 'report.json'}")


if __name__ == "__main__":
    sys.exit(app())
