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
) -> None:
    """Analyse a stream and print its best moments; writes <out>/<job-id>/report.json."""
    from pipeline.report import moments_table
    from pipeline.progress import RichObserver
    from pipeline.runner import run_job

    settings = _settings(config)
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
    columns = (TextColumn("{task.description:<28}"), BarColumn(), TaskProgressColumn(), TimeElapsedColumn())
    try:
        with Progress(*columns, console=console) as progress:
            report = run_job(source, settings, out, RichObserver(progress))
    except ClipFactoryError as exc:
        console.print(f"[red]{exc.user_message}[/red]")
        if exc.detail:
            console.print(f"[dim]{exc.detail}[/dim]")
        raise typer.Exit(1) from exc
    Console().print(moments_table(report))
    console.print(f"Report: {out / report['job_id'] / 'report.json'}")


if __name__ == "__main__":
    sys.exit(app())
