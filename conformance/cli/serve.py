"""``dmp-conformance serve``: run the reference DMP (loopback by default)."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import TYPE_CHECKING

import typer

if TYPE_CHECKING:  # imported by the command itself: the CLI starts without the server's dependencies
    from conformance.server.settings import ServerSettings

DEFAULT_DB = "sqlite:///dmp-reference.db"


def _pin_lps_package(settings: ServerSettings) -> str:
    """Resolve the DMP LPS package of the capture validation once (a later import does not change a running
    server's checks) and say which one it is, or how to get one."""
    from conformance.artefacts import INSTALL_HINTS, PackageError

    try:
        package = settings.lps_package()
    except PackageError as exc:
        raise typer.BadParameter(f"{exc.message} ({exc.hint})" if exc.hint else exc.message,
                                 param_hint="--dmp-lps-package") from exc
    if package is None:
        return f"captured SOAP bodies are not checked against the DMP LPS annex XSDs: {INSTALL_HINTS['dmp-lps']}"
    settings.dmp_lps_package = package.entry or package.root
    return (f"captured SOAP bodies are checked against the annex XSDs of {package.name} {package.version} "
            f"({package.short_hash})")


def register(app: typer.Typer) -> None:
    @app.command()
    def serve(
        host: str = typer.Option("127.0.0.1", help="Interface to listen on (loopback by default)."),
        port: int = typer.Option(8080, min=0, max=65535, help="TCP port."),
        db: str = typer.Option(DEFAULT_DB, help="Database URL: sqlite:///path or postgresql+psycopg://…"),
        seed: int = typer.Option(0, min=0, help="Create N synthetic patients with DMPs and authorizations."),
        seed_professional: list[str] = typer.Option(
            [], "--seed-professional", help="idNat authorized on every seeded DMP (repeatable)."),
        lenient_signatures: bool = typer.Option(
            False, help="Accept unsigned or untrusted VIHF (replay of official examples) and record a finding."),
        trust: list[Path] = typer.Option([], help="PEM CA bundle trusted for VIHF signatures (repeatable)."),
        test_pki: Path | None = typer.Option(
            None, help="Generate a run-time test PKI into this folder, trust its CA and serve TLS with it."),
        tls_cert: Path | None = typer.Option(None, help="TLS server certificate (PEM)."),
        tls_key: Path | None = typer.Option(None, help="TLS server private key (PEM)."),
        client_ca: Path | None = typer.Option(None, help="CA bundle for mutual TLS: client certificates required."),
        admin: bool = typer.Option(False, help="Enable the /admin seed and reset endpoints."),
        validate_requests: bool = typer.Option(True, help="Run the transport validators on captured requests."),
        profiles_dir: Path | None = typer.Option(
            None, "--profiles-dir", envvar="DMP_CONFORMANCE_PROFILES_DIR",
            help="Cache of imported official packages (default: ~/.cache/dmp-conformance)."),
        dmp_lps_package: Path | None = typer.Option(
            None, "--dmp-lps-package", help="DMP LPS package folder whose annex XSDs check the captured SOAP bodies "
                                            "(default: the most recent one imported with `profiles import`)."),
        log_level: str = typer.Option("info", help="uvicorn log level."),
        fault: list[str] = typer.Option(
            [], "--fault", help="Serve a fault-injected variant (conformance.server.faults; repeatable)."),
    ) -> None:
        """Run the reference DMP server: SOAP services, capture API, access history."""
        import uvicorn

        from conformance.pki import TestPki, load_certificates
        from conformance.server.app import create_app
        from conformance.server.seed import seed_synthetic
        from conformance.server.settings import ServerSettings
        from conformance.server.tls import h11_protocol
        from conformance.store import Store

        certificates = [c for path in trust for c in load_certificates(path.read_bytes())]
        if test_pki is not None:
            pki = TestPki.generate("serve")
            paths = pki.write(test_pki)
            certificates += pki.trust
            tls_cert, tls_key = tls_cert or paths["tls_server.crt"], tls_key or paths["tls_server.key"]
            typer.echo(f"test PKI written to {test_pki} (CA, VIHF signers, TLS server and client)")
        if (tls_cert is None) != (tls_key is None):
            raise typer.BadParameter("--tls-cert and --tls-key go together")
        if client_ca is not None and tls_cert is None:
            raise typer.BadParameter("--client-ca needs --tls-cert and --tls-key")
        settings = ServerSettings(db_url=db, trust=certificates, lenient_signatures=lenient_signatures,
                                  admin_enabled=admin, validate_requests=validate_requests,
                                  faults=frozenset(fault), profiles_dir=profiles_dir,
                                  dmp_lps_package=dmp_lps_package)
        if validate_requests:
            typer.echo(_pin_lps_package(settings))
        if fault:
            from conformance.server.faults import UnknownFault, install

            try:
                install(fault)
            except UnknownFault as exc:
                raise typer.BadParameter(str(exc), param_hint="--fault") from exc
            typer.echo(f"FAULT-INJECTED VARIANT: {', '.join(fault)} (not a conformant DMP)")
        store = Store.open(db)
        if seed:
            result = seed_synthetic(store, seed, extra_professionals=tuple(seed_professional))
            typer.echo(f"seeded {len(result.patients)} DMP(s); authorized professionals: "
                       f"{', '.join(result.professionals)}")
        scheme = "https" if tls_cert else "http"
        typer.echo(f"reference DMP on {scheme}://{host}:{port}/si-dmp-server/v2/services/… "
                   f"(db {db}, signatures {'lenient' if lenient_signatures else 'strict'})")
        uvicorn.run(create_app(settings, store), host=host, port=port, log_level=log_level,
                    ssl_certfile=str(tls_cert) if tls_cert else None, ssl_keyfile=str(tls_key) if tls_key else None,
                    ssl_ca_certs=str(client_ca) if client_ca else None,
                    ssl_cert_reqs=ssl.CERT_REQUIRED if client_ca else ssl.CERT_NONE,
                    # request-head timeout; with TLS, the app also sees the client certificate
                    http=h11_protocol(settings, tls=tls_cert is not None))
        store.close()
