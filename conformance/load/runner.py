"""Run locust headless as subprocesses (one process, or a master and K workers) against a DMP.

Default SUT: the embedded reference DMP in a subprocess on a free loopback port, trusting a run-time test PKI
whose professional key signs the VIHFs; its patients are seeded through the admin API. Everything stops by itself:
locust gets ``--run-time`` and ``--stop-timeout``, and every subprocess a hard timeout.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx

from conformance.load.results import LoadResult, read_locust_csv
from conformance.resources import load_path

LOCUSTFILE = load_path("locustfile.py")
GRACE_SECONDS = 60  # locust start-up, spawn and stop on a loaded machine


class LoadError(RuntimeError):
    """The run could not happen (SUT not reachable, locust missing or crashed)."""


@dataclass(slots=True)
class LoadPlan:
    users: int
    duration_s: int
    output: Path
    workers: int = 0  # 0: one locust process; K: a master and K local workers
    sut_url: str | None = None
    patients: int = 5
    think_min: float = 0.1
    think_max: float = 0.5
    # an external SUT: the VIHF signer it trusts and the patients (INS CX) whose DMP authorizes the subject
    vihf_cert: Path | None = None
    vihf_key: Path | None = None
    vihf_subject: str | None = None
    structure: str | None = None
    sut_patients: list[str] = field(default_factory=list)


def _locust_command(url: str, *role: str) -> list[str]:
    return [sys.executable, "-m", "locust", "-f", str(LOCUSTFILE), "--headless", "--host", url,
            "--loglevel", "WARNING", *role]


def _run_locust(plan: LoadPlan, url: str, config: Path) -> Path:
    """Run locust; return the CSV prefix of its statistics."""
    from conformance.plugin import free_port

    prefix = plan.output / "locust"
    env = {**_env(), "DMP_LOAD_CONFIG": str(config)}
    stats = ["-u", str(plan.users), "-r", str(plan.users), "--run-time", f"{plan.duration_s}s", "--stop-timeout",
             "2", "--csv", str(prefix), "--csv-full-history", "--json-file", str(prefix), "--only-summary"]
    timeout = plan.duration_s + GRACE_SECONDS
    log = (plan.output / "locust.log").open("wb")
    with log:
        if not plan.workers:
            done = subprocess.run(_locust_command(url, *stats), env=env, stdout=log,
                                  stderr=subprocess.STDOUT, timeout=timeout, check=False)
            code = done.returncode
        else:
            port = free_port()
            master = subprocess.Popen(_locust_command(url, *stats, "--master",
                                                      "--master-bind-host", "127.0.0.1", "--master-bind-port",
                                                      str(port), "--expect-workers", str(plan.workers)),
                                      env=env, stdout=log, stderr=subprocess.STDOUT)
            workers = [subprocess.Popen(_locust_command(url, "--worker", "--master-host", "127.0.0.1",
                                                        "--master-port", str(port)),
                                        env=env, stdout=log, stderr=subprocess.STDOUT)
                       for _ in range(plan.workers)]
            try:
                code = master.wait(timeout=timeout)
                for worker in workers:
                    worker.wait(timeout=15)
            finally:
                for process in (master, *workers):
                    if process.poll() is None:
                        process.kill()
                        process.wait()
    if not Path(f"{prefix}_stats.csv").exists():
        tail = (plan.output / "locust.log").read_text(errors="replace")[-2000:]
        raise LoadError(f"locust wrote no statistics (exit code {code}): {tail}")
    return prefix


def _env() -> dict[str, str]:
    import os

    return {**os.environ, "PYTHONUNBUFFERED": "1"}


@contextlib.contextmanager
def _embedded_sut(plan: LoadPlan) -> Iterator[tuple[str, dict[str, object]]]:
    """The reference DMP with a run-time PKI and seeded patients; yields its URL and the locust configuration."""
    from conformance.identity.synthetic import SyntheticIdentities
    from conformance.pki import TestPki
    from conformance.plugin import embedded_dmp

    pki = TestPki.generate("load")
    paths = pki.write(plan.output / "pki")
    with embedded_dmp(plan.output / "dmp.sqlite", ["--trust", str(paths["ca.crt"]), "--admin",
                                                   "--no-validate-requests", "--log-level", "warning"]) as url:
        people = SyntheticIdentities(seed=0)
        patients = []
        with httpx.Client(base_url=url, timeout=30.0) as admin:
            admin.post("/admin/professionals", json={"id_nat": pki.PS_ID_NAT, "family_name": "LOAD",
                                                     "role_code": "10"}).raise_for_status()
            for _ in range(plan.patients):
                person = people.patient()
                admin.post("/admin/patients", json={
                    "ins": person.ins.value, "ins_oid": person.ins.oid, "family_name": person.birth_family_name,
                    "given_name": person.first_given_name, "birth_date": person.birth_date.strftime("%Y%m%d"),
                    "gender": person.sex, "authorizations": [{"professional": pki.PS_ID_NAT, "attending": True}],
                }).raise_for_status()
                patients.append({"ins": person.ins.value, "oid": person.ins.oid})
        yield url, {"vihf_cert": str(paths["ps_signature.crt"]), "vihf_key": str(paths["ps_signature.key"]),
                    "subject": pki.PS_ID_NAT, "structure": pki.STRUCTURE_ID, "patients": patients}


def _external_config(plan: LoadPlan) -> dict[str, object]:
    from conformance.identity.hl7v2 import Cx

    if not (plan.vihf_cert and plan.vihf_key and plan.vihf_subject and plan.sut_patients):
        raise LoadError("an external SUT needs --vihf-cert, --vihf-key, --vihf-subject and at least one --sut-patient")
    patients = []
    for cx in plan.sut_patients:
        parsed = Cx.parse(cx)
        patients.append({"ins": parsed.id, "oid": parsed.assigning_authority.universal_id})
    return {"vihf_cert": str(plan.vihf_cert), "vihf_key": str(plan.vihf_key), "subject": plan.vihf_subject,
            "structure": plan.structure or "", "patients": patients}


def run_load(plan: LoadPlan) -> LoadResult:
    """Run the plan; write locust's CSV/JSON and ``load.json`` into ``plan.output``."""
    from conformance.server.settings import REPOSITORY_ID

    plan.output.mkdir(parents=True, exist_ok=True)
    config_path = plan.output / "locust-config.json"

    def go(url: str, config: dict[str, object]) -> LoadResult:
        config = {"repository_id": REPOSITORY_ID, "think_min": plan.think_min, "think_max": plan.think_max, **config}
        config_path.write_text(json.dumps(config, indent=2), encoding="utf-8")
        prefix = _run_locust(plan, url, config_path)
        transactions, total, history = read_locust_csv(prefix)
        result = LoadResult(users=plan.users, duration_s=plan.duration_s, workers=plan.workers, sut_url=url,
                            transactions=transactions, total=total, history=history)
        result.write(plan.output / "load.json")
        return result

    if plan.sut_url:
        return go(plan.sut_url.rstrip("/"), _external_config(plan))
    with _embedded_sut(plan) as (url, config):
        return go(url, config)
