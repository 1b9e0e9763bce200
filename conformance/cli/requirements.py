"""``dmp-conformance requirements list|coverage``: the requirement catalogue and which tests verify it."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

import conformance
from conformance.requirements import PROFILES, Catalogue, CatalogueError, compute_coverage, load_catalogue
from conformance.resources import source_tree

requirements_app = typer.Typer(
    help="The requirement catalogue (YAML + registered rules) and its test coverage.", no_args_is_help=True
)


def register(app: typer.Typer) -> None:
    app.add_typer(requirements_app, name="requirements")


def _catalogue(directory: Path | None) -> Catalogue:
    try:
        catalogue = load_catalogue(directory)
    except CatalogueError as exc:
        typer.echo(f"requirement catalogue error: {exc}", err=True)
        raise typer.Exit(2) from exc
    for error in catalogue.load_errors:
        typer.echo(
            f"warning: rules missing from the catalogue, a rule module failed to import: {error}", err=True
        )
    return catalogue


def default_test_paths() -> list[Path]:
    """The shipped suites, and ``tests/`` too when running from a source tree."""
    tree = source_tree()
    candidates = [Path(conformance.__file__).parent / "suites", *([tree / "tests"] if tree else [])]
    return [p for p in candidates if p.is_dir()]


@requirements_app.command("list")
def list_requirements(
    profile: str | None = typer.Option(None, "--profile", help=f"Only this profile ({', '.join(PROFILES)})."),
    format: str = typer.Option("table", "--format", "-f", help="table or json."),
    directory: Path | None = typer.Option(None, "--catalogue", help="Folder of the YAML catalogue."),
) -> None:
    """List every requirement: the YAML catalogue merged with the registered rules."""
    catalogue = _catalogue(directory)
    selected = [r for r in catalogue if profile is None or profile in r.profiles]
    if format == "json":
        typer.echo(json.dumps([r.to_dict() for r in selected], indent=2, ensure_ascii=False))
        return
    table = Table(title=f"{len(selected)} requirements", show_lines=False)
    for column in ("ID", "Level", "Actor", "Profiles", "Transactions", "Title"):
        table.add_column(column, overflow="fold")
    for r in selected:
        title = r.title + (f" [dim](manual: {r.manual})[/dim]" if r.manual else "")
        table.add_row(r.id, r.level, r.actor, ", ".join(r.profiles), ", ".join(r.transactions), title)
    Console().print(table)


@requirements_app.command("coverage")
def coverage(
    paths: list[Path] = typer.Argument(None, help="Test folders (default: tests/ and conformance/suites/)."),
    format: str = typer.Option("text", "--format", "-f", help="text or json."),
    directory: Path | None = typer.Option(None, "--catalogue", help="Folder of the YAML catalogue."),
) -> None:
    """Which requirements tests verify (their @pytest.mark.requirement markers). Exit 1 on an unknown ID."""
    from conformance.plugin import collect_requirement_markers

    paths = paths or default_test_paths()
    if directory is not None:
        import os

        os.environ["DMP_CONFORMANCE_REQUIREMENTS"] = str(
            directory
        )  # the plugin in the collection reads it too
    collector, code = collect_requirement_markers(paths)
    catalogue = _catalogue(directory)
    result = compute_coverage(catalogue, collector.markers)
    if format == "json":
        typer.echo(
            json.dumps(
                {**result.to_dict(), "collection_errors": collector.errors}, indent=2, ensure_ascii=False
            )
        )
    else:
        console = Console()
        automated = result.automated
        tested = [r for r in automated if r.id in result.tested]
        console.print(
            f"[bold]{len(catalogue)}[/bold] requirements: {len(tested)}/{len(automated)} automated ones "
            f"tested by {len(collector.markers)} collected tests, {len(result.manual)} manual (attested)"
        )
        profiles = Table(title="Coverage per homologation profile")
        for column in ("Profile", "Tested", "Automated", "Manual"):
            profiles.add_column(column, justify="left" if column == "Profile" else "right")
        for name, (done, automated_count, manual_count) in result.by_profile().items():
            profiles.add_row(name, str(done), str(automated_count), str(manual_count))
        console.print(profiles)
        if result.untested:
            table = Table(title=f"{len(result.untested)} untested requirements")
            for column in ("ID", "Level", "Profiles", "Title"):
                table.add_column(column, overflow="fold")
            for r in result.untested:
                table.add_row(r.id, r.level, ", ".join(r.profiles), r.title)
            console.print(table)
        if result.manual:
            console.print(f"[bold]{len(result.manual)} manual requirements[/bold] (verified by attestation):")
            for r in result.manual:
                console.print(f"  {r.id}: {r.manual}", markup=False)
        for rid, nodes in result.unknown.items():
            console.print(f"[red]unknown requirement ID {rid}[/red] in {', '.join(nodes)}")
        for error in collector.errors:
            console.print(f"[red]collection error[/red] {error}")
    if result.unknown or collector.errors or catalogue.load_errors or code not in (0, 5):
        raise typer.Exit(1)
