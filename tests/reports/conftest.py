"""A small run, built from the model (no pytest session), written as a signed run directory."""

from __future__ import annotations

from pathlib import Path

import pytest

from conformance.reports import (
    Artefact,
    EvidenceRef,
    Outcome,
    Run,
    SutInfo,
    TestResult,
    requirement_verdicts,
    write_run_dir,
)
from conformance.reports.manifest import sha256_file
from conformance.requirements import Catalogue, load_catalogue

EXCHANGE = b"<soap:Envelope><script>alert('x')</script><nir>1 84 12 76 451 089 46</nir></soap:Envelope>"


@pytest.fixture(scope="session")
def catalogue() -> Catalogue:
    return load_catalogue(with_rules=False)


def make_run(catalogue: Catalogue, run_dir: Path) -> Run:
    evidence = run_dir / "evidence" / "t_td21"
    evidence.mkdir(parents=True)
    (evidence / "response.xml").write_bytes(EXCHANGE)
    tests = [
        TestResult(
            "suite/test_a.py::test_feed",
            "test_feed",
            Outcome.FAILED,
            0.42,
            ["BENCH-DMP-TD2.1"],
            message="RegistryResponse status Failure, expected Success",
            details="assert 'Failure' == ...",
            transactions=["TD2.1", "ITI-41"],
            profiles=["Alimentation"],
            evidence=[
                EvidenceRef(
                    "response.xml",
                    "evidence/t_td21/response.xml",
                    "application/xml",
                    sha256_file(evidence / "response.xml"),
                    len(EXCHANGE),
                )
            ],
            findings=[
                {
                    "rule": "BENCH-XDS-CODES",
                    "severity": "error",
                    "source": "rule",
                    "message": "classCode <b>11488-4</b> not in JDV_J57",
                    "location": "/rim:Extrinsic[1]",
                    "line": 12,
                    "hint": "use a JDV_J57 code",
                }
            ],
        ),
        TestResult(
            "suite/test_a.py::test_find",
            "test_find",
            Outcome.PASSED,
            0.1,
            ["BENCH-DMP-TD3.1"],
            transactions=["TD3.1"],
            profiles=["Consultation"],
        ),
        TestResult(
            "suite/test_a.py::test_td02",
            "test_td02",
            Outcome.SKIPPED,
            0.0,
            ["BENCH-DMP-TD0.2"],
            message="reference DMP not available",
            transactions=["TD0.2"],
            profiles=["Accès"],
        ),
        TestResult(
            "suite/test_a.py::test_broken",
            "test_broken",
            Outcome.ERROR,
            0.01,
            ["BENCH-DMP-TD3.2"],
            message="fixture failed",
            transactions=["TD3.2"],
            profiles=["Consultation"],
        ),
    ]
    return Run(
        run_id="run-1",
        started="2026-11-27T04:00:00+00:00",
        finished="2026-11-27T04:00:01+00:00",
        bench_version="0.1.0",
        sut=SutInfo(url="http://127.0.0.1:1", role="server", embedded=True),
        tests=tests,
        requirements=requirement_verdicts(tests, catalogue),
        artefacts=[Artefact("ans-testcontenucda", "0" * 64, "2024.01")],
    )


@pytest.fixture
def signed_run(tmp_path: Path, catalogue: Catalogue) -> tuple[Run, Path, str]:
    run_dir = tmp_path / "run"
    run = make_run(catalogue, run_dir)
    return run, run_dir, write_run_dir(run, run_dir)
