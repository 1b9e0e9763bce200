"""``dmp-conformance report verify|render``: check a signed run directory, regenerate its HTML."""

from __future__ import annotations

from pathlib import Path

import typer
from rich.console import Console

from conformance.reports import rerender_html, verify_run

report_app = typer.Typer(
    help="Signed certification reports: verify a run directory, re-render its HTML.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(report_app, name="report")


@report_app.command("verify")
def verify(
    run_dir: Path = typer.Argument(..., help="The run directory (holding manifest.json)."),
    public_key: Path | None = typer.Option(
        None, "--public-key", help="Expected Ed25519 public key (PEM); default: manifest.pub."
    ),
) -> None:
    """Exit 0 when every file matches the signed manifest; exit 1 naming each changed, removed or added
    file."""
    console = Console(highlight=False)
    if not run_dir.is_dir():
        typer.echo(f"not a directory: {run_dir}", err=True)
        raise typer.Exit(2)
    result = verify_run(run_dir, public_key)
    if result.ok:
        console.print(
            f"[green]OK[/green] {result.files} files match the manifest signed by {result.fingerprint}"
        )
        if public_key is None:
            console.print(
                "compare this fingerprint with the one printed when the run was made, or pass "
                "--public-key, to be sure of who signed it"
            )
        return
    console.print(f"[red]FAILED[/red] {run_dir}: {len(result.problems)} problem(s)")
    for problem in result.problems:
        console.print(f"  {problem}", markup=False)
    raise typer.Exit(1)


@report_app.command("render")
def render(
    run_dir: Path = typer.Argument(..., help="The run directory (holding report.json)."),
    output: Path | None = typer.Option(
        None,
        "--output",
        "-o",
        help="Write the HTML here (default: report.html "
        "of the run; the rendering is deterministic, so an unchanged report "
        "keeps the manifest valid).",
    ),
    pdf: Path | None = typer.Option(
        None,
        "--pdf",
        help="Also write a PDF here ([pdf] extra); keep it outside "
        "the run directory, where it would be an unsigned, added file.",
    ),
) -> None:
    """Regenerate the HTML report from report.json (and optionally a PDF)."""
    from conformance.reports import load_run
    from conformance.reports.html import render_html
    from conformance.reports.pdf import PdfUnavailable, render_pdf

    console = Console(highlight=False)
    try:
        if output is None:
            path = rerender_html(run_dir)
        else:
            output.write_text(render_html(load_run(run_dir), run_dir), encoding="utf-8")
            path = output
        console.print(f"HTML report written to {path}")
        if pdf is not None:
            console.print(f"PDF report written to {render_pdf(path.read_text(encoding='utf-8'), pdf)}")
    except (ValueError, PdfUnavailable) as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
