"""``dmp-conformance profiles import|list|show|remove``: the local cache of official packages."""

from __future__ import annotations

import json
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from conformance.artefacts import (
    DEFAULT_CISIS_URL,
    INSTALL_HINTS,
    KINDS,
    InstalledPackage,
    PackageError,
    default_profiles_dir,
    find_packages,
    import_package,
    list_packages,
    remove_package,
)

profiles_app = typer.Typer(help="Import, list, show and remove official packages (CI-SIS, FHIR, DMP LPS).",
                           no_args_is_help=True)

ProfilesDir = typer.Option(None, "--profiles-dir", envvar="DMP_CONFORMANCE_PROFILES_DIR",
                           help="Cache of imported packages (default: ~/.cache/dmp-conformance).")


def register(app: typer.Typer) -> None:
    app.add_typer(profiles_app, name="profiles")


def _fail(exc: PackageError, code: int = 1) -> typer.Exit:
    Console(stderr=True).print(f"[bold red]error[/] {exc.message}", highlight=False)
    if exc.hint:
        Console(stderr=True).print(f"  → {exc.hint}", markup=False, highlight=False)
    return typer.Exit(code)


def _select(selector: str, profiles_dir: Path | None) -> list[InstalledPackage]:
    found = find_packages(selector, profiles_dir)
    if not found:
        raise _fail(PackageError(f"no imported package matches {selector!r}",
                                 hint="`dmp-conformance profiles list` shows the hash prefixes, names and kinds"))
    return found


@profiles_app.command("import")
def import_command(
    source: str = typer.Argument(DEFAULT_CISIS_URL, help="Package folder, .zip/.tar.gz/.tgz archive or https URL."),
    profiles_dir: Path | None = ProfilesDir,
    version: str | None = typer.Option(None, "--version",
                                       help="Version to record when the package does not tell (e.g. a commit)."),
    compile_schematrons: bool = typer.Option(False, "--compile",
                                             help="CI-SIS: compile every schematron now (about a minute) so "
                                                  "that the first validation is fast."),
) -> None:
    """Import an official package into the cache (default: the ANS TestContenuCDA archive on GitHub)."""
    console = Console(stderr=True)
    try:
        with console.status(f"importing {source}"):
            package = import_package(source, profiles_dir, version=version)
    except PackageError as exc:
        raise _fail(exc) from None
    Console().print(f"imported [bold]{package.kind}[/] {package.name} {package.version} "
                    f"([cyan]{package.short_hash}[/], {package.files} files) into {package.entry}", highlight=False)
    if compile_schematrons and package.kind == "cisis":
        from conformance.cda.pipeline import prepare_schematrons

        try:
            prepare_schematrons(package, profiles_dir, progress=True)
        except ImportError as exc:
            raise _fail(PackageError(f"schematron engine not available: {exc}",
                                     hint="install the complete bench: pip install dmp-conformance")) from None
        Console().print("schematrons compiled", highlight=False)


@profiles_app.command("list")
def list_command(profiles_dir: Path | None = ProfilesDir,
                 as_json: bool = typer.Option(False, "--json", help="Print JSON instead of a table.")) -> None:
    """List the imported packages, most recent first."""
    packages = list_packages(profiles_dir)
    if as_json:
        typer.echo(json.dumps([p.to_dict() for p in packages], indent=2))
        return
    console = Console()
    if not packages:
        console.print(f"no package imported in {profiles_dir or default_profiles_dir()}", highlight=False)
        for kind in KINDS:
            console.print(f"  {INSTALL_HINTS[kind]}", markup=False, highlight=False)
        return
    table = Table(title=f"Official packages in {profiles_dir or default_profiles_dir()}")
    for column in ("kind", "name", "version", "hash", "path", "imported at"):
        table.add_column(column, overflow="fold")
    for p in packages:
        table.add_row(p.kind, p.name, p.version, p.short_hash, str(p.root), p.imported_at or "")
    console.print(table)


@profiles_app.command("show")
def show_command(selector: str = typer.Argument(..., help="Hash prefix, kind, name or version."),
                 profiles_dir: Path | None = ProfilesDir) -> None:
    """Show everything known about the matching packages."""
    console = Console()
    for package in _select(selector, profiles_dir):
        table = Table(show_header=False, title=f"{package.kind} {package.name} {package.version}")
        for key, value in package.to_dict().items():
            table.add_row(key, str(value))
        console.print(table)


@profiles_app.command("remove")
def remove_command(selector: str = typer.Argument(..., help="Hash prefix, kind, name or version."),
                   profiles_dir: Path | None = ProfilesDir,
                   all_matches: bool = typer.Option(False, "--all", help="Remove every matching package.")) -> None:
    """Remove an imported package from the cache."""
    found = _select(selector, profiles_dir)
    if len(found) > 1 and not all_matches:
        raise _fail(PackageError(f"{len(found)} packages match {selector!r}: "
                                 + ", ".join(f"{p.kind}/{p.short_hash}" for p in found),
                                 hint="give a longer hash prefix, or --all"), code=2)
    for package in found:
        remove_package(package)
        Console().print(f"removed {package.kind} {package.name} {package.version} ({package.short_hash})",
                        highlight=False)
