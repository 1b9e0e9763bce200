"""``dmp-conformance load``: locust headless against a DMP (the embedded reference DMP by default), SLO check.

With ``--run-dir`` the results become the load section of a certification run, which changes the signed run:
with ``--signing-key`` (the key that signed it) the run is re-signed, otherwise the user is told how to.
"""

from __future__ import annotations

import shlex
from pathlib import Path

import typer
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from conformance.reports.manifest import MANIFEST
from conformance.reports.rundir import REPORT_HTML

# what conformance.load.report.write_load_section writes into a run directory (relative paths)
LOAD_SECTION_FILES = ("load/load.json", "load/section.html", REPORT_HTML)


def _signing_key(signing_key: Path | None, run_dir: Path | None) -> Ed25519PrivateKey | None:
    """The key re-signing the run, checked before any load is generated (a refusal must not waste a run)."""
    from conformance.reports.manifest import SigningKeyError, load_private_key
    from conformance.reports.rundir import RunNotAmendable, check_amendable

    if signing_key is None:
        return None
    if run_dir is None:
        raise typer.BadParameter("--signing-key re-signs the run given by --run-dir: give both",
                                 param_hint="--signing-key")
    try:
        key = load_private_key(signing_key)
        check_amendable(run_dir, key, LOAD_SECTION_FILES)
    except SigningKeyError as exc:
        raise typer.BadParameter(str(exc), param_hint="--signing-key") from exc
    except RunNotAmendable as exc:
        typer.echo(str(exc), err=True)
        raise typer.Exit(2) from exc
    return key


def _stale_manifest_notice(run_dir: Path) -> str:
    results = run_dir / "load" / "load.json"
    command = shlex.join(["dmp-conformance", "load", "--from-results", str(results), "--run-dir", str(run_dir),
                          "--signing-key", "KEY.pem"])
    return (f"{run_dir} is a signed run and its manifest is now stale (load/ added, {REPORT_HTML} regenerated): "
            f"`dmp-conformance report verify` fails until the run is re-signed with the key that signed it:\n"
            f"  {command}\n"
            "A run signed with a throwaway key (no --signing-key at `run`) cannot be re-signed by the same signer: "
            "make the certification run with --signing-key, then add the load section with it.")


def register(app: typer.Typer) -> None:
    @app.command()
    def load(
        sut_url: str | None = typer.Option(None, help="DMP base URL; default: the embedded reference DMP "
                                                      "(subprocess on a free 127.0.0.1 port)."),
        users: int = typer.Option(10, min=1, max=10000, help="Simulated LPS users."),
        duration: int = typer.Option(30, min=1, max=86400, help="Seconds of load (the run stops by itself)."),
        output: Path = typer.Option(Path("load-results"), help="Folder for locust's CSV/JSON and load.json."),
        slo: Path | None = typer.Option(None, help="SLO file (YAML); default profiles/load/slo.yaml."),
        workers: int = typer.Option(0, min=0, max=64, help="Distributed mode: a locust master and K local workers."),
        patients: int = typer.Option(5, min=1, max=10000, help="Synthetic patients seeded on the embedded DMP."),
        think_min: float = typer.Option(0.1, min=0.0, help="Minimum think time between tasks (s)."),
        think_max: float = typer.Option(0.5, min=0.0, help="Maximum think time between tasks (s)."),
        run_dir: Path | None = typer.Option(None, help="Certification run directory: add the load section."),
        signing_key: Path | None = typer.Option(
            None, "--signing-key", help="Ed25519 private key (PEM) that signed the --run-dir: re-sign the run after "
                                        "adding the load section (refused unless the run is intact under this key)."),
        from_results: Path | None = typer.Option(
            None, "--from-results", help="Use this load.json of an earlier run instead of generating load (the load "
                                         "options are then ignored), e.g. to add it to a run or re-sign one."),
        vihf_cert: Path | None = typer.Option(None, help="External SUT: VIHF signer certificate (PEM) it trusts."),
        vihf_key: Path | None = typer.Option(None, help="External SUT: its private key (PEM)."),
        vihf_subject: str | None = typer.Option(None, help="External SUT: idNat of the professional in the VIHF."),
        structure: str | None = typer.Option(None, help="External SUT: structure idNat in the VIHF."),
        sut_patient: list[str] = typer.Option([], help="External SUT: INS (CX) of a patient whose DMP authorizes "
                                                       "the professional (repeatable)."),
    ) -> None:
        """Load-test a DMP (TD0.2, TD2.1, TD3.1, TD3.2 mix); exit 1 when an SLO is missed, 2 when the run failed."""
        from conformance.load import LoadResult, check_slo, load_slo
        from conformance.load.report import write_load_section
        from conformance.load.runner import LoadError, LoadPlan, run_load
        from conformance.load.slo import SloError
        from conformance.reports.manifest import fingerprint
        from conformance.reports.rundir import RunNotAmendable, amend_run

        if think_max < think_min:
            raise typer.BadParameter("--think-max must be at least --think-min")
        try:
            objectives = load_slo(slo)
        except SloError as exc:
            raise typer.BadParameter(str(exc), param_hint="--slo") from exc
        key = _signing_key(signing_key, run_dir)
        if from_results is not None:
            try:
                result = LoadResult.read(from_results)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise typer.BadParameter(f"{from_results}: not a load.json of this bench ({exc})",
                                         param_hint="--from-results") from exc
        else:
            plan = LoadPlan(users=users, duration_s=duration, output=output, workers=workers, sut_url=sut_url,
                            patients=patients, think_min=think_min, think_max=think_max, vihf_cert=vihf_cert,
                            vihf_key=vihf_key, vihf_subject=vihf_subject, structure=structure,
                            sut_patients=list(sut_patient))
            try:
                result = run_load(plan)
            except (LoadError, OSError) as exc:
                typer.echo(f"load run failed: {exc}", err=True)
                raise typer.Exit(2) from exc
        violations = check_slo(result, objectives)
        result.slo_violations = [str(v) for v in violations]
        if from_results is None:
            result.write(output / "load.json")
        typer.echo(f"{'transaction':<12}{'requests':>10}{'failures':>10}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}"
                   f"{'p99 ms':>9}")
        for stats in [*result.transactions, result.total]:
            typer.echo(f"{stats.name:<12}{stats.requests:>10}{stats.failures:>10}{stats.rps:>9.1f}"
                       f"{stats.p50_ms:>9.0f}{stats.p95_ms:>9.0f}{stats.p99_ms:>9.0f}")
        if run_dir is not None:
            signed = (run_dir / MANIFEST).is_file()
            if key is None:
                section = write_load_section(result, run_dir)
            else:
                try:  # checked again: the run directory may have changed during the load
                    section = amend_run(run_dir, key, LOAD_SECTION_FILES,
                                        lambda: write_load_section(result, run_dir))
                except RunNotAmendable as exc:
                    typer.echo(str(exc), err=True)
                    raise typer.Exit(2) from exc
            typer.echo(f"load section written to {section}")
            if key is not None:
                typer.echo(f"run re-signed by {fingerprint(key.public_key())}: "
                           f"dmp-conformance report verify {shlex.quote(str(run_dir))}")
            elif signed:
                typer.echo(_stale_manifest_notice(run_dir), err=True)
        for violation in violations:
            typer.echo(f"SLO missed: {violation}", err=True)
        if from_results is None:
            typer.echo(f"results in {output}/load.json")
        if violations:
            raise typer.Exit(1)
