"""``dmp-conformance load``: locust headless against a DMP (the embedded reference DMP by default), SLO check."""

from __future__ import annotations

from pathlib import Path

import typer


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
        vihf_cert: Path | None = typer.Option(None, help="External SUT: VIHF signer certificate (PEM) it trusts."),
        vihf_key: Path | None = typer.Option(None, help="External SUT: its private key (PEM)."),
        vihf_subject: str | None = typer.Option(None, help="External SUT: idNat of the professional in the VIHF."),
        structure: str | None = typer.Option(None, help="External SUT: structure idNat in the VIHF."),
        sut_patient: list[str] = typer.Option([], help="External SUT: INS (CX) of a patient whose DMP authorizes "
                                                       "the professional (repeatable)."),
    ) -> None:
        """Load-test a DMP (TD0.2, TD2.1, TD3.1, TD3.2 mix); exit 1 when an SLO is missed, 2 when the run failed."""
        from conformance.load import check_slo, load_slo
        from conformance.load.report import write_load_section
        from conformance.load.runner import LoadError, LoadPlan, run_load
        from conformance.load.slo import SloError

        if think_max < think_min:
            raise typer.BadParameter("--think-max must be at least --think-min")
        try:
            objectives = load_slo(slo)
        except SloError as exc:
            raise typer.BadParameter(str(exc), param_hint="--slo") from exc
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
        result.write(output / "load.json")
        typer.echo(f"{'transaction':<12}{'requests':>10}{'failures':>10}{'rps':>9}{'p50 ms':>9}{'p95 ms':>9}"
                   f"{'p99 ms':>9}")
        for stats in [*result.transactions, result.total]:
            typer.echo(f"{stats.name:<12}{stats.requests:>10}{stats.failures:>10}{stats.rps:>9.1f}"
                       f"{stats.p50_ms:>9.0f}{stats.p95_ms:>9.0f}{stats.p99_ms:>9.0f}")
        if run_dir is not None:
            typer.echo(f"load section written to {write_load_section(result, run_dir)}")
        for violation in violations:
            typer.echo(f"SLO missed: {violation}", err=True)
        typer.echo(f"results in {output}/load.json")
        if violations:
            raise typer.Exit(1)
