"""The ``dmp-conformance`` command line (typer + rich).

Each command group lives in its own module; this package is the top layer and may import any other.
"""

from __future__ import annotations

import typer

from conformance import __version__

app = typer.Typer(
    name="dmp-conformance",
    help="Conformance bench for software talking to the French shared health record (DMP, CI-SIS).",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"dmp-conformance {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                      help="Print the version and exit.")) -> None:
    """Validate DMP artefacts, run the reference DMP, run conformance suites and write signed reports."""


def _register() -> None:
    from conformance.cli import validate

    validate.register(app)
    # Optional command groups: present once their layer exists.
    import importlib

    for name in ("profiles", "serve", "run", "report", "requirements", "load"):
        try:
            module = importlib.import_module(f"conformance.cli.{name}")
        except ModuleNotFoundError as exc:
            if exc.name != f"conformance.cli.{name}":
                raise
            continue
        module.register(app)


_register()
