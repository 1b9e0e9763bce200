"""``dmp-conformance run``: run a conformance suite in-process and write a signed run directory."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest
import typer
from rich.console import Console
from rich.table import Table

from conformance.suites import available_suites, suite_path

ROLES = {"server_role": "server", "client_role": "client", "documents_role": "documents"}


def register(app: typer.Typer) -> None:
    app.command("run", context_settings={"allow_extra_args": True, "ignore_unknown_options": True})(run)


def run(
    context: typer.Context,
    sut_url: str | None = typer.Option(
        None, "--sut-url", help="Base URL of the DMP under test (default: start the embedded reference DMP)."
    ),
    profile: str | None = typer.Option(
        None, "--profile", help="Homologation profile to test (default: all)."
    ),
    output: Path | None = typer.Option(
        None, "--output", "-o", help="Run directory (default: reports/output/<timestamp>)."
    ),
    preset: Path | None = typer.Option(None, "--preset", help="YAML preset of the SUT settings."),
    signing_key: Path | None = typer.Option(
        None,
        "--signing-key",
        help="Ed25519 private key (PEM) signing the manifest (default: a key generated for this run).",
    ),
    suite: str = typer.Option(
        "server_role", "--suite", help=f"Suite to run ({', '.join(available_suites())}) or a folder of tests."
    ),
    select: str | None = typer.Option(None, "-k", help="Only tests matching this pytest -k expression."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show pytest's per-test output."),
) -> None:
    """Run a suite (default: the server-role suite against a DMP) and write the signed report.

    Exit 0 only when every mandatory (SHALL) requirement tested passed; 1 otherwise (or when nothing could be
    tested); 2 on a usage error. Options after ``--`` go to pytest and the plugin (e.g. ``-- --lps-command
    CMD`` for the client-role suite).
    """
    console = Console(highlight=False)
    try:  # a suite of the bench by name, or a folder of tests (a vendor's own suite)
        path = Path(suite) if Path(suite).is_dir() else suite_path(suite)
    except ValueError as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    if preset is not None and not preset.is_file():
        typer.echo(f"no such preset file: {preset}", err=True)
        raise typer.Exit(2)
    run_dir = (output or Path("reports") / "output" / f"{datetime.now(UTC):%Y%m%dT%H%M%SZ}").resolve()
    if run_dir.exists() and any(run_dir.iterdir()):
        typer.echo(f"the run directory {run_dir} already exists and is not empty", err=True)
        raise typer.Exit(2)
    args = [
        str(path),
        "--report-dir",
        str(run_dir),
        "--sut-role",
        ROLES.get(path.name, "server"),
        "-p",
        "no:cacheprovider",
        "-v" if verbose else "-q",
    ]
    for option, value in (
        ("--sut-url", sut_url),
        ("--profile", profile),
        ("--sut-preset", preset),
        ("--signing-key", signing_key),
        ("-k", select),
    ):
        if value is not None:
            args += [option, str(value)]
    code = pytest.main([*args, *context.args])
    report = run_dir / "report.json"
    if (
        code in (pytest.ExitCode.INTERRUPTED, pytest.ExitCode.INTERNAL_ERROR, pytest.ExitCode.USAGE_ERROR)
        or not report.is_file()
    ):
        console.print(f"[red]the suite could not run[/red] (pytest exit code {int(code)})")
        raise typer.Exit(2)
    summary = json.loads(report.read_text(encoding="utf-8"))["summary"]
    tested = summary["requirements"].get("pass", 0) + summary["requirements"].get("fail", 0)
    _print_summary(console, summary, run_dir, tested)
    raise typer.Exit(0 if summary["conformant"] and tested else 1)


def _print_summary(console: Console, summary: dict[str, object], run_dir: Path, tested: int) -> None:
    tests = summary["tests"]
    assert isinstance(tests, dict)
    table = Table(title="Verdict per homologation profile")
    table.add_column("Profile")
    table.add_column("Verdict")
    colours = {"pass": "green", "fail": "red", "not-tested": "dim"}
    verdicts = summary["verdicts"]
    assert isinstance(verdicts, dict)
    for name, verdict in verdicts.items():
        table.add_row(name, f"[{colours[verdict]}]{verdict}[/{colours[verdict]}]")
    console.print(table)
    console.print(
        f"tests: {tests['passed']} passed, {tests['failed']} failed, {tests['error']} error(s), "
        f"{tests['skipped']} skipped"
    )
    if not tested:
        verdict = "[yellow]NOTHING TESTED[/yellow] (every test was skipped: see the reasons above)"
    else:
        verdict = "[green]CONFORMANT[/green]" if summary["conformant"] else "[red]NOT CONFORMANT[/red]"
    console.print(f"{verdict} — run directory: {run_dir}")
    console.print(f"  report: {run_dir / 'report.html'}")
    console.print(f"  verify: dmp-conformance report verify {run_dir}")
