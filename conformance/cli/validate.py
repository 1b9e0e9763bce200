"""``dmp-conformance validate PATH...``: validate files or folders of artefacts."""

from __future__ import annotations

import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from conformance.findings import ArtefactResult, Finding, Severity, Source
from conformance.render import FORMATS, renderer
from conformance.render.text import print_results
from conformance.validation import ValidationContext, iter_files, validate_bytes


def register(app: typer.Typer) -> None:
    app.command("validate")(validate)


def validate(
    paths: list[Path] = typer.Argument(..., help="Files or folders to validate.", exists=False),
    format: str = typer.Option("text", "--format", "-f", help=f"Output format: {', '.join(FORMATS)}."),
    output: Path | None = typer.Option(None, "--output", "-o", help="Write the report to this file."),
    kind: str | None = typer.Option(None, "--kind", help="Force the artefact kind (cda, soap, fhir)."),
    profiles_dir: Path | None = typer.Option(None, "--profiles-dir", envvar="DMP_CONFORMANCE_PROFILES_DIR",
                                             help="Cache of imported official packages."),
    package_dir: Path | None = typer.Option(None, "--package", help="Use this CI-SIS package folder directly."),
    lenient: bool = typer.Option(False, "--lenient", help="Accept legacy captures; irregularities become warnings."),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Show informational findings too."),
    no_schematron: bool = typer.Option(False, "--no-schematron",
                                       help="CDA: skip the CI-SIS schematrons (XSD and bench rules only; fast)."),
) -> None:
    """Validate CDA documents, DMP SOAP/MTOM messages and FHIR resources. Exit 1 when an error is found."""
    if format not in FORMATS:
        typer.echo(f"unknown format {format!r}; choose one of {', '.join(FORMATS)}", err=True)
        raise typer.Exit(2)
    missing = [p for p in paths if not p.exists()]
    if missing:
        typer.echo(f"no such file or folder: {', '.join(map(str, missing))}", err=True)
        raise typer.Exit(2)
    files = list(iter_files(paths))
    if not files:
        typer.echo("no file to validate (folders are searched for .xml and .json files)", err=True)
        raise typer.Exit(2)
    context = ValidationContext(profiles_dir=profiles_dir, package_dir=package_dir, lenient=lenient,
                                options={"schematron": not no_schematron})
    console = Console(stderr=True)
    results: list[ArtefactResult] = []
    with Progress(TextColumn("[progress.description]{task.description}"), BarColumn(), MofNCompleteColumn(),
                  TimeElapsedColumn(), console=console, transient=True,
                  # shown even for one file: the first CDA document waits for the schematron compilation
                  disable=not console.is_terminal) as progress:
        task = progress.add_task("validating", total=len(files))
        for file in files:
            progress.update(task, description=f"validating {file.name}")
            try:
                data = file.read_bytes()
            except OSError as exc:
                results.append(ArtefactResult(path=str(file), kind="unknown", findings=[Finding(
                    rule="BENCH-IO", severity=Severity.ERROR, source=Source.XML,
                    message=f"cannot read the file: {exc.strerror}", hint="check the path and its permissions")]))
            else:
                results.append(validate_bytes(data, str(file), context, kind=kind))
            progress.advance(task)
    if format == "text" and output is None:
        print_results(results, Console(), verbose=verbose)
    else:
        text = renderer(format)(results)
        if output:
            output.write_text(text, encoding="utf-8")
            console.print(f"report written to {output}")
        else:
            sys.stdout.write(text + "\n")
    raise typer.Exit(0 if all(r.valid for r in results) else 1)
